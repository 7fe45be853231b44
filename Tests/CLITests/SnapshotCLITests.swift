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
        var commands = [["list", "--json"], ["doctor", "--json"]]
        // Doctor on a chosen device also reads what the host uses (mounts, swap, input devices, holders).
        if root.hasSuffix("ryzen-chipset-gpu") { commands.append(["doctor", "--json", "--device", "0000:05:00.0"]) }
        for command in commands {
            let live = try CLI.vfioctl(command + ["--root", root])
            let replay = try CLI.vfioctl(command + ["--root", archive])
            #expect(live.status == replay.status)
            #expect(live.stdout == replay.stdout, "\(command[0]) differs after replay")
        }
    }
}
