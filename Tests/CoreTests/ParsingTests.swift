import Testing
@testable import VFIOCore

@Suite struct PCIAddressTests {
    @Test func parsesFullAndShortForms() throws {
        let a = try #require(PCIAddress("0000:07:00.1"))
        #expect(a.bus == 7 && a.device == 0 && a.function == 1 && a.domain == 0)
        #expect(a.description == "0000:07:00.1")
        #expect(PCIAddress("07:00.1") == a)
        #expect(PCIAddress("10000:00:1f.3")?.domain == 0x10000)
    }

    @Test(arguments: ["", "0000:07:00", "0000:07:32.0", "0000:07:00.8", "zz:00.0", "0000:7:00.0", "0000:07:00.0.1"])
    func rejectsMalformed(_ text: String) {
        #expect(PCIAddress(text) == nil)
    }

    @Test func sortsByDomainBusDeviceFunction() {
        let list = ["0000:01:00.0", "0000:00:1f.3", "0001:00:00.0", "0000:00:02.0"].compactMap(PCIAddress.init).sorted()
        #expect(list.map(\.description) == ["0000:00:02.0", "0000:00:1f.3", "0000:01:00.0", "0001:00:00.0"])
    }
}

@Suite struct CPUSetTests {
    @Test func parsesKernelLists() {
        #expect(CPUSet(list: "0-3,8,10-11")?.cpus == [0, 1, 2, 3, 8, 10, 11])
        #expect(CPUSet(list: "")?.isEmpty == true)
        #expect(CPUSet(list: "3-1") == nil)
        #expect(CPUSet(list: "a") == nil)
        #expect(CPUSet([0, 1, 2, 5, 6]).description == "0-2,5-6")
    }

    @Test func parsesAffinityMasks() {
        #expect(CPUSet(mask: "f")?.cpus == [0, 1, 2, 3])
        #expect(CPUSet(mask: "00000000,00000101")?.cpus == [0, 8])
        #expect(CPUSet(mask: "xyz") == nil)
    }
}

@Suite struct ConfigSpaceTests {
    @Test func readsHeaderAndCapabilities() throws {
        let bytes = configSpace(vendor: 0x10de, device: 0x21c4, classCode: 0x030000, revision: 0xa1, flr: true, acsControl: 0x001d)
        let header = try ConfigSpace.header(bytes)
        #expect(header.vendorID == 0x10de && header.deviceID == 0x21c4 && header.classCode == 0x030000 && header.revision == 0xa1)
        let caps = try ConfigSpace.capabilities(bytes)
        #expect(caps.powerManagement != nil)
        #expect(caps.msi)
        #expect(caps.express?.functionLevelReset == true)
        #expect(caps.express?.portType == .endpoint)
        #expect(caps.acs?.isolates == true)
        #expect(!caps.truncated)
    }

    @Test func acsWithoutRequestRedirectDoesNotIsolate() throws {
        let caps = try ConfigSpace.capabilities(configSpace(vendor: 0x8086, device: 0x1901, classCode: 0x060400, acsControl: 0x0001))
        #expect(caps.acs?.isolates == false)
    }

    @Test func unprivilegedReadsAreTruncatedNotWrong() throws {
        let caps = try ConfigSpace.capabilities(Array(configSpace(vendor: 0x8086, device: 0x1901, classCode: 0x060400, flr: true).prefix(64)))
        #expect(caps.truncated)
        #expect(caps.express == nil)
    }

    @Test func shortConfigIsMalformed() {
        #expect(throws: ConfigSpace.Malformed.self) { try ConfigSpace.capabilities([0x86, 0x80]) }
    }

    @Test func capabilityLoopsTerminate() throws {
        var bytes = configSpace(vendor: 1, device: 2, classCode: 0x020000)
        bytes[0x61] = 0x40  // PCIe cap points back to PM: a loop
        bytes[0x51] = 0x40
        _ = try ConfigSpace.capabilities(bytes)
    }

    @Test func findsTheSerialNumberToRedact() {
        let bytes = configSpace(vendor: 0x144d, device: 0xa808, classCode: 0x010802, acsControl: 0, serial: true)
        #expect(ConfigSpace.serialNumberRange(bytes) == 0x144..<0x14c)
    }
}

@Suite struct ProcParserTests {
    static let interrupts = """
                   CPU0       CPU1
          0:         34          0   IO-APIC   2-edge      timer
         24:          5          7  IR-PCI-MSI-0000:00:1f.2   0-edge      ahci[0000:00:1f.2]
        NMI:          0          0   Non-maskable interrupts
        ERR:          0
        """

    @Test func parsesInterruptTable() throws {
        let irqs = try ProcParsers.interrupts(Self.interrupts)
        #expect(irqs.count == 4)
        #expect(irqs[1].number == 24 && irqs[1].chip == "IR-PCI-MSI-0000:00:1f.2" && irqs[1].countsPerCPU == [5, 7])
        #expect(irqs[1].actions == "ahci[0000:00:1f.2]")
        #expect(irqs[2].number == nil && irqs[2].name == "NMI")
    }

