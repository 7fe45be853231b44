import Testing
@testable import VFIOCore

/// Builds host models directly: the checks are pure functions of the model.
struct ModelBuilder {
    var host = HostModel()

    init(iommu: Bool = true, remapping: Bool? = true) {
        host.cpu.hasVMX = true
        host.cpu.flagsKnown = true
        host.cpu.vendor = .intel
        host.kvm.deviceNode = true
        host.cmdline = KernelCommandLine("intel_iommu=on iommu=pt")
        if iommu {
            host.iommu.vendor = .intel
            host.iommu.units = ["dmar0"]
            host.iommu.firmwareTable = .intel
            if let remapping {
                host.iommu.interruptRemapping = .known(remapping, evidence: Evidence("/proc/interrupts", remapping ? "IR-PCI-MSI" : "PCI-MSI"))
            }
        } else {
            host.iommu.interruptRemapping = .known(false, evidence: Evidence("/sys/kernel/iommu_groups", "none"))
        }
    }

    @discardableResult
    mutating func add(_ address: String, _ vendor: UInt16, _ device: UInt16, _ cls: UInt32, driver: String? = nil,
                      group: Int? = nil, bootVGA: Bool? = nil, reset: [String]? = ["flr"]) -> PCIAddress {
        let a = PCIAddress(address)!
        var d = PCIDevice(address: a, vendorID: vendor, deviceID: device, pciClass: PCIClass(code: cls))
        d.driver = driver
        d.iommuGroup = group
        d.bootVGA = bootVGA
        d.resetMethods = reset
        host.devices.append(d)
        host.devices.sort { $0.address < $1.address }
        if let group {
            if let i = host.iommu.groups.firstIndex(where: { $0.id == group }) {
                host.iommu.groups[i].devices.append(a)
                host.iommu.groups[i].devices.sort()
            } else {
                host.iommu.groups.append(IOMMUGroup(id: group, devices: [a]))
                host.iommu.groups.sort { $0.id < $1.id }
            }
        }
        return a
    }

    func run(_ targets: [String] = []) -> DoctorReport {
        Doctor.run(CheckContext(host: host, targets: targets.compactMap(PCIAddress.init)))
    }
}

extension DoctorReport {
    func status(_ check: String) -> [FindingStatus] { findings.filter { $0.check == check }.map(\.status) }
    func finding(_ check: String) -> Finding? { findings.first { $0.check == check } }
}

@Suite struct IOMMUCheckTests {
    @Test func noIOMMUFailsWithFirmwareAdvice() {
        var b = ModelBuilder(iommu: false)
        b.host.iommu.firmwareTable = nil
        b.add("0000:01:00.0", 0x10de, 0x21c4, 0x030000, driver: "nvidia")
        let r = b.run()
        #expect(r.status("iommu.enabled") == [.fail])
        #expect(r.finding("iommu.enabled")?.fix?.contains("firmware") == true)
        #expect(r.exitStatus == 2)
    }

    @Test func firmwareTableWithoutKernelArgumentAsksForIntelIommuOn() {
        var b = ModelBuilder(iommu: false)
        b.host.iommu.firmwareTable = .intel
        b.host.cmdline = KernelCommandLine("ro quiet")
        let r = b.run()
        #expect(r.finding("iommu.enabled")?.fix?.contains("intel_iommu=on") == true)
    }

    @Test func interruptRemappingStates() {
        var on = ModelBuilder(remapping: true)
        on.add("0000:01:00.0", 0x1234, 0x1111, 0x030000, group: 1)
        #expect(on.run().status("iommu.interrupt-remapping") == [.pass])

        var off = ModelBuilder(remapping: false)
        off.add("0000:01:00.0", 0x1234, 0x1111, 0x030000, group: 1)
        #expect(off.run().status("iommu.interrupt-remapping") == [.fail])
        off.host.iommu.unsafeInterruptsAllowed = true
        let unsafe = off.run()
        #expect(unsafe.status("iommu.interrupt-remapping") == [.warn])
        #expect(unsafe.status("iommu.unsafe-interrupts") == [.warn])

        var unknown = ModelBuilder(remapping: nil)
        unknown.host.iommu.interruptRemapping = .unknown(how: "dmesg | grep DMAR-IR")
        unknown.add("0000:01:00.0", 0x1234, 0x1111, 0x030000, group: 1)
        let u = unknown.run()
        #expect(u.status("iommu.interrupt-remapping") == [.info])
        #expect(u.finding("iommu.interrupt-remapping")?.fix == "dmesg | grep DMAR-IR")
    }

    @Test func acsOverrideWarns() {
        var b = ModelBuilder()
        b.host.cmdline = KernelCommandLine("intel_iommu=on pcie_acs_override=downstream,multifunction")
        b.add("0000:01:00.0", 0x1234, 0x1111, 0x030000, group: 1)
        #expect(b.run().status("iommu.acs-override") == [.warn])
    }
}

