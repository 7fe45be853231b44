extension ExampleHosts {
    /// A Ryzen 9 3900X on a B450 board, AMD-Vi on: the classic chipset-slot problem.
    ///
    /// - The host GPU (RTX 3080, nvidia, boot VGA) sits in the CPU slot behind 00:03.1 with a group of its own.
    /// - The GTX 1060 meant for the guest sits in the chipset's x4 slot. The B450 chipset has no ACS below its
    ///   root port 00:01.3, so USB, SATA (the boot disk's controller), the I211 NIC, the chipset's switch ports and
    ///   the GTX 1060 all land in one IOMMU group (15). `vfio-pci.ids=` bound the GPU, the rest stays on host
    ///   drivers: the group is not viable.
    /// - Four CCX, each with its own L3: the cmdline isolates CCX 1–3 (`isolcpus`, `nohz_full`, `irqaffinity`).
    /// - AVIC on (kvm_amd), 16 × 1 GiB hugepages.
    public static func ryzenChipsetGPU() -> HostTree {
        var host = HostTree()
        host.hostname = "ryzen"
        host.cpu = .init(vendor: .amd, modelName: "AMD Ryzen 9 3900X 12-Core Processor", coresPerPackage: 12,
                         threadsPerCore: 2, l3Groups: 4, family: 23, model: 113, stepping: 0, mhz: 3800, l3KiBPerGroup: 16384)
        host.memory = .init(totalGiB: 64, hugepages1G: 16)
        host.iommu = .amd(interruptRemapping: true)
        host.kvm = .init(loaded: true, apicv: true, nested: true)
        host.cmdline = "\(host.bootImage) root=UUID=\(uuid("ryzen")) ro quiet iommu=pt "
            + "vfio-pci.ids=10de:1c03,10de:10f1 isolcpus=managed_irq,domain,3-11,15-23 nohz_full=3-11,15-23 "
            + "rcu_nocbs=3-11,15-23 irqaffinity=0-2,12-14 default_hugepagesz=1G hugepagesz=1G hugepages=16"
        host.framebuffer = .efifb
        let board: (vendor: UInt16, device: UInt16) = (0x1462, 0x7b86)
        let dummy: [HostTree.Capability] = []
        let gpp: [HostTree.Capability] = [.pm, .pcie(.rootPort), .msi, .subsystemID, .aer, .acs]

        host.addDevice("0000:00:00.0", vendor: 0x1022, device: 0x1480, subsystem: (0x1022, 0x1480), classCode: 0x060000,
                       group: HostTree.noGroup)
        host.addDevice("0000:00:00.2", vendor: 0x1022, device: 0x1481, subsystem: (0x1022, 0x1481), classCode: 0x080600,
                       caps: [.msi], bars: [])
        host.addDevice("0000:00:01.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 0, caps: dummy)
        let gpp1 = host.addDevice("0000:00:01.1", vendor: 0x1022, device: 0x1483, classCode: 0x060400, driver: "pcieport",
                                  group: 1, caps: gpp, link: .x(4, .gen3))
        let gpp3 = host.addDevice("0000:00:01.3", vendor: 0x1022, device: 0x1483, classCode: 0x060400, driver: "pcieport",
                                  group: 2, caps: gpp, link: .x(4, .gen3))
        host.addDevice("0000:00:02.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 3, caps: dummy)
        host.addDevice("0000:00:03.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 4, caps: dummy)
        let gppGPU = host.addDevice("0000:00:03.1", vendor: 0x1022, device: 0x1483, classCode: 0x060400, driver: "pcieport",
                                    group: 5, caps: gpp, link: .x(16, .gen4))
        host.addDevice("0000:00:04.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 6, caps: dummy)
        host.addDevice("0000:00:05.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 7, caps: dummy)
        host.addDevice("0000:00:07.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 8, caps: dummy)
        let internal0 = host.addDevice("0000:00:07.1", vendor: 0x1022, device: 0x1484, classCode: 0x060400,
                                       driver: "pcieport", group: 9, caps: gpp, link: .x(16, .gen4))
        host.addDevice("0000:00:08.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 10, caps: dummy)
        let internal1 = host.addDevice("0000:00:08.1", vendor: 0x1022, device: 0x1484, classCode: 0x060400,
                                       driver: "pcieport", group: 11, caps: gpp, link: .x(16, .gen4))
        host.addDevice("0000:00:14.0", vendor: 0x1022, device: 0x790b, subsystem: board, classCode: 0x0c0500, revision: 0x61,
                       driver: "piix4_smbus", group: 12, caps: [], bars: [])
        host.addDevice("0000:00:14.3", vendor: 0x1022, device: 0x790e, subsystem: board, classCode: 0x060100, revision: 0x51,
                       group: 12)
        for f in 0..<8 {
            host.addDevice("0000:00:18.\(f)", vendor: 0x1022, device: 0x1440 + UInt16(f), classCode: 0x060000,
                           driver: f == 3 ? "k10temp" : nil, group: 13, caps: [])
        }

        host.addDevice("0000:01:00.0", parent: gpp1, vendor: 0x144d, device: 0xa808, subsystem: (0x144d, 0xa801),
                       classCode: 0x010802, driver: "nvme", group: 14,
                       caps: [.pm, .msi, .pcie(.endpoint, flr: true), .msix(tableSize: 33), .aer],
                       link: .x(4), managedIRQs: true, block: ["nvme0n1"])

        // B450 chipset: no ACS anywhere below 00:01.3, so one group for all of it.
        let chipsetGroup = 15
        host.addDevice("0000:02:00.0", parent: gpp3, vendor: 0x1022, device: 0x43d5, subsystem: (0x1b21, 0x1142),
                       classCode: 0x0c0330, revision: 0x01, driver: "xhci_hcd", group: chipsetGroup,
                       caps: [.msi, .msix(tableSize: 8), .pm, .pcie(.legacyEndpoint), .aer], link: .x(4))
        host.addDevice("0000:02:00.1", parent: gpp3, vendor: 0x1022, device: 0x43c8, subsystem: (0x1b21, 0x1062),
                       classCode: 0x010601, revision: 0x01, driver: "ahci", group: chipsetGroup,
                       caps: [.msi, .pm, .pcie(.legacyEndpoint), .aer], link: .x(4), block: ["sda"])
        let chipsetUp = host.addDevice("0000:02:00.2", parent: gpp3, vendor: 0x1022, device: 0x43c6, classCode: 0x060400,
                                       revision: 0x01, driver: "pcieport", group: chipsetGroup,
                                       caps: [.msi, .pm, .pcie(.upstreamPort), .subsystemID, .aer], link: .x(4))
        let port1 = host.addDevice("0000:03:01.0", parent: chipsetUp, vendor: 0x1022, device: 0x43c7, classCode: 0x060400,
                                   revision: 0x01, driver: "pcieport", group: chipsetGroup,
                                   caps: [.msi, .pm, .pcie(.downstreamPort), .subsystemID, .aer], link: .x(1, .gen2))
        let port4 = host.addDevice("0000:03:04.0", parent: chipsetUp, vendor: 0x1022, device: 0x43c7, classCode: 0x060400,
                                   revision: 0x01, driver: "pcieport", group: chipsetGroup,
                                   caps: [.msi, .pm, .pcie(.downstreamPort), .subsystemID, .aer],
                                   link: .init(speed: .gen2, width: 4))
        host.addDevice("0000:04:00.0", parent: port1, vendor: 0x8086, device: 0x1539, subsystem: board, classCode: 0x020000,
                       revision: 0x03, driver: "igb", group: chipsetGroup,
                       caps: [.pm, .msi, .msix(tableSize: 5), .pcie(.endpoint, flr: true), .aer], link: .x(1, .gen1),
                       net: ["enp4s0"])
        let evga: (vendor: UInt16, device: UInt16) = (0x3842, 0x6267)
        let gtxLink = HostTree.Link(speed: .gen2, width: 4, maxSpeed: .gen3, maxWidth: 16)
        host.addDevice("0000:05:00.0", parent: port4, vendor: 0x10de, device: 0x1c03, subsystem: evga, classCode: 0x030000,
                       revision: 0xa1, driver: "vfio-pci", group: chipsetGroup, bootVGA: false,
                       caps: [.pm(noSoftReset: true), .msi, .pcie(.legacyEndpoint), .aer], link: gtxLink)
        host.addDevice("0000:05:00.1", parent: port4, vendor: 0x10de, device: 0x10f1, subsystem: evga, classCode: 0x040300,
                       revision: 0xa1, driver: "vfio-pci", group: chipsetGroup,
                       caps: [.pm(noSoftReset: true), .msi, .pcie(.endpoint), .aer], link: gtxLink)

        let fe: (vendor: UInt16, device: UInt16) = (0x10de, 0x1467)
        host.addDevice("0000:06:00.0", parent: gppGPU, vendor: 0x10de, device: 0x2206, subsystem: fe, classCode: 0x030000,
                       revision: 0xa1, driver: "nvidia", group: 16, bootVGA: true,
                       caps: [.pm(noSoftReset: true), .msi, .pcie(.legacyEndpoint, flr: true), .aer], link: .x(16, .gen4))
        host.addDevice("0000:06:00.1", parent: gppGPU, vendor: 0x10de, device: 0x1aef, subsystem: fe, classCode: 0x040300,
                       revision: 0xa1, driver: "snd_hda_intel", group: 16,
                       caps: [.pm(noSoftReset: true), .msi, .pcie(.endpoint), .aer], link: .x(16, .gen4))

        host.addDevice("0000:07:00.0", parent: internal0, vendor: 0x1022, device: 0x148a, subsystem: (0x1022, 0x148a),
                       classCode: 0x130000, group: 17, caps: [.pm, .pcie(.endpoint), .aer], link: .x(16, .gen4), bars: [])
        host.addDevice("0000:08:00.0", parent: internal1, vendor: 0x1022, device: 0x1485, subsystem: (0x1022, 0x1485),
                       classCode: 0x130000, group: 18, caps: [.pm, .pcie(.endpoint), .aer], link: .x(16, .gen4), bars: [])
        host.addDevice("0000:08:00.1", parent: internal1, vendor: 0x1022, device: 0x1486, subsystem: (0x1022, 0x1486),
                       classCode: 0x108000, driver: "ccp", group: 19,
                       caps: [.pm, .pcie(.endpoint), .msi, .msix(tableSize: 2), .aer], link: .x(16, .gen4))
        host.addDevice("0000:08:00.3", parent: internal1, vendor: 0x1022, device: 0x149c, subsystem: board,
                       classCode: 0x0c0330, driver: "xhci_hcd", group: 20,
                       caps: [.pm, .pcie(.endpoint), .msi, .msix(tableSize: 8), .aer], link: .x(16, .gen4))
        host.addDevice("0000:08:00.4", parent: internal1, vendor: 0x1022, device: 0x1487, subsystem: board,
                       classCode: 0x040300, driver: "snd_hda_intel", group: 21,
                       caps: [.pm, .pcie(.endpoint), .msi, .aer], link: .x(16, .gen4))
        return host
    }
}
