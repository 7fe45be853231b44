#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
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
        func failure(_ what: String, _ e: Errno) -> HostWriteError { HostWriteError(path: path, value: "", errno: e, detail: "\(what): \(e)") }
        func caught(_ error: any Error) -> Errno { error as? Errno ?? .ioError }
        // A temporary file left by a crash is stale: ours, never the user's (the name is vfioctl's).
        unlink(tmp)
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(tmp, .writeOnly, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec],
                                         permissions: FilePermissions(rawValue: mode))
        } catch { throw failure("cannot create \(tmp)", caught(error)) }
        // writeAll retries short writes and EINTR; a write that makes no progress is an error, not a loop.
        do { _ = try fd.writeAll(bytes) } catch {
            try? fd.close()
            unlink(tmp)
            throw failure("cannot write \(tmp)", caught(error))
        }
        // fchmod and fsync have no FileDescriptor method in swift-system 1.8: called on its raw value.
        // The mode is set on the descriptor: the umask narrowed open(2)'s, and a hook must be executable.
        guard fchmod(fd.rawValue, mode) == 0, fsync(fd.rawValue) == 0 else {
            let e = Errno(rawValue: errno)
            try? fd.close()
            unlink(tmp)
            throw failure("cannot sync \(tmp)", e)
        }
        do { try fd.close() } catch {
            unlink(tmp)
            throw failure("cannot write \(tmp)", caught(error))
        }
        try beforeRename()
        guard rename(tmp, path) == 0 else {
            let e = Errno(rawValue: errno)
            unlink(tmp)
            throw failure("cannot rename \(tmp) into place", e)
        }
        syncDirectory(of: path)
    }

    /// fsync of the directory holding `path`, so a rename or a removal in it survives a power loss. Best effort:
    /// some filesystems refuse fsync on a directory (EINVAL), and the data itself is already durable.
    public static func syncDirectory(of path: String) {
        let dir = HostPath.parent(path)
        guard let fd = try? FileDescriptor.open(dir.isEmpty ? "/" : dir, .readOnly, options: [.directory, .closeOnExec]) else { return }
        _ = fsync(fd.rawValue)
        try? fd.close()
    }
}
