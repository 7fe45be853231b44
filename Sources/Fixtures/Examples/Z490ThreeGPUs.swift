extension ExampleHosts {
    /// An Intel Z490 desktop (i9-10900K) with three GPUs, reconstructed from public listings of such boards.
    ///
    /// - The CPU PEG ports 00:01.0/00:01.1 have no ACS, so both ports and everything behind them form group 1: the
    ///   GTX 1660 SUPER (nvidia, 4 functions) and the RX 5700 XT (amdgpu, Navi 10 reset bug, behind its own switch).
    /// - The RTX 2060 in the x4 chipset slot 00:1c.0 has a group of its own and is bound to vfio-pci at boot
    ///   (`etc/modprobe.d/vfio.conf`).
    /// - The integrated GPU boots the console (`boot_vga=1`, i915 framebuffer).
    /// - A PLX switch carries an Intel I350 quad-port NIC (one group per function) and an ASMedia USB card.
    /// - 00:1f.x (LPC, audio, SMBus, SPI, I219-V) share a group, as on the real board.
    public static func z490ThreeGPUs() -> HostTree {
        var host = HostTree()
        host.hostname = "z490"
        host.cpu = .init(vendor: .intel, modelName: "Intel(R) Core(TM) i9-10900K CPU @ 3.70GHz", coresPerPackage: 10,
                         threadsPerCore: 2, l3Groups: 1, family: 6, model: 165, stepping: 5, mhz: 3700, l3KiBPerGroup: 20480)
        host.memory = .init(totalGiB: 32, hugepages2M: 8192)
        host.iommu = .intel(interruptRemapping: true, units: 2)
        host.cmdline = "\(host.bootImage) root=UUID=\(uuid("z490")) ro quiet intel_iommu=on iommu=pt"
        host.framebuffer = .drm("i915")
        host.inputDevices = [.init(id: "usb-Logitech_USB_Receiver-event-kbd", event: 3),
                             .init(id: "usb-Logitech_USB_Receiver-if01-event-mouse", event: 4),
                             .init(id: "usb-Corsair_K70_RGB_Gaming_Keyboard-event-kbd", event: 6)]
        let board: (vendor: UInt16, device: UInt16) = (0x1462, 0x7c71)
        let nvidiaGPU: [HostTree.Capability] = [.pm(noSoftReset: true), .msi, .pcie(.legacyEndpoint, flr: true), .aer]
        let nvidiaFn: [HostTree.Capability] = [.pm(noSoftReset: true), .msi, .pcie(.endpoint), .aer]
        let pegPort: [HostTree.Capability] = [.subsystemID, .pm, .msi, .pcie(.rootPort)] // no ACS on client PEG ports

        host.addDevice("0000:00:00.0", vendor: 0x8086, device: 0x9b33, subsystem: board, classCode: 0x060000, revision: 0x05, group: 0)

        // CPU PEG, bifurcated x8/x8: one group for both ports and both cards.
        let peg0 = host.addDevice("0000:00:01.0", vendor: 0x8086, device: 0x1901, classCode: 0x060400, revision: 0x05,
                                  driver: "pcieport", group: 1, caps: pegPort, link: .x(8))
        let gtx: (vendor: UInt16, device: UInt16) = (0x1462, 0xc758)
        let gtxLink = HostTree.Link(speed: .gen3, width: 8, maxWidth: 16)
        host.addDevice("0000:01:00.0", parent: peg0, vendor: 0x10de, device: 0x21c4, subsystem: gtx, classCode: 0x030000,
                       revision: 0xa1, driver: "nvidia", group: 1, bootVGA: false, caps: nvidiaGPU, link: gtxLink)
        host.addDevice("0000:01:00.1", parent: peg0, vendor: 0x10de, device: 0x1aeb, subsystem: gtx, classCode: 0x040300,
                       revision: 0xa1, driver: "snd_hda_intel", group: 1, caps: nvidiaFn, link: gtxLink)
        host.addDevice("0000:01:00.2", parent: peg0, vendor: 0x10de, device: 0x1aec, subsystem: gtx, classCode: 0x0c0330,
                       revision: 0xa1, driver: "xhci_hcd", group: 1, caps: nvidiaFn + [.msix(tableSize: 8)], link: gtxLink)
        host.addDevice("0000:01:00.3", parent: peg0, vendor: 0x10de, device: 0x1aed, subsystem: gtx, classCode: 0x0c8000,
                       revision: 0xa1, driver: "nvidia-gpu", group: 1, caps: nvidiaFn, link: gtxLink)

        let peg1 = host.addDevice("0000:00:01.1", vendor: 0x8086, device: 0x1905, classCode: 0x060400, revision: 0x05,
                                  driver: "pcieport", group: 1, caps: pegPort, link: .x(8))
        // Navi 10 cards carry an internal switch: upstream 02:00.0, downstream 03:00.0, GPU and audio on bus 04.
        let sapphire: (vendor: UInt16, device: UInt16) = (0x1da2, 0xe410)
        let naviUp = host.addDevice("0000:02:00.0", parent: peg1, vendor: 0x1002, device: 0x1478, classCode: 0x060400,
                                    revision: 0xc1, driver: "pcieport", group: 1,
                                    caps: [.pm, .pcie(.upstreamPort), .msi, .subsystemID, .aer],
                                    link: .init(speed: .gen3, width: 8, maxSpeed: .gen4, maxWidth: 16))
        let naviDown = host.addDevice("0000:03:00.0", parent: naviUp, vendor: 0x1002, device: 0x1479, classCode: 0x060400,
                                      driver: "pcieport", group: 1,
                                      caps: [.pm, .pcie(.downstreamPort), .msi, .subsystemID, .aer], link: .x(16, .gen4))
        host.addDevice("0000:04:00.0", parent: naviDown, vendor: 0x1002, device: 0x731f, subsystem: sapphire,
                       classCode: 0x030000, revision: 0xc1, driver: "amdgpu", group: 1, bootVGA: false,
                       caps: [.vendorSpecific, .pm(noSoftReset: true), .pcie(.legacyEndpoint), .msi, .aer], link: .x(16, .gen4))
        host.addDevice("0000:04:00.1", parent: naviDown, vendor: 0x1002, device: 0xab38, subsystem: sapphire,
                       classCode: 0x040300, driver: "snd_hda_intel", group: 1,
                       caps: [.pm(noSoftReset: true), .pcie(.legacyEndpoint), .msi, .aer], link: .x(16, .gen4))

        host.addDevice("0000:00:02.0", vendor: 0x8086, device: 0x9bc5, subsystem: board, classCode: 0x030000, revision: 0x05,
                       driver: "i915", group: 2, bootVGA: true, caps: [.vendorSpecific, .msi, .pm])
        host.addDevice("0000:00:14.0", vendor: 0x8086, device: 0x06ed, subsystem: board, classCode: 0x0c0330,
                       driver: "xhci_hcd", group: 3, caps: [.pm, .msi])
        host.addDevice("0000:00:14.2", vendor: 0x8086, device: 0x06ef, subsystem: board, classCode: 0x050000, group: 3,
                       caps: [.pm], bars: [.mem64(0, size: 8 * .KiB), .mem64(2, size: 4 * .KiB)])
        host.addDevice("0000:00:16.0", vendor: 0x8086, device: 0x06e0, subsystem: board, classCode: 0x078000,
                       driver: "mei_me", group: 4, caps: [.pm, .msi])
        host.addDevice("0000:00:17.0", vendor: 0x8086, device: 0x06d2, subsystem: board, classCode: 0x010601,
                       driver: "ahci", group: 5, caps: [.msi, .pm], block: ["sda"])

        // PCH root ports implement ACS: each slot is its own group.
        let rp17 = host.addDevice("0000:00:1b.0", vendor: 0x8086, device: 0x06c0, classCode: 0x060400, revision: 0xf0,
                                  driver: "pcieport", group: 6, link: .x(4))
        host.addDevice("0000:05:00.0", parent: rp17, vendor: 0x144d, device: 0xa808, subsystem: (0x144d, 0xa801),
                       classCode: 0x010802, driver: "nvme", group: 10,
                       caps: [.pm, .msi, .pcie(.endpoint, flr: true), .msix(tableSize: 33), .aer],
                       link: .x(4), managedIRQs: true, block: ["nvme0n1"])

        let rp1 = host.addDevice("0000:00:1c.0", vendor: 0x8086, device: 0x06ba, classCode: 0x060400, revision: 0xf0,
                                 driver: "pcieport", group: 7, link: .x(4))
        let asus: (vendor: UInt16, device: UInt16) = (0x1043, 0x868e)
        let rtxLink = HostTree.Link(speed: .gen3, width: 4, maxWidth: 16)
        host.addDevice("0000:06:00.0", parent: rp1, vendor: 0x10de, device: 0x1f08, subsystem: asus, classCode: 0x030000,
                       revision: 0xa1, driver: "vfio-pci", group: 11, bootVGA: false, caps: nvidiaGPU, link: rtxLink)
        host.addDevice("0000:06:00.1", parent: rp1, vendor: 0x10de, device: 0x10f9, subsystem: asus, classCode: 0x040300,
                       revision: 0xa1, driver: "vfio-pci", group: 11, caps: nvidiaFn, link: rtxLink)
        host.addDevice("0000:06:00.2", parent: rp1, vendor: 0x10de, device: 0x1ada, subsystem: asus, classCode: 0x0c0330,
                       revision: 0xa1, driver: "vfio-pci", group: 11, caps: nvidiaFn + [.msix(tableSize: 8)], link: rtxLink)
        host.addDevice("0000:06:00.3", parent: rp1, vendor: 0x10de, device: 0x1adb, subsystem: asus, classCode: 0x0c8000,
                       revision: 0xa1, driver: "vfio-pci", group: 11, caps: nvidiaFn, link: rtxLink)

        // A PEX 8747 switch card: upstream 07:00.0, downstream ports 08:08.0 and 08:10.0.
        let rp9 = host.addDevice("0000:00:1d.0", vendor: 0x8086, device: 0x06b0, classCode: 0x060400, revision: 0xf0,
                                 driver: "pcieport", group: 8, link: .x(4))
        let plxUp = host.addDevice("0000:07:00.0", parent: rp9, vendor: 0x10b5, device: 0x8747, classCode: 0x060400,
                                   revision: 0xca, driver: "pcieport", group: 12,
                                   link: .init(speed: .gen3, width: 4, maxWidth: 16))
        let plxNIC = host.addDevice("0000:08:08.0", parent: plxUp, vendor: 0x10b5, device: 0x8747, classCode: 0x060400,
                                    revision: 0xca, driver: "pcieport", group: 13, link: .init(speed: .gen2, width: 4, maxSpeed: .gen3, maxWidth: 8))
        let plxUSB = host.addDevice("0000:08:10.0", parent: plxUp, vendor: 0x10b5, device: 0x8747, classCode: 0x060400,
                                    revision: 0xca, driver: "pcieport", group: 14, link: .init(speed: .gen3, width: 2, maxWidth: 8))
        for f in 0..<4 {
            host.addDevice("0000:09:00.\(f)", parent: plxNIC, vendor: 0x8086, device: 0x1521, subsystem: (0x8086, 0x0001),
                           classCode: 0x020000, revision: 0x01, driver: "igb", group: 15 + f,
                           caps: [.pm, .msi, .msix(tableSize: 10), .pcie(.endpoint, flr: true), .aer, .ari,
                                  .sriov(totalVFs: 7, vfDevice: 0x1520)],
                           link: .init(speed: .gen2, width: 4), net: ["enp9s0f\(f)"])
        }
        host.addDevice("0000:0a:00.0", parent: plxUSB, vendor: 0x1b21, device: 0x2142, subsystem: (0x1b21, 0x2142),
                       classCode: 0x0c0330, driver: "xhci_hcd", group: 19,
                       caps: [.msi, .msix(tableSize: 8), .pm, .pcie(.endpoint), .aer], link: .x(2))

        host.addDevice("0000:00:1f.0", vendor: 0x8086, device: 0x0685, subsystem: board, classCode: 0x060100, group: 9)
        host.addDevice("0000:00:1f.3", vendor: 0x8086, device: 0x06c8, subsystem: board, classCode: 0x040380,
                       driver: "snd_hda_intel", group: 9, caps: [.pm, .msi])
        host.addDevice("0000:00:1f.4", vendor: 0x8086, device: 0x06a3, subsystem: board, classCode: 0x0c0500,
                       driver: "i801_smbus", group: 9, caps: [])
        host.addDevice("0000:00:1f.5", vendor: 0x8086, device: 0x06a4, subsystem: board, classCode: 0x0c8000,
                       driver: "intel-spi", group: 9, caps: [], bars: [.mem32(0, size: 4 * .KiB)])
        host.addDevice("0000:00:1f.6", vendor: 0x8086, device: 0x0d4d, subsystem: board, classCode: 0x020000,
                       driver: "e1000e", group: 9, caps: [.pm, .msi], net: ["eno1"])
        return host
    }
}
