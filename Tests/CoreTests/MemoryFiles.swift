import VFIOCore

/// An in-memory host tree for core tests: files, directories implied by paths, and symlinks.
struct MemoryFiles: HostFileReader {
    var files: [String: [UInt8]] = [:]
    var links: [String: String] = [:]

    mutating func file(_ path: String, _ text: String) { files[path] = Array(text.utf8) }
    mutating func bytes(_ path: String, _ data: [UInt8]) { files[path] = data }
    mutating func link(_ path: String, _ target: String) { links[path] = target }

    /// Follows links on every component.
    func resolve(_ path: String) -> String {
        var parts = path.split(separator: "/").map(String.init)
        var current = ""
        var hops = 0
        while !parts.isEmpty {
            let next = current + "/" + parts.removeFirst()
            if let target = links[next], hops < 40 {
                hops += 1
                let resolved = HostPath.resolveLink(at: next, target: target)
                parts = resolved.split(separator: "/").map(String.init) + parts
                current = ""
            } else {
                current = next
            }
        }
        return current.isEmpty ? "/" : current
    }

    func readBytes(_ path: String) throws(FileReadError) -> [UInt8] {
        guard let data = files[resolve(path)] else { throw FileReadError(path: path, reason: .notFound) }
        return data
    }

    func listDirectory(_ path: String) throws(FileReadError) -> [String] {
        let dir = resolve(path)
        let prefix = dir == "/" ? "/" : dir + "/"
        var names = Set<String>()
        for key in Array(files.keys) + Array(links.keys) where key.hasPrefix(prefix) {
            if let first = key.dropFirst(prefix.count).split(separator: "/").first { names.insert(String(first)) }
        }
        if names.isEmpty { throw FileReadError(path: path, reason: .notFound) }
        return names.sorted()
    }

    func readLink(_ path: String) throws(FileReadError) -> String {
        let parent = resolve(HostPath.parent(path))
        let key = HostPath.join(parent, HostPath.lastComponent(path))
        if let target = links[key] { return target }
        if kind(of: path) != nil { throw FileReadError(path: path, reason: .notALink) }
        throw FileReadError(path: path, reason: .notFound)
    }

    func kind(of path: String) -> FileKind? {
        let real = resolve(path)
        if files[real] != nil { return .regular }
        let prefix = real == "/" ? "/" : real + "/"
        if files.keys.contains(where: { $0.hasPrefix(prefix) }) || links.keys.contains(where: { $0.hasPrefix(prefix) }) { return .directory }
        return nil
    }
}

/// Config space bytes for tests: a type-0 header with optional PM, MSI, PCIe (FLR) and ACS.
func configSpace(vendor: UInt16, device: UInt16, classCode: UInt32, revision: UInt8 = 0, flr: Bool = false,
                 acsControl: UInt16? = nil, serial: Bool = false, size: Int = 4096) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: size)
    func put16(_ o: Int, _ v: UInt16) { b[o] = UInt8(v & 0xff); b[o + 1] = UInt8(v >> 8) }
    func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { b[o + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) } }
    put16(0, vendor); put16(2, device)
    put16(6, 0x0010)
    b[8] = revision
    b[9] = UInt8(classCode & 0xff); b[10] = UInt8((classCode >> 8) & 0xff); b[11] = UInt8(classCode >> 16)
    b[0x34] = 0x40
    // PM at 0x40 -> MSI at 0x50 -> PCIe at 0x60
    b[0x40] = 0x01; b[0x41] = 0x50
    b[0x50] = 0x05; b[0x51] = 0x60
    b[0x60] = 0x10; b[0x61] = 0x00
    put16(0x62, 0x0002)  // version 2, endpoint
    put32(0x64, flr ? 1 << 28 : 0)
    var next = 0
    if let acsControl {
        put32(0x100, 0x000d | 1 << 16 | UInt32(serial ? 0x140 : 0) << 20)
        put16(0x104, 0x001f); put16(0x106, acsControl)
        next = 0x140
    } else if serial {
        next = 0x100
    }
    if serial && size >= 0x150 {
        put32(next, 0x0003 | 1 << 16)
        put32(next + 4, 0xdeadbeef); put32(next + 8, 0x01234567)
    }
    return b
}
