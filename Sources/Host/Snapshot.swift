import CVFIO
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
        // The staging tree holds host files read as root: private, and removed on every way out like an unpack.
        let staging = try PrivateDirectory(prefix: "vfioctl-snapshot") { .snapshotWriteFailed(output, $0) }
        var copier = TreeCopier(source: source, staging: staging.path)
        do {
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
        // The output path is absolute: GNU tar takes a name for a remote host only when a colon comes before the
        // first slash, so no --force-local is needed here (busybox tar, in minimal systems, does not know it).
        try Subprocess.run(tar, ["-czf", absoluteOutput, "-C", staging.path, "."])
        return copier.summary
    }

    /// Unpacks a snapshot into a private temporary directory, removed when the result is released, at exit,
    /// or on SIGINT/SIGTERM/SIGHUP.
    ///
    /// A snapshot comes from a stranger's bug report and vfioctl runs as root, so tar is never trusted with
    /// the archive as it is. The archive is first copied into a fresh mkdtemp(3) directory (mode 0700), so
    /// the file checked is the file unpacked even when its owner rewrites it meanwhile. Its listing
    /// (`tar -tv --numeric-owner --quoting-style=c --warning=none --absolute-names`: one line per member, the
    /// name C-quoted so no name can fake a line and shown as stored, and no warning interleaved with it) is checked before anything is written: only regular files, directories and symbolic links, no
    /// absolute or `..` names, links only to relative targets inside the tree, sizes and counts bounded
    /// (`UnpackLimits`). Listing first means a device node, FIFO or setuid file is never created, not even for
    /// a moment. Tar then extracts without owners, modes, ACLs, SELinux labels or xattrs (file capabilities),
    /// and the unpacked tree is walked once more: types checked again with lstat, modes set to 0700 for
    /// directories and 0600 for files (no setuid, setgid or sticky bit), and every link resolved as the tree's
    /// reader will resolve it, so a chain of links that leaves the tree (`s -> .`, `t -> s/s/..`) is refused too.
    public static func unpack(_ archive: String, limits: UnpackLimits = UnpackLimits()) throws(HostError) -> UnpackedSnapshot {
        guard let tar = Subprocess.find(["/usr/bin/tar", "/bin/tar"]) else { throw .snapshotUnreadable(archive, "no tar program found") }
        let directory = try PrivateDirectory(prefix: "vfioctl-root") { .snapshotUnreadable(archive, $0) }
        let copy = directory.path + "/snapshot.tar"
        let root = directory.path + "/root"
        try copyArchive(archive, to: copy, limit: limits.archiveBytes)
        guard mkdir(root, 0o700) == 0 else { throw .snapshotUnreadable(archive, "mkdir \(root): \(String(cString: strerror(errno)))") }
        let gzip = !archive.hasSuffix(".tar")
        // --force-local: a name with a colon ("report-10:30.tar.gz") is a file, never a remote host.
        let listing: String
        do {
            listing = try Subprocess.run(tar, ["--force-local", "--numeric-owner", "--quoting-style=c", "--warning=none", "--absolute-names", gzip ? "-tvzf" : "-tvf", copy])
        } catch {
            throw .snapshotUnreadable(archive, error.description)
        }
        try SnapshotListing.check(listing, archive: archive, tar: tar, limits: limits)
        do {
            try Subprocess.run(tar, ["--force-local", gzip ? "-xzf" : "-xf", copy, "-C", root,
                                     "--no-same-owner", "--no-same-permissions", "--no-overwrite-dir",
                                     "--no-acls", "--no-selinux", "--no-xattrs"])
        } catch {
            throw .snapshotUnreadable(archive, error.description)
        }
        try SnapshotListing.checkUnpacked(root, archive: archive, limits: limits)
        _ = unlink(copy)
        return UnpackedSnapshot(directory: directory, root: root)
    }

    /// Copies at most `limit` bytes; a larger archive is refused before tar sees it.
    private static func copyArchive(_ archive: String, to copy: String, limit: Int) throws(HostError) {
        let input = open(archive, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard input >= 0 else { throw .snapshotUnreadable(archive, String(cString: strerror(errno))) }
        defer { close(input) }
        var st = stat()
        guard fstat(input, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw .snapshotUnreadable(archive, "not a regular file")
        }
        let output = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard output >= 0 else { throw .snapshotUnreadable(archive, "\(copy): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            // SAFETY: read and write stay within the array's own storage of `buffer.count` bytes.
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .snapshotUnreadable(archive, String(cString: strerror(errno))) }
            if n == 0 { return }
            total += n
            if total > limit { throw .snapshotUnreadable(archive, "larger than \(limit) bytes") }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { Glibc.write(output, $0.baseAddress! + written, n - written) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw .snapshotUnreadable(archive, "\(copy): \(String(cString: strerror(errno)))") }
                written += w
            }
        }
    }
}

