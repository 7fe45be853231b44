import FoundationEssentials
import Glibc
import VFIOCore

/// An append-only journal of one kind of runtime change under `/run/vfioctl/NAME.journal` (one JSON record per
/// line). A record is appended and fsync'd *before* the host write it describes, so after a crash or `kill -9`
/// half-way, the journal names every original value that may have been overwritten and revert can put it back.
/// `/run` is a tmpfs: after a reboot the runtime state is gone and so is the journal, which is right.
public struct Journal<Record: Codable & Sendable>: Sendable {
    public static var directory: String { "/run/vfioctl" }

    public let files: RootedFileSystem
    public let name: String
    /// Host path of the journal file.
    public var path: String { "\(Self.directory)/\(name).journal" }

    public init(files: RootedFileSystem, name: String) {
        self.files = files
        self.name = name
    }

    /// Appends one record durably (write + fsync of the file, and of the directory when the file is new).
    public func append(_ record: Record) throws(HostWriteError) {
        try append([record])
    }

    /// Appends records with one write and one fsync: all of them are durable before any host write they
    /// describe starts. A plan that knows every original value up front journals them in one go.
    public func append(_ records: [Record]) throws(HostWriteError) {
        guard !records.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var bytes: [UInt8] = []
        for record in records {
            guard let line = try? encoder.encode(record) else {
                throw HostWriteError(path: path, value: "\(record)", errno: EINVAL, detail: "cannot encode the journal record")
            }
            bytes += line
            bytes.append(0x0A)
        }
        let real = files.realPath(path)
        var fd = open(real, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 && errno == ENOENT {
            do {
                try FileManager.default.createDirectory(atPath: files.realPath(Self.directory), withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw HostWriteError(path: Self.directory, value: "", errno: EIO, detail: "cannot create the journal directory: \(error)")
            }
            fd = open(real, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw HostWriteError(path: path, value: "", errno: errno) }
        defer { close(fd) }
        // A torn last line (a crash during an earlier append) is cut off first: left in place, this record would
        // follow it on the same line and the journal would no longer parse. Its host write never started.
        let size = lseek(fd, 0, SEEK_END)
        let end = try Self.endOfLastCompleteRecord(fd, size: size, path: path)
        if end != size {
            guard ftruncate(fd, end) == 0, lseek(fd, end, SEEK_SET) == end else {
                throw HostWriteError(path: path, value: "", errno: errno, detail: "cannot cut the torn last line of the journal")
            }
        }
        var written = 0
        while written < bytes.count {
            // SAFETY: writes from `bytes`' storage, which outlives the call.
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            guard n > 0 else { throw HostWriteError(path: path, value: "", errno: n < 0 ? errno : EIO, detail: "journal append failed") }
            written += n
        }
        guard fsync(fd) == 0 else { throw HostWriteError(path: path, value: "", errno: errno, detail: "journal fsync failed") }
    }

    /// Offset just past the last newline (0 for an empty file or one with no complete line), read backwards in
    /// blocks: an intact journal ends with a newline and costs one read.
    private static func endOfLastCompleteRecord(_ fd: Int32, size: off_t, path: String) throws(HostWriteError) -> off_t {
        var end = size
        var block = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - off_t(block.count))
            let want = Int(end - start)
            // SAFETY: reads at most `block.count` bytes into `block`.
            let n = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, start) }
            guard n == want else { throw HostWriteError(path: path, value: "", errno: n < 0 ? errno : EIO, detail: "cannot read the journal") }
            if let i = block[0..<want].lastIndex(of: 0x0A) { return start + off_t(i) + 1 }
            end = start
        }
        return 0
    }

    /// Every complete record, oldest first. A torn last line (a crash during `append`) is ignored: the write it
    /// would have protected never started.
    public func records() throws(HostWriteError) -> [Record] {
        let bytes: [UInt8]
        do { bytes = try files.readBytes(path) } catch {
            if error.reason == .notFound { return [] }
            throw HostWriteError(path: path, value: "", errno: EIO, detail: error.description)
        }
        let decoder = JSONDecoder()
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
        var out: [Record] = []
        for (i, line) in lines.enumerated() {
            do {
                out.append(try decoder.decode(Record.self, from: Data(line)))
            } catch {
                let isLast = i == lines.count - 1 && bytes.last != 0x0A
                if isLast { break }
                throw HostWriteError(path: path, value: "", errno: EINVAL, detail: "line \(i + 1) is not a journal record: \(error)")
            }
        }
        return out
    }

    public var isEmpty: Bool { ((try? records()) ?? []).isEmpty }

    /// Deletes the journal once everything it protects has been restored.
    public func remove() throws(HostWriteError) {
        if unlink(files.realPath(path)) != 0 && errno != ENOENT { throw HostWriteError(path: path, value: "", errno: errno) }
    }
}
