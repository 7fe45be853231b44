import CVFIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage
import VFIOCore

/// Thin wrappers over the few libc calls vfioctl uses to read a host. Every read of a host file goes through
/// here, so errno is always mapped to a `FileReadError` naming the host path.
///
/// Reading an open file is swift-system's `FileDescriptor` (read, pread, close, EINTR retried). The opens are not:
/// under a tree root they go through openat2(2) with RESOLVE_IN_ROOT in the C shim (`cvfio_open_in_root`), which
/// swift-system does not offer, and the confinement of every read depends on the kernel resolving the path inside
/// the root in that one call. Directory listing (fdopendir/readdir), readlink and stat have no swift-system
/// counterpart in this version either, so they stay plain libc calls here.
enum Syscalls {
    /// How a read treats what it opens. On the real `/` the kernel's own files are read as they are (sysfs and
    /// procfs attributes are regular files; `/etc/os-release` may be a link). Under a tree or a snapshot the path
    /// was already resolved inside the root, so the last component must not be a link (a link swapped in after
    /// resolution would lead out), and only regular files are read (a FIFO `proc/cmdline` would block forever,
    /// a device node is the replaying machine's, not the captured host's).
    enum OpenPolicy {
        case realRoot
        case tree
    }

    /// Largest file vfioctl reads whole (pci.ids is about 1.4 MB; sysfs attributes are at most a page, config
    /// space 4 KiB). A bigger file is an error naming it, so a huge or endless file cannot exhaust memory.
    static let readLimit = 16 << 20
    /// Most entries vfioctl lists in one directory (a large host's /sys/bus/pci/devices holds a few thousand).
    static let listLimit = 1 << 20

    /// Reads a whole file, at most `readLimit` bytes. `shortReadIsEOF` saves the final empty read where a short
    /// read means the end (sysfs attributes are produced by one `show` call; procfs seq files are not, so they
    /// are read to EOF).
    static func readFile(_ realPath: String, hostPath: String, shortReadIsEOF: Bool = false,
                         policy: OpenPolicy = .realRoot, limit: Int = readLimit) throws(FileReadError) -> [UInt8] {
        let fd = try openForReading(hostPath: hostPath, policy: policy, limit: limit) { flags in open(realPath, flags) }
        return try readOpened(fd, hostPath: hostPath, shortReadIsEOF: shortReadIsEOF, limit: limit)
    }

