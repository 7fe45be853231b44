import ArgumentParser
import Foundation
import VFIOCore
import VFIOHost

@main
struct Vfioctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vfioctl",
        abstract: "Inspect, diagnose and prepare a Linux/KVM host for VFIO PCI passthrough.",
        version: "0.1.0",
        subcommands: [List.self, Doctor.self, SnapshotCommand.self, Init.self, Plan.self, Render.self, Setup.self, Bind.self, Restore.self, Verify.self, Shield.self, Unshield.self, Latency.self, Hook.self])

    /// Commands the libvirt hook runs at every VM start and stop. Parsed on their own, they skip building the
    /// whole command tree, which costs more than a bind itself (ArgumentParser walks every subcommand's type).
    /// Help still goes through the full tree so usage lines read `vfioctl bind ...`.
    static func hotPath(_ arguments: [String]) -> ParsableCommand.Type? {
        guard !arguments.contains(where: { $0 == "--help" || $0 == "-h" || $0 == "help" }) else { return nil }
        switch arguments.first {
        case "bind": return Bind.self
        case "restore": return Restore.self
        case "shield": return Shield.self
        case "unshield": return Unshield.self
        default: return nil
        }
    }

    /// Exit statuses: doctor uses 0/1/2 for its verdict, so vfioctl's own failures exit 3; usage errors 64.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let direct = hotPath(arguments)
        var command: ParsableCommand
        do {
            command = try direct.map { try $0.parseAsRoot(Array(arguments.dropFirst())) } ?? parseAsRoot(arguments)
        } catch {
            // A usage error: parse again through the full tree so the message reads `vfioctl bind ...`.
            do { command = try parseAsRoot(arguments) } catch { exit(withError: error) }
        }
        do {
            try command.run()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("vfioctl: \(error.description)\n".utf8))
            Foundation.exit(3)
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
