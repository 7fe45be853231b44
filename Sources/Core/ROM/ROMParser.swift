/// Walks an option ROM's image chain. Pure and total: any input gives an `OptionROM` (possibly with no images and
/// a problem), never a trap or an endless loop. Every offset is checked against the input before it is read, each
/// step moves forward by a non-zero length, and the chain is capped at `maxImages`.
public enum ROMParser {
    /// Real ROMs hold 1–4 images (x86, EFI, sometimes an NVIDIA firmware image); more is a corrupt chain.
    public static let maxImages = 32
    /// The largest input worth reading: expansion ROM BARs are at most 16 MiB (PCI: 24 address bits).
    public static let maxInputBytes = 16 << 20

    /// Parses `bytes` (a ROM file, a flash-tool dump or the device's `rom` attribute).
    public static func parse(_ bytes: [UInt8]) -> OptionROM {
        guard let start = firstImageOffset(bytes) else {
            return OptionROM(headerOffset: 0, images: [], problems: [.noImage(size: bytes.count)], trailingBytes: 0, inputSize: bytes.count)
        }
        var rom = OptionROM(headerOffset: start, images: [], problems: [], trailingBytes: 0, inputSize: bytes.count)
        var offset = start
        var end = start
        walk: while true {
            let index = rom.images.count
            guard index < maxImages else { rom.problems.append(.tooManyImages(limit: maxImages)); break }
            switch image(in: bytes, at: offset, index: index, romStart: start) {
            case .failure(let problem):
                rom.problems.append(problem)
                break walk
            case .success(let image):
                rom.images.append(image)
                if image.checksumValid == false, let sum = image.checksumSum {
                    rom.problems.append(.badChecksum(index: index, offset: offset, sum: sum))
                }
                let available = bytes.count - offset
                if image.sizeBytes > available {
                    rom.problems.append(.truncatedImage(index: index, offset: offset, sizeBytes: image.sizeBytes, available: available))
                    end = bytes.count
                    break walk
                }
                end = offset + image.sizeBytes
                if image.last { break walk }
                if end >= bytes.count {
                    rom.problems.append(.lastBitMissing(index: index, offset: offset))
                    break walk
                }
                offset = end
            }
        }
        rom.trailingBytes = bytes.count - end
        return rom
    }

