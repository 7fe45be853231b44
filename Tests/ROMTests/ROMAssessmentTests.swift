import Foundation
import Testing
import VFIOCore
import VFIOHost

@Suite struct ROMAssessmentTests {
    @Test func soundGPUROMForItsDeviceAndAUEFIGuest() {
        let rom = ROMParser.parse(SyntheticROM.gpuROM())
        #expect(rom.issues(vendor: 0x10DE, device: 0x2484, uefiGuest: true).isEmpty)
    }

    @Test func legacyOnlyROMForAnOVMFGuest() {
        let rom = ROMParser.parse(SyntheticROM.image())
        #expect(rom.issues(uefiGuest: false).isEmpty)
        #expect(rom.issues(uefiGuest: true) == [.noUEFIImage(hasOtherMachine: false)])
        #expect(rom.issues(uefiGuest: true)[0].description.hasPrefix("the ROM has no EFI (GOP) image: an OVMF guest shows nothing"))
    }

    @Test func aarch64OnlyEFIImageDoesNotServeOVMF() {
        let rom = ROMParser.parse(SyntheticROM.image(codeType: 3, efi: .init(machine: 0xAA64)))
        #expect(rom.issues(uefiGuest: true) == [.noUEFIImage(hasOtherMachine: true)])
    }

    @Test func dumpForAnotherCardWithItsHeaderStillOn() {
        let rom = ROMParser.parse(SyntheticROM.vendorHeader() + SyntheticROM.gpuROM())
        let issues = rom.issues(vendor: 0x10DE, device: 0x2486, uefiGuest: true)
        #expect(issues == [.vendorHeader(offset: 1024), .otherDevice(rom: ["10de:2484"], device: "10de:2486")])
        #expect(issues[1].description == "the ROM is for 10de:2484, not for this device (10de:2486)")
    }

    @Test func damagedROM() {
        let rom = ROMParser.parse(Array(SyntheticROM.gpuROM().prefix(3000)))
        guard case .damaged(let problems)? = rom.issues(uefiGuest: false).first else { Issue.record("expected .damaged"); return }
        #expect(problems == [.truncatedImage(index: 1, offset: 2048, sizeBytes: 3072, available: 952)])
    }

    @Test func specROMFileReadThroughTheHostReader() throws {
        let dir = try TempDir()
        try dir.write("var/lib/vfioctl/gpu.rom", SyntheticROM.gpuROM())
        let fs = try RootedFileSystem(root: dir.path)
        let rom = try ROMParser.parse(file: "/var/lib/vfioctl/gpu.rom", from: fs)
        #expect(rom.images.count == 2 && rom.hasUEFIForX64)
        #expect(throws: FileReadError(path: "/var/lib/vfioctl/missing.rom", reason: .notFound)) {
            try ROMParser.parse(file: "/var/lib/vfioctl/missing.rom", from: fs)
        }
    }

    @Test func oversizedFileIsNotParsed() throws {
        // The rooted filesystem refuses a file over its read limit before the parser sees a byte; the error names it.
        let dir = try TempDir()
        try dir.write("big.rom", SyntheticROM.gpuROM() + [UInt8](repeating: 0, count: ROMParser.maxInputBytes))
        #expect { try ROMParser.parse(file: "/big.rom", from: try RootedFileSystem(root: dir.path)) } throws: {
            ($0 as? FileReadError)?.path == "/big.rom" && "\($0)".contains("larger than the limit")
        }
    }
}
