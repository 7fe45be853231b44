import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

@Suite struct HostWriterTests {
    struct Original: Codable, Equatable, Sendable {
        var path: String
        var value: String
    }

    @Test func writesExistingAttributesOnlyAndNamesFailures() throws {
        let dir = try TempDir()
        try dir.write("proc/irq/5/smp_affinity_list", "0-3\n")
        let fs = try RootedFileSystem(root: dir.path)
        let writer = RootedHostWriter(files: fs)
        try writer.write("/proc/irq/5/smp_affinity_list", "0")
        #expect(try fs.readText("/proc/irq/5/smp_affinity_list") == "0")
        do { try writer.write("/proc/irq/6/smp_affinity_list", "0"); Issue.record("expected an error") } catch {
            #expect(error.path == "/proc/irq/6/smp_affinity_list" && error.errno == .noSuchFileOrDirectory)
            #expect(error.description.contains("ENOENT"))
        }
        #expect(fs.kind(of: "/proc/irq/6/smp_affinity_list") == nil)
    }

    @Test func dryRunRecordsInOrderAndTouchesNothing() throws {
        let dry = DryRunWriter()
        try dry.write("/a", "1")
        try dry.write("/b", "2")
        #expect(dry.writes.map(\.path) == ["/a", "/b"])
    }

    @Test func journalSurvivesATornLastLine() throws {
        let dir = try TempDir()
        let fs = try RootedFileSystem(root: dir.path)
        let journal = Journal<Original>(files: fs, name: "test")
        try journal.append(Original(path: "/proc/irq/5/smp_affinity_list", value: "0-3"))
        try journal.append(Original(path: "/proc/irq/6/smp_affinity_list", value: "1"))
        #expect(try journal.records().map(\.value) == ["0-3", "1"])
        // A crash in the middle of an append leaves a partial line.
        let handle = FileHandle(forWritingAtPath: fs.realPath(journal.path))!
        handle.seekToEndOfFile()
        handle.write(Data(#"{"path":"/proc/irq/7/sm"#.utf8))
        handle.closeFile()
        #expect(try journal.records().count == 2)
        // The next append cuts the torn line off instead of gluing onto it.
        try journal.append(Original(path: "/proc/irq/8/smp_affinity_list", value: "2"))
        #expect(try journal.records().map(\.value) == ["0-3", "1", "2"])
        try journal.remove()
        #expect(try journal.records().isEmpty)
    }

    @Test func batchAppendAfterATornLineLongerThanOneReadBlock() throws {
        let dir = try TempDir()
        let fs = try RootedFileSystem(root: dir.path)
        let journal = Journal<Original>(files: fs, name: "batch")
        try journal.append([Original(path: "/a", value: "1"), Original(path: "/b", value: "2")])
        #expect(try journal.records().map(\.path) == ["/a", "/b"])
        // A torn record of 10 KB: the search for the last newline crosses several 4 KiB blocks.
        let handle = FileHandle(forWritingAtPath: fs.realPath(journal.path))!
        handle.seekToEndOfFile()
        handle.write(Data(("{\"path\":\"" + String(repeating: "x", count: 10_000)).utf8))
        handle.closeFile()
        try journal.append([Original(path: "/c", value: "3"), Original(path: "/d", value: "4")])
        #expect(try journal.records().map(\.path) == ["/a", "/b", "/c", "/d"])
        // A journal holding only a torn line is cut to nothing before the append.
        let only = Journal<Original>(files: fs, name: "torn-only")
        try dir.write("run/vfioctl/torn-only.journal", String(repeating: "y", count: 5_000))
        try only.append(Original(path: "/e", value: "5"))
        #expect(try only.records().map(\.path) == ["/e"])
        #expect(try fs.readBytes(only.path).last == 0x0A && fs.readBytes(only.path).count < 100)
    }

    @Test func corruptJournalIsAnErrorNamingTheLine() throws {
        let dir = try TempDir()
        try dir.write("run/vfioctl/bad.journal", "garbage\n{\"path\":\"/x\",\"value\":\"1\"}\n")
        let journal = Journal<Original>(files: try RootedFileSystem(root: dir.path), name: "bad")
        do { _ = try journal.records(); Issue.record("expected an error") } catch {
            #expect(error.description.contains("line 1"))
        }
    }

    /// A journal decides what restore writes: one that is a link (to anywhere), has another owner or a loose mode
    /// is refused, naming the path and the fix, for appends and reads alike; what it points to is never touched.
    @Test func journalThatIsASymlinkIsRefused() throws {
        let dir = try TempDir()
        try dir.write("elsewhere/target", "")
        try FileManager.default.createDirectory(atPath: dir.path + "/run/vfioctl", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/run/vfioctl/bind.journal", withDestinationPath: "../../elsewhere/target")
        let journal = Journal<Original>(files: try RootedFileSystem(root: dir.path), name: "bind")
        #expect {
            try journal.append(Original(path: "/a", value: "1"))
        } throws: { error in
            "\(error)".contains("/run/vfioctl/bind.journal") && "\(error)".contains("symbolic link")
        }
        #expect(throws: HostWriteError.self) { try journal.read() }
        #expect(try String(contentsOfFile: dir.path + "/elsewhere/target", encoding: .utf8).isEmpty)
    }

    @Test func journalWithALooseModeOrAnotherOwnerIsRefused() throws {
        let dir = try TempDir()
        let fs = try RootedFileSystem(root: dir.path)
        let journal = Journal<Original>(files: fs, name: "shield")
        try journal.append(Original(path: "/a", value: "1"))
        let real = fs.realPath(journal.path)
        #expect(chmod(real, 0o666) == 0)
        #expect {
            _ = try journal.read()
        } throws: { error in "\(error)".contains("has mode 666") && "\(error)".contains("chmod 600 /run/vfioctl/shield.journal") }
        #expect(chmod(real, 0o644) == 0)
        #expect(try journal.records().count == 1)
        // Another owner (only root can make one; vfioctl runs as root on a real host).
        if geteuid() == 0 {
            #expect(chown(real, 4242, 4242) == 0)
            #expect {
                try journal.append(Original(path: "/b", value: "2"))
            } throws: { error in "\(error)".contains("owned by uid 4242") }
        }
    }

