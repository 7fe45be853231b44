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
        let host: HostModel
        do { host = try session.load(reader: recorder) } catch { throw CLIError("\(root.root): \(error)") }
        // Doctor's checks read nothing beyond the model and what the host uses its devices for (HostNeeds' facts),
        // so loading both is the complete read set.
        _ = HostUsage.load(recorder)
        do {
            let summary = try Snapshot.write(accesses: recorder.accesses, from: session.files, to: output)
            print("wrote \(output): \(host.devices.count) PCI devices, \(summary.files) files, \(summary.links) links, \(summary.redactions) values redacted")
        } catch {
            throw CLIError(error.description)
        }
    }
}
