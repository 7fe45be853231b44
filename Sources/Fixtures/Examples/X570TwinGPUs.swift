extension ExampleHosts {
    /// A Ryzen 9 5900X on an X570 board with two identical RTX 3060 cards and a quad-port Intel I350-T4 NIC: the
    /// host that `vfio-pci.ids=` gets wrong, because an id names every card of a model.
    ///
    /// - Both RTX 3060 (10de:2504 + audio 10de:228e, subsystems of two board vendors) sit in the CPU's x8/x8 slots,
    ///   each behind a root port with ACS, so each card has a group of its own. The first one boots the console
    ///   (`boot_vga=1`, nvidia) and stays with the host; the second one is meant for the VM and is still on
    ///   nvidia/snd_hda_intel. `vfio-pci.ids=10de:2504,10de:228e` would hand both cards to vfio-pci at boot.
    /// - The I350-T4 (8086:1521, igb, ARI and ACS: one group per function) carries the default route on its first
    ///   port (enp5s0f0); the VM is meant to get port 1. `ids=8086:1521` would take the host's own uplink.
    /// - The boot disk is an NVMe in the chipset's M.2 slot (its own group); the X570 chipset's USB, SATA and
    ///   switch ports have ACS, so each has a group of its own, as on the real board.
    /// - Two CCDs (two L3 groups of 6 cores), SMT on; 8 × 1 GiB hugepages reserved at boot.
    public static func x570TwinGPUs() -> HostTree {
        var host = HostTree()
        host.hostname = "x570"
        host.cpu = .init(vendor: .amd, modelName: "AMD Ryzen 9 5900X 12-Core Processor", coresPerPackage: 12,
                         threadsPerCore: 2, l3Groups: 2, family: 25, model: 33, stepping: 0, mhz: 3700, l3KiBPerGroup: 32768)
        host.memory = .init(totalGiB: 64, hugepages1G: 8)
        host.iommu = .amd(interruptRemapping: true)
        host.kvm = .init(loaded: true, apicv: true, nested: true)
        host.cmdline = "\(host.bootImage) root=UUID=\(uuid("x570")) ro quiet iommu=pt "
            + "default_hugepagesz=1G hugepagesz=1G hugepages=8"
        host.framebuffer = .efifb
        host.defaultRouteInterface = "enp5s0f0"
        let board: (vendor: UInt16, device: UInt16) = (0x1043, 0x87c0)
        let dummy: [HostTree.Capability] = []
        let gpp: [HostTree.Capability] = [.pm, .pcie(.rootPort), .msi, .subsystemID, .aer, .acs]
        let nvidiaGPU: [HostTree.Capability] = [.pm(noSoftReset: true), .msi, .pcie(.legacyEndpoint, flr: true), .aer]
        let nvidiaFn: [HostTree.Capability] = [.pm(noSoftReset: true), .msi, .pcie(.endpoint), .aer]

        host.addDevice("0000:00:00.0", vendor: 0x1022, device: 0x1480, subsystem: (0x1022, 0x1480), classCode: 0x060000,
                       group: HostTree.noGroup)
        host.addDevice("0000:00:00.2", vendor: 0x1022, device: 0x1481, subsystem: (0x1022, 0x1481), classCode: 0x080600,
                       caps: [.msi], bars: [])
        host.addDevice("0000:00:01.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 0, caps: dummy)
        // The chipset hangs off 00:01.2 (enumerated first: buses 02-0a); the CPU x16 slots, bifurcated x8/x8, each
        // sit behind a root port of their own with ACS (00:03.1, 00:03.2: buses 0b and 0c).
        let gpp3 = host.addDevice("0000:00:01.2", vendor: 0x1022, device: 0x1483, classCode: 0x060400, driver: "pcieport",
                                  group: 1, caps: gpp, link: .x(4, .gen4))
        host.addDevice("0000:00:03.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 2, caps: dummy)
        let gpp1 = host.addDevice("0000:00:03.1", vendor: 0x1022, device: 0x1483, classCode: 0x060400, driver: "pcieport",
                                  group: 3, caps: gpp, link: .x(8, .gen4))
        let gpp2 = host.addDevice("0000:00:03.2", vendor: 0x1022, device: 0x1483, classCode: 0x060400, driver: "pcieport",
                                  group: 19, caps: gpp, link: .x(8, .gen4))
        host.addDevice("0000:00:02.0", vendor: 0x1022, device: 0x1482, classCode: 0x060000, group: 4, caps: dummy)
        host.addDevice("0000:00:14.0", vendor: 0x1022, device: 0x790b, subsystem: board, classCode: 0x0c0500, revision: 0x61,
                       driver: "piix4_smbus", group: 5, caps: [], bars: [])
        host.addDevice("0000:00:14.3", vendor: 0x1022, device: 0x790e, subsystem: board, classCode: 0x060100, revision: 0x51,
                       group: 5)
        for f in 0..<8 {
            host.addDevice("0000:00:18.\(f)", vendor: 0x1022, device: 0x1440 + UInt16(f), classCode: 0x060000,
                           driver: f == 3 ? "k10temp" : nil, group: 6, caps: [])
        }

        let gpuLink = HostTree.Link(speed: .gen4, width: 8, maxWidth: 16)
        let hostCard: (vendor: UInt16, device: UInt16) = (0x1043, 0x87f3)
        host.addDevice("0000:0b:00.0", parent: gpp1, vendor: 0x10de, device: 0x2504, subsystem: hostCard, classCode: 0x030000,
                       revision: 0xa1, driver: "nvidia", group: 7, bootVGA: true, caps: nvidiaGPU, link: gpuLink)
        host.addDevice("0000:0b:00.1", parent: gpp1, vendor: 0x10de, device: 0x228e, subsystem: hostCard, classCode: 0x040300,
                       revision: 0xa1, driver: "snd_hda_intel", group: 7, caps: nvidiaFn, link: gpuLink)
        let guestCard: (vendor: UInt16, device: UInt16) = (0x1458, 0x4074)
        host.addDevice("0000:0c:00.0", parent: gpp2, vendor: 0x10de, device: 0x2504, subsystem: guestCard, classCode: 0x030000,
                       revision: 0xa1, driver: "nvidia", group: 8, bootVGA: false, caps: nvidiaGPU, link: gpuLink)
        host.addDevice("0000:0c:00.1", parent: gpp2, vendor: 0x10de, device: 0x228e, subsystem: guestCard, classCode: 0x040300,
                       revision: 0xa1, driver: "snd_hda_intel", group: 8, caps: nvidiaFn, link: gpuLink)

        // X570 chipset behind 00:01.3: an upstream switch port with ACS-capable downstream ports.
        let chipsetUp = host.addDevice("0000:02:00.0", parent: gpp3, vendor: 0x1022, device: 0x57ad, classCode: 0x060400,
                                       driver: "pcieport", group: 9,
                                       caps: [.pm, .pcie(.upstreamPort), .msi, .subsystemID, .aer], link: .x(4, .gen4))
        let downM2 = host.addDevice("0000:03:04.0", parent: chipsetUp, vendor: 0x1022, device: 0x57a3, classCode: 0x060400,
                                    driver: "pcieport", group: 10,
                                    caps: [.pm, .pcie(.downstreamPort), .msi, .subsystemID, .aer, .acs], link: .x(4, .gen4))
        let downNIC = host.addDevice("0000:03:08.0", parent: chipsetUp, vendor: 0x1022, device: 0x57a4, classCode: 0x060400,
                                     driver: "pcieport", group: 11,
                                     caps: [.pm, .pcie(.downstreamPort), .msi, .subsystemID, .aer, .acs], link: .x(4, .gen4))
        let downUSB = host.addDevice("0000:03:09.0", parent: chipsetUp, vendor: 0x1022, device: 0x57a4, classCode: 0x060400,
                                     driver: "pcieport", group: 12,
                                     caps: [.pm, .pcie(.downstreamPort), .msi, .subsystemID, .aer, .acs], link: .x(4, .gen4))
        host.addDevice("0000:04:00.0", parent: downM2, vendor: 0x144d, device: 0xa80a, subsystem: (0x144d, 0xa801),
                       classCode: 0x010802, driver: "nvme", group: 13,
                       caps: [.pm, .msi, .pcie(.endpoint, flr: true), .msix(tableSize: 130), .aer],
                       link: .x(4, .gen4), managedIRQs: true, block: ["nvme0n1"])
        for f in 0..<4 {
            host.addDevice("0000:05:00.\(f)", parent: downNIC, vendor: 0x8086, device: 0x1521, subsystem: (0x8086, 0x00a1),
                           classCode: 0x020000, revision: 0x01, driver: "igb", group: 14 + f,
                           caps: [.pm, .msi, .msix(tableSize: 10), .pcie(.endpoint, flr: true), .aer, .ari, .acs,
                                  .sriov(totalVFs: 7, vfDevice: 0x1520)],
                           link: .init(speed: .gen2, width: 4), net: ["enp5s0f\(f)"])
        }
        host.addDevice("0000:06:00.0", parent: downUSB, vendor: 0x1022, device: 0x149c, subsystem: board,
                       classCode: 0x0c0330, driver: "xhci_hcd", group: 18,
                       caps: [.pm, .pcie(.endpoint), .msi, .msix(tableSize: 8), .aer], link: .x(4, .gen4))
        return host
    }
}
