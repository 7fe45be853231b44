#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// The one door for runtime writes to the host (sysfs, procfs, cgroupfs attributes). Every caller writes through a
/// `HostWriter`, so a dry run prints exactly what would be written and tests can swap in a fake kernel.
public protocol HostWriter: Sendable {
    /// Writes `value` to a host attribute in one `write(2)`, like `echo -n value > path`.
    func write(_ path: String, _ value: String) throws(HostWriteError)
}

/// A write the kernel (or the filesystem) refused. Names the path, the value and the errno.
public struct HostWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let value: String
    public let errno: Int32
    public let detail: String?

    public init(path: String, value: String, errno: Int32, detail: String? = nil) {
        self.path = path
        self.value = value
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        let shown = value.count > 60 ? String(value.prefix(57)) + "..." : value
        let reason = detail ?? "\(String(cString: strerror(errno))) (\(HostWriteError.errnoName(errno)))"
        // Journal and lock errors write no value of their own: the path and the reason say it all.
        if value.isEmpty { return "\(path): \(reason)" }
        return "writing '\(shown.replacingNewlines())' to \(path): \(reason)"
    }

    static func errnoName(_ e: Int32) -> String {
        switch e {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EIO: "EIO"
        case EACCES: "EACCES"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case ENODEV: "ENODEV"
        case EINVAL: "EINVAL"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case ESRCH: "ESRCH"
        case EOPNOTSUPP: "EOPNOTSUPP"
        default: "errno \(e)"
        }
    }
}

extension String {
    fileprivate func replacingNewlines() -> String { String(map { $0 == "\n" ? " " : $0 }) }
}

/// Writes to the host under a root (`/` in production, a tree in tests). Existing attributes only: a write never
/// creates a file (a missing sysfs attribute is an error, not a new file in the tree).
public struct RootedHostWriter: HostWriter {
    public let files: RootedFileSystem

    public init(files: RootedFileSystem) {
        self.files = files
    }

    public func write(_ path: String, _ value: String) throws(HostWriteError) {
        let fd = open(files.realPath(path), O_WRONLY | O_CLOEXEC | (files.isRealRoot ? 0 : O_TRUNC))
        guard fd >= 0 else { throw HostWriteError(path: path, value: value, errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        // SAFETY: writes exactly `bytes.count` bytes from the array's storage, which outlives the call.
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw HostWriteError(path: path, value: value, errno: errno) }
        if n != bytes.count { throw HostWriteError(path: path, value: value, errno: EIO, detail: "short write (\(n) of \(bytes.count) bytes)") }
    }
}

/// Performs nothing and remembers every write: `--dry-run` prints these, in order.
public final class DryRunWriter: HostWriter, @unchecked Sendable {
    private let lock = NSLockLike()
    private var log: [(path: String, value: String)] = []

    public init() {}

    public var writes: [(path: String, value: String)] { lock.with { log } }

    public func write(_ path: String, _ value: String) throws(HostWriteError) {
        lock.with { log.append((path, value)) }
    }
}

/// A tiny mutex without Foundation (pthread).
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func with<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
