import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

/// Snapshots come from strangers' bug reports and vfioctl runs as root: every hostile member is refused by name,
/// before anything is written, and the unpacked tree lives in a private directory that goes away with the session.
@Suite struct HostileSnapshotTests {
    /// Builds a tree with `build`, packs it with `tar -czf` (plus `extra` arguments such as `-P` members), and
    /// returns the archive's path inside `dir`.
    static func archive(_ dir: TempDir, name: String = "hostile.tar.gz", extra: [String] = [],
                        _ build: (String) throws -> Void) throws -> String {
        let tree = dir.path + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/sys", withIntermediateDirectories: true)
        try "x\n".write(toFile: tree + "/VFIOCTL-SNAPSHOT", atomically: true, encoding: .utf8)
        try build(tree)
        let out = dir.path + "/" + name
        try run("/usr/bin/tar", ["--force-local", "-czf", out, "-C", tree, "."] + extra)
        return out
    }

    static func run(_ tool: String, _ args: [String], in cwd: String? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: ["tool": "\(tool) \(args)"]) }
    }

    /// The error unpacking `archive` gives, as a user sees it.
    static func refusal(_ archive: String) -> String? {
        do { _ = try HostSession(root: archive); return nil } catch { return error.description }
    }

    @Test func fifoMemberIsRefusedByName() throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir) { tree in
            try FileManager.default.createDirectory(atPath: tree + "/proc", withIntermediateDirectories: true)
            #expect(mkfifo(tree + "/proc/cmdline", 0o644) == 0)
        }
        let message = try #require(Self.refusal(archive))
        #expect(message.contains("'proc/cmdline'") && message.contains("a FIFO"), "\(message)")
    }

    @Test(.enabled(if: getuid() == 0, "mknod needs root"))
    func deviceNodeMemberIsRefusedByName() throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir) { tree in
            try FileManager.default.createDirectory(atPath: tree + "/dev", withIntermediateDirectories: true)
            #expect(mknod(tree + "/dev/zero", S_IFCHR | 0o666, dev_t((1 << 8) | 5)) == 0)
        }
        let message = try #require(Self.refusal(archive))
        #expect(message.contains("'dev/zero'") && message.contains("a character device"), "\(message)")
    }

    @Test func hardLinkMemberIsRefusedByName() throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir) { tree in
            try "secret".write(toFile: tree + "/sys/a", atomically: true, encoding: .utf8)
            #expect(link(tree + "/sys/a", tree + "/sys/b") == 0)
        }
        let message = try #require(Self.refusal(archive))
        #expect(message.contains("a hard link") && message.contains("sys/"), "\(message)")
    }

    @Test func setuidMemberLosesItsSpecialBits() throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir) { tree in
            try "#!/bin/sh\nid\n".write(toFile: tree + "/suid-id", atomically: true, encoding: .utf8)
            #expect(chmod(tree + "/suid-id", 0o6755) == 0)
            #expect(chmod(tree + "/sys", 0o1777) == 0)
        }
        let session = try HostSession(root: archive)
        let root = try #require(session.unpackedSnapshot).root
        var st = stat()
        #expect(stat(root + "/suid-id", &st) == 0)
        #expect(st.st_mode & 0o7777 == 0o600)
        #expect(stat(root + "/sys", &st) == 0)
        #expect(st.st_mode & 0o7777 == 0o700)
        #expect(st.st_uid == getuid())
    }

    @Test(arguments: [
        ("sys/escape", "/etc/shadow", "absolute path /etc/shadow"),
        ("sys/escape", "../../etc/shadow", "outside the snapshot"),
        ("sys/escape", "../..", "outside the snapshot"),
    ])
    func symlinkLeavingTheTreeIsRefusedByName(_ member: String, _ target: String, _ why: String) throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir) { tree in
            try FileManager.default.createSymbolicLink(atPath: tree + "/" + member, withDestinationPath: target)
        }
        let message = try #require(Self.refusal(archive))
        #expect(message.contains("'\(member)'") && message.contains(why), "\(message)")
    }

    /// Each link stays inside on its own (read lexically), but `s` is the tree itself, so `t -> s/s/..` is its
    /// parent: only resolving the unpacked links as the reader would catches it.
    @Test func chainOfLinksLeavingTheTreeIsRefusedByName() throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir) { tree in
            try FileManager.default.createSymbolicLink(atPath: tree + "/s", withDestinationPath: ".")
            try FileManager.default.createSymbolicLink(atPath: tree + "/t", withDestinationPath: "s/s/..")
        }
        let message = try #require(Self.refusal(archive))
        #expect(message.contains("'t'") && message.contains("outside the snapshot"), "\(message)")
    }

    @Test func dotDotMemberIsRefusedByName() throws {
        let dir = try TempDir()
        try dir.write("tree/sys/f", "x")
        try dir.write("outside", "escaped")
        let archive = dir.path + "/dotdot.tar.gz"
        try Self.run("/usr/bin/tar", ["-czPf", archive, "../outside", "sys/f"], in: dir.path + "/tree")
        let message = try #require(Self.refusal(archive))
        #expect(message.contains("'../outside'") && message.contains("'..'"), "\(message)")
    }

    @Test func absoluteMemberIsRefusedByName() throws {
        let dir = try TempDir()
        try dir.write("abs-target", "x")
        let archive = dir.path + "/absolute.tar.gz"
        try Self.run("/usr/bin/tar", ["-czPf", archive, dir.path + "/abs-target"])
        let message = try #require(Self.refusal(archive))
        #expect(message.contains("'\(dir.path)/abs-target'") && message.contains("an absolute path"), "\(message)")
    }

    @Test func oversizedMemberIsRefusedByName() throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir) { tree in
            try String(repeating: "x", count: 100).write(toFile: tree + "/sys/big", atomically: true, encoding: .utf8)
        }
        var limits = UnpackLimits()
        limits.memberBytes = 50
        do { _ = try Snapshot.unpack(archive, limits: limits); Issue.record("expected a refusal") } catch {
            #expect(error.description.contains("'sys/big'") && error.description.contains("100 bytes"), "\(error)")
        }
    }

    @Test func unpackedTreeIsPrivateAndRemovedWithTheSession() throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir) { tree in
            try "1\n".write(toFile: tree + "/sys/x", atomically: true, encoding: .utf8)
        }
        var session: HostSession? = try HostSession(root: archive)
        let path = try #require(session?.unpackedSnapshot).path
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFDIR && st.st_mode & 0o7777 == 0o700)
        #expect(try session?.files.readText("/sys/x") == "1")
        session = nil
        #expect(lstat(path, &st) != 0 && errno == ENOENT, "\(path) is still there")
    }

    @Test func archiveOpenedByARelativeNameWithAColonIsALocalFile() throws {
        let dir = try TempDir()
        let archive = try Self.archive(dir, name: "report-10:30.tar.gz") { tree in
            try "1\n".write(toFile: tree + "/sys/x", atomically: true, encoding: .utf8)
        }
        let session = try HostSession(root: archive)
        #expect(try session.files.readText("/sys/x") == "1")
    }

    @Test func listingNamesAreUnquoted() {
        let line: Substring = #"lrwxrwxrwx 0/0               0 2026-11-27 08:22 "./we\"ird\nname \303\251" -> "../sub/x""#
        let member = SnapshotListing.parse(line)
        #expect(member == .init(type: "l", name: "./we\"ird\nname é", size: 0, linkTarget: "../sub/x"))
        #expect(SnapshotListing.parse(#"-rw-r--r-- 0/0 12 2026-11-27 08:22 "./unterminated"#) == nil)
    }
}
