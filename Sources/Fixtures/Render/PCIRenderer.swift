/// `sys/devices/pci*`, `sys/bus/pci/{devices,drivers}`, `sys/kernel/iommu_groups` (Documentation/ABI/testing/
/// sysfs-bus-pci, sysfs-kernel-iommu_groups).
struct PCIRenderer {
    let host: HostTree
    let layout: Layout
    let modules: ModuleSet

    func render(into t: inout FileTree) {
        t.directory("sys/bus/pci/devices")
        t.directory("sys/bus/pci/drivers")
        t.file("sys/bus/pci/drivers_probe", "")
        t.file("sys/bus/pci/drivers_autoprobe", "1\n")
        t.file("sys/bus/pci/rescan", "")
        // A driver directory exists once its module is loaded (pcieport is built in).
        var drivers: Set<String> = ["pcieport"]
        if modules.isLoaded("vfio_pci") { drivers.insert("vfio-pci") }
        for d in layout.devices {
            device(d, into: &t)
            if let name = d.spec.driver { drivers.insert(name) }
        }
        for name in drivers.sorted() {
            let dir = "sys/bus/pci/drivers/\(name)"
            for f in ["bind", "unbind", "new_id", "remove_id", "uevent"] { t.file("\(dir)/\(f)", "") }
            if let module = ModuleSet.module(ofDriver: name) {
                t.link("\(dir)/module", to: "sys/module/\(module)")
            }
        }
        for group in layout.groups.keys.sorted() {
            let dir = "sys/kernel/iommu_groups/\(group)"
            t.file("\(dir)/type", "\(groupType)\n")
            t.file("\(dir)/reserved_regions", "0x00000000fee00000 0x00000000feefffff msi\n")
            for a in layout.groups[group]! { t.link("\(dir)/devices/\(a)", to: "sys/" + layout[a].path) }
        }
    }

    /// Default domain type: `identity` with `iommu=pt`, else lazy DMA (`DMA-FQ`), unless strict is asked.
    var groupType: String {
        let pt = KernelArgs.value(of: "iommu", in: host.cmdline) == "pt"
            || KernelArgs.value(of: "amd_iommu", in: host.cmdline) == "pt"
        if pt { return "identity" }
        return KernelArgs.value(of: "iommu.strict", in: host.cmdline) == "1" ? "DMA" : "DMA-FQ"
    }

    private func device(_ d: ResolvedDevice, into t: inout FileTree) {
        let s = d.spec
        let dir = "sys/" + d.path
        func f(_ name: String, _ text: String) { t.file("\(dir)/\(name)", text + "\n") }
        f("vendor", Format.hex(s.vendor, digits: 4))
        f("device", Format.hex(s.device, digits: 4))
        f("subsystem_vendor", Format.hex(d.subsystem.0, digits: 4))
        f("subsystem_device", Format.hex(d.subsystem.1, digits: 4))
        f("class", Format.hex(s.classCode, digits: 6))
        f("revision", Format.hex(s.revision, digits: 2))
        t.file("\(dir)/config", bytes: ConfigSpace.build(d))
        f("modalias", modalias(d))
        f("resource", resourceLines(d).joined(separator: "\n"))
        f("irq", "\(d.irqFileValue)")
        f("enable", s.driver != nil ? "1" : "0")
        f("driver_override", s.driverOverride ?? "(null)")
        f("power_state", d.powerState)
        f("numa_node", "\(d.numaNode)")
        let local = d.numaNode >= 0 ? host.cpu.cpus(ofNode: d.numaNode) : Array(0..<host.cpu.logicalCount)
        f("local_cpulist", Format.cpuList(local))
        f("local_cpus", Format.cpuMask(local, bits: host.cpu.logicalCount))
        f("broken_parity_status", "0")
        f("msi_bus", "1")
        f("d3cold_allowed", "1")
        f("ari_enabled", "0")
        f("dma_mask_bits", "64")
        f("consistent_dma_mask_bits", "64")
        f("uevent", uevent(d))
        for name in ["remove", "rescan"] { t.file("\(dir)/\(name)", "") }
        if s.isVGA { f("boot_vga", s.bootVGA == true ? "1" : "0") }
        if !d.resetMethods.isEmpty {
            f("reset_method", d.resetMethods.joined(separator: " "))
            t.file("\(dir)/reset", "")
        } else if host.emptyResetMethodFile {
            t.file("\(dir)/reset_method", "")
        }
        if let link = d.link {
            f("current_link_speed", link.speed.sysfs)
            f("current_link_width", "\(link.width)")
            f("max_link_speed", link.maxSpeed.sysfs)
            f("max_link_width", "\(link.maxWidth)")
        }
        if s.isBridge {
            f("secondary_bus_number", "\(d.secondaryBus)")
            f("subordinate_bus_number", "\(d.subordinateBus)")
            let bus = HostTree.Address(domain: d.address.domain, bus: d.secondaryBus, device: 0, function: 0).busName
            t.file("\(dir)/pci_bus/\(bus)/cpulistaffinity", Format.cpuList(local) + "\n")
            t.link("sys/class/pci_bus/\(bus)", to: "\(dir)/pci_bus/\(bus)")
        }
        if d.spec.parent == nil {
            let bus = d.address.busName
            t.file("sys/devices/pci\(bus)/pci_bus/\(bus)/cpulistaffinity", Format.cpuList(local) + "\n")
            t.link("sys/class/pci_bus/\(bus)", to: "sys/devices/pci\(bus)/pci_bus/\(bus)")
        }
        for cap in d.caps {
            if case .sriov(let total, _) = cap.kind {
                f("sriov_totalvfs", "\(total)")
                f("sriov_numvfs", "0")
                f("sriov_drivers_autoprobe", "1")
            }
        }
        if s.classCode >> 16 == 0x03, d.bars.contains(where: { $0.bar.kind != .io }) && s.parent != nil {
            t.file("\(dir)/rom", bytes: [])
        }
        for b in d.bars where b.base != 0 {
            t.file("\(dir)/resource\(b.bar.index)", bytes: [])
            if b.bar.prefetchable { t.file("\(dir)/resource\(b.bar.index)_wc", bytes: []) }
        }
        let msi = d.irqs.filter { $0.kind == .msi || $0.kind == .msix }
        for irq in msi { f("msi_irqs/\(irq.number)", irq.kind == .msi ? "msi" : "msix") }

        t.link("sys/bus/pci/devices/\(d.address)", to: dir)
        t.link("\(dir)/subsystem", to: "sys/bus/pci")
        if let driver = s.driver {
            t.link("\(dir)/driver", to: "sys/bus/pci/drivers/\(driver)")
            t.link("sys/bus/pci/drivers/\(driver)/\(d.address)", to: dir)
        }
        if let g = d.group {
            t.link("\(dir)/iommu_group", to: "sys/kernel/iommu_groups/\(g)")
            if let unit = IOMMURenderer.unitPath(for: d, host: host, layout: layout) {
                t.link("\(dir)/iommu", to: unit)
                t.link("\(unit)/devices/\(d.address)", to: dir)
            }
        }
    }

