import ArgumentParser
import VFIOCore
import VFIOHost

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Capture the files vfioctl reads into a tarball (serials and MACs redacted) for --root replay.")

    @OptionGroup var root: RootOptions
    @Option(name: .shortAndLong, help: ArgumentHelp("Output file.", valueName: "FILE.tar.gz")) var output: String

    func run() throws {
        let session = try root.open()
        let recorder = RecordingReader(session.files)
        // Every command plans on these facts and reads nothing else of the host, so their read set is what any
        // command's dry run replays.
        let host: HostModel
        do { host = try session.facts(.all, reader: recorder).hostModel() } catch { throw CLIError("\(root.root): \(error)") }
        do {
            let summary = try Snapshot.write(accesses: recorder.accesses, from: session.files, to: output)
            print("wrote \(output): \(host.devices.count) PCI devices, \(summary.files) files, \(summary.links) links, \(summary.redactions) values redacted")
        } catch {
            throw CLIError(error.description)
        }
    }
}
