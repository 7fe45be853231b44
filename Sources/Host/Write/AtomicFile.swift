#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// The one way vfioctl replaces a whole file (boot configuration, setup's journal and backups, the libvirt hook, a
/// cleaned runtime journal): a temporary file in the same directory, written and fsync'd, renamed over the target,
/// then the directory fsync'd (rename(2) is atomic, but only the directory's fsync makes the new name survive a
/// power loss; ext4 and xfs document this). A crash at any point leaves the old file or the new one, whole.
public enum AtomicFile {
    /// The temporary file next to `path` (same directory: rename(2) does not cross filesystems).
    public static func temporaryPath(_ path: String) -> String { path + ".vfioctl-new" }

    /// Replaces the file at the real path `path` with `bytes`, mode `mode`. `beforeRename` runs once the temporary
    /// file is durable and before the rename (tests stop there, as a crash would).
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644,
                             beforeRename: () throws(HostWriteError) -> Void = {}) throws(HostWriteError) {
        let tmp = temporaryPath(path)
        func failure(_ what: String, _ e: Int32 = errno) -> HostWriteError { HostWriteError(path: path, value: "", errno: e, detail: "\(what): \(String(cString: strerror(e)))") }
        // A temporary file left by a crash is stale: ours, never the user's (the name is vfioctl's).
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("cannot create \(tmp)") }
        var written = 0
        while written < bytes.count {
            // SAFETY: writes from `bytes`' storage, which outlives the call; `written` < `bytes.count`.
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + written }, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let e = n < 0 ? errno : EIO
                close(fd)
                unlink(tmp)
                throw failure("cannot write \(tmp)", e)
            }
            written += n
        }
        // The mode is set on the descriptor: the umask narrowed open(2)'s, and a hook must be executable.
        guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            let e = errno
            close(fd)
            unlink(tmp)
            throw failure("cannot sync \(tmp)", e)
        }
        close(fd)
        try beforeRename()
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw failure("cannot rename \(tmp) into place", e)
        }
        syncDirectory(of: path)
    }

    /// fsync of the directory holding `path`, so a rename or a removal in it survives a power loss. Best effort:
    /// some filesystems refuse fsync on a directory (EINVAL), and the data itself is already durable.
    public static func syncDirectory(of path: String) {
        let dir = HostPath.parent(path)
        let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