@Suite struct DeviceCheckTests {
    @Test func aloneInItsGroupPasses() {
        var b = ModelBuilder()
        b.add("0000:01:00.0", 0x10de, 0x21c4, 0x030000, driver: "vfio-pci", group: 2)
        let r = b.run(["0000:01:00.0"])
        #expect(r.status("device.group-isolation") == [.pass])
        #expect(r.status("device.driver") == [.pass])
    }

    @Test func gpuAudioFunctionGoesAlongAsInfo() {
        var b = ModelBuilder()
        b.add("0000:01:00.0", 0x10de, 0x21c4, 0x030000, driver: "nvidia", group: 2)
        b.add("0000:01:00.1", 0x10de, 0x1aeb, 0x040300, driver: "snd_hda_intel", group: 2)
        let r = b.run(["0000:01:00.0"])
        #expect(r.status("device.group-isolation") == [.info])
        #expect(r.status("device.driver") == [.warn, .warn])
        #expect(r.finding("device.driver")?.fix?.contains("vfioctl bind 0000:01:00.0") == true)
    }

    @Test func groupWithStorageAndLPCFails() {
        var b = ModelBuilder()
        b.add("0000:00:1f.0", 0x8086, 0x0685, 0x060100, group: 9)
        b.add("0000:00:17.0", 0x8086, 0x06d2, 0x010601, driver: "ahci", group: 9)
        b.add("0000:00:1c.4", 0x8086, 0x06bc, 0x060400, driver: "pcieport", group: 9)
        b.add("0000:04:00.0", 0x10de, 0x1c03, 0x030000, driver: "nouveau", group: 9)
        let r = b.run(["0000:04:00.0"])
        let f = r.finding("device.group-isolation")
        #expect(f?.status == .fail)
        // Exactly what the host needs: the LPC bridge; the SATA controller holds nothing mounted.
        #expect(f?.subjects.map(\.description) == ["0000:00:1f.0"])
        #expect(f?.explanation.contains("is the ISA/LPC bridge (the platform's firmware interface)") == true)
        #expect(r.exitStatus == 2)
        var usage = HostUsage()
        usage.rootFilesystem[PCIAddress("0000:00:17.0")!] = "the root filesystem (/ on /dev/sda2)"
        let mounted = Doctor.run(CheckContext(host: b.host, targets: [PCIAddress("0000:04:00.0")!], usage: usage)).finding("device.group-isolation")
        #expect(mounted?.subjects.map(\.description) == ["0000:00:17.0", "0000:00:1f.0"])
        #expect(mounted?.explanation.contains("is the controller of the root filesystem (/ on /dev/sda2)") == true)
    }

    @Test func otherCardsInTheGroupWarn() {
        var b = ModelBuilder()
        b.add("0000:01:00.0", 0x10de, 0x21c4, 0x030000, driver: "nvidia", group: 1)
        b.add("0000:02:00.0", 0x1002, 0x731f, 0x030000, driver: "amdgpu", group: 1)
        #expect(b.run(["0000:01:00.0"]).status("device.group-isolation") == [.warn])
        // Passing both together is fine.
        #expect(b.run(["0000:01:00.0", "0000:02:00.0"]).status("device.group-isolation") == [.pass, .pass])
    }

    @Test func bridgeIsRefused() {
        var b = ModelBuilder()
        b.add("0000:00:01.0", 0x8086, 0x1901, 0x060400, driver: "pcieport", group: 1)
        #expect(b.run(["0000:00:01.0"]).status("device.not-bridge") == [.fail])
    }

    @Test func bootDisplayWarnsWithHandoff() {
        var b = ModelBuilder()
        b.host.framebuffers = ["0 EFI VGA"]
        b.add("0000:01:00.0", 0x10de, 0x21c4, 0x030000, driver: "nvidia", group: 1, bootVGA: true)
        let f = b.run(["0000:01:00.0"]).finding("device.boot-display")
        #expect(f?.status == .warn)
        #expect(f?.fix?.contains("--take-display") == true)
        #expect(f?.evidence.contains(Evidence("/proc/fb", "0 EFI VGA")) == true)
    }

    @Test func resetMethods() {
        var b = ModelBuilder()
        b.add("0000:01:00.0", 0x1234, 0x0001, 0x020000, group: 1, reset: [])
        b.add("0000:02:00.0", 0x1234, 0x0002, 0x020000, group: 2, reset: ["bus"])
        b.add("0000:03:00.0", 0x1234, 0x0003, 0x020000, group: 3, reset: ["flr", "bus"])
        let r = b.run(["0000:01:00.0", "0000:02:00.0", "0000:03:00.0"])
        #expect(r.status("device.reset") == [.warn, .info, .pass])
    }

