import Testing
@testable import VFIOCore

/// `HostNeeds`: use decides, not class, and doctor says what bind refuses in the same words.
@Suite struct HostNeedsTests {
    /// A chipset group: LPC, SMBus, xHCI, SATA, NIC and a guest GPU, all in group 15.
    static func chipset() -> (ModelBuilder, [String: PCIAddress]) {
        var b = ModelBuilder()
        let a: [String: PCIAddress] = [
            "lpc": b.add("0000:00:14.3", 0x1022, 0x790e, 0x060100, group: 15),
            "smbus": b.add("0000:00:14.0", 0x1022, 0x790b, 0x0c0500, driver: "piix4_smbus", group: 15),
            "xhci": b.add("0000:02:00.0", 0x1022, 0x43d5, 0x0c0330, driver: "xhci_hcd", group: 15),
            "sata": b.add("0000:02:00.1", 0x1022, 0x43c8, 0x010601, driver: "ahci", group: 15),
            "nic": b.add("0000:04:00.0", 0x8086, 0x1539, 0x020000, driver: "igb", group: 15),
            "gpu": b.add("0000:05:00.0", 0x10de, 0x1c03, 0x030000, driver: "vfio-pci", group: 15),
            "port": b.add("0000:03:00.0", 0x1022, 0x43c7, 0x060400, driver: "pcieport", group: 15),
        ]
        return (b, a)
    }

    func verdict(_ b: ModelBuilder, _ a: PCIAddress, _ usage: HostUsage = HostUsage()) -> HostNeedsVerdict {
        HostNeeds.verdict(b.host.device(a)!, host: b.host, usage: usage)
    }

    @Test func idleControllersAreFreeAndThePlatformsFunctionsAreNot() {
        let (b, a) = Self.chipset()
        #expect(verdict(b, a["xhci"]!) == .free)
        #expect(verdict(b, a["sata"]!) == .free)
        #expect(verdict(b, a["nic"]!) == .free)
        #expect(verdict(b, a["gpu"]!) == .free)
        #expect(verdict(b, a["port"]!) == .bridge)
        #expect(verdict(b, a["lpc"]!) == .needed(reason: "the ISA/LPC bridge (the platform's firmware interface)", display: false))
        #expect(verdict(b, a["smbus"]!) == .needed(reason: "the SMBus controller (sensors, memory SPD)", display: false))
    }

    @Test func useMakesAControllerCritical() {
        let (b, a) = Self.chipset()
        var usage = HostUsage()
        usage.inUse[a["xhci"]!] = "the controller of the host's keyboard (Logitech USB Keyboard)"
        usage.inUse[a["sata"]!] = "storage in use (/dev/sda1 mounted at /home)"
        usage.defaultRoute[a["nic"]!] = "the default route (enp4s0)"
        #expect(verdict(b, a["xhci"]!, usage).reason == "the controller of the host's keyboard (Logitech USB Keyboard)")
        #expect(verdict(b, a["sata"]!, usage).reason == "storage in use (/dev/sda1 mounted at /home)")
        #expect(verdict(b, a["nic"]!, usage).reason == "the network controller carrying the default route (enp4s0)")
        // Already on vfio-pci: away from the host whatever it is.
        usage.inUse[a["gpu"]!] = "the controller of the host's mouse (x)"
        #expect(verdict(b, a["gpu"]!, usage) == .free)
    }

    @Test func theBootDisplayIsNeededUnlessItIsHandedOver() {
        var b = ModelBuilder()
        let igpu = b.add("0000:00:02.0", 0x8086, 0x3e92, 0x030000, driver: "i915", group: 2, bootVGA: true)
        let v = verdict(b, igpu)
        #expect(v == .needed(reason: "the host's boot display", display: true))
        #expect(v.isHostCritical() && !v.isHostCritical(displayHandoff: true))
        let dgpu = b.add("0000:01:00.0", 0x1002, 0x731f, 0x030000, driver: "amdgpu", group: 1, bootVGA: false)
        var usage = HostUsage()
        usage.framebuffers = ["0 amdgpudrmfb"]
        #expect(verdict(b, dgpu, usage).reason == "showing the host's console (/proc/fb)")
        #expect(verdict(b, dgpu) == .free)
    }

