import Foundation
import Testing
import VFIOCore
import VFIOHost

/// `doctor --spec` and `plan` judge the ROM files a spec names, for its device and an OVMF guest.
@Suite struct SpecROMTests {
    static let gpu = PCIAddress("0000:01:00.0")!

    static func host() -> HostModel {
        var host = HostModel()
        var d = PCIDevice(address: gpu, vendorID: 0x10DE, deviceID: 0x2484, pciClass: PCIClass(code: 0x030000))
        d.driver = "vfio-pci"
        host.devices = [d]
        return host
    }

    static func spec(rom: String) -> VMSpec {
        var spec = VMSpec(name: "t", vcpus: 1, memoryMiB: 1024)
        spec.cpu.pin = [1]
        spec.cpu.emulator = CPUSet([0])
        spec.firmware.nvram = "/var/lib/libvirt/qemu/nvram/t_VARS.fd"
        spec.devices = [VMSpec.PassedDevice(address: gpu, vendorID: 0x10DE, deviceID: 0x2484, kind: .gpu, rom: rom)]
        return spec
    }

    func doctor(_ bytes: [UInt8]?) throws -> [Finding] {
        let dir = try TempDir()
        if let bytes { try dir.write("var/lib/vfioctl/gpu.rom", bytes) }
        let context = SpecContext.load(path: "vm.toml", spec: Self.spec(rom: "/var/lib/vfioctl/gpu.rom"), reader: try RootedFileSystem(root: dir.path))
        return Doctor.run(CheckContext(host: Self.host(), targets: [Self.gpu], spec: context)).findings.filter { $0.check == "spec.rom" }
    }

    @Test func soundROMPasses() throws {
        let f = try doctor(SyntheticROM.gpuROM())
        #expect(f.map(\.status) == [.pass])
        #expect(f[0].title == "0000:01:00.0: /var/lib/vfioctl/gpu.rom is a sound ROM for 10de:2484 with an x86-64 EFI image")
    }

    @Test func legacyOnlyROMWarnsForTheOVMFGuest() throws {
        let f = try doctor(SyntheticROM.image())
        #expect(f.map(\.status) == [.warn])
        #expect(f[0].title.hasPrefix("0000:01:00.0: ROM /var/lib/vfioctl/gpu.rom: the ROM has no EFI (GOP) image"))
        #expect(f[0].evidence[1].value.contains("x86 BIOS"))
    }

    @Test func romForAnotherCardAndBadChecksumFail() throws {
        var broken = SyntheticROM.image(device: 0x2486)
        broken[0x100] &+= 1
        let f = try doctor(broken)
        #expect(f.filter { $0.status == .fail }.count == 2)
        #expect(f.contains { $0.title.contains("checksum wrong") })
        #expect(f.contains { $0.title.hasSuffix("the ROM is for 10de:2486, not for this device (10de:2484)") })
    }

    @Test func missingROMFileFails() throws {
        let f = try doctor(nil)
        #expect(f.map(\.status) == [.fail])
        #expect(f[0].title == "0000:01:00.0: ROM file /var/lib/vfioctl/gpu.rom cannot be read")
    }

    @Test func withoutSpecTheROMCheckIsSkipped() {
        let f = Doctor.run(CheckContext(host: Self.host(), targets: [Self.gpu])).findings.filter { $0.check.hasPrefix("spec.") }
        #expect(f.map(\.status) == [.skipped, .skipped])
    }

    @Test func planWarnsWhenTheOVMFGuestsROMHasNoEFIImage() throws {
        let dir = try TempDir()
        try dir.write("var/lib/vfioctl/gpu.rom", SyntheticROM.image())
        let (text, _) = PlanExplainer.report(Self.spec(rom: "/var/lib/vfioctl/gpu.rom"), host: Self.host(), files: try RootedFileSystem(root: dir.path))
        #expect(text.contains("  warning: ROM of 0000:01:00.0 /var/lib/vfioctl/gpu.rom: the ROM has no EFI (GOP) image: an OVMF guest shows nothing"))
        try dir.write("var/lib/vfioctl/gpu.rom", SyntheticROM.gpuROM())
        let (good, _) = PlanExplainer.report(Self.spec(rom: "/var/lib/vfioctl/gpu.rom"), host: Self.host(), files: try RootedFileSystem(root: dir.path))
        #expect(!good.contains("warning: ROM of"))
    }

    @Test(.enabled(if: RealROMs.haveE1000, "needs Debian's ipxe-qemu (/usr/lib/ipxe/qemu/efi-e1000.rom)"))
    func efiHeaderOffsetsAreTheUEFISpecs() throws {
        // EFI_PCI_EXPANSION_ROM_HEADER: EfiSignature (32 bit) at 0x04, EfiSubsystem 0x08, EfiMachineType 0x0A,
        // CompressionType 0x0C: in iPXE's image, 0x0B (boot-service driver) at 0x08 and 0x8664 (x64) at 0x0A.
        let bytes = try RealROMs.bytes(RealROMs.e1000)
        let efi = 0x12600
        #expect(Array(bytes[(efi + 4)..<(efi + 0x0E)]) == [0xF1, 0x0E, 0, 0, 0x0B, 0, 0x64, 0x86, 0, 0])
        let header = try #require(ROMParser.parse(bytes).images[1].efi)
        #expect(header.subsystem == 0x0B && header.machineType == 0x8664 && !header.compressed)
    }

    @Test func doctorSpecFindsWhereTheDeviceWent() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let dir = try TempDir()
        var spec = Self.spec(rom: "/nonexistent.rom")
        spec.devices = [VMSpec.PassedDevice(address: PCIAddress("0000:05:00.0")!, vendorID: 0x10de, deviceID: 0x1f08, kind: .gpu)]
        try dir.write("vm.toml", Array(spec.toml().utf8))
        let r = try RunCLI.vfioctl(["doctor", "--root", repo + "/examples/hosts/z490-three-gpus", "--spec", dir.path + "/vm.toml"])
        #expect(r.status == 2)
        #expect(r.stdout.contains("0000:05:00.0 now holds 144d:a808"))
        #expect(r.stdout.contains("it is now at 0000:06:00.0"))
    }
}
