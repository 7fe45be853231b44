import Testing
import VFIOCore

@Suite struct RealROMTests {
    @Test(.enabled(if: RealROMs.haveE1000, "needs Debian's ipxe-qemu (/usr/lib/ipxe/qemu/efi-e1000.rom)"))
    func ipxeE1000HasALegacyAndAnX64EFIImage() throws {
        let rom = ROMParser.parse(try RealROMs.bytes(RealROMs.e1000))
        #expect(rom.problems.isEmpty)
        #expect(rom.headerOffset == 0)
        #expect(rom.images.map(\.offset) == [0, 0x12600])
        #expect(rom.images.allSatisfy { $0.vendor == 0x8086 && $0.device == 0x100E && $0.classCode == 0x020000 })
        #expect(rom.images.map(\.codeType) == [ROMCodeType.x86, ROMCodeType.efi])
        #expect(rom.images.map(\.last) == [false, true])
        #expect(rom.images[0].checksumValid == true)
        #expect(rom.images[1].checksumValid == nil)
        let efi = try #require(rom.images[1].efi)
        #expect(efi.signatureValid && efi.subsystem == EFISubsystem.bootServiceDriver && efi.machineType == EFIMachine.x64)
        #expect(!efi.compressed)
        #expect(rom.hasUEFI && rom.hasUEFIForX64 && rom.checksumsValid)
        #expect(rom.images[0].offset + rom.images[0].sizeBytes == 0x12600)
    }

    @Test(.enabled(if: RealROMs.haveStdVGA, "needs Debian's seabios (/usr/share/seabios/vgabios-stdvga.bin)"))
    func seabiosStdVGAIsOneLegacyImage() throws {
        let bytes = try RealROMs.bytes(RealROMs.stdvga)
        let rom = ROMParser.parse(bytes)
        #expect(rom.problems.isEmpty)
        #expect(rom.images.count == 1)
        let image = try #require(rom.images.first)
        #expect(image.vendor == 0x1234 && image.device == 0x1111 && image.classCode == 0x030000)
        #expect(image.codeType == ROMCodeType.x86 && image.last && image.checksumValid == true)
        #expect(image.sizeBytes == bytes.count)
        #expect(!rom.hasUEFI)
        #expect(ROMRenderer.text(rom, source: "vgabios-stdvga.bin").contains("UEFI driver: none"))
    }

    @Test(.enabled(if: RealROMs.haveE1000, "needs Debian's ipxe-qemu (/usr/lib/ipxe/qemu/efi-e1000.rom)"))
    func realROMBehindAVendorHeaderIsFoundAndStripped() throws {
        let original = try RealROMs.bytes(RealROMs.e1000)
        let dump = SyntheticROM.vendorHeader(size: 0x800) + original
        let rom = ROMParser.parse(dump)
        #expect(rom.headerOffset == 0x800)
        #expect(rom.images.map(\.offset) == [0x800, 0x800 + 0x12600])
        #expect(rom.problems.isEmpty)
        #expect(rom.stripped(dump) == original)
    }

    @Test(.enabled(if: RealROMs.haveE1000, "needs Debian's ipxe-qemu (/usr/lib/ipxe/qemu/efi-e1000.rom)"))
    func truncatedRealROMNamesTheImageAndTheShortfall() throws {
        let cut = Array(try RealROMs.bytes(RealROMs.e1000).prefix(0x12600 + 0x1000))
        let rom = ROMParser.parse(cut)
        #expect(rom.images.count == 2)
        #expect(rom.problems == [.truncatedImage(index: 1, offset: 0x12600, sizeBytes: 174592, available: 0x1000)])
        #expect(rom.problems[0].description == "image 2 at 0x12600: 174592 bytes long, but only 4096 bytes follow (truncated dump?)")
    }
}

@Suite struct SyntheticROMTests {
    @Test func gpuROMWithLegacyAndGOPImages() throws {
        let rom = ROMParser.parse(SyntheticROM.gpuROM())
        #expect(rom.problems.isEmpty)
        #expect(rom.images.map(\.offset) == [0, 4 * 512])
        #expect(rom.images.map(\.sizeBytes) == [2048, 3072])
        #expect(rom.hasUEFI && rom.hasUEFIForX64 && rom.checksumsValid)
        #expect(rom.images[1].efi?.imageOffset == 0x40)
    }

