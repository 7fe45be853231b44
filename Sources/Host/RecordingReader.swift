import Synchronization
import VFIOCore

/// Wraps a reader and remembers every path asked for, so `vfioctl snapshot` captures exactly what vfioctl reads.
public final class RecordingReader: HostFileReader {
    public enum Access: Sendable, Hashable { case read, list, link, kind }

    private let base: any HostFileReader
    private let log = Mutex<[String: Set<Access>]>([:])

    public init(_ base: any HostFileReader) {
        self.base = base
    }

    public var accesses: [String: Set<Access>] { log.withLock { $0 } }

    private func note(_ path: String, _ access: Access) {
        log.withLock { _ = $0[path, default: []].insert(access) }
    }

    public func readBytes(_ path: String) throws(FileReadError) -> [UInt8] {
        note(path, .read)
        return try base.readBytes(path)
    }

    public func readRanges(_ path: String, _ body: (_ read: (_ offset: Int, _ count: Int) -> [UInt8]) -> Void) throws(FileReadError) {
        note(path, .read)
        try base.readRanges(path, body)
    }

    public func listDirectory(_ path: String) throws(FileReadError) -> [String] {
        note(path, .list)
        return try base.listDirectory(path)
    }

    public func readLink(_ path: String) throws(FileReadError) -> String {
        note(path, .link)
        return try base.readLink(path)
    }

    public func kind(of path: String) -> FileKind? {
        note(path, .kind)
        return base.kind(of: path)
    }
}
