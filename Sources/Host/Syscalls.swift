#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VFIOCore

/// Thin wrappers over the few libc calls vfioctl uses to read a host. Every read of a host file goes through
/// here, so errno is always mapped to a `FileReadError` naming the host path.
enum Syscalls {
    /// Reads a whole file. `shortReadIsEOF` saves the final empty read where a short read means the end (sysfs
    /// attributes are produced by one `show` call; procfs seq files are not, so they are read to EOF).
    static func readFile(_ realPath: String, hostPath: String, shortReadIsEOF: Bool = false) throws(FileReadError) -> [UInt8] {
        let fd = open(realPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(errno, hostPath) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = 4096
        while true {
            let start = out.count
            out.reserveCapacity(start + chunk)
            var got = 0
            var readErrno: Int32 = 0
            // SAFETY: the buffer closure writes at most `chunk` bytes past `start` and reports how many it wrote.
            out.append(contentsOf: repeatElement(0, count: chunk))
            out.withUnsafeMutableBytes { buffer in
                let n = read(fd, buffer.baseAddress! + start, chunk)
                if n < 0 { readErrno = errno } else { got = n }
            }
            out.removeLast(chunk - got)
            if readErrno == EINTR { continue }
            if readErrno != 0 { throw error(readErrno, hostPath) }
            if got == 0 || (shortReadIsEOF && got < chunk) { return out }
            chunk = min(chunk * 2, 1 << 20)
        }
    }

    static func withOpenFile(_ realPath: String, hostPath: String, _ body: (Int32) -> Void) throws(FileReadError) {
        let fd = open(realPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(errno, hostPath) }
        defer { close(fd) }
        body(fd)
    }

    /// Up to `count` bytes at `offset`; fewer at the end of the file or on a read error (the caller parses
    /// what it got, and a short read reads as "no more capabilities").
    static func pread(_ fd: Int32, offset: Int, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            // SAFETY: pread writes at most `count - got` bytes into the array's storage after `got`.
            let n = out.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + got, count - got, off_t(offset + got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        out.removeLast(count - got)
        return out
    }

    static func listDirectory(_ realPath: String, hostPath: String) throws(FileReadError) -> [String] {
        guard let dir = opendir(realPath) else { throw error(errno, hostPath) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            // SAFETY: d_name is a NUL-terminated array inside the dirent readdir returned; copied before the next call.
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func readLink(_ realPath: String, hostPath: String) throws(FileReadError) -> String {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(realPath, &buffer, 4096)
        guard n >= 0 else {
            let e = errno
            throw e == EINVAL ? FileReadError(path: hostPath, reason: .notALink) : error(e, hostPath)
        }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func kind(_ realPath: String, followLinks: Bool = true) -> FileKind? {
        var st = stat()
        let rc = followLinks ? stat(realPath, &st) : lstat(realPath, &st)
        guard rc == 0 else { return nil }
        switch st.st_mode & S_IFMT {
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

    static func error(_ code: Int32, _ path: String) -> FileReadError {
        switch code {
        case ENOENT: return FileReadError(path: path, reason: .notFound)
        case EACCES, EPERM: return FileReadError(path: path, reason: .permissionDenied)
        case ENOTDIR: return FileReadError(path: path, reason: .notADirectory)
        default: return FileReadError(path: path, reason: .io(errno: code))
        }
    }
}
