import Foundation

/// An in-memory file tree: regular files, relative symlinks and directories, keyed by path relative to the root.
///
/// Everything a ``HostTree`` renders lands here first, so the same host always yields byte-identical files, tests
/// can look at single files without touching the disk, and writing happens in one sorted pass.
public struct FileTree: Sendable {
    public enum Node: Equatable, Sendable {
        case file([UInt8])
        case symlink(String)
        case directory
    }

    public private(set) var nodes: [String: Node] = [:]

    public init() {}

    public subscript(path: String) -> Node? { nodes[path] }

    /// The text of a regular file, or nil when the path is not a regular file.
    public func text(_ path: String) -> String? {
        guard case .file(let bytes)? = nodes[path] else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    public mutating func file(_ path: String, _ text: String) {
        file(path, bytes: Array(text.utf8))
    }

    public mutating func file(_ path: String, bytes: [UInt8]) {
        directory(parent(of: path))
        nodes[path] = .file(bytes)
    }

    /// A symlink at `path` pointing at `target` (a root-relative path); the link text is made relative, the
    /// way the kernel writes its sysfs links (`../../../bus/pci/drivers/nvidia`).
    public mutating func link(_ path: String, to target: String) {
        directory(parent(of: path))
        nodes[path] = .symlink(FileTree.relativeLink(from: path, to: target))
    }

    /// A symlink whose text is written as given.
    public mutating func rawLink(_ path: String, _ text: String) {
        directory(parent(of: path))
        nodes[path] = .symlink(text)
    }

    public mutating func directory(_ path: String) {
        var current = path
        while !current.isEmpty, nodes[current] == nil {
            nodes[current] = .directory
            current = parent(of: current)
        }
    }

    /// The relative link text from the directory holding `linkPath` to `target`; both are root-relative paths.
    public static func relativeLink(from linkPath: String, to target: String) -> String {
        let from = linkPath.split(separator: "/").dropLast()
        let to = target.split(separator: "/")
        var common = 0
        while common < from.count, common < to.count, from[from.startIndex + common] == to[common] { common += 1 }
        let ups = Array(repeating: "..", count: from.count - common)
        return (ups + to[common...].map(String.init)).joined(separator: "/")
    }

    private func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// Writes the tree under `root`, creating it when missing. Existing files at the same paths are replaced.
    public func write(to root: URL) throws {
        let base = root.path
        try makeDirectory(base)
        for path in nodes.keys.sorted() {
            let full = base + "/" + path
            switch nodes[path]! {
            case .directory:
                try makeDirectory(full)
            case .file(let bytes):
                try writeFile(full, bytes)
            case .symlink(let text):
                unlink(full)
                guard symlink(text, full) == 0 else { throw FixtureError.cannotWrite(path: full, errno: errno) }
            }
        }
    }

    private func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            // Parents first: the root itself may be several levels deep.
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty && parent != path && errno == ENOENT {
                try makeDirectory(parent)
                if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
            }
            throw FixtureError.cannotWrite(path: path, errno: errno)
        }
    }

    private func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw FixtureError.cannotWrite(path: path, errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            // SAFETY: the buffer pointer lives for the closure; we write at most the remaining bytes.
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { throw FixtureError.cannotWrite(path: path, errno: errno) }
            offset += n
        }
    }
}

public enum FixtureError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, errno: Int32)
    case invalidAddress(String)
    case invalidTopology(String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let code): "cannot write \(path): \(String(cString: strerror(code)))"
        case .invalidAddress(let text): "'\(text)' is not a PCI address of the form DDDD:BB:DD.F"
        case .invalidTopology(let why): "invalid PCI topology: \(why)"
        }
    }
}
