import FoundationEssentials
import Glibc
import SystemPackage
import VFIOCore

/// `/run/vfioctl`: the runtime state of vfioctl (journals and the lock). A tmpfs: after a reboot the runtime
/// changes are gone and so is their state, which is right.
public enum RuntimeState {
    public static let directory = "/run/vfioctl"

    /// The owner vfioctl's own files must have: root on the real `/` (only root can change a running host, and a
    /// file anyone else owns may have been planted), the user running vfioctl on a tree.
    static func expectedOwner(_ files: RootedFileSystem) -> uid_t { files.isRealRoot ? 0 : geteuid() }

    /// Creates the directory (mode 0700) when it is missing; refuses one that is a symbolic link (its files would
    /// land wherever it points).
    static func ensureDirectory(_ files: RootedFileSystem) throws(HostWriteError) {
        let real = files.realPath(directory, followFinalLink: false)
        var st = stat()
        if lstat(real, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw HostWriteError(path: directory, value: "", errno: .notDirectory,
                                     detail: "is not a directory (a symbolic link?); vfioctl keeps its journals there only in a real directory: remove it (rm \(directory)) and run again")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw HostWriteError(path: directory, value: "", errno: .ioError, detail: "cannot create the journal directory: \(error)")
        }
    }

    /// Opens one of vfioctl's state files without following a symbolic link and checks that it is a regular file
    /// of the expected owner with mode 0600 or 0644: a journal decides what `restore` writes to the host, so one
    /// somebody else could have written is refused, with the command that fixes it.
    static func open(_ files: RootedFileSystem, _ path: String, _ access: FileDescriptor.AccessMode,
                     _ options: FileDescriptor.OpenOptions = []) throws(HostWriteError) -> FileDescriptor {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(files.realPath(path, followFinalLink: false), access, options: options.union([.noFollow, .closeOnExec]),
                                         permissions: [.ownerReadWrite])
        } catch {
            let e = error as? Errno ?? .ioError
            if e == .tooManySymbolicLinkLevels {
                throw HostWriteError(path: path, value: "", errno: e,
                                     detail: "is a symbolic link; vfioctl never follows one for its state: check where it points, then remove it (rm \(path))")
            }
            throw HostWriteError(path: path, value: "", errno: e)
        }
        // fstat: FileDescriptor has no stat in this swift-system version.
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else {
            let e = Errno(rawValue: errno)
            try? fd.close()
            throw HostWriteError(path: path, value: "", errno: e)
        }
        let owner = expectedOwner(files)
        let mode = st.st_mode & 0o7777
        var problem: String?
        if st.st_mode & S_IFMT != S_IFREG {
            problem = "is not a regular file: remove it (rm \(path))"
        } else if st.st_uid != owner {
            problem = "is owned by uid \(st.st_uid), not \(owner == 0 ? "root" : "uid \(owner)"): check who wrote it, then chown \(owner) \(path) (or remove it)"
        } else if mode != 0o600 && mode != 0o644 {
            problem = "has mode \(String(mode, radix: 8)), not 600 or 644: check who wrote it, then chmod 600 \(path)"
        }
        if let problem {
            try? fd.close()
            throw HostWriteError(path: path, value: "", errno: .notPermitted, detail: problem)
        }
        return fd
    }
}

/// A journal line that is not a record: named by file and line, so recovery can skip it and say what it skipped.
public struct CorruptJournalLine: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let line: Int
    /// The start of the line as read (at most 60 characters).
    public let excerpt: String

    public var description: String { "\(path):\(line): not a journal record: '\(excerpt)'" }
}