    /// The first offset where `55 AA` starts an image with a valid PCIR structure: 0 for a plain ROM, the size of
    /// the vendor header for flash-tool dumps. nil when there is none.
    public static func firstImageOffset(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x55 && bytes[i + 1] == 0xAA, startsImage(bytes, at: i) { return i }
            i += 1
        }
        return nil
    }

    /// `55 AA` with a PCIR pointer that stays inside the data and leads to "PCIR". The length is not checked
    /// here, so that a broken first image is reported as broken by the walk rather than as "no image".
    static func startsImage(_ b: [UInt8], at offset: Int) -> Bool {
        guard offset >= 0, offset <= b.count - romHeaderSize, b[offset] == 0x55, b[offset + 1] == 0xAA else { return false }
        let pointer = u16(b, offset + 0x18)
        let pcir = offset + pointer
        return pointer >= romHeaderSize && pcir <= b.count - pcirSize
            && b[pcir] == 0x50 && b[pcir + 1] == 0x43 && b[pcir + 2] == 0x49 && b[pcir + 3] == 0x52
    }

    /// Size of the ROM header up to and including the PCIR pointer.
    static let romHeaderSize = 0x1A
    /// PCI 2.2 PCIR structure is 0x18 bytes; PCI 3.0 keeps the same first 0x18.
    static let pcirSize = 0x18

    /// One image at `offset`, or what is wrong with it. Checks every offset before reading it.
    static func image(in b: [UInt8], at offset: Int, index: Int, romStart: Int) -> Result<ROMImage, ROMProblem> {
        guard offset >= 0, offset <= b.count - romHeaderSize else {
            if offset + 2 <= b.count, b[offset] != 0x55 || b[offset + 1] != 0xAA { return .failure(.missingSignature(index: index, offset: offset)) }
            return .failure(.truncatedHeader(index: index, offset: offset, size: b.count))
        }
        guard b[offset] == 0x55, b[offset + 1] == 0xAA else { return .failure(.missingSignature(index: index, offset: offset)) }
        let pointer = u16(b, offset + 0x18)
        let pcir = offset + pointer
        guard pointer >= romHeaderSize, pcir <= b.count - pcirSize else {
            return .failure(.pcirOutOfRange(index: index, offset: offset, pointer: pointer))
        }
        guard b[pcir] == 0x50, b[pcir + 1] == 0x43, b[pcir + 2] == 0x49, b[pcir + 3] == 0x52 else {
            return .failure(.badPCIRSignature(index: index, offset: offset, pcir: pcir))
        }
        let pcirLength = u16(b, pcir + 0x0A)
        var sizeBytes = u16(b, pcir + 0x10) * 512
        let codeType = b[pcir + 0x14]
        var last = b[pcir + 0x15] & 0x80 != 0
        var fromNPDE = false
        // NVIDIA ROMs may give the real length and last bit in an "NPDE" structure on the next 16-byte boundary
        // after the PCIR (counted from the ROM start); nouveau (nvkm/subdev/bios/image.c) prefers it, and treats
        // code type 0x70 as the end of the chain.
        if codeType == 0x70 {
            last = true
        } else {
            let npde = romStart + ((pcir - romStart + pcirLength + 0x0F) & ~0x0F)
            if npde >= pcir, npde <= b.count - 0x0B, b[npde] == 0x4E, b[npde + 1] == 0x50, b[npde + 2] == 0x44, b[npde + 3] == 0x45 {
                let npdeSize = u16(b, npde + 0x08) * 512
                if npdeSize > 0 {
                    sizeBytes = npdeSize
                    last = b[npde + 0x0A] & 0x80 != 0
                    fromNPDE = true
                }
            }
        }
        guard sizeBytes > 0 else { return .failure(.zeroLength(index: index, offset: offset)) }
        var image = ROMImage(
            offset: offset, vendor: UInt16(u16(b, pcir + 0x04)), device: UInt16(u16(b, pcir + 0x06)),
            classCode: UInt32(b[pcir + 0x0D]) | UInt32(b[pcir + 0x0E]) << 8 | UInt32(b[pcir + 0x0F]) << 16,
            codeType: codeType, sizeBytes: sizeBytes, last: last, pcirRevision: b[pcir + 0x0C],
            codeRevision: UInt16(u16(b, pcir + 0x12)), pcirOffset: pointer, lengthFromNPDE: fromNPDE,
            checksumValid: nil, checksumSum: nil, efi: nil)
        let available = b.count - offset
        if codeType == ROMCodeType.x86 {
            // What a BIOS checks (SeaBIOS `is_valid_rom`): the bytes of the initialization size (header byte 2, in
            // 512-byte units) sum to 0; images that leave it 0 are summed over their PCIR length.
            let initSize = Int(b[offset + 2]) * 512
            // A truncated image cannot be judged: its checksum stays unknown rather than "wrong".
            let summed = initSize > 0 ? initSize : sizeBytes
            if summed <= available {
                var sum: UInt8 = 0
                for i in offset..<(offset + summed) { sum &+= b[i] }
                image.checksumValid = sum == 0
                image.checksumSum = sum
            }
        }
        if codeType == ROMCodeType.efi {
            image.efi = EFIImageHeader(
                signatureValid: u16(b, offset + 0x04) == 0x0EF1 && u16(b, offset + 0x06) == 0,
                subsystem: UInt16(u16(b, offset + 0x08)), machineType: UInt16(u16(b, offset + 0x0A)),
                compressed: u16(b, offset + 0x0C) == 1, imageOffset: u16(b, offset + 0x16))
        }
        return .success(image)
    }

    /// Little-endian 16-bit value; the caller has checked `at + 1 < b.count`.
    @inline(__always)
    static func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
}
