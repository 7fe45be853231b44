import Foundation
import Testing

@Suite struct RomCommandTests {
    @Test func fileWithVendorHeaderJSONAndDump() throws {
        let dir = try TempDir()
        let plain = SyntheticROM.gpuROM()
        try dir.write("nvflash.rom", SyntheticROM.vendorHeader() + plain)
        let r = try RunCLI.vfioctl(["rom", dir.path + "/nvflash.rom", "--json", "--dump", dir.path + "/clean.rom"])
        #expect(r.status == 0)
        let json = try RunCLI.json(r.stdout)
        #expect(json["headerOffset"] as? Int == 1024)
        #expect(json["hasUEFI"] as? Bool == true && json["checksumsValid"] as? Bool == true)
        let images = try #require(json["images"] as? [[String: Any]])
        #expect(images.map { $0["offset"] as? Int } == [1024, 3072])
        #expect(images.map { $0["codeType"] as? Int } == [0, 3])
        #expect(images.map { $0["sizeBytes"] as? Int } == [2048, 3072])
        #expect(images.map { $0["last"] as? Bool } == [false, true])
        #expect(images.allSatisfy { $0["vendor"] as? String == "10de" && $0["device"] as? String == "2484" })
        #expect(r.stderr == "wrote 5120 bytes to \(dir.path)/clean.rom (1024-byte vendor header removed)\n")
        #expect(dir.read("clean.rom") == plain)
    }

    @Test func brokenROMExitsOneAndNamesTheImage() throws {
        let dir = try TempDir()
        try dir.write("cut.rom", Array(SyntheticROM.gpuROM().prefix(3000)))
        let r = try RunCLI.vfioctl(["rom", dir.path + "/cut.rom"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("error: image 2 at 0x0800: 3072 bytes long, but only 952 bytes follow (truncated dump?)"))
    }

    @Test func deviceROMUnderARootTreeIsReadWithoutWrites() throws {
        let dir = try TempDir()
        let rom = SyntheticROM.gpuROM() + [UInt8](repeating: 0, count: 2048)
        try dir.write("sys/bus/pci/devices/0000:0a:00.0/rom", rom)
        let r = try RunCLI.vfioctl(["rom", "0a:00.0", "--root", dir.path])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("0a:00.0: 7168 bytes, 2 images\n"))
        #expect(r.stdout.contains("2048 bytes after the last image (padding)"))
        #expect(dir.read("sys/bus/pci/devices/0000:0a:00.0/rom") == rom)
        #expect(dir.read("run/vfioctl/rom.journal") == nil)
    }

    @Test func neitherFileNorAddress() throws {
        let r = try RunCLI.vfioctl(["rom", "/nonexistent/gpu.rom"])
        #expect(r.status == 3)
        #expect(r.stderr == "vfioctl: '/nonexistent/gpu.rom': no such file, and not a PCI address (0000:03:00.0)\n")
    }

    @Test(.enabled(if: RealROMs.haveE1000, "needs Debian's ipxe-qemu (/usr/lib/ipxe/qemu/efi-e1000.rom)"))
    func realROMText() throws {
        let r = try RunCLI.vfioctl(["rom", RealROMs.e1000])
        #expect(r.status == 0)
        #expect(r.stdout == """
            \(RealROMs.e1000): 249856 bytes, 2 images
            image 1 at 0x0000: 8086:100e, class 020000, x86 BIOS, 75264 bytes, checksum ok
            image 2 at 0x12600: 8086:100e, class 020000, EFI (x64 boot-service-driver, uncompressed), 174592 bytes, last
            UEFI driver: yes (x64); OVMF x86-64 guests can use it

            """)
    }
}