/// An append-only journal of one kind of runtime change under `/run/vfioctl/NAME.journal` (one JSON record per
/// line). A record is appended and fsync'd *before* the host write it describes, so after a crash or `kill -9`
/// half-way, the journal names every original value that may have been overwritten and revert can put it back.
/// Opened with `O_APPEND` and `flock`ed for each append, so two writers never overwrite each other's lines.
public struct Journal<Record: Codable & Sendable>: Sendable {
    public static var directory: String { RuntimeState.directory }
    /// Larger than any journal vfioctl writes (a few hundred bytes per device or value): reads stop there.
    static var maxBytes: Int { 16 << 20 }

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
                throw HostWriteError(path: path, value: "\(record)", errno: .invalidArgument, detail: "cannot encode the journal record")
            }
            bytes += line
            bytes.append(0x0A)
        }
        try RuntimeState.ensureDirectory(files)
        let fd = try RuntimeState.open(files, path, .readWrite, [.append, .create])
        defer { try? fd.close() }
        // Held for the cut and the write: a second writer (another vfioctl) waits instead of cutting a line that
        // is being written. Released by close. (flock and ftruncate: no FileDescriptor methods in swift-system 1.8.)
        while flock(fd.rawValue, LOCK_EX) != 0 {
            guard errno == EINTR else { throw HostWriteError(path: path, value: "", errno: Errno(rawValue: errno), detail: "cannot lock the journal") }
        }
        // A torn last line (a crash during an earlier append) is cut off first: left in place, this record would
        // follow it on the same line and the journal would no longer parse. Its host write never started.
        let size: Int64
        do { size = try fd.seek(offset: 0, from: .end) } catch {
            throw HostWriteError(path: path, value: "", errno: error as? Errno ?? .ioError, detail: "cannot read the journal")
        }
        let end = try Self.endOfLastCompleteRecord(fd, size: size, path: path)
        if end != size {
            guard ftruncate(fd.rawValue, off_t(end)) == 0 else {
                throw HostWriteError(path: path, value: "", errno: Errno(rawValue: errno), detail: "cannot cut the torn last line of the journal")
            }
        }
        // writeAll retries short writes and EINTR; O_APPEND puts every byte at the end.
        do { _ = try fd.writeAll(bytes) } catch {
            throw HostWriteError(path: path, value: "", errno: error as? Errno ?? .ioError, detail: "journal append failed")
        }
        guard fsync(fd.rawValue) == 0 else { throw HostWriteError(path: path, value: "", errno: Errno(rawValue: errno), detail: "journal fsync failed") }
    }

    /// Offset just past the last newline (0 for an empty file or one with no complete line), read backwards in
    /// blocks: an intact journal ends with a newline and costs one read.
    private static func endOfLastCompleteRecord(_ fd: FileDescriptor, size: Int64, path: String) throws(HostWriteError) -> Int64 {
        var end = size
        var block = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - Int64(block.count))
            let want = Int(end - start)
            let n: Int
            do { n = try block.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: start, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) } } catch {
                throw HostWriteError(path: path, value: "", errno: error as? Errno ?? .ioError, detail: "cannot read the journal")
            }
            guard n == want else { throw HostWriteError(path: path, value: "", errno: .ioError, detail: "cannot read the journal") }
            if let i = block[0..<want].lastIndex(of: 0x0A) { return start + Int64(i) + 1 }
            end = start
        }
        return 0
    }

    /// The journal's bytes (empty when there is none), read through the same checks as an append.
    private func readBytes() throws(HostWriteError) -> [UInt8] {
        let fd: FileDescriptor
        do { fd = try RuntimeState.open(files, path, .readOnly) } catch {
            if error.errno == .noSuchFileOrDirectory { return [] }
            throw error
        }
        defer { try? fd.close() }
        var out: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n: Int
            do { n = try block.withUnsafeMutableBytes { try fd.read(into: $0) } } catch {
                throw HostWriteError(path: path, value: "", errno: error as? Errno ?? .ioError, detail: "cannot read the journal")
            }
            if n == 0 { return out }
            out += block[0..<n]
            guard out.count <= Self.maxBytes else {
                throw HostWriteError(path: path, value: "", errno: .fileTooLarge, detail: "is larger than \(Self.maxBytes >> 20) MiB: not a journal vfioctl wrote")
            }
        }
    }

    /// What the journal holds: every record that parses, oldest first, and every line that does not, by number.
    /// A torn last line (a crash during `append`) is neither: the write it would have protected never started.
    public struct Contents: Sendable {
        public var records: [Record] = []
        public var corrupt: [CorruptJournalLine] = []
    }

    /// Every record, and the lines that are not records (recovery restores what the records hold and names the
    /// rest instead of giving up on the whole journal).
    public func read() throws(HostWriteError) -> Contents {
        let bytes = try readBytes()
        let decoder = JSONDecoder()
        var out = Contents()
        var number = 0
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            number += 1
            defer { start = end + 1 }
            let line = bytes[start..<end]
            if line.isEmpty { continue }
            if let record = try? decoder.decode(Record.self, from: Data(line)) {
                out.records.append(record)
            } else if end < bytes.count {
                let text = String(decoding: line.prefix(60), as: UTF8.self)
                out.corrupt.append(CorruptJournalLine(path: path, line: number, excerpt: text))
            }
        }
        return out
    }

    /// Every complete record, oldest first; a line that is not a record is an error naming it (file:line). For
    /// callers that add to what the journal holds; recovery uses `read()`.
    public func records() throws(HostWriteError) -> [Record] {
        let contents = try read()
        if let bad = contents.corrupt.first {
            throw HostWriteError(path: path, value: "", errno: .invalidArgument, detail: "line \(bad.line) is not a journal record ('\(bad.excerpt)')")
        }
        return contents.records
    }

    public var isEmpty: Bool { ((try? read()) ?? Contents()).records.isEmpty }

    /// Rewrites the journal without its corrupt lines (through `AtomicFile`: the old journal or the new, whole), after
    /// the user has looked at them. Returns the lines dropped.
    @discardableResult
    public func dropCorrupt() throws(HostWriteError) -> [CorruptJournalLine] {
        let contents = try read()
        guard !contents.corrupt.isEmpty else { return [] }
        let bytes = try readBytes()
        let dropped = Set(contents.corrupt.map(\.line))
        var kept: [UInt8] = []
        for (i, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
        where !dropped.contains(i + 1) && !line.isEmpty {
            kept += line
            kept.append(0x0A)
        }
        try AtomicFile.write(kept, to: files.realPath(path, followFinalLink: false), mode: 0o600)
        return contents.corrupt
    }

    /// Deletes the journal once everything it protects has been restored.
    public func remove() throws(HostWriteError) {
        if unlink(files.realPath(path, followFinalLink: false)) != 0 && errno != ENOENT { throw HostWriteError(path: path, value: "", errno: Errno(rawValue: errno)) }
    }
}