    @Test func malformedInterruptRowNamesTheLine() {
        #expect(throws: ProcParsers.Malformed.self) {
            try ProcParsers.interrupts("  CPU0 CPU1\n  5: 1 x IO-APIC 1-edge i8042\n")
        }
        do { _ = try ProcParsers.interrupts("  CPU0 CPU1\n  0: 1 2 IO-APIC 2-edge timer\n  5: 1 x IO-APIC\n") } catch {
            #expect(error.description.contains("line 3"))
        }
    }

    @Test func detectsCgroupLayouts() {
        #expect(ProcParsers.cgroupLayout(mounts: "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", hasV2Controllers: true) == .v2)
        #expect(ProcParsers.cgroupLayout(mounts: "cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0\n", hasV2Controllers: false) == .v1)
        #expect(ProcParsers.cgroupLayout(mounts: "cgroup /sys/fs/cgroup/cpuset cgroup rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n", hasV2Controllers: false) == .hybrid)
        #expect(ProcParsers.cgroupLayout(mounts: "", hasV2Controllers: false) == CgroupLayout.none)
    }

    @Test func readsCpuinfoFlagsAndProcessors() {
        let s = ProcParsers.cpuinfo("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\nflags\t\t: fpu vmx hypervisor\n\nprocessor\t: 1\nflags\t\t: fpu\n")
        #expect(s.vendorID == "GenuineIntel" && s.modelName == "Test CPU" && s.flags?.contains("vmx") == true && s.processors == [0, 1])
    }

    @Test func splitsKernelCommandLine() {
        let c = KernelCommandLine("BOOT_IMAGE=/vmlinuz root=UUID=1 ro quiet intel_iommu=on vfio-pci.ids=10de:21c4,10de:1aeb acpi_osi=\"Windows 2020\"\n")
        #expect(c.value("intel_iommu") == "on")
        #expect(c.values("vfio-pci.ids") == ["10de:21c4,10de:1aeb"])
        #expect(c.arguments.last == "acpi_osi=Windows 2020")
        #expect(c.has("quiet"))
    }

    @Test func readsDefaultRoute() {
        let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neno1\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\neno1\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
        #expect(ProcParsers.defaultRouteInterfaces(route) == ["eno1"])
    }
}

@Suite struct PCIIDsTests {
    static let db = """
        # comment
        10de  NVIDIA Corporation
        \t21c4  TU116 [GeForce GTX 1660 SUPER]
        \t\t1462 c758  GeForce GTX 1660 SUPER VENTUS XS OC
        8086  Intel Corporation
        \t1901  6th-10th Gen Core Processor PCIe Controller (x16)
        C 03  Display controller
        \t00  VGA compatible controller
        \t\t00  VGA controller
        C 0c  Serial bus controller
        \t03  USB controller
        \t\t30  XHCI
        """

    @Test func namesDevicesLikeLspci() {
        let db = PCIIDDatabase(bytes: Array(Self.db.utf8))
        var devices = [
            PCIDevice(address: PCIAddress("0000:01:00.0")!, vendorID: 0x10de, deviceID: 0x21c4, pciClass: PCIClass(code: 0x030000), revision: 0xa1),
            PCIDevice(address: PCIAddress("0000:02:00.0")!, vendorID: 0x10de, deviceID: 0xffff, pciClass: PCIClass(code: 0x038000)),
            PCIDevice(address: PCIAddress("0000:03:00.0")!, vendorID: 0x1234, deviceID: 0x5678, pciClass: PCIClass(code: 0xff0000)),
        ]
        devices[0].subsystemVendorID = 0x1462
        devices[0].subsystemDeviceID = 0xc758
        db.name(&devices)
        #expect(LspciFormat.line(devices[0]) == "0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation TU116 [GeForce GTX 1660 SUPER] [10de:21c4] (rev a1)")
        #expect(devices[0].names.subsystem == "GeForce GTX 1660 SUPER VENTUS XS OC")
        #expect(LspciFormat.line(devices[1]) == "0000:02:00.0 Display controller [0380]: NVIDIA Corporation Device [10de:ffff]")
        #expect(LspciFormat.line(devices[2]) == "0000:03:00.0 Class [ff00]: Device [1234:5678]")
        #expect(db.progIfName(PCIClass(code: 0x0c0330)) == "XHCI")
    }

    @Test func skipsVendorsNotAskedFor() {
        let db = PCIIDDatabase(bytes: Array(Self.db.utf8), vendorsOfInterest: [0x8086])
        #expect(db.deviceName(0x10de, 0x21c4) == nil)
        #expect(db.deviceName(0x8086, 0x1901) != nil)
        #expect(db.vendorName(0x10de) == "NVIDIA Corporation")
    }
}

@Suite struct JSONTests {
    @Test func escapesAndKeepsKeyOrder() {
        let j = JSON.object([("b", .string("a\"b\n\u{1}")), ("a", .array([.int(1), .null, .bool(true)]))])
        #expect(j.serialized() == #"{"b":"a\"b\n\u0001","a":[1,null,true]}"#)
    }
}

@Suite struct ModprobeTests {
    @Test func readsVfioIdsSoftdepsAndBlacklists() {
        let text = "# vfio\noptions vfio-pci ids=10de:1f08,10de:10f9 disable_vga=1\nsoftdep nvidia pre: vfio-pci\nsoftdep snd_hda_intel pre: \\\n  vfio_pci\nblacklist nouveau\nalias foo bar\n"
        let d = ModprobeDirective.parse(text, file: "/etc/modprobe.d/vfio.conf")
        #expect(d.count == 4)
        #expect(d.vfioPCIIDs.map(\.id) == ["10de:1f08", "10de:10f9"])
        #expect(d[1].kind == .softdep(pre: ["vfio_pci"], post: []))
        #expect(d[2].kind == .softdep(pre: ["vfio_pci"], post: []) && d[2].line == 4)
        #expect(d[3].module == "nouveau" && d[3].kind == .blacklist)
    }
}
