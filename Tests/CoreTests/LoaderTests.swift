import Testing
@testable import VFIOCore

/// A tiny host tree in memory: two devices behind a root port, one IOMMU group each.
func smallTree(iommu: Bool = true, vendorText: String = "0x10de\n") -> MemoryFiles {
    var t = MemoryFiles()
    t.file("/proc/cmdline", "BOOT_IMAGE=/vmlinuz ro intel_iommu=on iommu=pt\n")
    t.file("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n\nprocessor\t: 1\n")
    t.file("/proc/interrupts", "           CPU0       CPU1\n  0:  1 2  IR-IO-APIC 2-edge timer\n")
    t.file("/proc/irq/0/smp_affinity_list", "0-1\n")
    t.file("/proc/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")
    t.file("/proc/meminfo", "MemTotal:       16315200 kB\nMemAvailable:   12000000 kB\n")
    t.file("/sys/devices/system/cpu/online", "0-1\n")
    t.file("/sys/devices/system/cpu/nohz_full", "(null)\n")  // a kernel without NO_HZ_FULL
    for cpu in 0...1 {
        t.file("/sys/devices/system/cpu/cpu\(cpu)/topology/core_id", "0\n")
        t.file("/sys/devices/system/cpu/cpu\(cpu)/topology/thread_siblings_list", "0-1\n")
        t.file("/sys/devices/system/cpu/cpu\(cpu)/cache/index3/level", "3\n")
        t.file("/sys/devices/system/cpu/cpu\(cpu)/cache/index3/shared_cpu_list", "0-1\n")
    }
    let rp = "/sys/devices/pci0000:00/0000:00:01.0"
    let gpu = rp + "/0000:01:00.0"
    for (dir, vendor, device, cls, group) in [(rp, "0x8086\n", "0x1901\n", "0x060400\n", 1), (gpu, vendorText, "0x21c4\n", "0x030000\n", 2)] {
        let addr = HostPath.lastComponent(dir)
        t.link("/sys/bus/pci/devices/\(addr)", "../../.." + dir.dropFirst(4))
        t.file(dir + "/vendor", vendor)
        t.file(dir + "/device", device)
        t.file(dir + "/class", cls)
        t.file(dir + "/revision", "0xa1\n")
        t.file(dir + "/driver_override", "(null)\n")
        if iommu {
            t.link(dir + "/iommu_group", "../../../kernel/iommu_groups/\(group)")
            t.link("/sys/kernel/iommu_groups/\(group)/devices/\(addr)", "../../../../devices/" + dir.dropFirst(13))
        }
    }
    t.link(gpu + "/driver", "../../../../bus/pci/drivers/nvidia")
    t.file(gpu + "/boot_vga", "0\n")
    t.file(gpu + "/reset_method", "flr bus\n")
    t.bytes(gpu + "/config", configSpace(vendor: 0x10de, device: 0x21c4, classCode: 0x030000, flr: true))
    if iommu {
        t.link("/sys/class/iommu/dmar0", "../../devices/virtual/iommu/dmar0")
        t.file("/sys/devices/virtual/iommu/dmar0/intel-iommu/ecap", "f0205e\n")
        t.file("/sys/firmware/acpi/tables/DMAR", "DMAR")
    }
    return t
}

@Suite struct HostLoaderTests {
    @Test func loadsDevicesGroupsAndTopology() throws {
        let host = try HostLoader(smallTree()).load()
        #expect(host.readProblems.isEmpty, "\(host.readProblems)")
        #expect(host.devices.map(\.address.description) == ["0000:00:01.0", "0000:01:00.0"])
        let gpu = try #require(host.device(PCIAddress("0000:01:00.0")!))
        #expect(gpu.driver == "nvidia" && gpu.driverOverride == nil && gpu.iommuGroup == 2)
        #expect(gpu.upstreamBridges == [PCIAddress("0000:00:01.0")!])
        #expect(gpu.resetMethods == ["flr", "bus"] && gpu.bootVGA == false && gpu.capabilities?.express?.functionLevelReset == true)
        #expect(host.iommu.enabled && host.iommu.vendor == .intel && host.iommu.groups.map(\.id) == [1, 2])
        #expect(host.iommu.interruptRemapping.value == true)
        #expect(host.cpu.cores == [CPUSet([0, 1])] && host.cpu.l3Groups == [CPUSet([0, 1])])
        #expect(host.cgroup == .v2)
        #expect(host.irqs.first?.affinity == CPUSet([0, 1]))
    }

    @Test func malformedAttributeIsReportedByFileNotGuessed() throws {
        let host = try HostLoader(smallTree(vendorText: "0xZZZZ\n")).load()
        // The function stays (its group names it), with the vendor marked rather than invented.
        let gpu = try #require(host.device(PCIAddress("0000:01:00.0")!))
        #expect(gpu.unparsed("vendor")?.seen == "0xZZZZ")
        #expect(LspciFormat.line(gpu) == "0000:01:00.0 VGA compatible controller [0300]: Device [????:21c4] (rev a1)"
            || LspciFormat.line(gpu) == "0000:01:00.0 Class [0300]: Device [????:21c4] (rev a1)")
        let problem = try #require(host.readProblems.first)
        #expect(problem.path == "/sys/bus/pci/devices/0000:01:00.0/vendor")
        #expect(problem.message.contains("0xZZZZ"))
        let report = Doctor.run(CheckContext(host: host, targets: []))
        #expect(report.findings.contains { $0.check == "host.readable" && $0.status == .warn && $0.evidence.first?.source == problem.path })
    }

    @Test func treeWithoutSysIsAnError() {
        var t = MemoryFiles()
        t.file("/etc/hostname", "x")
        #expect(throws: HostLoadError.self) { try HostLoader(t).load() }
    }

    @Test func hostWithoutIOMMUListsDevicesWithoutGroups() throws {
        let host = try HostLoader(smallTree(iommu: false)).load()
        #expect(!host.iommu.enabled && host.devices.count == 2 && host.devices.allSatisfy { $0.iommuGroup == nil })
        let json = ListRenderer.json(host)
        #expect(json.serialized().contains(#""groups":[]"#))
        #expect(json.serialized().contains(#""enabled":false"#))
    }
}
