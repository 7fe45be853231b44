import Foundation
import Testing
import VFIOTestSupport

/// `VFIOCTL_CRASH_AFTER_WRITES` is read once by the command into its `HostEffects` and still kills a bind with
/// SIGKILL after that many host writes, its journal left for `restore` (the lab's kill9 tests rely on it).
@Suite struct CrashInjectionCLITests {
    @Test func bindIsKilledAfterTheGivenNumberOfWritesWithItsJournalLeft() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tree = dir + "/host"
        try FileManager.default.copyItem(atPath: RunCLI.repo.appendingPathComponent("examples/hosts/z490-three-gpus").path, toPath: tree)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: RunCLI.binary)
        p.arguments = ["bind", "0000:04:00.0", "0000:04:00.1", "--force", "--root", tree]
        p.environment = ProcessInfo.processInfo.environment.merging(["VFIOCTL_CRASH_AFTER_WRITES": "2"]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)
        let journal = try String(contentsOfFile: tree + "/run/vfioctl/bind.journal", encoding: .utf8)
        #expect(journal.split(separator: "\n").count == 2)

        let restore = try RunCLI.run(RunCLI.binary, ["restore", "--root", tree])
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
    }
}
