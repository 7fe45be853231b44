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
            #expect(error.path == "/proc/irq/6/smp_affinity_list" && error.errno == ENOENT)
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
}
