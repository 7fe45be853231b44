/// Parses PCI configuration space bytes (sysfs: `config`) into capabilities.
/// Non-root readers get only the first 64 bytes; then the capability list is reported as truncated.
public enum ConfigSpace {
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public let detail: String
        public var description: String { detail }
    }

    public struct Header: Sendable, Equatable {
        public var vendorID: UInt16
        public var deviceID: UInt16
        public var classCode: UInt32
        public var revision: UInt8
        public var headerType: UInt8
    }

    public static func header(_ bytes: [UInt8]) throws(Malformed) -> Header {
        guard bytes.count >= 64 else { throw Malformed(detail: "config space has \(bytes.count) bytes, expected at least 64") }
        return Header(vendorID: u16(bytes, 0), deviceID: u16(bytes, 2),
                      classCode: UInt32(bytes[0x0b]) << 16 | UInt32(bytes[0x0a]) << 8 | UInt32(bytes[0x09]),
                      revision: bytes[0x08], headerType: bytes[0x0e] & 0x7f)
    }

    public static func capabilities(_ bytes: [UInt8]) throws(Malformed) -> PCICapabilities {
        try capabilities(standard: Array(bytes.prefix(256))) { offset, count in
            offset < bytes.count ? Array(bytes[offset..<min(bytes.count, offset + count)]) : []
        }
    }

    /// Parses the first 256 bytes, then follows the extended capability chain through `readExtended(offset,
    /// count)`, so only the few extended headers on the chain are read from a slow `config` file.
    public static func capabilities(standard bytes: [UInt8], readExtended: (Int, Int) -> [UInt8]) throws(Malformed) -> PCICapabilities {
        _ = try header(bytes)
        var caps = PCICapabilities()
        caps.headerType = bytes[0x0e] & 0x7f
        caps.multifunction = bytes[0x0e] & 0x80 != 0
        caps.truncated = bytes.count < 256
        if caps.headerType == 0 { caps.bars = bars(bytes) }
        let status = u16(bytes, 0x06)
        guard status & 0x10 != 0 else { return caps }  // Status: Capabilities List
        if caps.truncated { return caps }

        // Standard list: pointer at 0x34 (0x14 for CardBus), each entry (id, next).
        var pointer = Int(bytes[caps.headerType == 2 ? 0x14 : 0x34] & 0xfc)
        var seen = Set<Int>()
        while pointer >= 0x40, pointer + 1 < bytes.count, seen.insert(pointer).inserted {
            let id = bytes[pointer]
            switch id {
            case 0x01:  // Power Management: PMCSR at +4, No_Soft_Reset bit 3; PMC D3hot always supported
                if pointer + 5 < bytes.count {
                    caps.powerManagement = .init(noSoftReset: bytes[pointer + 4] & 0x08 != 0)
                }
            case 0x05: caps.msi = true
            case 0x09: caps.vendorSpecific = true
            case 0x10:  // PCI Express: caps register at +2, Device Capabilities at +4
                if pointer + 8 <= bytes.count {
                    let expCaps = u16(bytes, pointer + 2)
                    let devCap = u32(bytes, pointer + 4)
                    let type = UInt8((expCaps >> 4) & 0xf)
                    caps.express = .init(portType: .init(rawValue: type) ?? .unknown,
                                         functionLevelReset: devCap & (1 << 28) != 0,
                                         slotImplemented: expCaps & (1 << 8) != 0)
                }
            case 0x11:
                if pointer + 4 <= bytes.count {
                    caps.msix = .init(tableSize: Int(u16(bytes, pointer + 2) & 0x7ff) + 1)
                }
            default: break
            }
            pointer = Int(bytes[pointer + 1] & 0xfc)
        }

        // Extended list from 0x100 (PCIe only): header = id:16, version:4, next:12.
        guard caps.express != nil else { return caps }
        var ext = 0x100
        var seenExt = Set<Int>()
        while ext >= 0x100, ext < 0x1000, seenExt.insert(ext).inserted {
            let chunk = readExtended(ext, 8)
            guard chunk.count >= 4 else { break }
            let header = u32(chunk, 0)
            if header == 0 || header == 0xffff_ffff { break }
            switch UInt16(header & 0xffff) {
            case 0x0003: caps.deviceSerialNumber = true
            case 0x000d:
                if chunk.count >= 8 { caps.acs = .init(capabilities: u16(chunk, 4), control: u16(chunk, 6)) }
            case 0x000e: caps.ari = true
            case 0x0010: caps.sriov = true
            case 0x0015: caps.resizableBARs = resizableBARs(readExtended(ext, 4 + 8 * 6))
            default: break
            }
            ext = Int(header >> 20) & 0xffc
        }
        return caps
    }

    /// The six BAR registers of a type 0 header. A 64-bit BAR takes the next register as its upper half; one that
    /// claims to be 64-bit in the last register has no upper half and is read as 32-bit.
    static func bars(_ bytes: [UInt8]) -> [PCICapabilities.BAR] {
        guard bytes.count >= 0x28 else { return [] }
        var out: [PCICapabilities.BAR] = []
        var i = 0
        while i < 6 {
            let low = u32(bytes, 0x10 + 4 * i)
            if low & 1 == 1 {
                if low & ~3 != 0 { out.append(.init(index: i, address: UInt64(low & ~3), isIO: true, is64Bit: false, prefetchable: false)) }
                i += 1
                continue
            }
            let is64 = (low >> 1) & 3 == 2 && i < 5
            let high: UInt64 = is64 ? UInt64(u32(bytes, 0x10 + 4 * (i + 1))) : 0
            let address = high << 32 | UInt64(low & ~0xf)
            if address != 0 || is64 {
                out.append(.init(index: i, address: address, isIO: false, is64Bit: is64, prefetchable: low & 8 != 0))
            }
            i += is64 ? 2 : 1
        }
        return out
    }

    /// PCIe r4.0 §7.8.6: after the header, one (capability, control) register pair per resizable BAR; the first
    /// control register gives their number (bits 5–7, 1–6). Entries beyond the bytes read are left out.
    static func resizableBARs(_ chunk: [UInt8]) -> [PCICapabilities.ResizableBAR] {
        guard chunk.count >= 12 else { return [] }
        let count = min(6, max(1, Int((u32(chunk, 8) >> 5) & 7)))
        var out: [PCICapabilities.ResizableBAR] = []
        for n in 0..<count {
            let at = 4 + 8 * n
            guard at + 8 <= chunk.count else { break }
            let capability = u32(chunk, at)
            let control = u32(chunk, at + 4)
            let sizes = (4...31).filter { capability & (1 << UInt32($0)) != 0 }.map { UInt64(1) << UInt64($0 + 16) }
            out.append(.init(index: Int(control & 7), supportedSizes: sizes, currentSize: UInt64(1) << UInt64(((control >> 8) & 0x3f) + 20)))
        }
        return out
    }

    /// The byte range of the Device Serial Number extended capability's serial (for redaction).
    public static func serialNumberRange(_ bytes: [UInt8]) -> Range<Int>? {
        guard bytes.count >= 0x104 else { return nil }
        var ext = 0x100
        var seen = Set<Int>()
        while ext >= 0x100, ext + 4 <= bytes.count, seen.insert(ext).inserted {
            let header = u32(bytes, ext)
            if header == 0 || header == 0xffff_ffff { return nil }
            if header & 0xffff == 0x0003, ext + 12 <= bytes.count { return (ext + 4)..<(ext + 12) }
            ext = Int(header >> 20) & 0xffc
        }
        return nil
    }

    @inline(__always) static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    @inline(__always) static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }
}
