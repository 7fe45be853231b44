#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// The host's files under one root directory: `/` in production, a fixture tree or an unpacked snapshot in
/// tests, `--root DIR` for users.
///
/// Under a root other than `/`, every host path is resolved inside the root, with the rules of openat2(2)'s
/// `RESOLVE_IN_ROOT`: an absolute link target starts again at the root, and `..` never climbs above it. A tree's
/// `reset_method -> /etc/shadow` therefore means `ROOT/etc/shadow`, and `etc -> /elsewhere` means
/// `ROOT/elsewhere`; no path, link or `..` chain in a tree reaches the machine that replays it. Reads and writes
/// both go through this resolution (`realPath(_:)`), so a writer, journal or hook installer given a tree cannot
/// be led out of it. Under `/` paths are used as given, at no cost.
public struct RootedFileSystem: HostFileReader {
    /// Absolute real path of the root, without trailing slash ("" for `/`).
    public let root: String

    public init(root: String) throws(HostError) {
        let resolved = Syscalls.realPath(root)
        guard let resolved, Syscalls.kind(resolved) == .directory else {
            throw HostError.rootNotADirectory(root)
        }
        self.root = resolved == "/" ? "" : resolved
    }

    public var isRealRoot: Bool { root.isEmpty }

    /// The real path for a host path, confined to the root (see the type's comment); every link on the way,
    /// the last component's included, is already resolved, so opening, creating, renaming or removing the
    /// returned path touches only the tree. Under `/` it is `hostPath` itself.
    ///
    /// `followFinalLink: false` leaves a link in the last component as it is, for the calls that act on a link
    /// itself (lstat, readlink, unlink, rename); every earlier component is still resolved inside the root.
    ///
    /// A path that cannot be resolved (a link loop) gives `unresolvable`, under which every open, create,
    /// mkdir, rename and unlink fails with ENOTDIR; readers get the `linkLoop` error from `resolve(_:)` instead.
    public func realPath(_ hostPath: String, followFinalLink: Bool = true) -> String {
        guard !root.isEmpty else { return hostPath }
        do { return try resolve(hostPath, followFinalLink: followFinalLink) } catch { return Self.unresolvable }
    }

    /// `/dev/null` is a character device on every Linux system, so nothing can be created beneath it.
    static let unresolvable = "/dev/null/vfioctl-unresolvable-path"

    /// The confined real path, or the error a reader reports (`linkLoop`). `followFinalLink: false` resolves
    /// every component but the last, for reading a link itself.
    func resolve(_ hostPath: String, followFinalLink: Bool = true) throws(FileReadError) -> String {
        guard !root.isEmpty else { return hostPath }
        return try Self.resolve(hostPath, under: root, followFinalLink: followFinalLink, escape: .clamp)
    }

    /// What a `..` above the root or an absolute link target means: under `--root` the root is the host's `/`
    /// (`clamp`, like RESOLVE_IN_ROOT); in a snapshot being unpacked it is a link that leaves the tree (`refuse`).
    enum Escape { case clamp, refuse }

    /// Most links followed in one resolution, as the kernel's MAXSYMLINKS.
    static let maxLinks = 40

    /// Walks `hostPath` one component at a time under `root` with one readlink(2) per component until a
    /// component is missing (the rest is then only lexical: nothing below a missing name can be a link).
    static func resolve(_ hostPath: String, under root: String, followFinalLink: Bool, escape: Escape) throws(FileReadError) -> String {
        var pending = hostPath.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init)
        var resolved: [String] = []
        var links = 0
        var missing = false
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if resolved.isEmpty {
                    if escape == .refuse { throw FileReadError(path: hostPath, reason: .escapesRoot("..")) }
                    continue
                }
                resolved.removeLast()
                continue
            }
            let isLast = pending.allSatisfy { $0 == "." }
            if missing || (isLast && !followFinalLink) {
                resolved.append(component)
                continue
            }
            let real = root + "/" + (resolved + [component]).joined(separator: "/")
            switch Syscalls.link(at: real) {
            case .target(let target):
                links += 1
                if links > maxLinks { throw FileReadError(path: hostPath, reason: .linkLoop) }
                if target.hasPrefix("/") {
                    if escape == .refuse { throw FileReadError(path: hostPath, reason: .escapesRoot(target)) }
                    resolved = []
                }
                pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init))
            case .notALink:
                resolved.append(component)
            case .failed(let e):
                // ENOENT: created later, or an error for the reader; ENOTDIR, EACCES: the open fails the same
                // way on the returned path, and nothing under a non-directory can be followed.
                if e == ENOENT || e == ENOTDIR { missing = true }
                resolved.append(component)
            }
        }
        return resolved.isEmpty ? root : root + "/" + resolved.joined(separator: "/")
    }

    private var policy: Syscalls.OpenPolicy { root.isEmpty ? .realRoot : .tree }

    public func readBytes(_ path: String) throws(FileReadError) -> [UInt8] {
        try Syscalls.readFile(resolve(path), hostPath: path, shortReadIsEOF: path.hasPrefix("/sys/"), policy: policy)
    }

    public func readRanges(_ path: String, _ body: (_ read: (_ offset: Int, _ count: Int) -> [UInt8]) -> Void) throws(FileReadError) {
        try Syscalls.withOpenFile(resolve(path), hostPath: path, policy: policy) { fd in
            body { offset, count in Syscalls.pread(fd, offset: offset, count: count) }
        }
    }

    public func listDirectory(_ path: String) throws(FileReadError) -> [String] {
        try Syscalls.listDirectory(resolve(path), hostPath: path, policy: policy)
    }

    public func readLink(_ path: String) throws(FileReadError) -> String {
        try Syscalls.readLink(resolve(path, followFinalLink: false), hostPath: path)
    }

    public func kind(of path: String) -> FileKind? {
        guard !root.isEmpty else { return Syscalls.kind(path) }
        guard let real = try? resolve(path) else { return nil }
        // Resolved: a link left here is one that appeared after the walk; it is not followed out of the tree.
        return Syscalls.kind(real, followLinks: false)
    }
}

/// Errors of the effects layer: vfioctl itself could not do its job.
public enum HostError: Error, CustomStringConvertible, Sendable {
    case rootNotADirectory(String)
    case snapshotUnreadable(String, String)
    /// A snapshot member vfioctl will not unpack: the archive, the member's name and why.
    case snapshotMemberRefused(String, String, String)
    case snapshotWriteFailed(String, String)
    case commandFailed(String, Int32, String)

    public var description: String {
        switch self {
        case .rootNotADirectory(let p): return "--root \(p): not a directory or vfioctl snapshot (.tar.gz)"
        case .snapshotUnreadable(let p, let why): return "snapshot \(p): cannot unpack: \(why)"
        case .snapshotMemberRefused(let p, let member, let why):
            return "snapshot \(p): member '\(member)' refused: \(why) (a snapshot holds only regular files, "
                + "directories and symbolic links that stay inside it)"
        case .snapshotWriteFailed(let p, let why): return "snapshot \(p): cannot write: \(why)"
        case .commandFailed(let cmd, let status, let stderr): return "\(cmd) exited with status \(status): \(stderr)"
        }
    }
}
