import FoundationEssentials
import Glibc
import VFIOCore

/// `vfioctl snapshot`: a tarball of exactly the host files vfioctl read (symlinks kept, `config` bytes included),
/// with serial numbers and MAC addresses redacted, replayable with `--root FILE.tar.gz`.
public enum Snapshot {
    public struct Summary: Sendable {
        public var files = 0
        public var links = 0
        public var directories = 0
        public var redactions = 0
    }

    /// Copies every accessed path from `source` into a staging tree, then packs it.
    public static func write(accesses: [String: Set<RecordingReader.Access>], from source: RootedFileSystem,
                             to output: String) throws(HostError) -> Summary {
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-snapshot-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: staging) }
        var copier = TreeCopier(source: source, staging: staging.path)
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            for path in accesses.keys.sorted() {
                try copier.copy(path, accesses: accesses[path] ?? [])
            }
            try copier.writeReadme()
        } catch let error as HostError {
            throw error
        } catch {
            throw .snapshotWriteFailed(output, "\(error)")
        }
        guard let tar = Subprocess.find(["/usr/bin/tar", "/bin/tar"]) else { throw .snapshotWriteFailed(output, "no tar program found") }
        let absoluteOutput = output.hasPrefix("/") ? output : FileManager.default.currentDirectoryPath + "/" + output
        try Subprocess.run(tar, ["-czf", absoluteOutput, "-C", staging.path, "."])
        return copier.summary
    }

    /// Unpacks a snapshot into a fresh temporary directory.
    public static func unpack(_ archive: String) throws(HostError) -> URL {
        guard FileManager.default.isReadableFile(atPath: archive) else { throw .snapshotUnreadable(archive, "no such readable file") }
        guard let tar = Subprocess.find(["/usr/bin/tar", "/bin/tar"]) else { throw .snapshotUnreadable(archive, "no tar program found") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-root-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw .snapshotUnreadable(archive, "\(error)")
        }
        do {
            try Subprocess.run(tar, [archive.hasSuffix(".tar") ? "-xf" : "-xzf", archive, "-C", dir.path])
        } catch {
            try? FileManager.default.removeItem(at: dir)
            throw .snapshotUnreadable(archive, error.description)
        }
        return dir
    }
}

/// Recreates host paths inside a staging directory, following symlinks component by component so that every
/// link on the way is kept as a link (sysfs's `/sys/bus/pci/devices/X -> ../../../devices/...`).
struct TreeCopier {
    let source: RootedFileSystem
    let staging: String
    var summary = Snapshot.Summary()
    private var done = Set<String>()

    init(source: RootedFileSystem, staging: String) {
        self.source = source
        self.staging = staging
    }

    mutating func copy(_ hostPath: String, accesses: Set<RecordingReader.Access>) throws {
        guard let final = try resolve(hostPath, keepFinalLink: accesses == [.link]) else { return }
        let real = source.realPath(final)
        switch Syscalls.kind(real, followLinks: false) {
        case .regular where accesses.contains(.read):
            try copyFile(final)
        case .directory:
            try makeDirectory(final)
            if accesses.contains(.list) {
                for entry in (try? Syscalls.listDirectory(real, hostPath: final)) ?? [] {
                    try placeholder(HostPath.join(final, entry))
                }
            }
        case .regular, .other:
            try placeholder(final)
        default:
            break
        }
    }