/// The one lock of every command that changes the running host (`bind`, `restore`, `shield`, `unshield`):
/// `flock(LOCK_EX)` on `/run/vfioctl/lock`, held for the whole command (from reading the host to the last journal
/// record), so two VMs starting at once through the libvirt hook run one after the other and each plans on what
/// the other left. One lock for all of them, because a bind's display handoff and a shield both move the same
/// host. The kernel drops it when the process dies, so a crash never leaves it held. The holder writes its pid and
/// command into the file, and a waiter names them.
public final class RuntimeLock: @unchecked Sendable {
    public static var path: String { RuntimeState.directory + "/lock" }
    /// How long a command waits for the lock by default (a bind's GPU unbind can take several seconds; two VMs
    /// starting together wait for each other's whole prepare).
    public static let defaultTimeout: Double = 120

    private let fd: FileDescriptor

    private init(fd: FileDescriptor) {
        self.fd = fd
    }

    deinit {
        // Empty before the unlock (close): the next holder writes its own line.
        _ = ftruncate(fd.rawValue, 0)
        try? fd.close()
    }

    /// Takes the lock, polling (bounded by `timeout`); `waiting` is told once who holds it.
    public static func acquire(_ files: RootedFileSystem, command: String, timeout: Double = defaultTimeout,
                               waiting: (String) -> Void = { _ in }) throws(HostWriteError) -> RuntimeLock {
        try RuntimeState.ensureDirectory(files)
        let fd = try RuntimeState.open(files, path, .readWrite, [.create])
        let deadline = Monotonic.now() + timeout
        var told = false
        var backoff = Backoff(limit: 50_000)
        while flock(fd.rawValue, LOCK_EX | LOCK_NB) != 0 {
            let e = Errno(rawValue: errno)
            guard e == .wouldBlock || e == .interrupted else {
                try? fd.close()
                throw HostWriteError(path: path, value: "", errno: e, detail: "cannot lock")
            }
            if !told {
                waiting("waiting for \(path), held by \(holder(fd))")
                told = true
            }
            if Monotonic.now() > deadline {
                let who = holder(fd)
                try? fd.close()
                throw HostWriteError(path: path, value: "", errno: .wouldBlock,
                                     detail: "held by \(who) for more than \(Int(timeout)) s; wait for it to finish (the kernel frees the lock when it exits)")
            }
            backoff.pause()
        }
        let line = Array("pid \(getpid()): vfioctl \(command)\n".utf8)
        _ = ftruncate(fd.rawValue, 0)
        _ = try? fd.writeAll(toAbsoluteOffset: 0, line)
        return RuntimeLock(fd: fd)
    }

    /// What the holder wrote ("pid 1234: vfioctl bind 0000:03:00.0"), or a plain "another vfioctl".
    private static func holder(_ fd: FileDescriptor) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = (try? buffer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }) ?? 0
        guard n > 0 else { return "another vfioctl" }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        return text.isEmpty ? "another vfioctl" : text
    }
}
