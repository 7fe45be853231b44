import Foundation
import Testing

/// `vfioctl snapshot` of a host, replayed with `--root FILE.tar.gz`, gives the same list and doctor report.
@Suite struct SnapshotCLITests {
    @Test(arguments: CLI.exampleHosts)
    func snapshotReplaysToTheSameReports(_ root: String) throws {
        let archive = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-\(UUID().uuidString).tar.gz").path
        defer { try? FileManager.default.removeItem(atPath: archive) }
        let made = try CLI.vfioctl(["snapshot", "--root", root, "-o", archive])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.hasPrefix("wrote \(archive): "))
        for command in [["list", "--json"], ["doctor", "--json"]] {
            let live = try CLI.vfioctl(command + ["--root", root])
            let replay = try CLI.vfioctl(command + ["--root", archive])
            #expect(live.status == replay.status)
            #expect(live.stdout == replay.stdout, "\(command[0]) differs after replay")
        }
    }
}
