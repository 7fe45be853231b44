extension ExampleHosts {
    /// A Z370 desktop (i7-8700K) whose firmware has VT-d disabled.
    ///
    /// The cmdline asks for `intel_iommu=on iommu=pt vfio-pci.ids=10de:1b81,10de:10f0`, but the firmware published
    /// no DMAR table, so there is no `sys/class/iommu` entry, no IOMMU group and no `iommu_group` link; vfio_pci is
    /// loaded, refused the GTX 1070 and left both functions without a driver. Without interrupt remapping the IRQ
    /// chips read `IO-APIC` and `PCI-MSI-…`. The integrated GPU drives the console.
    public static func iommuOff() -> HostTree {
        var host = HostTree()
        host.hostname = "z370"
        host.cpu = .init(vendor: .intel, modelName: "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", coresPerPackage: 6,
                         threadsPerCore: 2, family: 6, model: 158, stepping: 10, mhz: 3700, l3KiBPerGroup: 12288)
        host.memory = .init(totalGiB: 16)
        host.iommu = .off
        host.cmdline = "\(host.bootImage) root=UUID=\(uuid("z370")) ro quiet intel_iommu=on iommu=pt "
            + "vfio-pci.ids=10de:1b81,10de:10f0"
        host.framebuffer = .drm("i915")
        let board: (vendor: UInt16, device: UInt16) = (0x1043, 0x8694)
        host.addDevice("0000:00:00.0", vendor: 0x8086, device: 0x3ec2, subsystem: board, classCode: 0x060000, revision: 0x07)
        let peg = host.addDevice("0000:00:01.0", vendor: 0x8086, device: 0x1901, classCode: 0x060400, revision: 0x07,
                                 driver: "pcieport", caps: [.subsystemID, .pm, .msi, .pcie(.rootPort)], link: .x(16))
        let gigabyte: (vendor: UInt16, device: UInt16) = (0x1458, 0x3794)
        host.addDevice("0000:01:00.0", parent: peg, vendor: 0x10de, device: 0x1b81, subsystem: gigabyte, classCode: 0x030000,
                       revision: 0xa1, bootVGA: false, caps: [.pm(noSoftReset: true), .msi, .pcie(.legacyEndpoint), .aer],
                       link: .x(16))
        host.addDevice("0000:01:00.1", parent: peg, vendor: 0x10de, device: 0x10f0, subsystem: gigabyte, classCode: 0x040300,
                       revision: 0xa1, caps: [.pm(noSoftReset: true), .msi, .pcie(.endpoint), .aer], link: .x(16))
        host.addDevice("0000:00:02.0", vendor: 0x8086, device: 0x3e92, subsystem: board, classCode: 0x030000,
                       driver: "i915", bootVGA: true, caps: [.vendorSpecific, .msi, .pm])
        host.addDevice("0000:00:14.0", vendor: 0x8086, device: 0xa2af, subsystem: board, classCode: 0x0c0330,
                       driver: "xhci_hcd", caps: [.pm, .msi])
        host.addDevice("0000:00:17.0", vendor: 0x8086, device: 0xa282, subsystem: board, classCode: 0x010601,
                       driver: "ahci", caps: [.msi, .pm], block: ["sda"])
        host.addDevice("0000:00:1f.0", vendor: 0x8086, device: 0xa2c9, subsystem: board, classCode: 0x060100)
        host.addDevice("0000:00:1f.3", vendor: 0x8086, device: 0xa2f0, subsystem: board, classCode: 0x040300,
                       driver: "snd_hda_intel", caps: [.pm, .msi])
        host.addDevice("0000:00:1f.4", vendor: 0x8086, device: 0xa2a3, subsystem: board, classCode: 0x0c0500,
                       driver: "i801_smbus", caps: [])
        host.addDevice("0000:00:1f.6", vendor: 0x8086, device: 0x15b8, subsystem: board, classCode: 0x020000,
                       driver: "e1000e", caps: [.pm, .msi], net: ["eno1"])
        return host
    }
}
