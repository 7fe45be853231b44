import VFIOCore
import VFIOFixtures

/// The lab's machine as a fixture: a GPU pair on the boot display (bochs-drm + HDA), an NVMe, an e1000e
/// carrying the default route, a SATA controller with the root filesystem, and the q35 LPC/SMBus group.
public enum LabLikeHost {
    public static let rootPort = PCIAddress("0000:00:1c.0")!
    public static let gpu = PCIAddress("0000:01:00.0")!
    public static let hda = PCIAddress("0000:01:00.1")!
    public static let nic = PCIAddress("0000:02:00.0")!
    public static let nvme = PCIAddress("0000:03:00.0")!
    public static let lpc = PCIAddress("0000:00:1f.0")!
    public static let sata = PCIAddress("0000:00:1f.2")!
    public static let smbus = PCIAddress("0000:00:1f.3")!

    public static func tree(iommu: Bool = true, interruptRemapping: Bool = true, nvmeOverride: String? = nil) -> HostTree {
        var t = HostTree()
        t.iommu = iommu ? .intel(interruptRemapping: interruptRemapping) : .off
        t.extraModules = ["vfio_pci"]
        t.framebuffer = nil
        t.addDevice("0000:00:00.0", vendor: 0x8086, device: 0x29c0, classCode: 0x060000, group: 0)
        let rp1 = t.addDevice("0000:00:1c.0", vendor: 0x1b36, device: 0x000c, classCode: 0x060400, driver: "pcieport", group: 1)
        let rp2 = t.addDevice("0000:00:1c.1", vendor: 0x1b36, device: 0x000c, classCode: 0x060400, driver: "pcieport", group: 2)
        let rp3 = t.addDevice("0000:00:1c.2", vendor: 0x1b36, device: 0x000c, classCode: 0x060400, driver: "pcieport", group: 3)
        t.addDevice("0000:00:1f.0", vendor: 0x8086, device: 0x2918, classCode: 0x060100, driver: "lpc_ich", group: 6)
        t.addDevice("0000:00:1f.2", vendor: 0x8086, device: 0x2922, classCode: 0x010601, driver: "ahci", group: 6, block: ["sda"])
        t.addDevice("0000:00:1f.3", vendor: 0x8086, device: 0x2930, classCode: 0x0c0500, driver: "i801_smbus", group: 6)
        t.addDevice("0000:01:00.0", parent: rp1, vendor: 0x1234, device: 0x1111, classCode: 0x030000, driver: "bochs-drm", group: 7, bootVGA: true)
        t.addDevice("0000:01:00.1", parent: rp1, vendor: 0x8086, device: 0x293e, classCode: 0x040300, driver: "snd_hda_intel", group: 7)
        t.addDevice("0000:02:00.0", parent: rp2, vendor: 0x8086, device: 0x10d3, classCode: 0x020000, driver: "e1000e", group: 8, net: ["eth0"])
        t.addDevice("0000:03:00.0", parent: rp3, vendor: 0x1b36, device: 0x0010, classCode: 0x010802, driver: "nvme",
                    driverOverride: nvmeOverride, group: 9)
        return t
    }
}
