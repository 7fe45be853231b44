import Testing
@testable import VFIOCore

/// Config space bytes with a PCIe capability and, optionally, a Resizable BAR extended capability at 0x100.
enum ReBARConfig {
    static func bytes(bars: [UInt32] = [0x8000_0000, 0x0000_000c, 0x40, 0x0000_000c, 0x40, 0x3001],
                      rebar: [(capability: UInt32, control: UInt32)]? = nil) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 4096)
        func put16(_ o: Int, _ v: UInt16) { b[o] = UInt8(v & 0xff); b[o + 1] = UInt8(v >> 8) }
        func put32(_ o: Int, _ v: UInt32) { put16(o, UInt16(v & 0xffff)); put16(o + 2, UInt16(v >> 16)) }
        put16(0, 0x10de); put16(2, 0x2684)
        put16(6, 0x0010)                       // status: capabilities list
        b[0x09] = 0; b[0x0a] = 0; b[0x0b] = 3  // class 030000
        for (i, bar) in bars.enumerated() { put32(0x10 + 4 * i, bar) }
        b[0x34] = 0x60
        b[0x60] = 0x10; b[0x61] = 0            // PCIe capability, end of list
        put16(0x62, 0x0002)                    // version 2, endpoint
        if let rebar {
            put32(0x100, 0x0001_0015)          // ReBAR, version 1, no next
            for (i, r) in rebar.enumerated() {
                put32(0x104 + 8 * i, r.capability)
                put32(0x108 + 8 * i, r.control)
            }
        }
        return b
    }
}

@Suite struct ResizableBARParsingTests {
    @Test func barsAndTheirPlacementAboveFourGiB() throws {
        let caps = try ConfigSpace.capabilities(ReBARConfig.bytes())
        #expect(caps.bars.map(\.index) == [0, 1, 3, 5])
        #expect(caps.bars[0].address == 0x8000_0000 && !caps.bars[0].is64Bit && !caps.bars[0].isAbove4G)
        #expect(caps.bars[1].address == 0x40_0000_0000 && caps.bars[1].is64Bit && caps.bars[1].prefetchable && caps.bars[1].isAbove4G)
        #expect(caps.bars[3].isIO && caps.bars[3].address == 0x3000)
        #expect(caps.resizableBARs == nil)
    }

    @Test func resizableBARSupportedAndCurrentSizes() throws {
        // BAR1: 64 MiB–32 GiB supported (bit n = 2^(n-4) MiB: bits 10–19), current 256 MiB (control bits 8–13 = 8).
        let capability: UInt32 = (10...19).reduce(0) { $0 | 1 << UInt32($1) }
        let caps = try ConfigSpace.capabilities(ReBARConfig.bytes(rebar: [(capability, 1 | 1 << 5 | 8 << 8)]))
        let r = try #require(caps.resizableBARs?.first)
        #expect(caps.resizableBARs?.count == 1)
        #expect(r.index == 1 && r.currentSize == 256 << 20)
        #expect(r.supportedSizes.first == 64 << 20 && r.largestSupported == 32 << 30)
        #expect(!r.isAtMaximum)
    }

    @Test func hostileReBARCountAndSizesStayInBounds() throws {
        // Count field 7 (more than six) and a size code of 63: no trap, at most six entries.
        let caps = try ConfigSpace.capabilities(ReBARConfig.bytes(rebar: [(0xffff_fff0, 0xffff_ffff)]))
        #expect((caps.resizableBARs?.count ?? 0) <= 6)
        // A 64-bit BAR claimed in the last register has no upper half.
        let last = try ConfigSpace.capabilities(ReBARConfig.bytes(bars: [0, 0, 0, 0, 0, 0xe000_000c]))
        #expect(last.bars.map(\.index) == [5] && last.bars[0].is64Bit == false && last.bars[0].address == 0xe000_0000)
    }
}

@Suite struct FirmwareCheckTests {
    func host(rebar: [(UInt32, UInt32)]?, bars: [UInt32] = [0x8000_0000, 0x0000_000c, 0x40, 0x0000_000c, 0x40, 0x3001]) throws -> ModelBuilder {
        var m = ModelBuilder()
        let a = m.add("0000:01:00.0", 0x10de, 0x2684, 0x030000, driver: "vfio-pci", group: 1)
        let i = try #require(m.host.devices.firstIndex { $0.address == a })
        m.host.devices[i].capabilities = try ConfigSpace.capabilities(ReBARConfig.bytes(bars: bars, rebar: rebar.map { $0.map { (capability: $0.0, control: $0.1) } }))
        return m
    }

    @Test func smallReBARIsReportedWithTheFirmwareFix() throws {
        let capability: UInt32 = (10...19).reduce(0) { $0 | 1 << UInt32($1) }
        let report = try host(rebar: [(capability, 1 | 1 << 5 | 8 << 8)]).run(["0000:01:00.0"])
        let f = try #require(report.finding("device.resizable-bar"))
        #expect(f.status == .info)
        #expect(f.title == "0000:01:00.0: Resizable BAR is not in use (BAR1 256 MiB of up to 32 GiB)")
        #expect(f.evidence[0].value == "ReBAR BAR1: current 256 MiB, supported 64 MiB–32 GiB")
        #expect(f.fix?.contains("Re-Size BAR Support") == true)
    }

