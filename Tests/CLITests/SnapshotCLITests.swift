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

/// Hostile snapshots through the command line: refused by member name, the private directory gone afterwards,
/// whatever way the process ends.
@Suite struct HostileSnapshotCLITests {
    /// A fresh TMPDIR for one vfioctl run, so the test can see every directory vfioctl makes there.
    final class Scratch {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-cli-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path + "/tmp", withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var tmp: String { path + "/tmp" }
        var leftovers: [String] { (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] }

        /// Packs `build`'s tree with tar into `name` under this scratch directory.
        func archive(_ name: String, _ build: (String) throws -> Void) throws -> String {
            let tree = path + "/tree-\(name)"
            try FileManager.default.createDirectory(atPath: tree + "/sys", withIntermediateDirectories: true)
            try build(tree)
            let out = path + "/" + name
            let result = try CLI.run("/usr/bin/tar", ["-czf", out, "-C", tree, "."])
            #expect(result.status == 0, "\(result.stderr)")
            return out
        }

        func process(_ args: [String], cwd: String? = nil) -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? CLI.repo.path)
            var env = ProcessInfo.processInfo.environment
            env["TMPDIR"] = tmp
            p.environment = env
            return p
        }

        func vfioctl(_ args: [String], cwd: String? = nil) throws -> CLI.Result {
            let p = process(args, cwd: cwd)
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return CLI.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        }
    }

    @Test func fifoMemberFailsNamingTheMember() throws {
        let scratch = try Scratch()
        let archive = try scratch.archive("hostile.tar.gz") { tree in
            try FileManager.default.createDirectory(atPath: tree + "/proc", withIntermediateDirectories: true)
            #expect(mkfifo(tree + "/proc/cmdline", 0o644) == 0)
        }
        let result = try scratch.vfioctl(["list", "--root", archive])
        #expect(result.status == 3)
        #expect(result.stderr == "vfioctl: snapshot \(archive): member 'proc/cmdline' refused: a FIFO (a snapshot holds "
                + "only regular files, directories and symbolic links that stay inside it)\n")
        #expect(scratch.leftovers.isEmpty, "left behind: \(scratch.leftovers)")
    }

    @Test func fifoInARootDirectoryIsReportedNotWaitedFor() throws {
        let scratch = try Scratch()
        let tree = scratch.path + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/sys", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tree + "/proc", withIntermediateDirectories: true)
        #expect(mkfifo(tree + "/proc/cmdline", 0o644) == 0)
        let p = scratch.process(["list", "--root", tree])
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if p.isRunning {
            p.terminate()
            Issue.record("vfioctl list --root DIR waited on a FIFO")
        }
        p.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stdout.contains("warning: /proc/cmdline: is a FIFO, not a regular file; refused"), "\(stdout)")
    }

    /// tar takes `host:file` for a remote archive unless told otherwise; a report saved at 10:30 is a local file.
    @Test func archiveNameWithAColonIsALocalFile() throws {
        let scratch = try Scratch()
        let host = CLI.repo.path + "/" + (try #require(CLI.exampleHosts.first))
        let made = try scratch.vfioctl(["snapshot", "--root", host, "-o", "report-10:30.tar.gz"], cwd: scratch.path)
        #expect(made.status == 0, "\(made.stderr)")
        let replay = try scratch.vfioctl(["list", "--json", "--root", "report-10:30.tar.gz"], cwd: scratch.path)
        let live = try scratch.vfioctl(["list", "--json", "--root", host])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout == live.stdout)
        #expect(scratch.leftovers.isEmpty, "left behind: \(scratch.leftovers)")
    }

    /// Interrupted while unpacking (a large archive keeps tar busy long enough), vfioctl still removes its
    /// directory and then dies of the signal, as without the handler.
    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func signalDuringUnpackRemovesTheDirectory(_ signal: Int32) throws {
        let scratch = try Scratch()
        let archive = try scratch.archive("large.tar.gz") { tree in
            for d in 0..<50 {
                let dir = tree + "/sys/d\(d)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for f in 0..<100 { FileManager.default.createFile(atPath: dir + "/f\(f)", contents: Data("\(f)\n".utf8)) }
            }
        }
        // The test runner hands its children these signals ignored (and vfioctl, like any program, keeps a signal
        // its parent ignores); env(1) gives vfioctl the defaults a shell gives it.
        let p = scratch.process(["list", "--root", archive])
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["--default-signal=TERM,INT,HUP", CLI.binary] + (p.arguments ?? [])
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        // The copy of the archive is made after the directory is registered for removal.
        let deadline = Date().addingTimeInterval(30)
        var registered = false
        while !registered && p.isRunning && Date() < deadline {
            registered = scratch.leftovers.contains { FileManager.default.fileExists(atPath: scratch.tmp + "/" + $0 + "/snapshot.tar") }
            if !registered { Thread.sleep(forTimeInterval: 0.001) }
        }
        try #require(registered, "vfioctl finished before it could be interrupted")
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == signal,
                "ended with \(p.terminationReason == .exit ? "exit status" : "signal") \(p.terminationStatus): \(stderr)")
        // tar, left running, finds its directory gone; give it a moment, then nothing may remain.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(scratch.leftovers.isEmpty, "left behind: \(scratch.leftovers)")
    }
}
