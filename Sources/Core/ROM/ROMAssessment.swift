/// What is wrong with a ROM for one device and one guest: the verdict doctor and plan turn into findings.
public enum ROMIssue: Sendable, Equatable, CustomStringConvertible {
    /// The walk found problems (no image, truncation, bad checksum, ...): the ROM is unusable or damaged.
    case damaged([ROMProblem])
    /// A vendor header precedes the first image: QEMU would hand the guest a ROM that does not start with 55 AA.
    case vendorHeader(offset: Int)
    /// No image of the ROM is for this device (PCIR vendor:device differ).
    case otherDevice(rom: [String], device: String)
    /// A UEFI (OVMF) guest and no EFI driver image an x86-64 firmware can run.
    case noUEFIImage(hasOtherMachine: Bool)

    public var description: String {
        switch self {
        case .damaged(let problems):
            return "the ROM is damaged: " + problems.map(\.description).joined(separator: "; ")
        case .vendorHeader(let offset):
            return "the ROM starts with a \(offset)-byte vendor header (a flash-tool dump): strip it with 'vfioctl rom FILE --dump CLEAN.rom' and use CLEAN.rom"
        case .otherDevice(let rom, let device):
            return "the ROM is for \(rom.joined(separator: ", ")), not for this device (\(device))"
        case .noUEFIImage(let other):
            return other
                ? "the ROM's EFI image is not for x86-64: an OVMF guest shows nothing until the guest driver loads"
                : "the ROM has no EFI (GOP) image: an OVMF guest shows nothing until the guest driver loads; use a ROM with an EFI image or SeaBIOS"
        }
    }
}

extension OptionROM {
    /// The issues of this ROM for a device (`vendor`/`device` from sysfs, nil to skip the match) and a guest that
    /// boots with UEFI (OVMF) or not. Empty when the ROM is fit for it.
    public func issues(vendor: UInt16? = nil, device: UInt16? = nil, uefiGuest: Bool) -> [ROMIssue] {
        var out: [ROMIssue] = []
        if !problems.isEmpty { out.append(.damaged(problems)) }
        if headerOffset > 0 && !images.isEmpty { out.append(.vendorHeader(offset: headerOffset)) }
        if let vendor, let device, !images.isEmpty,
           !images.contains(where: { $0.vendor == vendor && $0.device == device }) {
            let ids = images.map { "\(hex($0.vendor, width: 4)):\(hex($0.device, width: 4))" }
            out.append(.otherDevice(rom: ids.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } },
                                    device: "\(hex(vendor, width: 4)):\(hex(device, width: 4))"))
        }
        if uefiGuest && !images.isEmpty && !hasUEFIForX64 { out.append(.noUEFIImage(hasOtherMachine: hasUEFI)) }
        return out
    }
}

extension ROMParser {
    /// Reads and parses a ROM file on the host (a spec's `rom` path) through the host reader, so `--root` trees and
    /// snapshots work. Reads at most `maxInputBytes` (+1 to tell a larger file), in 1 MiB ranges.
    public static func parse(file path: String, from reader: any HostFileReader) throws(FileReadError) -> OptionROM {
        var bytes: [UInt8] = []
        try reader.readRanges(path) { read in
            while bytes.count <= maxInputBytes {
                let want = min(1 << 20, maxInputBytes + 1 - bytes.count)
                let got = read(bytes.count, want)
                bytes += got
                // Only an empty read is the end: sysfs binary attributes come one page per read.
                if got.isEmpty { break }
            }
        }
        if bytes.count > maxInputBytes {
            return OptionROM(headerOffset: 0, images: [], problems: [.tooLarge(size: bytes.count)], trailingBytes: 0, inputSize: bytes.count)
        }
        return parse(bytes)
    }
}