    /// Appends from two writers at once (O_APPEND and a lock per append): none is lost or overwritten.
    @Test func concurrentAppendsLoseNothing() throws {
        let dir = try TempDir()
        let fs = try RootedFileSystem(root: dir.path)
        DispatchQueue.concurrentPerform(iterations: 2) { writer in
            let journal = Journal<Original>(files: fs, name: "shared")
            for i in 0..<100 { try? journal.append(Original(path: "/w\(writer)", value: String(i))) }
        }
        let records = try Journal<Original>(files: fs, name: "shared").records()
        #expect(records.count == 200)
        #expect(records.filter { $0.path == "/w0" }.map(\.value) == (0..<100).map(String.init))
    }

    @Test func corruptMiddleLineIsNamedAndTheRestIsRead() throws {
        let dir = try TempDir()
        try dir.write("run/vfioctl/bad.journal", "{\"path\":\"/x\",\"value\":\"1\"}\ngarbage\n{\"path\":\"/y\",\"value\":\"2\"}\n")
        let journal = Journal<Original>(files: try RootedFileSystem(root: dir.path), name: "bad")
        let contents = try journal.read()
        #expect(contents.records.map(\.path) == ["/x", "/y"])
        #expect(contents.corrupt.map(\.description) == ["/run/vfioctl/bad.journal:2: not a journal record: 'garbage'"])
        #expect(try journal.dropCorrupt().map(\.line) == [2])
        #expect(try journal.records().map(\.path) == ["/x", "/y"])
    }

    /// One lock for every runtime command: a second taker waits (bounded), is told who holds it, and gets it once
    /// the holder lets go.
    @Test func runtimeLockIsExclusiveNamesItsHolderAndIsFreedOnRelease() throws {
        let dir = try TempDir()
        let fs = try RootedFileSystem(root: dir.path)
        var held: RuntimeLock? = try RuntimeLock.acquire(fs, command: "bind 0000:03:00.0")
        var told: [String] = []
        #expect {
            _ = try RuntimeLock.acquire(fs, command: "shield --vm b", timeout: 0.2) { told.append($0) }
        } throws: { error in
            "\(error)".contains("held by pid \(getpid()): vfioctl bind 0000:03:00.0")
        }
        #expect(told == ["waiting for /run/vfioctl/lock, held by pid \(getpid()): vfioctl bind 0000:03:00.0"])
        withExtendedLifetime(held) {}
        held = nil
        let next = try RuntimeLock.acquire(fs, command: "shield --vm b", timeout: 0.2)
        withExtendedLifetime(next) {}
    }
}