    @Test func vendorHeaderInFrontIsSkippedPastADecoySignature() {
        let plain = SyntheticROM.gpuROM()
        let dump = SyntheticROM.vendorHeader() + plain
        #expect(ROMParser.firstImageOffset(dump) == 0x400)
        let rom = ROMParser.parse(dump)
        #expect(rom.headerOffset == 0x400)
        #expect(rom.images.map(\.offset) == [0x400, 0x400 + 2048])
        #expect(rom.stripped(dump) == plain)
        #expect(ROMRenderer.text(rom, source: "dump.rom").contains("vendor header: 1024 bytes (0x0400) before the first image"))
    }

    @Test func trailingPaddingIsCountedAndLeftOutOfTheStrippedROM() {
        let plain = SyntheticROM.gpuROM()
        let bar = plain + [UInt8](repeating: 0xFF, count: 4096)
        let rom = ROMParser.parse(bar)
        #expect(rom.problems.isEmpty && rom.trailingBytes == 4096)
        #expect(rom.stripped(bar) == plain)
    }

    @Test func badChecksumIsReportedPerImage() {
        var bytes = SyntheticROM.gpuROM()
        bytes[0x100] &+= 1
        let rom = ROMParser.parse(bytes)
        #expect(rom.images[0].checksumValid == false)
        #expect(rom.images[1].checksumValid == nil)
        #expect(!rom.checksumsValid)
        #expect(rom.problems == [.badChecksum(index: 0, offset: 0, sum: 1)])
        #expect(rom.problems[0].description == "image 1 at 0x0000: checksum wrong (bytes sum to 0x01, must be 0x00)")
        #expect(rom.images.count == 2, "a bad checksum does not stop the walk")
    }

    @Test func truncatedImageKeepsItsChecksumUnknown() {
        let bytes = Array(SyntheticROM.image(blocks: 8).prefix(1500))
        let rom = ROMParser.parse(bytes)
        #expect(rom.images.count == 1)
        #expect(rom.images[0].checksumValid == nil)
        #expect(rom.problems == [.truncatedImage(index: 0, offset: 0, sizeBytes: 4096, available: 1500)])
    }

    @Test func truncatedInsideTheSecondHeader() {
        let bytes = SyntheticROM.image(last: false) + [0x55, 0xAA, 0x04]
        let rom = ROMParser.parse(bytes)
        #expect(rom.images.count == 1)
        #expect(rom.problems == [.truncatedHeader(index: 1, offset: 1024, size: 1027)])
    }

    @Test func zeroLengthImageStopsInsteadOfLooping() {
        let first = ROMParser.parse(SyntheticROM.image(lengthField: 0))
        #expect(first.images.isEmpty)
        #expect(first.problems == [.zeroLength(index: 0, offset: 0)])
        let second = ROMParser.parse(SyntheticROM.image(last: false) + SyntheticROM.image(lengthField: 0, last: false))
        #expect(second.images.count == 1)
        #expect(second.problems == [.zeroLength(index: 1, offset: 1024)])
        #expect(second.problems[0].description == "image 2 at 0x0400: the PCIR gives an image length of 0")
    }

    @Test func pcirPointerOutOfRangeOrWithoutSignature() {
        var out = SyntheticROM.image(last: false) + SyntheticROM.image()
        out[1024 + 0x18] = 0xFF; out[1024 + 0x19] = 0x7F
        #expect(ROMParser.parse(out).problems == [.pcirOutOfRange(index: 1, offset: 1024, pointer: 0x7FFF)])
        var back = SyntheticROM.image(last: false) + SyntheticROM.image()
        back[1024 + 0x18] = 0x02; back[1024 + 0x19] = 0x00
        #expect(ROMParser.parse(back).problems == [.pcirOutOfRange(index: 1, offset: 1024, pointer: 2)])
        var unsigned = SyntheticROM.image(last: false) + SyntheticROM.image()
        unsigned[1024 + 0x1C] = 0x58
        #expect(ROMParser.parse(unsigned).problems == [.badPCIRSignature(index: 1, offset: 1024, pcir: 1024 + 0x1C)])
    }

    @Test func nextImageWithoutSignature() {
        let bytes = SyntheticROM.image(last: false) + [UInt8](repeating: 0, count: 1024)
        let rom = ROMParser.parse(bytes)
        #expect(rom.problems == [.missingSignature(index: 1, offset: 1024)])
    }

    @Test func chainEndingWithoutLastBit() {
        let rom = ROMParser.parse(SyntheticROM.image(last: false))
        #expect(rom.images.count == 1)
        #expect(rom.problems == [.lastBitMissing(index: 0, offset: 0)])
    }

