extension ExampleHosts {
    /// A large server-like host for benchmarks: `devices` PCI functions (at least; whole slots are added) spread
    /// over PCI domains, each root port leading to an 8-port switch whose slots cycle through GPUs (VGA + audio,
    /// one group, alternately nvidia and vfio-pci), quad-port NICs (one group per function), NVMe drives and
    /// USB controllers. Two sockets, two NUMA nodes (one per domain pair).
    public static func synthetic(devices target: Int) -> HostTree {
        var host = HostTree()
        host.hostname = "synthetic"
        host.cpu = .init(vendor: .intel, modelName: "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", packages: 2,
                         coresPerPackage: 8, threadsPerCore: 2, l3Groups: 1, numaNodes: 2, model: 85, stepping: 7,
                         mhz: 2100, l3KiBPerGroup: 28160)
        host.memory = .init(totalGiB: 256, hugepages2M: 32768)
        host.iommu = .intel(interruptRemapping: true, units: 1)
        host.cmdline = "\(host.bootImage) root=UUID=\(uuid("synthetic")) ro quiet intel_iommu=on iommu=pt"
        host.framebuffer = .efifb
        host.inputDevices = []

        var count = 0
        var group = 0
        var nvme = 0
        func nextGroup() -> Int { defer { group += 1 }; return group }
        var domain: UInt16 = 0
        outer: while true {
            let d = String(Format.hex(domain, digits: 4, prefix: false))
            func addr(_ bus: Int, _ dev: Int, _ fn: Int) -> String {
                "\(d):\(Format.hex(UInt64(bus), digits: 2, prefix: false)):\(Format.hex(UInt64(dev), digits: 2, prefix: false)).\(fn)"
            }
            let node = Int(domain) % 2
            host.addDevice(addr(0, 0, 0), vendor: 0x8086, device: 0x2020, classCode: 0x060000, revision: 0x07,
                           group: nextGroup(), numaNode: node)
            count += 1
            var bus = 1
            for port in 1..<26 {
                guard count < target else { break outer }
                let rp = host.addDevice(addr(0, port, 0), vendor: 0x8086, device: 0x2030, classCode: 0x060400,
                                        revision: 0x07, driver: "pcieport", group: nextGroup(), link: .x(16), numaNode: node)
                let upBus = bus
                let up = host.addDevice(addr(upBus, 0, 0), parent: rp, vendor: 0x10b5, device: 0x8747, classCode: 0x060400,
                                        revision: 0xca, driver: "pcieport", group: nextGroup(), link: .x(16), numaNode: node)
                count += 2
                bus += 2
                for slot in 0..<8 {
                    guard count < target else { break outer }
                    let slotBus = bus
                    bus += 1
                    let ds = host.addDevice(addr(upBus + 1, slot, 0), parent: up, vendor: 0x10b5, device: 0x8747,
                                            classCode: 0x060400, revision: 0xca, driver: "pcieport", group: nextGroup(),
                                            numaNode: node)
                    count += 1
                    switch (port + slot) % 4 {
                    case 0:
                        let g = nextGroup()
                        let driver = slot % 2 == 0 ? "vfio-pci" : "nvidia"
                        host.addDevice(addr(slotBus, 0, 0), parent: ds, vendor: 0x10de, device: 0x2206, classCode: 0x030000,
                                       revision: 0xa1, driver: driver, group: g, bootVGA: false,
                                       caps: [.pm(noSoftReset: true), .msi, .pcie(.legacyEndpoint, flr: true), .aer],
                                       link: .x(16, .gen4),
                                       bars: [.mem32(0, size: 16 * .MiB), .mem64(1, size: 256 * .MiB, prefetchable: true)],
                                       numaNode: node)
                        host.addDevice(addr(slotBus, 0, 1), parent: ds, vendor: 0x10de, device: 0x1aef, classCode: 0x040300,
                                       revision: 0xa1, driver: driver == "nvidia" ? "snd_hda_intel" : "vfio-pci", group: g,
                                       link: .x(16, .gen4), numaNode: node)
                        count += 2
                    case 1:
                        for f in 0..<4 {
                            host.addDevice(addr(slotBus, 0, f), parent: ds, vendor: 0x8086, device: 0x1521, classCode: 0x020000,
                                           revision: 0x01, driver: "igb", group: nextGroup(),
                                           caps: [.pm, .msi, .msix(tableSize: 10), .pcie(.endpoint, flr: true), .aer, .ari],
                                           link: .init(speed: .gen2, width: 4), numaNode: node, irqs: 3,
                                           net: ["enp\(slotBus)s0f\(f)d\(domain)"])
                        }
                        count += 4
                    case 2:
                        host.addDevice(addr(slotBus, 0, 0), parent: ds, vendor: 0x144d, device: 0xa808, classCode: 0x010802,
                                       driver: "nvme", group: nextGroup(), link: .x(4), numaNode: node, irqs: 5,
                                       managedIRQs: true, block: ["nvme\(nvme)n1"])
                        nvme += 1
                        count += 1
                    default:
                        host.addDevice(addr(slotBus, 0, 0), parent: ds, vendor: 0x1b21, device: 0x2142, classCode: 0x0c0330,
                                       driver: "xhci_hcd", group: nextGroup(), link: .x(2), numaNode: node)
                        count += 1
                    }
                }
                guard bus < 240 else { break }
            }
            domain += 1
        }
        return host
    }
}
