import CVFIO
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemPackage
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
///
/// Reads under a tree open through openat2(2) with `RESOLVE_IN_ROOT` on an fd of the root, so the kernel applies
/// these rules in one call and no rename in the tree can slip between resolving and opening; `realPath(_:)`
/// applies the same rules one component at a time for the callers that need a path (writers, mkdir, rename),
/// and for reads on kernels before 5.6. `ConfinementTests` hold both to the same answers.
public struct RootedFileSystem: HostFileReader {
    /// Absolute real path of the root, without trailing slash ("" for `/`).
    public let root: String
    /// An O_PATH fd of the root for openat2, nil on `/` or when reads use the walk.
    private let handle: RootHandle?

    public init(root: String) throws(HostError) {
        try self.init(root: root, kernelResolution: true)
    }

    /// `kernelResolution: false` makes reads use the walk too (tests compare the two).
    init(root: String, kernelResolution: Bool) throws(HostError) {
        let resolved = Syscalls.realPath(root)
        guard let resolved, Syscalls.kind(resolved) == .directory else {
            throw HostError.rootNotADirectory(root)
        }
        self.root = resolved == "/" ? "" : resolved
        handle = resolved != "/" && kernelResolution ? RootHandle(resolved) : nil
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

    /// Walks `hostPath` one component at a time under `root` with one readlink(2) per component. Where the
    /// kernel would stop (a missing component, or `..`/`.` after something that is not a directory), the rest
    /// is appended as it is: the open of the result then fails there, as openat2 would, and nothing past a
    /// missing or non-directory component can be a link.
    static func resolve(_ hostPath: String, under root: String, followFinalLink: Bool, escape: Escape) throws(FileReadError) -> String {
        var pending = hostPath.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init)
        var resolved: [String] = []
        var links = 0
        // The last resolved component exists but may not be a directory (only checked when `..` or `.` needs it).
        var lastUnchecked = false
        func real(_ parts: [String]) -> String { parts.isEmpty ? root : root + "/" + parts.joined(separator: "/") }
        while let component = pending.popLast() {
            if component == "." || component == ".." {
                if lastUnchecked {
                    lastUnchecked = false
                    if Syscalls.kind(real(resolved), followLinks: false) != .directory {
                        resolved.append(component)
                        resolved += pending.reversed()
                        break
                    }
                }
                if component == "." { continue }
                if resolved.isEmpty {
                    if escape == .refuse { throw FileReadError(path: hostPath, reason: .escapesRoot("..")) }
                    continue
                }
                resolved.removeLast()
                continue
            }
            let isLast = pending.allSatisfy { $0 == "." }
            if isLast && !followFinalLink {
                resolved.append(component)
                resolved += pending.reversed()
                break
            }
            switch Syscalls.link(at: real(resolved + [component])) {
            case .target(let target):
                links += 1
                if links > maxLinks { throw FileReadError(path: hostPath, reason: .linkLoop) }
                if target.hasPrefix("/") {
                    if escape == .refuse { throw FileReadError(path: hostPath, reason: .escapesRoot(target)) }
                    resolved = []
                }
                lastUnchecked = false
                pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init))
            case .notALink:
                resolved.append(component)
                lastUnchecked = true
            case .failed:
                // ENOENT (created later, or an error for the reader), ENOTDIR, EACCES: the kernel stops here.
                resolved.append(component)
                resolved += pending.reversed()
                return real(resolved)
            }
        }
        return real(resolved)
    }

    private var policy: Syscalls.OpenPolicy { root.isEmpty ? .realRoot : .tree }

    /// open(2) of a host path with `flags`: as given on `/`; in the root by the kernel (openat2) where it can;
    /// otherwise on the walked path, with O_NOFOLLOW so a link put in place after the walk is not followed.
    /// Returns -1 with errno set, as open does. Not swift-system's `FileDescriptor.open`: the guarantee that no
    /// read leaves the root rests on openat2's RESOLVE_IN_ROOT (C shim), and on the O_PATH and O_NOFOLLOW flags of
    /// the fallback, in one call each; callers wrap the fd in a `FileDescriptor` once it is open.
    private func open(_ path: String, _ flags: Int32) -> Int32 {
        guard !root.isEmpty else { return Glibc.open(path, flags) }
        if let handle, RootHandle.kernelSupport.load(ordering: .relaxed) {
            // The final link is resolved inside the root by the kernel, so O_NOFOLLOW is not needed there.
            var fd: Int32 = -1
            for _ in 0..<8 {
                fd = cvfio_open_in_root(handle.fd, path, flags & ~O_NOFOLLOW)
                if fd >= 0 || errno != EAGAIN { break }
            }
            if fd >= 0 { return fd }
            if errno == ENOSYS {
                RootHandle.kernelSupport.store(false, ordering: .relaxed)
            } else if !(errno == EPERM && handle.probeFailed()) {
                return -1
            }
        }
        let real: String
        do { real = try resolve(path) } catch {
            errno = error.reason == .linkLoop ? ELOOP : EIO
            return -1
        }
        return Glibc.open(real, flags | O_NOFOLLOW)
    }

    public func readBytes(_ path: String) throws(FileReadError) -> [UInt8] {
        let fd = try Syscalls.openForReading(hostPath: path, policy: policy, limit: Syscalls.readLimit) { open(path, $0) }
        return try Syscalls.readOpened(fd, hostPath: path, shortReadIsEOF: path.hasPrefix("/sys/"))
    }

    public func readRanges(_ path: String, _ body: (_ read: (_ offset: Int, _ count: Int) -> [UInt8]) -> Void) throws(FileReadError) {
        let fd = try Syscalls.openForReading(hostPath: path, policy: policy, limit: Syscalls.readLimit) { open(path, $0) }
        defer { try? fd.close() }
        body { offset, count in Syscalls.pread(fd, offset: offset, count: count) }
    }

    public func listDirectory(_ path: String) throws(FileReadError) -> [String] {
        try Syscalls.listOpened(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (root.isEmpty ? 0 : O_NOFOLLOW)), hostPath: path)
    }

    public func readLink(_ path: String) throws(FileReadError) -> String {
        let name = HostPath.lastComponent(path)
        // Only a plain name: readlinkat ignores the directory fd for an absolute name ("/" itself).
        guard handle != nil, !name.isEmpty, !name.contains("/"), name != "..", name != ".", !path.hasSuffix("/") else {
            return try Syscalls.readLink(resolve(path, followFinalLink: false), hostPath: path)
        }
        // The parent resolved by the kernel, the link itself read with readlinkat.
        let parent = open(HostPath.parent(path), oPath | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { throw Syscalls.error(Errno(rawValue: errno), path) }
        defer { close(parent) }
        return try Syscalls.readLink(at: parent, name, hostPath: path)
    }

    public func kind(of path: String) -> FileKind? {
        guard !root.isEmpty else { return Syscalls.kind(path) }
        // O_PATH opens anything (a FIFO without blocking) and reads nothing; a link left as the last component
        // (one put in place after the walk) is opened itself, not followed.
        let fd = open(path, oPath | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return Syscalls.kind(st.st_mode)
    }
}

private let oPath = cvfio_o_path()

/// The root's O_PATH fd, open for the life of the file system value (copies share it).
final class RootHandle: Sendable {
    let fd: Int32
    /// False once openat2 turned out missing (ENOSYS before Linux 5.6, or refused by a seccomp filter).
    static let kernelSupport = Atomic<Bool>(true)

    init?(_ root: String) {
        let fd = Glibc.open(root, oPath | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// EPERM from openat2 is either a seccomp filter (openat2 refused for every path) or a real permission
    /// problem: asking for the root itself tells them apart.
    func probeFailed() -> Bool {
        let saved = errno
        let probe = cvfio_open_in_root(fd, "/", oPath | O_CLOEXEC)
        if probe >= 0 { close(probe); errno = saved; return false }
        RootHandle.kernelSupport.store(false, ordering: .relaxed)
        errno = saved
        return true
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