    @Test func naviResetBugWarnsUntilVendorResetIsActive() {
        var b = ModelBuilder()
        b.add("0000:03:00.0", 0x1002, 0x731f, 0x030000, driver: "amdgpu", group: 3, reset: ["bus"])
        let r = b.run(["0000:03:00.0"])
        let f = r.findings.first { $0.check == "device.quirks" && $0.status == .warn }
        #expect(f?.reference == "https://github.com/gnif/vendor-reset")
        #expect(f?.fix?.contains("/sys/bus/pci/devices/0000:03:00.0/reset_method") == true)

        b.host.loadedModules = ["vendor_reset"]
        b.host.devices[0].resetMethods = ["device_specific", "bus"]
        #expect(b.run(["0000:03:00.0"]).status("device.quirks") == [.pass])
    }

    @Test func nvidiaGetsError43Advice() {
        var b = ModelBuilder()
        b.add("0000:01:00.0", 0x10de, 0x2482, 0x030000, driver: "vfio-pci", group: 1)
        let f = b.run(["0000:01:00.0"]).finding("device.quirks")
        #expect(f?.status == .info)
        #expect(f?.fix?.contains("hidden state='on'") == true)
    }

    @Test func withoutTargetsCandidateGPUsAreChecked() {
        var b = ModelBuilder()
        b.add("0000:00:02.0", 0x8086, 0x9bc5, 0x030000, driver: "i915", group: 0, bootVGA: true)
        b.add("0000:01:00.0", 0x10de, 0x21c4, 0x030000, driver: "nvidia", group: 1, bootVGA: false)
        let r = b.run()
        #expect(r.finding("device.group-isolation")?.subjects == [PCIAddress("0000:01:00.0")!])
    }
}

@Suite struct HostCheckTests {
    @Test func isolationOfCoreZeroAndSplitSiblingsWarns() {
        var b = ModelBuilder()
        b.host.cpu.logicalCPUs = (0..<4).map { LogicalCPU(id: $0, coreID: $0 % 2, packageID: 0, dieID: 0, threadSiblings: CPUSet([$0 % 2, $0 % 2 + 2]), l3Shared: CPUSet(0..<4), node: 0) }
        b.host.cpu.isolated = CPUSet([0, 1])
        let titles = b.run().findings.filter { $0.check == "cpu.isolation" }.map(\.title)
        #expect(titles.contains { $0.contains("first core") })
        #expect(titles.contains { $0.contains("splits SMT") })
        b.host.cpu.isolated = CPUSet([1, 3])
        #expect(b.run().status("cpu.isolation") == [.pass])
    }

    @Test func nohzFullWithoutRcuNocbsWarns() {
        var b = ModelBuilder()
        b.host.cpu.nohzFull = CPUSet([2, 3])
        b.host.cpu.isolated = CPUSet([2, 3])
        #expect(b.run().findings.contains { $0.check == "cpu.isolation" && $0.title.contains("rcu_nocbs") })
    }
}

@Suite struct RegistryTests {
    @Test func checkIdsAreUniqueAndEnough() {
        let ids = CheckRegistry.all.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(ids.count >= 20)
    }

    @Test func quirkRowsAreUniqueAndReferenced() {
        let ids = DeviceQuirk.table.map(\.id)
        #expect(Set(ids).count == ids.count)
        for q in DeviceQuirk.table {
            #expect(!q.reference.isEmpty && !q.note.isEmpty && !q.fix.isEmpty, "\(q.id)")
        }
    }

    @Test func aThrowingCheckBecomesCrashedAndTheRestStillRuns() {
        struct Boom: Error {}
        let broken = Check(id: "test.broken", title: "Broken") { _ in throw Boom() }
        let report = Doctor.run(CheckContext(host: ModelBuilder().host, targets: []), checks: [broken] + CheckRegistry.all)
        #expect(report.status("test.broken") == [.crashed])
        #expect(report.findings.count > 20)
        #expect(report.exitStatus >= 1)
    }

    @Test func exitStatusFollowsTheWorstFinding() {
        #expect(DoctorReport(findings: [Finding(status: .pass, title: ""), Finding(status: .info, title: "")]).exitStatus == 0)
        #expect(DoctorReport(findings: [Finding(status: .warn, title: "")]).exitStatus == 1)
        #expect(DoctorReport(findings: [Finding(status: .warn, title: ""), Finding(status: .fail, title: "")]).exitStatus == 2)
    }