    @Test func endlessChainIsCapped() {
        let one = SyntheticROM.image(blocks: 1, last: false)
        let bytes = Array([[UInt8]](repeating: one, count: ROMParser.maxImages + 8).joined())
        let rom = ROMParser.parse(bytes)
        #expect(rom.images.count == ROMParser.maxImages)
        #expect(rom.problems == [.tooManyImages(limit: ROMParser.maxImages)])
    }

    @Test func noImageAtAll() {
        #expect(ROMParser.parse([]).problems == [.noImage(size: 0)])
        let rom = ROMParser.parse(SyntheticROM.vendorHeader())
        #expect(rom.images.isEmpty && rom.problems == [.noImage(size: 1024)])
        #expect(rom.stripped(SyntheticROM.vendorHeader()).isEmpty)
    }

    @Test func efiHeaderFields() throws {
        let arm = SyntheticROM.image(codeType: 3, efi: .init(subsystem: 0x0B, machine: 0xAA64, compressed: true))
        let rom = ROMParser.parse(arm)
        let efi = try #require(rom.images.first?.efi)
        #expect(efi.machineName == "aarch64" && efi.compressed && efi.subsystemName == "boot-service-driver")
        #expect(rom.hasUEFI && !rom.hasUEFIForX64)
        let app = ROMParser.parse(SyntheticROM.image(codeType: 3, efi: .init(subsystem: 0x0A)))
        #expect(!app.hasUEFI, "an EFI application is not a driver")
        let unsigned = ROMParser.parse(SyntheticROM.image(codeType: 3))
        #expect(unsigned.images.first?.efi?.signatureValid == false && !unsigned.hasUEFI)
    }

    @Test func nvidiaNPDEGivesTheLengthAndLastBit() {
        // PCIR says 1 block and "last"; the NPDE after it (0x1C + 0x18 rounded up to 0x40) says 2 blocks, not last.
        var first = SyntheticROM.image(blocks: 2, lengthField: 1, last: true)
        for (i, c) in "NPDE".utf8.enumerated() { first[0x40 + i] = c }
        first[0x48] = 2; first[0x49] = 0; first[0x4A] = 0
        first[first.count - 1] = 0
        first[first.count - 1] = 0 &- first.reduce(UInt8(0), &+)
        let rom = ROMParser.parse(first + SyntheticROM.image(codeType: 3, efi: .init()))
        #expect(rom.problems.isEmpty)
        #expect(rom.images.map(\.sizeBytes) == [1024, 1024])
        #expect(rom.images[0].lengthFromNPDE && !rom.images[0].last)
        #expect(rom.hasUEFI)
    }

    @Test func mutatedROMsNeverTrapOrHang() {
        var rng = SplitMix(seed: 0x5EED)
        let base = SyntheticROM.vendorHeader(size: 0x80) + SyntheticROM.gpuROM()
        for _ in 0..<3000 {
            var b = base
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                let at = Int(rng.next() % UInt64(b.count))
                b[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 4 == 0 { b = Array(b.prefix(Int(rng.next() % UInt64(b.count)))) }
            let rom = ROMParser.parse(b)
            #expect(rom.images.count <= ROMParser.maxImages)
            #expect(rom.images.allSatisfy { $0.offset >= 0 && $0.offset < b.count && $0.sizeBytes > 0 })
            _ = rom.stripped(b)
            _ = ROMRenderer.json(rom, source: "x").serialized()
        }
    }

    @Test func jsonContract() {
        let json = ROMRenderer.json(ROMParser.parse(SyntheticROM.vendorHeader() + SyntheticROM.gpuROM()), source: "dump.rom").serialized()
        #expect(json.hasPrefix(#"{"source":"dump.rom","size":6144,"headerOffset":1024,"images":[{"offset":1024,"vendor":"10de","device":"2484","class":"030000","codeType":0,"codeTypeName":"x86","sizeBytes":2048,"last":false,"checksumValid":true"#))
        #expect(json.contains(#""efi":{"signatureValid":true,"subsystem":11,"subsystemName":"boot-service-driver","machineType":34404,"machine":"x64","compressed":false,"imageOffset":64}"#))
        #expect(json.hasSuffix(#""hasUEFI":true,"hasUEFIForX64":true,"checksumsValid":true,"trailingBytes":0,"valid":true,"problems":[]}"#))
    }
}

/// A small deterministic generator, so a failure reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