    @Test func largeCurrentBARNeedsTheGuests64BitWindow() throws {
        // Current 32 GiB (code 15): the guest's 32-bit hole cannot hold it; older OVMF's aperture is too small.
        let capability: UInt32 = (10...19).reduce(0) { $0 | 1 << UInt32($1) }
        let report = try host(rebar: [(capability, 1 | 1 << 5 | 15 << 8)]).run(["0000:01:00.0"])
        let f = try #require(report.findings.first { $0.check == "device.resizable-bar" })
        #expect(f.status == .warn)
        #expect(f.title == "0000:01:00.0: the guest sees BAR1 as 32 GiB: it needs a 64-bit MMIO window")
        #expect(f.fix?.contains("-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=65536") == true)
        #expect(report.status("device.resizable-bar") == [.warn])
    }

    @Test func noReBARCapabilityIsSkipped() throws {
        #expect(try host(rebar: nil).run(["0000:01:00.0"]).status("device.resizable-bar") == [.skipped])
    }

    @Test func above4GFromTheBARAddresses() throws {
        let on = try host(rebar: nil).run(["0000:01:00.0"]).finding("firmware.above-4g")
        #expect(on?.status == .pass && on?.title == "Above 4G decoding is on: 0000:01:00.0 BAR1 is at 0x4000000000")
        // 64-bit BARs squeezed under 4 GiB while ReBAR could grow: Above 4G decoding is off.
        let capability: UInt32 = (10...19).reduce(0) { $0 | 1 << UInt32($1) }
        let off = try host(rebar: [(capability, 1 | 1 << 5 | 8 << 8)], bars: [0xf600_0000, 0xe000_000c, 0, 0xf000_000c, 0, 0x3001])
            .run(["0000:01:00.0"]).finding("firmware.above-4g")
        #expect(off?.status == .warn)
        #expect(off?.title == "No BAR on this host is above 4 GiB: Above 4G decoding looks off, and 0000:01:00.0 needs it")
        #expect(off?.evidence.map(\.value) == ["BAR1 64-bit at 0xe0000000", "BAR3 64-bit at 0xf0000000"])
    }
}

@Suite struct Day2QuirkTests {
    @Test func newerResetReportsCarryReferences() {
        var m = ModelBuilder()
        m.add("0000:01:00.0", 0x1002, 0x73bf, 0x030000, driver: "vfio-pci", group: 1)
        m.add("0000:02:00.0", 0x1002, 0x744c, 0x030000, driver: "vfio-pci", group: 2)
        m.add("0000:03:00.0", 0x10de, 0x2b85, 0x030000, driver: "vfio-pci", group: 3)
        let report = m.run(["0000:01:00.0", "0000:02:00.0", "0000:03:00.0"])
        let quirks = report.findings.filter { $0.check == "device.quirks" && $0.title.hasSuffix("reset bug") }
        #expect(quirks.map(\.reference) == ["https://github.com/gnif/vendor-reset/issues/65", "https://github.com/gnif/vendor-reset/issues/97",
                                             "https://github.com/NVIDIA/open-gpu-kernel-modules/issues/853"])
        #expect(quirks.allSatisfy { $0.fix?.contains("vfioctl verify --reset-cycles 3 0000:0") == true })
    }

    @Test func vendorResetDoesNotAnswerNavi21() {
        var m = ModelBuilder()
        m.add("0000:01:00.0", 0x1002, 0x73bf, 0x030000, driver: "vfio-pci", group: 1, reset: ["device_specific"])
        m.host.loadedModules.insert("vendor_reset")
        #expect(m.run(["0000:01:00.0"]).findings.contains { $0.check == "device.quirks" && $0.status == .warn })
    }

    @Test func h200GetsDataCenterAdviceNotError43() {
        var m = ModelBuilder()
        m.add("0000:01:00.0", 0x10de, 0x2335, 0x030200, driver: "vfio-pci", group: 1)
        let f = m.run(["0000:01:00.0"]).findings.filter { $0.check == "device.quirks" }
        #expect(f.count == 1)
        #expect(f[0].title.hasPrefix("0000:01:00.0 is an NVIDIA data-center GPU"))
        #expect(!f[0].title.contains("Error 43") && f[0].fix?.contains("X-PciMmio64Mb") == true)
    }

    @Test func dataCenterByPCIIDsNameAndGeForceLaptopStaysGeForce() {
        var named = PCIDevice(address: PCIAddress("0000:01:00.0")!, vendorID: 0x10de, deviceID: 0x2399, pciClass: PCIClass(code: 0x030200))
        named.names.device = "GH100 [H100 NVL]"
        #expect(DataCenterGPU.matches(named))
        var laptop = PCIDevice(address: PCIAddress("0000:01:00.0")!, vendorID: 0x10de, deviceID: 0x2520, pciClass: PCIClass(code: 0x030200))
        laptop.names.device = "GA106M [GeForce RTX 3060 Mobile / Max-Q]"
        #expect(!DataCenterGPU.matches(laptop))
        #expect(DeviceQuirk.matching(laptop).map(\.id) == ["nvidia-geforce-error43"])
    }
}
