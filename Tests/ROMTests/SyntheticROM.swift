import Foundation
import VFIOCore

/// Option ROM images built byte by byte, so the suite tests the parser without Debian's ROM packages.
enum SyntheticROM {
    struct EFI {
        var subsystem: UInt16 = 0x0B
        var machine: UInt16 = 0x8664
        var compressed = false
    }

    /// One image: `55 AA`, initialization size, PCIR at 0x1C, the EFI header when `efi` is set, and for x86 images
    /// a last byte that makes the bytes sum to 0 (unless `fixChecksum` is false).
    static func image(vendor: UInt16 = 0x10DE, device: UInt16 = 0x2484, classCode: UInt32 = 0x030000, codeType: UInt8 = 0,
                      blocks: Int = 2, lengthField: Int? = nil, last: Bool = true, efi: EFI? = nil, fixChecksum: Bool = true) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: blocks * 512)
        func put16(_ o: Int, _ v: Int) { b[o] = UInt8(v & 0xFF); b[o + 1] = UInt8((v >> 8) & 0xFF) }
        for i in 0x40..<b.count { b[i] = UInt8(truncatingIfNeeded: i &* 7) }
        b[0] = 0x55; b[1] = 0xAA; b[2] = UInt8(blocks)
        if let efi {
            put16(0x04, 0x0EF1); put16(0x06, 0)
            put16(0x08, Int(efi.subsystem)); put16(0x0A, Int(efi.machine)); put16(0x0C, efi.compressed ? 1 : 0)
            put16(0x16, 0x40)
        }
        put16(0x18, 0x1C)
        let p = 0x1C
        for (i, c) in "PCIR".utf8.enumerated() { b[p + i] = c }
        put16(p + 0x04, Int(vendor)); put16(p + 0x06, Int(device))
        put16(p + 0x0A, 0x18); b[p + 0x0C] = 3
        b[p + 0x0D] = UInt8(classCode & 0xFF); b[p + 0x0E] = UInt8((classCode >> 8) & 0xFF); b[p + 0x0F] = UInt8(classCode >> 16)
        put16(p + 0x10, lengthField ?? blocks)
        b[p + 0x14] = codeType
        b[p + 0x15] = last ? 0x80 : 0
        if codeType == 0 && fixChecksum {
            b[b.count - 1] = 0
            let sum = b.reduce(UInt8(0), &+)
            b[b.count - 1] = 0 &- sum
        }
        return b
    }

    /// A flash-tool style vendor header: a signature, text, and a decoy `55 AA` that leads to no PCIR structure.
    static func vendorHeader(size: Int = 0x400) -> [UInt8] {
        var h = [UInt8](repeating: 0xFF, count: size)
        for (i, c) in "NVGI flash dump v5.1".utf8.enumerated() { h[i] = c }
        h[0x40] = 0x55; h[0x41] = 0xAA
        h[0x40 + 0x18] = 0xF0; h[0x40 + 0x19] = 0xFF
        return h
    }

    /// A legacy VGA image followed by an x64 GOP image: the usual shape of a modern GPU ROM.
    static func gpuROM() -> [UInt8] {
        image(codeType: 0, blocks: 4, last: false) + image(codeType: 3, blocks: 6, last: true, efi: EFI())
    }
}

enum RealROMs {
    static let e1000 = "/usr/lib/ipxe/qemu/efi-e1000.rom"
    static let stdvga = "/usr/share/seabios/vgabios-stdvga.bin"
    static var haveE1000: Bool { FileManager.default.fileExists(atPath: e1000) }
    static var haveStdVGA: Bool { FileManager.default.fileExists(atPath: stdvga) }
    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
}

final class TempDir {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-rom-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
    }

    func read(_ relative: String) -> [UInt8]? {
        (try? Data(contentsOf: URL(fileURLWithPath: path + "/" + relative))).map { [UInt8]($0) }
    }
}
