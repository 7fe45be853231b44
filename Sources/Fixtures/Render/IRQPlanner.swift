/// Assigns Linux IRQ numbers: the IO-APIC lines, the IOMMU's own MSI, then each bound driver's MSI/MSI-X vectors,
/// with names and affinities as drivers request them (NVMe queues are managed, one CPU each).
struct IRQPlanner {
    let host: HostTree

    /// CPUs that unmanaged IRQs may use: `irqaffinity=` when booted with it, else all.
    var allowedCPUs: [Int] {
        let all = Array(0..<host.cpu.logicalCount)
        guard let arg = KernelArgs.value(of: "irqaffinity", in: host.cmdline) else { return all }
        let list = Format.parseCPUList(arg).filter { $0 < host.cpu.logicalCount }
        return list.isEmpty ? all : list
    }

    func plan(_ layout: inout Layout) {
        let ir = host.iommu.interruptRemapping
        let prefix = ir ? "IR-" : ""
        let allowed = allowedCPUs
        let all = Array(0..<host.cpu.logicalCount)
        func effective(_ n: Int) -> Int { allowed[n % allowed.count] }

        var irqs: [IRQ] = []
        func ioapic(_ n: Int, _ flow: String, _ action: String) {
            irqs.append(IRQ(number: n, kind: .ioapic, chip: prefix + "IO-APIC", hwirq: n, flow: flow, actions: [action],
                            affinity: allowed, effectiveCPU: effective(n)))
        }
        ioapic(0, "edge", "timer")
        ioapic(1, "edge", "i8042")
        ioapic(8, "edge", "rtc0")
        ioapic(9, "fasteoi", "acpi")
        ioapic(12, "edge", "i8042")

        var next = 24
        switch host.iommu {
        case .intel(_, let units):
            for k in 0..<max(1, units) {
                irqs.append(IRQ(number: next, kind: .iommu, chip: "DMAR-MSI", hwirq: k, flow: "edge", actions: ["dmar\(k)"],
                                affinity: allowed, effectiveCPU: effective(next)))
                next += 1
            }
        case .amd:
            let own = layout.devices.first { $0.spec.classCode >> 8 == 0x0806 }
            irqs.append(IRQ(number: next, kind: .iommu, chip: own.map { "PCI-MSI-\($0.address)" } ?? "PCI-MSI", hwirq: 0,
                            flow: "edge", actions: ["AMD-Vi"], affinity: allowed, effectiveCPU: effective(next)))
            next += 1
        case .off:
            break
        }

        var naming = VectorNaming()
        for i in layout.devices.indices {
            let d = layout.devices[i]
            let names = naming.names(for: d, cpus: host.cpu.logicalCount)
            guard !names.isEmpty else { continue }
            let hasMSIX = d.caps.contains { if case .msix = $0.kind { true } else { false } }
            let hasMSI = d.caps.contains { if case .msi = $0.kind { true } else { false } }
            let kind: IRQ.Kind = hasMSIX && (names.count > 1 || !hasMSI) ? .msix : hasMSI ? .msi : .intx
            if kind == .intx {
                let line = d.legacyIRQ
                if let j = irqs.firstIndex(where: { $0.number == line }) {
                    irqs[j].actions.append(names[0])
                } else {
                    irqs.append(IRQ(number: line, kind: .intx, chip: prefix + "IO-APIC", hwirq: line, flow: "fasteoi",
                                    actions: [names[0]], affinity: allowed, effectiveCPU: effective(line)))
                }
                layout.devices[i].irqs = [irqs.last { $0.number == line }!]
                continue
            }
            let count = kind == .msi ? 1 : names.count
            let chip = prefix + (kind == .msix ? "PCI-MSIX-" : "PCI-MSI-") + d.address.description
            var mine: [IRQ] = []
            for v in 0..<count {
                var irq = IRQ(number: next, kind: kind, chip: chip, hwirq: v, flow: "edge", actions: [names[v]],
                              affinity: allowed, effectiveCPU: effective(next))
                if d.spec.managedIRQs && v > 0 {
                    let queues = count - 1
                    irq.affinity = all.filter { $0 % queues == (v - 1) % queues }
                    irq.effectiveCPU = irq.affinity.first ?? 0
                    irq.managed = true
                }
                mine.append(irq)
                next += 1
            }
            irqs.append(contentsOf: mine)
            layout.devices[i].irqs = mine
        }
        layout.irqs = irqs.sorted { $0.number < $1.number }
    }
}

/// The names drivers give their vectors in `/proc/interrupts`.
struct VectorNaming {
    var nvme = 0
    var soundCards = 0

    mutating func names(for d: ResolvedDevice, cpus: Int) -> [String] {
        if let names = d.spec.irqNames {
            let count = d.spec.irqCount ?? names.count
            return names.isEmpty ? [] : (0..<count).map { names[$0 % names.count] }
        }
        guard let driver = d.spec.driver else { return [] }
        let count = d.spec.irqCount
        func repeated(_ name: String, _ n: Int) -> [String] { Array(repeating: name, count: count ?? n) }
        switch driver {
        case "vfio-pci":
            return count.map { (0..<$0).map { "vfio-msix[\($0)](\(d.address))" } } ?? []
        case "nvme":
            let k = d.spec.blockDevices.first.flatMap { Int($0.dropFirst(4).prefix { $0.isNumber }) } ?? nvme
            nvme = max(nvme, k + 1)
            let queues = count.map { max(1, $0 - 1) } ?? min(cpus, 32)
            return ["nvme\(k)q0"] + (1...queues).map { "nvme\(k)q\($0)" }
        case "pcieport":
            return repeated(d.portType == .rootPort ? "PCIe PME, aerdrv" : "PCIe PME", 1)
        case "snd_hda_intel":
            defer { soundCards += 1 }
            return repeated("snd_hda_intel:card\(soundCards)", 1)
        case "ahci":
            return repeated("ahci[\(d.address)]", 1)
        case "i801_smbus", "piix4_smbus", "lpc_ich", "k10temp", "intel-spi", "shpchp":
            return driver == "i801_smbus" ? ["i801_smbus"] : []
        case "igb", "e1000e", "igc", "r8169", "ixgbe", "ice", "mlx5_core", "bnxt_en", "atlantic":
            guard let iface = d.spec.netInterfaces.first else { return repeated(driver, 1) }
            let queues = count.map { max(0, $0 - 1) } ?? min(cpus, 4)
            return [iface] + (0..<queues).map { "\(iface)-TxRx-\($0)" }
        default:
            return repeated(driver, 1)
        }
    }
}

/// Reads kernel command line arguments.
enum KernelArgs {
    /// The value of the last `key=value` on the line (the kernel lets later ones win).
    static func value(of key: String, in cmdline: String) -> String? {
        var found: String?
        for arg in cmdline.split(separator: " ") where arg.hasPrefix(key + "=") {
            found = String(arg.dropFirst(key.count + 1))
        }
        return found
    }

    /// A CPU list argument (`isolcpus=managed_irq,domain,2-9`), flags removed.
    static func cpuList(of key: String, in cmdline: String) -> [Int] {
        guard let value = value(of: key, in: cmdline) else { return [] }
        let list = value.split(separator: ",").filter { $0.first?.isNumber == true }.joined(separator: ",")
        return Format.parseCPUList(list)
    }
}
