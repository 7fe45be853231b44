#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
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
    public let errno: Errno
    public let detail: String?

    public init(path: String, value: String, errno: Errno, detail: String? = nil) {
        self.path = path
        self.value = value
        self.errno = errno
        self.detail = detail
    }

    /// The raw errno of a C call (fake kernels in tests answer with `EIO` and friends).
    @_disfavoredOverload
    public init(path: String, value: String, errno code: Int32, detail: String? = nil) {
        self.init(path: path, value: value, errno: Errno(rawValue: code), detail: detail)
    }

    public var description: String {
        let shown = value.count > 60 ? String(value.prefix(57)) + "..." : value
        let reason = detail ?? errno.sentence
        // Journal and lock errors write no value of their own: the path and the reason say it all.
        if value.isEmpty { return "\(path): \(reason)" }
        return "writing '\(shown.replacingNewlines())' to \(path): \(reason)"
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
        // A tree's attribute files are truncated first; the kernel's are not (sysfs and procfs take the write whole).
        let options: FileDescriptor.OpenOptions = files.isRealRoot ? [.closeOnExec] : [.closeOnExec, .truncate]
        let bytes = Array(value.utf8)
        let n: Int
        do {
            let fd = try FileDescriptor.open(files.realPath(path), .writeOnly, options: options)
            // One write(2), as `echo -n` makes: sysfs takes an attribute's value in one call (a short write is an error
            // below, never continued), and EINTR is retried by FileDescriptor.
            n = try fd.closeAfter { try bytes.withUnsafeBytes { try fd.write($0) } }
        } catch {
            throw HostWriteError(path: path, value: value, errno: error as? Errno ?? .ioError)
        }
        if n != bytes.count { throw HostWriteError(path: path, value: value, errno: .ioError, detail: "short write (\(n) of \(bytes.count) bytes)") }
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