    /// Doctor names exactly the devices the policy calls critical, with the policy's reasons.
    @Test func doctorListsExactlyTheCriticalDevicesWithThePoliciesWords() {
        let (b, a) = Self.chipset()
        var usage = HostUsage()
        usage.defaultRoute[a["nic"]!] = "the default route (enp4s0)"
        let report = Doctor.run(CheckContext(host: b.host, targets: [a["gpu"]!], usage: usage))
        let f = report.finding("device.group-isolation")
        #expect(f?.status == .fail)
        #expect(f?.subjects == [a["smbus"]!, a["lpc"]!, a["nic"]!].sorted())
        #expect(f?.explanation.contains("is the network controller carrying the default route (enp4s0)") == true)
        #expect(f?.explanation.contains("0000:02:00.1") == false)   // the idle SATA controller comes along, unflagged
    }

    /// A device the host needs is flagged even when it is the one asked about, and without an IOMMU.
    @Test func theDeviceItselfAndHostsWithoutIOMMU() {
        var b = ModelBuilder(iommu: false)
        let nic = b.add("0000:00:1f.6", 0x8086, 0x15bc, 0x020000, driver: "e1000e")
        var usage = HostUsage()
        usage.defaultRoute[nic] = "the default route (eno1)"
        let report = Doctor.run(CheckContext(host: b.host, targets: [nic], usage: usage))
        let f = report.findings.filter { $0.check == "device.group-isolation" }
        #expect(f.map(\.title) == ["0000:00:1f.6 is a device the host needs"])
        #expect(f.first?.subjects == [nic])
        #expect(Doctor.run(CheckContext(host: b.host, targets: [nic])).status("device.group-isolation") == [.skipped])
    }

    /// Keyboards (EV_KEY+EV_REP), mice (EV_KEY+EV_REL) and mounted disks behind a USB controller; not a joystick.
    @Test func usageIsReadFromSysfs() {
        var m = MemoryFiles()
        let xhci = "/sys/devices/pci0000:00/0000:00:14.0"
        m.file("/proc/mounts", "/dev/sdb1 /mnt/usb ext4 rw 0 0\n/dev/nvme0n1p2 / ext4 rw 0 0\n")
        m.file("/proc/swaps", "Filename Type Size Used Priority\n/dev/nvme1n1p1 partition 1 0 -2\n")
        m.link("/sys/class/block/sdb1", "../../devices/pci0000:00/0000:00:14.0/usb2/2-1/host6/block/sdb/sdb1")
        m.link("/sys/class/block/nvme0n1p2", "../../devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1/nvme0n1p2")
        m.link("/sys/class/block/nvme1n1p1", "../../devices/pci0000:00/0000:00:01.2/0000:02:00.0/nvme/nvme1/nvme1n1/nvme1n1p1")
        m.link("/sys/class/input/input3", "../../devices/pci0000:00/0000:00:08.1/0000:0a:00.3/usb3/3-2/input/input3")
        m.file("\(xhci)/usb2/2-1/host6/block/sdb/sdb1/dev", "8:17")
        m.file("/sys/devices/pci0000:00/0000:00:08.1/0000:0a:00.3/usb3/3-2/input/input3/capabilities/ev", "17")
        m.file("/sys/devices/pci0000:00/0000:00:08.1/0000:0a:00.3/usb3/3-2/input/input3/name", "Logitech G203 Mouse")
        m.link("/sys/class/input/input4", "../../devices/pci0000:00/0000:00:08.1/0000:0b:00.3/usb4/4-1/input/input4")
        m.file("/sys/devices/pci0000:00/0000:00:08.1/0000:0b:00.3/usb4/4-1/input/input4/capabilities/ev", "1b")
        m.file("/sys/devices/pci0000:00/0000:00:08.1/0000:0b:00.3/usb4/4-1/input/input4/name", "Gamepad")
        let usage = HostUsage.load(m)
        #expect(usage.inUse[PCIAddress("0000:00:14.0")!] == "storage in use (/dev/sdb1 mounted at /mnt/usb)")
        #expect(usage.inUse[PCIAddress("0000:02:00.0")!] == "storage in use (/dev/nvme1n1p1 is swap)")
        #expect(usage.rootFilesystem[PCIAddress("0000:01:00.0")!] == "the root filesystem (/ on /dev/nvme0n1p2)")
        #expect(usage.inUse[PCIAddress("0000:0a:00.3")!] == "the controller of the host's mouse (Logitech G203 Mouse)")
        #expect(usage.inUse[PCIAddress("0000:0b:00.3")!] == nil)
    }
}