/// Bounds on what a snapshot may hold, so a hostile archive cannot fill the disk or memory. A real snapshot
/// is a few megabytes and tens of thousands of members.
public struct UnpackLimits: Sendable {
    /// The compressed archive.
    public var archiveBytes = 256 << 20
    /// One member: no bigger than vfioctl would read (`Syscalls.readLimit`).
    public var memberBytes = Syscalls.readLimit
    /// All members together.
    public var totalBytes = 512 << 20
    public var members = 500_000
    /// Path components in a member name (sysfs paths stay under 30; the emergency removal handles 128).
    public var depth = 100

    public init() {}
}

/// An unpacked snapshot: its private directory, registered for removal at exit and on fatal signals, and
/// removed when this value is released.
public final class UnpackedSnapshot: Sendable {
    let directory: PrivateDirectory
    /// The tree to use as the host root.
    public let root: String
    /// The private mkdtemp directory holding `root`.
    public var path: String { directory.path }

    init(directory: PrivateDirectory, root: String) {
        self.directory = directory
        self.root = root
    }
}

/// A directory made by mkdtemp(3) (mode 0700, a name nobody can guess or pre-create), registered with the C
/// cleanup (`cvfio_cleanup_register`) so SIGINT, SIGTERM, SIGHUP and exit(3) remove it, and removed in `deinit`.
final class PrivateDirectory: Sendable {
    let path: String
    private let slot: Int32

    init(prefix: String, failure: (String) -> HostError) throws(HostError) {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base.hasSuffix("/") ? base : base + "/").utf8CString.dropLast()) + Array("\(prefix)-XXXXXX".utf8CString)
        // SAFETY: mkdtemp rewrites the trailing XXXXXX of the NUL-terminated template in place.
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw failure("cannot make a temporary directory under \(base): \(String(cString: strerror(errno)))")
        }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        slot = cvfio_cleanup_register(path)
    }

    deinit {
        if slot >= 0 { _ = cvfio_cleanup_remove(slot) } else { _ = cvfio_remove_tree(path) }
    }
}

/// The checks on a snapshot's members, before (the listing) and after (the unpacked tree) extraction.
enum SnapshotListing {
    struct Member: Equatable {
        var type: Character
        var name: String
        var size: Int
        var linkTarget: String?
    }

    static func check(_ listing: String, archive: String, tar: String, limits: UnpackLimits) throws(HostError) {
        var seen = Set<String>()
        var total = 0
        for line in listing.split(separator: "\n", omittingEmptySubsequences: true) {
            // tar's own diagnostics ("/usr/bin/tar: ..."); a member line starts with its mode string instead.
            if line.hasPrefix(tar + ": ") || line.hasPrefix("tar: ") { continue }
            guard let member = parse(line) else { throw .snapshotUnreadable(archive, "unexpected listing line: \(line.prefix(200))") }
            let name = try normalized(member.name, archive: archive, limits: limits)
            guard !name.isEmpty else { continue }  // "./", the tree itself
            func refuse(_ why: String) -> HostError { .snapshotMemberRefused(archive, name, why) }
            switch member.type {
            case "-":
                if member.size > limits.memberBytes { throw refuse("\(member.size) bytes, more than the limit of \(limits.memberBytes)") }
                total += member.size
                if total > limits.totalBytes { throw refuse("the members add up to more than \(limits.totalBytes) bytes") }
            case "d":
                break
            case "l":
                guard let target = member.linkTarget, !target.isEmpty else { throw refuse("a symbolic link without a target") }
                if target.hasPrefix("/") { throw refuse("a symbolic link to the absolute path \(target)") }
                if climbsOut(from: HostPath.parent("/" + name), target: target) { throw refuse("a symbolic link to \(target), outside the snapshot") }
            default:
                throw refuse(describe(member.type))
            }
            guard seen.insert(name).inserted else { throw refuse("appears twice in the archive") }
            if seen.count > limits.members { throw refuse("more than \(limits.members) members") }
        }
    }

    static func describe(_ type: Character) -> String {
        switch type {
        case "h": "a hard link"
        case "c": "a character device"
        case "b": "a block device"
        case "p": "a FIFO"
        case "s": "a socket"
        default: "an entry of type '\(type)'"
        }
    }

