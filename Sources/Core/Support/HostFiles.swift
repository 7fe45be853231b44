/// A read-only view of one host's files. Every path is absolute as the host itself sees it
/// ("/sys/bus/pci/devices"); the implementation decides where that host lives (the real `/`,
/// a fixture tree, an unpacked snapshot). The pure core reads the host only through this protocol,
/// so it never performs I/O of its own and can be tested on any tree.
public protocol HostFileReader: Sendable {
    /// The whole content of a regular file (sysfs attributes, procfs tables, binary `config`).
    func readBytes(_ path: String) throws(FileReadError) -> [UInt8]
    /// Opens `path` once and lets `body` read byte ranges (`read(offset, count)`, short at the end of the file).
    /// For binary attributes such as `config`, where each access may trap to firmware or a hypervisor.
    func readRanges(_ path: String, _ body: (_ read: (_ offset: Int, _ count: Int) -> [UInt8]) -> Void) throws(FileReadError)
    /// Names of a directory's entries, sorted, without "." and "..".
    func listDirectory(_ path: String) throws(FileReadError) -> [String]
    /// The target text of a symbolic link, as stored (usually relative in sysfs).
    func readLink(_ path: String) throws(FileReadError) -> String
    /// The kind of object at `path` after following symlinks, or nil when nothing is there.
    func kind(of path: String) -> FileKind?
}

public enum FileKind: Sendable, Equatable {
    case regular, directory, symlink, other
}

/// Why a host file could not be read. Always names the path.
public struct FileReadError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case notFound
        case permissionDenied
        case notADirectory
        case notALink
        case escapesRoot(String)
        /// A FIFO, socket or device where a regular file was expected ("a FIFO").
        case notARegularFile(String)
        /// Larger than vfioctl reads (a limit in bytes or entries, so a hostile tree cannot exhaust memory).
        case tooLarge(limit: Int)
        /// More than 40 symbolic links on the way, as the kernel's ELOOP.
        case linkLoop
        case io(errno: Int32)
    }
    public let path: String
    public let reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .notFound: return "\(path): no such file or directory"
        case .permissionDenied: return "\(path): permission denied (run as root to read it)"
        case .notADirectory: return "\(path): not a directory"
        case .notALink: return "\(path): not a symbolic link"
        case .escapesRoot(let target): return "\(path): symbolic link to \(target) leaves the host root"
        case .notARegularFile(let kind): return "\(path): is \(kind), not a regular file; refused"
        case .tooLarge(let limit): return "\(path): larger than the limit of \(limit) bytes; refused"
        case .linkLoop: return "\(path): too many levels of symbolic links"
        case .io(let errno): return "\(path): read failed (errno \(errno))"
        }
    }
}

extension HostFileReader {
    /// The PCI function a class device sits under (`/sys/class/net/eth0 -> ../../devices/.../0000:02:00.0/net/eth0`):
    /// the last PCI address on the resolved link; nil for virtual devices and missing links.
    public func pciFunction(behind classLink: String) -> PCIAddress? {
        guard let target = try? readLink(classLink) else { return nil }
        return HostPath.resolveLink(at: classLink, target: target).split(separator: "/").compactMap { PCIAddress(String($0)) }.last
    }

    public func readRanges(_ path: String, _ body: (_ read: (_ offset: Int, _ count: Int) -> [UInt8]) -> Void) throws(FileReadError) {
        let all = try readBytes(path)
        body { offset, count in offset < all.count ? Array(all[offset..<min(all.count, offset + count)]) : [] }
    }

    /// A sysfs/procfs text attribute with the trailing newline removed.
    public func readText(_ path: String) throws(FileReadError) -> String {
        var bytes = try readBytes(path)
        while let last = bytes.last, last == 0x0A || last == 0x00 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Like `readText`, but nil when the file does not exist (optional attributes such as `boot_vga`).
    public func readOptionalText(_ path: String) throws(FileReadError) -> String? {
        do { return try readText(path) } catch where error.reason == .notFound { return nil }
    }

    /// Like `listDirectory`, but an empty list when the directory does not exist.
    public func listOptionalDirectory(_ path: String) throws(FileReadError) -> [String] {
        do { return try listDirectory(path) } catch where error.reason == .notFound { return [] }
    }

    /// The last path component of a link target (`driver -> ../../bus/pci/drivers/nvme` gives "nvme").
    public func readLinkName(_ path: String) throws(FileReadError) -> String? {
        do {
            let target = try readLink(path)
            return HostPath.lastComponent(target)
        } catch where error.reason == .notFound {
            return nil
        }
    }

    public func exists(_ path: String) -> Bool { kind(of: path) != nil }
}

/// Lexical helpers for host paths ("/a/b/../c"). No I/O.
public enum HostPath {
    public static func join(_ base: String, _ component: String) -> String {
        if component.hasPrefix("/") { return component }
        return base.hasSuffix("/") ? base + component : base + "/" + component
    }

    public static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    public static func parent(_ path: String) -> String {
        var parts = path.split(separator: "/")
        if !parts.isEmpty { parts.removeLast() }
        return "/" + parts.joined(separator: "/")
    }

    /// Resolves "." and ".." lexically; a ".." above "/" stays at "/".
    public static func normalize(_ path: String) -> String {
        var out: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !out.isEmpty { out.removeLast() }; continue }
            out.append(part)
        }
        return "/" + out.joined(separator: "/")
    }

    /// The absolute path a relative link target points to, seen from the link's own directory.
    public static func resolveLink(at linkPath: String, target: String) -> String {
        if target.hasPrefix("/") { return normalize(target) }
        return normalize(join(parent(linkPath), target))
    }
}
