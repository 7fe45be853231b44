/// A PCI option ROM: the chain of images a device's expansion ROM BAR (sysfs: `rom`) or a ROM file holds.
///
/// Layout (PCI Firmware Specification 3.0, 5.1): every image starts with `55 AA`; the 16-bit pointer at 0x18
/// leads to its PCI Data Structure ("PCIR"), which gives the vendor and device the image is for, its code type,
/// its length in 512-byte units and the last-image bit. EFI images (UEFI 2.x, "EFI PCI Expansion ROM Header")
/// add the EFI signature 0x0EF1 at 0x04, the subsystem at 0x08, the machine type at 0x0A, the compression type at
/// 0x0C and the offset of the PE image at 0x16.
public struct OptionROM: Sendable, Equatable {
    /// Bytes in front of the first image: flash-tool dumps (NVIDIA's among them) carry a vendor header there,
    /// which a VM must not see. 0 for a plain ROM.
    public var headerOffset: Int
    /// The images in chain order, up to the first that sets the last-image bit (or the first that is broken).
    public var images: [ROMImage]
    /// What stopped the walk early or is wrong with the chain as a whole; empty for a sound ROM.
    public var problems: [ROMProblem]
    /// Bytes after the last image (the rest of a ROM BAR or a flash chip, usually 0xFF or 0x00 padding).
    public var trailingBytes: Int
    /// Total size of what was parsed, header included.
    public var inputSize: Int

    /// Every x86 image's checksum is right (images of other code types carry no checksum).
    public var checksumsValid: Bool { images.allSatisfy { $0.checksumValid != false } }

    /// An EFI boot-service driver image is present (code type 3, subsystem 0x0B): for a display device this is
    /// its GOP driver, which an OVMF (UEFI) guest needs to show anything before the guest's own driver loads.
    public var hasUEFI: Bool { images.contains { $0.isUEFIDriver } }

    /// An EFI driver image an x86-64 UEFI guest (OVMF) can run: machine type x64, or EBC byte code.
    public var hasUEFIForX64: Bool {
        images.contains { $0.isUEFIDriver && ($0.efi?.machineType == EFIMachine.x64 || $0.efi?.machineType == EFIMachine.ebc) }
    }

    /// The ROM as a VM should get it: from the first image to the end of the last one, vendor header and trailing
    /// padding left out. Empty when no image was found.
    public func stripped(_ bytes: [UInt8]) -> [UInt8] {
        guard let last = images.last else { return [] }
        let end = min(bytes.count, last.offset + last.sizeBytes)
        guard headerOffset < end else { return [] }
        return Array(bytes[headerOffset..<end])
    }
}

/// One image of the chain.
public struct ROMImage: Sendable, Equatable {
    /// Offset of the image's `55 AA` in the parsed bytes (vendor header included).
    public var offset: Int
    public var vendor: UInt16
    public var device: UInt16
    /// 24-bit class code (0x030000 VGA controller).
    public var classCode: UInt32
    /// PCIR code type: 0 x86 BIOS, 1 Open Firmware, 2 HP PA-RISC, 3 EFI; others are vendor-defined.
    public var codeType: UInt8
    /// Image length (PCIR 0x10, in 512-byte units; NVIDIA's NPDE extension overrides it when present).
    public var sizeBytes: Int
    /// PCIR indicator bit 7 (or NPDE's): no image follows.
    public var last: Bool
    /// PCIR revision (0 for PCI 2.x, 3 for PCI 3.0) and the vendor's code revision.
    public var pcirRevision: UInt8
    public var codeRevision: UInt16
    /// Offset of the PCIR structure from the image start.
    public var pcirOffset: Int
    /// True when NVIDIA's NPDE structure (after the PCIR) gave the length and last bit, as nouveau reads them.
    public var lengthFromNPDE: Bool
    /// x86 images: the bytes of the initialization size (header byte 2 × 512, what a BIOS sums) add up to 0
    /// modulo 256. nil for other code types (no checksum defined) and for truncated images (cannot be judged).
    public var checksumValid: Bool?
    /// The sum modulo 256 of those bytes (0 when valid).
    public var checksumSum: UInt8?
    /// EFI header fields (code type 3 only).
    public var efi: EFIImageHeader?

    public var codeTypeName: String { ROMCodeType.name(codeType) }

    public var isUEFIDriver: Bool {
        codeType == ROMCodeType.efi && efi?.signatureValid == true && efi?.subsystem == EFISubsystem.bootServiceDriver
    }
}

/// The EFI PCI Expansion ROM Header (UEFI 2.x, 14.4.2 "PCI Option ROMs").
public struct EFIImageHeader: Sendable, Equatable {
    /// 0x04: 0x0EF1 in an EFI image.
    public var signatureValid: Bool
    /// 0x08: PE subsystem (0x0B boot-service driver, 0x0C runtime driver, 0x0A application).
    public var subsystem: UInt16
    /// 0x0A: PE machine type (0x8664 x64, 0x014C IA32, 0xAA64 AArch64, 0x0EBC EBC).
    public var machineType: UInt16
    /// 0x0C: 1 = EFI-compressed, 0 = plain PE image.
    public var compressed: Bool
    /// 0x16: offset of the PE image from the image start.
    public var imageOffset: Int