    @Test func doctorJSONShape() {
        var b = ModelBuilder()
        b.add("0000:01:00.0", 0x10de, 0x21c4, 0x030000, driver: "vfio-pci", group: 1)
        let json = DoctorRenderer.json(b.run(["0000:01:00.0"])).serialized()
        #expect(json.hasPrefix(#"{"findings":[{"check":"host.readable","status":"pass","title":"#))
        #expect(json.contains(#""summary":{"pass":"#))
        #expect(json.contains(#""exitStatus":"#))
    }
}

@Suite struct BootBindingTests {
    @Test func modprobeIdsCountAsEarlyBinding() {
        var b = ModelBuilder()
        b.add("0000:06:00.0", 0x10de, 0x1f08, 0x030000, driver: "vfio-pci", group: 11)
        b.add("0000:06:00.1", 0x10de, 0x10f9, 0x040300, driver: "vfio-pci", group: 11)
        #expect(b.run(["0000:06:00.0"]).status("boot.vfio-ids") == [.info])
        b.host.modprobe = ModprobeDirective.parse("options vfio-pci ids=10de:1f08,10de:10f9\n", file: "/etc/modprobe.d/vfio.conf")
        let f = b.run(["0000:06:00.0"]).finding("boot.vfio-ids")
        #expect(f?.status == .pass)
        #expect(f?.evidence.contains { $0.source == "/etc/modprobe.d/vfio.conf" } == true)
    }

    /// A USB controller is the host's when its keyboard, mouse or a mounted disk hangs off it, wherever it sits.
    @Test func aUSBControllerIsHostCriticalOnlyWhenTheHostUsesIt() {
        var b = ModelBuilder()
        b.add("0000:01:00.0", 0x10de, 0x21c4, 0x030000, driver: "nvidia", group: 1)
        b.add("0000:01:00.2", 0x10de, 0x1aec, 0x0c0330, driver: "xhci_hcd", group: 1)
        b.add("0000:04:00.0", 0x1002, 0x731f, 0x030000, driver: "amdgpu", group: 1)
        #expect(b.run(["0000:04:00.0"]).status("device.group-isolation") == [.warn])
        let xhci = b.add("0000:00:14.0", 0x8086, 0x06ed, 0x0c0330, driver: "xhci_hcd", group: 1)
        #expect(b.run(["0000:04:00.0"]).status("device.group-isolation") == [.warn])
        var usage = HostUsage()
        usage.inUse[xhci] = "the controller of the host's keyboard (AT Translated Set 2 keyboard)"
        let f = Doctor.run(CheckContext(host: b.host, targets: [PCIAddress("0000:04:00.0")!], usage: usage)).finding("device.group-isolation")
        #expect(f?.status == .fail && f?.subjects == [xhci])
        #expect(f?.explanation.contains("is the controller of the host's keyboard (AT Translated Set 2 keyboard)") == true)
    }

    @Test func oneFindingPerCardWithoutTargets() {
        var b = ModelBuilder()
        b.add("0000:05:00.0", 0x10de, 0x1c03, 0x030000, driver: "vfio-pci", group: 15)
        b.add("0000:05:00.1", 0x10de, 0x10f1, 0x040300, driver: "vfio-pci", group: 15)
        #expect(b.run().findings.filter { $0.check == "device.group-isolation" }.count == 1)
    }
}

@Suite struct BootArgumentTests {
    @Test func configuredButNotBootedAndTheReverseWarn() {
        var b = ModelBuilder()
        b.host.cmdline = KernelCommandLine("BOOT_IMAGE=/vmlinuz ro quiet intel_iommu=on pcie_acs_override=downstream")
        b.host.configuredBoot = ConfiguredBoot(bootloader: .grub, arguments: ["quiet", "splash", "intel_iommu=on", "iommu=pt", "vfio-pci.ids=10de:1f08"])
        let findings = b.run().findings.filter { $0.check == "boot.args-applied" }
        #expect(findings.map(\.status) == [.warn, .warn])
        #expect(findings[0].title == "Configured but not booted: iommu=pt vfio-pci.ids=10de:1f08")
        #expect(findings[0].fix?.hasPrefix("update-grub") == true)
        #expect(findings[1].title == "Booted but no longer configured: pcie_acs_override=downstream")
    }

    @Test func agreementPassesAndIgnoresCosmeticArguments() {
        var b = ModelBuilder()
        b.host.cmdline = KernelCommandLine("BOOT_IMAGE=/vmlinuz root=UUID=x ro intel_iommu=on iommu=pt")
        b.host.configuredBoot = ConfiguredBoot(bootloader: .kernelCmdline, arguments: ["root=ZFS=rpool", "quiet", "intel_iommu=on", "iommu=pt"])
        #expect(b.run().status("boot.args-applied") == [.pass])
        b.host.configuredBoot = nil
        #expect(b.run().status("boot.args-applied") == [.skipped])
    }
}