    /// "./sys/x/" → "sys/x"; absolute and `..` names are refused (tar would strip or skip them, silently).
    static func normalized(_ name: String, archive: String, limits: UnpackLimits) throws(HostError) -> String {
        if name.hasPrefix("/") { throw .snapshotMemberRefused(archive, name, "an absolute path") }
        let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        if parts.contains("..") { throw .snapshotMemberRefused(archive, name, "a name with a '..' component") }
        if parts.count > limits.depth { throw .snapshotMemberRefused(archive, name, "deeper than \(limits.depth) directories") }
        return parts.joined(separator: "/")
    }

    /// Whether a relative target, read lexically from the link's directory, climbs above the tree's top.
    static func climbsOut(from directory: String, target: String) -> Bool {
        var depth = directory.split(separator: "/").count
        for part in target.split(separator: "/") {
            if part == ".." { depth -= 1; if depth < 0 { return true } } else if part != "." { depth += 1 }
        }
        return false
    }

    /// One line of GNU tar's verbose listing: `MODE UID/GID SIZE DATE TIME "NAME"[ -> "TARGET"| link to "TARGET"]`.
    /// The fields before the name never hold a quote, so the name starts at the first one.
    static func parse(_ line: Substring) -> Member? {
        guard let type = line.first, let quote = line.firstIndex(of: "\"") else { return nil }
        let fields = line[..<quote].split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 5 else { return nil }
        let size = Int(fields[2]) ?? 0
        var rest = line[line.index(after: quote)...]
        guard let name = unquote(&rest) else { return nil }
        var target: String?
        if rest.hasPrefix(" -> \"") {
            rest = rest.dropFirst(5)
            target = unquote(&rest)
            guard target != nil else { return nil }
        }
        return Member(type: type, name: name, size: size, linkTarget: target)
    }

    /// Reads a C-quoted string up to its closing quote (the opening one already consumed).
    static func unquote(_ text: inout Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.popFirst() {
            if b == UInt8(ascii: "\"") {
                text = Substring(String(decoding: utf8, as: UTF8.self))
                return String(decoding: bytes, as: UTF8.self)
            }
            guard b == UInt8(ascii: "\\") else { bytes.append(b); continue }
            guard let e = utf8.popFirst() else { return nil }
            switch e {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "a"): bytes.append(0x07)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "v"): bytes.append(0x0B)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(e - UInt8(ascii: "0"))
                for _ in 0..<2 {
                    guard let d = utf8.first, d >= UInt8(ascii: "0"), d <= UInt8(ascii: "7") else { break }
                    value = value * 8 + Int(d - UInt8(ascii: "0"))
                    utf8.removeFirst()
                }
                bytes.append(UInt8(truncatingIfNeeded: value))
            default: bytes.append(e)
            }
        }
        return nil
    }

    /// The unpacked tree, checked again with lstat: what tar made is what the listing promised, modes carry
    /// no special bits and no chain of links leaves the tree.
    static func checkUnpacked(_ root: String, archive: String, limits: UnpackLimits) throws(HostError) {
        var pending = [""]
        var count = 0
        while let relative = pending.popLast() {
            let real = relative.isEmpty ? root : root + "/" + relative
            var st = stat()
            guard lstat(real, &st) == 0 else { throw .snapshotUnreadable(archive, "\(relative): \(String(cString: strerror(errno)))") }
            count += 1
            if count > limits.members + 1 { throw .snapshotMemberRefused(archive, relative, "more than \(limits.members) members") }
            let type = st.st_mode & S_IFMT
            switch type {
            case S_IFDIR:
                guard chmod(real, 0o700) == 0 else { throw .snapshotUnreadable(archive, "chmod \(relative): \(String(cString: strerror(errno)))") }
                let names: [String]
                do { names = try Syscalls.listDirectory(real, hostPath: relative, policy: .tree) } catch {
                    throw .snapshotUnreadable(archive, error.description)
                }
                pending += names.map { relative.isEmpty ? $0 : relative + "/" + $0 }
            case S_IFREG:
                guard chmod(real, 0o600) == 0 else { throw .snapshotUnreadable(archive, "chmod \(relative): \(String(cString: strerror(errno)))") }
            case S_IFLNK:
                do { _ = try RootedFileSystem.resolve("/" + relative, under: root, followFinalLink: true, escape: .refuse) } catch {
                    let target = (try? Syscalls.readLink(real, hostPath: relative)) ?? "?"
                    let why = error.reason == .linkLoop ? "a loop of symbolic links" : "a symbolic link to \(target) that leads outside the snapshot"
                    throw .snapshotMemberRefused(archive, relative, why)
                }
            default:
                throw .snapshotMemberRefused(archive, relative, Syscalls.describe(type))
            }
        }
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
        let real = source.realPath(final, followFinalLink: false)
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
            let real = source.realPath(next, followFinalLink: false)
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
        let real = source.realPath(hostPath, followFinalLink: false)
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