    /// Walks `hostPath`, recreating links and directories on the way; returns the resolved path of the last
    /// component (or the link itself when only the link was read), nil when the path does not exist.
    private mutating func resolve(_ hostPath: String, keepFinalLink: Bool) throws -> String? {
        var pending = hostPath.split(separator: "/").map(String.init)
        var current = ""
        var hops = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            let next = current + "/" + component
            let real = source.realPath(next)
            guard let kind = Syscalls.kind(real, followLinks: false) else { return nil }
            if kind == .symlink {
                let target = try Syscalls.readLink(real, hostPath: next)
                try makeLink(next, target: target)
                if pending.isEmpty && keepFinalLink { return nil }
                hops += 1
                if hops > 40 { return nil }
                let resolved = HostPath.resolveLink(at: next, target: target)
                pending = resolved.split(separator: "/").map(String.init) + pending
                current = ""
                continue
            }
            if kind == .directory && !pending.isEmpty { try makeDirectory(next) }
            current = next
        }
        return current.isEmpty ? "/" : current
    }

    private mutating func placeholder(_ hostPath: String) throws {
        let real = source.realPath(hostPath)
        switch Syscalls.kind(real, followLinks: false) {
        case .symlink: try makeLink(hostPath, target: try Syscalls.readLink(real, hostPath: hostPath))
        case .directory: try makeDirectory(hostPath)
        case .regular, .other:
            let dest = staging + hostPath
            if !FileManager.default.fileExists(atPath: dest) {
                try makeDirectory(HostPath.parent(hostPath))
                _ = FileManager.default.createFile(atPath: dest, contents: Data())
                summary.files += 1
            }
        case nil: break
        }
    }

    private mutating func copyFile(_ hostPath: String) throws {
        guard done.insert("f" + hostPath).inserted else { return }
        var bytes: [UInt8]
        do { bytes = try source.readBytes(hostPath) } catch { return }  // unreadable (permissions): leave it out
        summary.redactions += Redaction.apply(path: hostPath, bytes: &bytes)
        try makeDirectory(HostPath.parent(hostPath))
        let dest = staging + hostPath
        try? FileManager.default.removeItem(atPath: dest)
        guard FileManager.default.createFile(atPath: dest, contents: Data(bytes)) else {
            throw HostError.snapshotWriteFailed(dest, "cannot create file")
        }
        summary.files += 1
    }

    private mutating func makeDirectory(_ hostPath: String) throws {
        guard done.insert("d" + hostPath).inserted else { return }
        let dest = staging + hostPath
        if FileManager.default.fileExists(atPath: dest) { return }
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        summary.directories += 1
    }

    private mutating func makeLink(_ hostPath: String, target: String) throws {
        guard done.insert("l" + hostPath).inserted else { return }
        try makeDirectory(HostPath.parent(hostPath))
        // Absolute targets become relative so the tree never points at the machine replaying it.
        let stored = target.hasPrefix("/") ? Redaction.relative(from: HostPath.parent(hostPath), to: target) : target
        let linkName = Redaction.redactLinkName(hostPath)
        try? FileManager.default.createSymbolicLink(atPath: staging + linkName, withDestinationPath: stored)
        summary.links += 1
    }

    func writeReadme() throws {
        let text = """
        vfioctl snapshot: the sysfs/procfs files vfioctl read on this host, with serial numbers and MAC
        addresses redacted. Replay: vfioctl list --root THIS.tar.gz (or doctor, plan, ...).

        """
        try text.write(toFile: staging + "/VFIOCTL-SNAPSHOT", atomically: true, encoding: .utf8)
    }
}

/// What a snapshot hides: MAC addresses in text files, PCIe Device Serial Numbers in `config`, and serial-looking
/// parts of `/dev/input/by-id` names.
enum Redaction {
    static func apply(path: String, bytes: inout [UInt8]) -> Int {
        if path.hasSuffix("/config") {
            guard let range = ConfigSpace.serialNumberRange(bytes) else { return 0 }
            for i in range { bytes[i] = 0 }
            return 1
        }
        return redactMACs(&bytes)
    }

    /// Replaces `xx:xx:xx:xx:xx:xx` with `02:00:00:00:00:00` (a locally administered, all-zero address).
    static func redactMACs(_ bytes: inout [UInt8]) -> Int {
        guard bytes.count >= 17 else { return 0 }
        var count = 0
        var i = 0
        func isHex(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46) }
        while i + 17 <= bytes.count {
            var match = true
            for k in 0..<17 {
                let b = bytes[i + k]
                if k % 3 == 2 { if b != 0x3a { match = false; break } } else if !isHex(b) { match = false; break }
            }
            let boundaryBefore = i == 0 || !(isHex(bytes[i - 1]) || bytes[i - 1] == 0x3a)
            let boundaryAfter = i + 17 == bytes.count || !(isHex(bytes[i + 17]) || bytes[i + 17] == 0x3a)
            if match && boundaryBefore && boundaryAfter {
                let replacement = Array("02:00:00:00:00:00".utf8)
                bytes.replaceSubrange(i..<(i + 17), with: replacement)
                count += 1
                i += 17
            } else {
                i += 1
            }
        }
        return count
    }

    /// `/dev/input/by-id/usb-Vendor_Keyboard_0901B01EAF5D-event-kbd` → `usb-Vendor_Keyboard_SERIAL-event-kbd`.
    static func redactLinkName(_ hostPath: String) -> String {
        guard hostPath.hasPrefix("/dev/input/by-id/") || hostPath.hasPrefix("/dev/disk/by-id/") else { return hostPath }
        let dir = HostPath.parent(hostPath)
        let name = HostPath.lastComponent(hostPath)
        let parts = name.split(separator: "_", omittingEmptySubsequences: false).map { part -> String in
            // The serial is the last underscore field before the "-ifNN"/"-event-kbd" suffix.
            let head = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            let token = String(head[0])
            let rest = head.count > 1 ? "-" + head[1] : ""
            let looksSerial = token.count >= 8 && token.allSatisfy { $0.isHexDigit } && token.contains { $0.isNumber }
            return (looksSerial ? "SERIAL" : token) + rest
        }
        return dir + "/" + parts.joined(separator: "_")
    }

    static func relative(from dir: String, to target: String) -> String {
        let from = dir.split(separator: "/")
        let to = target.split(separator: "/")
        var common = 0
        while common < from.count, common < to.count, from[common] == to[common] { common += 1 }
        let ups = Array(repeating: "..", count: from.count - common)
        let rest = to[common...].map(String.init)
        let joined = (ups + rest).joined(separator: "/")
        return joined.isEmpty ? "." : joined
    }
}
