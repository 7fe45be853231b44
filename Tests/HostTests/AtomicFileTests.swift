import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

@Suite struct AtomicFileTests {
    final class Dir {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-atomic-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func read(_ name: String) -> String? { try? String(contentsOfFile: path + "/" + name, encoding: .utf8) }
    }

    struct Crash: Error {}

    @Test func replacesTheFileWithItsModeAndLeavesNoTemporary() throws {
        let dir = try Dir()
        let file = dir.path + "/grub"
        try AtomicFile.write(Array("old\n".utf8), to: file)
        try AtomicFile.write(Array("#!/bin/sh\n".utf8), to: file, mode: 0o755)
        #expect(dir.read("grub") == "#!/bin/sh\n")
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o755)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["grub"])
    }

    /// A crash after the new contents are written and synced but before the rename leaves the old file whole; the
    /// next write takes over the temporary file the crash left.
    @Test func aCrashBeforeTheRenameLeavesTheOldFile() throws {
        let dir = try Dir()
        let file = dir.path + "/manifest.json"
        try AtomicFile.write(Array("old".utf8), to: file)
        #expect(throws: HostWriteError.self) {
            try AtomicFile.write(Array("new".utf8), to: file) { () throws(HostWriteError) in
                throw HostWriteError(path: file, value: "", errno: EIO, detail: "crash")
            }
        }
        #expect(dir.read("manifest.json") == "old")
        #expect(dir.read("manifest.json.vfioctl-new") == "new")
        try AtomicFile.write(Array("newer".utf8), to: file)
        #expect(dir.read("manifest.json") == "newer")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["manifest.json"])
    }

    @Test func aFailureNamesTheFile() throws {
        let error = try #require(throws: HostWriteError.self) { try AtomicFile.write([1], to: "/nonexistent-dir-vfioctl/x") }
        #expect(error.description.contains("/nonexistent-dir-vfioctl/x"))
        #expect(error.description.contains("cannot create /nonexistent-dir-vfioctl/x.vfioctl-new"))
    }

    /// Every file vfioctl replaces goes through `AtomicFile`: no other rename(2) or Foundation atomic write in the
    /// Host layer.
    @Test func theHostLayerHasOneAtomicWriter() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let host = root.appendingPathComponent("Sources/Host").path
        var copies: [String] = []
        let files = FileManager.default.enumerator(atPath: host)
        while let rel = files?.nextObject() as? String {
            guard rel.hasSuffix(".swift"), rel != "Write/AtomicFile.swift" else { continue }
            let text = try String(contentsOfFile: host + "/" + rel, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains("rename(") || line.contains("options: .atomic") || line.contains("renameat(") {
                copies.append("Sources/Host/\(rel):\(n + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(copies.isEmpty, "\(copies.joined(separator: "\n"))")
    }
}