    private func modalias(_ d: ResolvedDevice) -> String {
        func h(_ v: UInt64, _ n: Int) -> String { Format.hex(v, digits: n, prefix: false).uppercased() }
        let c = UInt64(d.spec.classCode)
        return "pci:v0000\(h(UInt64(d.spec.vendor), 4))d0000\(h(UInt64(d.spec.device), 4))"
            + "sv0000\(h(UInt64(d.subsystem.0), 4))sd0000\(h(UInt64(d.subsystem.1), 4))"
            + "bc\(h(c >> 16, 2))sc\(h((c >> 8) & 0xff, 2))i\(h(c & 0xff, 2))"
    }

    private func uevent(_ d: ResolvedDevice) -> String {
        var lines: [String] = []
        if let driver = d.spec.driver { lines.append("DRIVER=\(driver)") }
        lines.append("PCI_CLASS=\(Format.hex(d.spec.classCode, digits: 0, prefix: false).uppercased())")
        lines.append("PCI_ID=\(Format.hex(d.spec.vendor, digits: 4, prefix: false).uppercased()):\(Format.hex(d.spec.device, digits: 4, prefix: false).uppercased())")
        lines.append("PCI_SUBSYS_ID=\(Format.hex(d.subsystem.0, digits: 4, prefix: false).uppercased()):\(Format.hex(d.subsystem.1, digits: 4, prefix: false).uppercased())")
        lines.append("PCI_SLOT_NAME=\(d.address)")
        lines.append("MODALIAS=\(modalias(d))")
        return lines.joined(separator: "\n")
    }

    /// sysfs `resource`: `start end flags` per resource, 13 lines for functions and 17 for bridges (the four
    /// bridge windows at 13–16), as `resource_show` in drivers/pci/pci-sysfs.c prints them.
    private func resourceLines(_ d: ResolvedDevice) -> [String] {
        var lines = [(UInt64, UInt64, UInt64)](repeating: (0, 0, 0), count: d.spec.isBridge ? 17 : 13)
        for b in d.bars where b.base != 0 {
            var flags: UInt64 = 0x40000 // IORESOURCE_SIZEALIGN
            switch b.bar.kind {
            case .io: flags |= 0x100 | 0x1
            case .memory32: flags |= 0x200
            case .memory64: flags |= 0x200 | 0x100000 | 0x4
            }
            if b.bar.prefetchable { flags |= 0x2000 | 0x8 }
            lines[b.bar.index] = (b.base, b.base + b.bar.size - 1, flags)
        }
        if d.spec.isBridge {
            if let io = d.windows.io { lines[13] = (io.lowerBound, io.upperBound, 0x101) }
            if let m = d.windows.mem { lines[14] = (m.lowerBound, m.upperBound, 0x200) }
            if let p = d.windows.prefetch { lines[15] = (p.lowerBound, p.upperBound, 0x102201) }
        }
        return lines.map { "\(Format.hex($0.0, digits: 16)) \(Format.hex($0.1, digits: 16)) \(Format.hex($0.2, digits: 16))" }
    }
}
