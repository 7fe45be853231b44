import ArgumentParser
import FoundationEssentials
import Glibc
import VFIOCore
import VFIOHost

@main
struct Vfioctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vfioctl",
        abstract: "Inspect, diagnose and prepare a Linux/KVM host for VFIO PCI passthrough.",
        version: "0.1.0",
        subcommands: [List.self, Doctor.self, SnapshotCommand.self, Init.self, Plan.self, Render.self, Setup.self, Define.self, Bind.self, Restore.self, Verify.self, Shield.self, Unshield.self, Latency.self, Hook.self,
                      Rom.self, Holders.self, Fleet.self, Report.self, Hugepages.self, Emulate.self])

    /// Exit statuses: doctor uses 0/1/2 for its verdict, so vfioctl's own failures exit 3; usage errors 64.
    static func main() {
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            try command.run()
        } catch let error as CLIError {
            writeStandardError("vfioctl: \(error.description)\n")
            Glibc.exit(3)
        } catch {
            exit(withError: error)
        }
    }
}

/// `--root PATH` on every subcommand: a directory laid out like `/`, or a `vfioctl snapshot` tarball.
struct RootOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Host root: a directory laid out like / or a vfioctl snapshot (.tar.gz).", valueName: "PATH"))
    var root: String = "/"

    func open() throws -> HostSession {
        do { return try HostSession(root: root) } catch { throw CLIError(error.description) }
    }

    func load(_ scope: LoadScope = .all) throws -> (HostSession, HostModel) {
        let session = try open()
        do { return (session, try session.load(scope: scope)) } catch { throw CLIError("\(root): \(error)") }
    }
}

/// A failure of vfioctl itself, printed as `vfioctl: <message>` with exit status 3.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

enum Output {
    static func write(_ text: String) {
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
    }
}

/// One environment variable (getenv: ProcessInfo's environment copies every variable into a dictionary).
func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

/// Messages for standard error, written whole (one write per message).
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}