    public var machineName: String { EFIMachine.name(machineType) }
    public var subsystemName: String { EFISubsystem.name(subsystem) }
}

public enum ROMCodeType {
    public static let x86: UInt8 = 0
    public static let openFirmware: UInt8 = 1
    public static let paRISC: UInt8 = 2
    public static let efi: UInt8 = 3

    public static func name(_ type: UInt8) -> String {
        switch type {
        case x86: "x86"
        case openFirmware: "open-firmware"
        case paRISC: "pa-risc"
        case efi: "efi"
        default: "0x" + hex(type, width: 2)
        }
    }
}

public enum EFIMachine {
    public static let ia32: UInt16 = 0x014C
    public static let x64: UInt16 = 0x8664
    public static let aarch64: UInt16 = 0xAA64
    public static let ebc: UInt16 = 0x0EBC

    public static func name(_ machine: UInt16) -> String {
        switch machine {
        case x64: "x64"
        case ia32: "ia32"
        case aarch64: "aarch64"
        case ebc: "ebc"
        case 0x01C2: "arm"
        case 0x5064: "riscv64"
        default: "0x" + hex(machine, width: 4)
        }
    }
}

public enum EFISubsystem {
    public static let application: UInt16 = 0x0A
    public static let bootServiceDriver: UInt16 = 0x0B
    public static let runtimeDriver: UInt16 = 0x0C

    public static func name(_ subsystem: UInt16) -> String {
        switch subsystem {
        case application: "application"
        case bootServiceDriver: "boot-service-driver"
        case runtimeDriver: "runtime-driver"
        default: "0x" + hex(subsystem, width: 4)
        }
    }
}

/// Something wrong with the chain. Each names the image and the offset at fault.
public enum ROMProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing in the input starts a valid image (no `55 AA` followed by a PCIR structure).
    case noImage(size: Int)
    /// The image at `offset` (index `index`) has no `55 AA`: the previous image's length points into nothing.
    case missingSignature(index: Int, offset: Int)
    /// The input ends inside the image's header.
    case truncatedHeader(index: Int, offset: Int, size: Int)
    /// The PCIR pointer at 0x18 points outside the input or back into the ROM header.
    case pcirOutOfRange(index: Int, offset: Int, pointer: Int)
    /// No "PCIR" signature where the pointer leads.
    case badPCIRSignature(index: Int, offset: Int, pcir: Int)
    /// Length 0 in the PCIR: following it would read the same image forever.
    case zeroLength(index: Int, offset: Int)
    /// The image's length runs past the end of the input.
    case truncatedImage(index: Int, offset: Int, sizeBytes: Int, available: Int)
    /// Larger than any expansion ROM (`ROMParser.maxInputBytes`): not parsed.
    case tooLarge(size: Int)
    /// The chain has more images than any real ROM (`ROMParser.maxImages`).
    case tooManyImages(limit: Int)
    /// The input ends after an image that does not set the last-image bit.
    case lastBitMissing(index: Int, offset: Int)
    /// An x86 image whose bytes do not sum to 0.
    case badChecksum(index: Int, offset: Int, sum: UInt8)

    public var description: String {
        switch self {
        case .noImage(let size):
            return "no option ROM image in \(size) bytes: no 55 AA signature followed by a valid PCIR structure"
        case .missingSignature(let i, let o):
            return "image \(i + 1) at \(ROMText.offset(o)): no 55 AA signature (the previous image's length points here)"
        case .truncatedHeader(let i, let o, let size):
            return "image \(i + 1) at \(ROMText.offset(o)): the data ends (\(size) bytes) inside the ROM header"
        case .pcirOutOfRange(let i, let o, let p):
            return "image \(i + 1) at \(ROMText.offset(o)): the PCIR pointer at 0x18 (\(ROMText.offset(p))) points outside the image data"
        case .badPCIRSignature(let i, let o, let p):
            return "image \(i + 1) at \(ROMText.offset(o)): no PCIR signature at \(ROMText.offset(p))"
        case .zeroLength(let i, let o):
            return "image \(i + 1) at \(ROMText.offset(o)): the PCIR gives an image length of 0"
        case .truncatedImage(let i, let o, let size, let available):
            return "image \(i + 1) at \(ROMText.offset(o)): \(size) bytes long, but only \(available) bytes follow (truncated dump?)"
        case .tooLarge(let size):
            return "\(size) bytes or more: larger than any expansion ROM (\(ROMParser.maxInputBytes) bytes)"
        case .tooManyImages(let limit):
            return "more than \(limit) images: the chain is not a real option ROM"
        case .lastBitMissing(let i, let o):
            return "image \(i + 1) at \(ROMText.offset(o)): the data ends but the image does not set the last-image bit"
        case .badChecksum(let i, let o, let sum):
            return "image \(i + 1) at \(ROMText.offset(o)): checksum wrong (bytes sum to 0x\(hex(sum, width: 2)), must be 0x00)"
        }
    }
}

enum ROMText {
    static func offset(_ o: Int) -> String { "0x" + hex(o, width: 4) }
}
