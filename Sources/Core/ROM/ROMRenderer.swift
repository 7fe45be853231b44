/// `vfioctl rom`: a parsed option ROM as text or as the stable JSON contract.
public enum ROMRenderer {
    public static func text(_ rom: OptionROM, source: String) -> String {
        var lines = ["\(source): \(rom.inputSize) bytes, \(rom.images.count) image\(rom.images.count == 1 ? "" : "s")"]
        if rom.headerOffset > 0 {
            lines.append("vendor header: \(rom.headerOffset) bytes (\(ROMText.offset(rom.headerOffset))) before the first image; "
                + "a VM needs the ROM without it (--dump PATH writes it)")
        }
        for (i, image) in rom.images.enumerated() {
            lines.append("image \(i + 1) at \(ROMText.offset(image.offset)): " + describe(image))
        }
        if rom.trailingBytes > 0 && !rom.images.isEmpty {
            lines.append("\(rom.trailingBytes) bytes after the last image (padding)")
        }
        if !rom.images.isEmpty {
            lines.append(uefiLine(rom))
        }
        for problem in rom.problems { lines.append("error: \(problem)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func describe(_ image: ROMImage) -> String {
        var parts = ["\(hex(image.vendor, width: 4)):\(hex(image.device, width: 4))", "class \(hex(image.classCode, width: 6))"]
        switch image.codeType {
        case ROMCodeType.x86: parts.append("x86 BIOS")
        case ROMCodeType.efi:
            if let efi = image.efi {
                parts.append(efi.signatureValid
                    ? "EFI (\(efi.machineName) \(efi.subsystemName), \(efi.compressed ? "compressed" : "uncompressed"))"
                    : "EFI (no 0x0EF1 signature at 0x04)")
            } else {
                parts.append("EFI")
            }
        default: parts.append("code type \(image.codeTypeName)")
        }
        parts.append("\(image.sizeBytes) bytes" + (image.lengthFromNPDE ? " (NPDE)" : ""))
        if let ok = image.checksumValid { parts.append(ok ? "checksum ok" : "checksum WRONG") }
        if image.last { parts.append("last") }
        return parts.joined(separator: ", ")
    }

    static func uefiLine(_ rom: OptionROM) -> String {
        let machines = rom.images.filter(\.isUEFIDriver).compactMap { $0.efi?.machineName }
        if machines.isEmpty {
            return "UEFI driver: none (legacy only: an OVMF/UEFI guest shows nothing until its own driver loads; use a ROM with an EFI image)"
        }
        let forX64 = rom.hasUEFIForX64 ? "OVMF x86-64 guests can use it" : "no x64/EBC image: OVMF x86-64 guests cannot run it"
        return "UEFI driver: yes (\(machines.joined(separator: ", "))); \(forX64)"
    }

    public static func json(_ rom: OptionROM, source: String) -> JSON {
        .object([
            ("source", .string(source)),
            ("size", .int(rom.inputSize)),
            ("headerOffset", .int(rom.headerOffset)),
            ("images", .array(rom.images.map(imageJSON))),
            ("hasUEFI", .bool(rom.hasUEFI)),
            ("hasUEFIForX64", .bool(rom.hasUEFIForX64)),
            ("checksumsValid", .bool(rom.checksumsValid)),
            ("trailingBytes", .int(rom.trailingBytes)),
            ("valid", .bool(rom.problems.isEmpty)),
            ("problems", .strings(rom.problems.map(\.description))),
        ])
    }

    static func imageJSON(_ image: ROMImage) -> JSON {
        .object([
            ("offset", .int(image.offset)),
            ("vendor", .string(hex(image.vendor, width: 4))),
            ("device", .string(hex(image.device, width: 4))),
            ("class", .string(hex(image.classCode, width: 6))),
            ("codeType", .int(Int(image.codeType))),
            ("codeTypeName", .string(image.codeTypeName)),
            ("sizeBytes", .int(image.sizeBytes)),
            ("last", .bool(image.last)),
            ("checksumValid", .optional(image.checksumValid)),
            ("lengthFromNPDE", .bool(image.lengthFromNPDE)),
            ("efi", image.efi.map { efi in
                .object([
                    ("signatureValid", .bool(efi.signatureValid)),
                    ("subsystem", .int(Int(efi.subsystem))),
                    ("subsystemName", .string(efi.subsystemName)),
                    ("machineType", .int(Int(efi.machineType))),
                    ("machine", .string(efi.machineName)),
                    ("compressed", .bool(efi.compressed)),
                    ("imageOffset", .int(efi.imageOffset)),
                ])
            } ?? .null),
        ])
    }
}