    /// Reads an fd from `openForReading` to its end, at most `limit` bytes, and closes it.
    static func readOpened(_ fd: FileDescriptor, hostPath: String, shortReadIsEOF: Bool, limit: Int = readLimit) throws(FileReadError) -> [UInt8] {
        defer { try? fd.close() }
        var out: [UInt8] = []
        var chunk = 4096
        while true {
            // One byte past the limit tells "exactly at the limit" from "over it".
            let want = min(chunk, limit + 1 - out.count)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: want))
            var got = 0
            var readErrno: Errno?
            // SAFETY: the array was just grown by `want` bytes after `start`; read writes at most `want` there.
            out.withUnsafeMutableBytes { buffer in
                do { got = try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<start + want])) } catch {
                    readErrno = error as? Errno ?? .ioError
                }
            }
            out.removeLast(want - got)
            if readErrno == .resourceTemporarilyUnavailable { throw FileReadError(path: hostPath, reason: .notARegularFile("a file that would block")) }
            if let readErrno { throw error(readErrno, hostPath) }
            if out.count > limit { throw FileReadError(path: hostPath, reason: .tooLarge(limit: limit)) }
            if got == 0 || (shortReadIsEOF && got < want) { return out }
            chunk = min(chunk * 2, 1 << 20)
        }
    }

    /// Opens `realPath` for `readRanges`; offsets and counts past `readLimit` read nothing.
    static func withOpenFile(_ realPath: String, hostPath: String, policy: OpenPolicy = .realRoot,
                             _ body: (FileDescriptor) -> Void) throws(FileReadError) {
        let fd = try openForReading(hostPath: hostPath, policy: policy, limit: readLimit) { flags in open(realPath, flags) }
        defer { try? fd.close() }
        body(fd)
    }

    /// Opens without blocking (a FIFO or a slow device cannot hang the open or the read). Under a tree, what was
    /// opened is checked before anything is read: only regular files, none already larger than `limit` (a sparse
    /// 100 MiB file is refused without reading it). On the real `/` the kernel's files are taken as they are, at
    /// the cost of the open alone, as before; the read loop's limit still bounds them.
    /// `opener` makes the open(2) call with the flags given (open on a path, or openat2 inside a root) and
    /// returns its raw result (-1 with errno set on failure).
    static func openForReading(hostPath: String, policy: OpenPolicy, limit: Int, opener: (Int32) -> Int32) throws(FileReadError) -> FileDescriptor {
        var flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK
        if policy == .tree { flags |= O_NOFOLLOW }
        var raw: Int32
        repeat { raw = opener(flags) } while raw < 0 && errno == EINTR
        guard raw >= 0 else {
            let e = Errno(rawValue: errno)
            // O_NOFOLLOW on a link gives ELOOP: the tree changed after the path was resolved.
            throw e == .tooManySymbolicLinkLevels ? FileReadError(path: hostPath, reason: .linkLoop) : error(e, hostPath)
        }
        let fd = FileDescriptor(rawValue: raw)
        guard policy == .tree else { return fd }
        var st = stat()
        guard fstat(raw, &st) == 0 else {
            let e = Errno(rawValue: errno)
            try? fd.close()
            throw error(e, hostPath)
        }
        let type = st.st_mode & S_IFMT
        let refused: String? = type == S_IFREG ? nil : describe(type)
        if let refused {
            try? fd.close()
            throw FileReadError(path: hostPath, reason: .notARegularFile(refused))
        }
        if type == S_IFREG && Int(st.st_size) > limit {
            try? fd.close()
            throw FileReadError(path: hostPath, reason: .tooLarge(limit: limit))
        }
        return fd
    }

    /// "a FIFO", "a socket", ...: the kind of a file, for messages.
    static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "a file of unknown type"
        }
    }

    /// Up to `count` bytes at `offset`; fewer at the end of the file or on a read error (the caller parses
    /// what it got, and a short read reads as "no more capabilities"). Nothing past `readLimit`.
    static func pread(_ fd: FileDescriptor, offset: Int, count: Int) -> [UInt8] {
        guard offset >= 0, count > 0, offset < readLimit else { return [] }
        let count = min(count, readLimit - offset)
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            // pread(2) with EINTR retried; writes at most `count - got` bytes into the array's storage after `got`.
            let n = out.withUnsafeMutableBytes { buffer -> Int in
                (try? fd.read(fromAbsoluteOffset: Int64(offset + got), into: UnsafeMutableRawBufferPointer(rebasing: buffer[got...]))) ?? 0
            }
            if n <= 0 { break }
            got += n
        }
        out.removeLast(count - got)
        return out
    }

    static func listDirectory(_ realPath: String, hostPath: String, policy: OpenPolicy = .realRoot) throws(FileReadError) -> [String] {
        var flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC
        if policy == .tree { flags |= O_NOFOLLOW }
        return try listOpened(open(realPath, flags), hostPath: hostPath)
    }

    /// Lists an fd opened with O_DIRECTORY (or -1 with errno set by the open) and closes it.
    static func listOpened(_ fd: Int32, hostPath: String) throws(FileReadError) -> [String] {
        guard fd >= 0 else { throw error(Errno(rawValue: errno), hostPath) }
        guard let dir = fdopendir(fd) else {
            let e = Errno(rawValue: errno)
            close(fd)
            throw error(e, hostPath)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            // SAFETY: d_name is a NUL-terminated array inside the dirent readdir returned; copied before the next call.
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
            if names.count > listLimit { throw FileReadError(path: hostPath, reason: .tooLarge(limit: listLimit)) }
        }
        return names.sorted()
    }

    static func readLink(_ realPath: String, hostPath: String) throws(FileReadError) -> String {
        switch link(at: realPath) {
        case .target(let target): return target
        case .notALink: throw FileReadError(path: hostPath, reason: .notALink)
        case .failed(let e): throw error(Errno(rawValue: e), hostPath)
        }
    }

    /// readlinkat(2) of `name` in the directory `dir`.
    static func readLink(at dir: Int32, _ name: String, hostPath: String) throws(FileReadError) -> String {
        let result = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4097) { buffer -> LinkLookup in
            guard let base = buffer.baseAddress else { return .failed(ENOMEM) }
            let n = readlinkat(dir, name, base, 4096)
            if n < 0 { return errno == EINVAL ? .notALink : .failed(errno) }
            return .target(String(decoding: UnsafeRawBufferPointer(start: base, count: n), as: UTF8.self))
        }
        switch result {
        case .target(let target): return target
        case .notALink: throw FileReadError(path: hostPath, reason: .notALink)
        case .failed(let e): throw error(Errno(rawValue: e), hostPath)
        }
    }

    enum LinkLookup {
        case target(String)
        case notALink
        case failed(Int32)
    }

    /// One readlink(2): the target of a link, or whether the path is something else (EINVAL) or missing.
    /// One call answers both "is it a link" and "to what", which keeps the confined walk at one syscall per
    /// component.
    static func link(at realPath: String) -> LinkLookup {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4097) { buffer -> LinkLookup in
            guard let base = buffer.baseAddress else { return .failed(ENOMEM) }
            let n = readlink(realPath, base, 4096)
            if n < 0 { return errno == EINVAL ? .notALink : .failed(errno) }
            let bytes = UnsafeRawBufferPointer(start: base, count: n)
            return .target(String(decoding: bytes, as: UTF8.self))
        }
    }

    static func kind(_ realPath: String, followLinks: Bool = true) -> FileKind? {
        var st = stat()
        let rc = followLinks ? stat(realPath, &st) : lstat(realPath, &st)
        guard rc == 0 else { return nil }
        return kind(st.st_mode)
    }

    static func kind(_ mode: mode_t) -> FileKind {
        switch mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The reader's error for an errno. The pure layer's `FileReadError` carries the raw number (VFIOCore depends on
    /// no package and no libc), so the cases users meet most have their own wording there.
    static func error(_ code: Errno, _ path: String) -> FileReadError {
        switch code {
        case .noSuchFileOrDirectory: return FileReadError(path: path, reason: .notFound)
        case .permissionDenied, .notPermitted: return FileReadError(path: path, reason: .permissionDenied)
        case .notDirectory: return FileReadError(path: path, reason: .notADirectory)
        case .tooManySymbolicLinkLevels: return FileReadError(path: path, reason: .linkLoop)
        default: return FileReadError(path: path, reason: .io(errno: code.rawValue))
        }
    }
}

extension Errno {
    /// glibc's name of the errno ("ENOENT", by strerrorname_np), or "errno N" for a number glibc does not name.
    var name: String { cvfio_errno_name(rawValue).map { String(cString: $0) } ?? "errno \(rawValue)" }
    /// "No such file or directory (ENOENT)": strerror's text, then the name a user can search for.
    var sentence: String { "\(self) (\(name))" }
}
