import VFIOCore

/// The host's files under one root directory: `/` in production, a fixture tree or an unpacked snapshot in
/// tests, `--root DIR` for users. Host paths are joined to the root and nothing else; relative symlinks (all that
/// sysfs makes) resolve inside the tree. Trees must hold relative links only; `vfioctl snapshot` writes them so.
public struct RootedFileSystem: HostFileReader {
    /// Absolute real path of the root, without trailing slash ("" for `/`).
    public let root: String

    public init(root: String) throws(HostError) {
        let resolved = Syscalls.realPath(root)
        guard let resolved, Syscalls.kind(resolved) == .directory else {
            throw HostError.rootNotADirectory(root)
        }
        self.root = resolved == "/" ? "" : resolved
    }

    public var isRealRoot: Bool { root.isEmpty }

    /// The real path for a host path.
    public func realPath(_ hostPath: String) -> String {
        guard !root.isEmpty else { return hostPath }
        return root + hostPath
    }

    public func readBytes(_ path: String) throws(FileReadError) -> [UInt8] {
        try Syscalls.readFile(realPath(path), hostPath: path, shortReadIsEOF: path.hasPrefix("/sys/"))
    }

    public func readRanges(_ path: String, _ body: (_ read: (_ offset: Int, _ count: Int) -> [UInt8]) -> Void) throws(FileReadError) {
        try Syscalls.withOpenFile(realPath(path), hostPath: path) { fd in
            body { offset, count in Syscalls.pread(fd, offset: offset, count: count) }
        }
    }

    public func listDirectory(_ path: String) throws(FileReadError) -> [String] {
        try Syscalls.listDirectory(realPath(path), hostPath: path)
    }

    public func readLink(_ path: String) throws(FileReadError) -> String {
        try Syscalls.readLink(realPath(path), hostPath: path)
    }

    public func kind(of path: String) -> FileKind? {
        Syscalls.kind(realPath(path))
    }
}

/// Errors of the effects layer: vfioctl itself could not do its job.
public enum HostError: Error, CustomStringConvertible, Sendable {
    case rootNotADirectory(String)
    case snapshotUnreadable(String, String)
    case snapshotWriteFailed(String, String)
    case commandFailed(String, Int32, String)

    public var description: String {
        switch self {
        case .rootNotADirectory(let p): return "--root \(p): not a directory or vfioctl snapshot (.tar.gz)"
        case .snapshotUnreadable(let p, let why): return "snapshot \(p): cannot unpack: \(why)"
        case .snapshotWriteFailed(let p, let why): return "snapshot \(p): cannot write: \(why)"
        case .commandFailed(let cmd, let status, let stderr): return "\(cmd) exited with status \(status): \(stderr)"
        }
    }
}
