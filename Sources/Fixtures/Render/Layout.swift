/// A device with every default filled in: position in the tree, bus numbers, capabilities, BARs, IRQs.
struct ResolvedDevice {
    struct PlacedBAR {
        var bar: HostTree.BAR
        /// 0 when the address space ran out (the kernel leaves such a BAR unassigned).
        var base: UInt64
    }

    struct Windows {
        var io: ClosedRange<UInt64>?
        var mem: ClosedRange<UInt64>?
        var prefetch: ClosedRange<UInt64>?
    }

    var spec: HostTree.Device
    var address: HostTree.Address { spec.address }
    /// `devices/pci0000:00/0000:00:01.0/0000:01:00.0`, relative to `sys/`.
    var path = ""
    var caps: [HostTree.Capability] = []
    var portType: HostTree.PortType?
    var isPCIe: Bool { portType != nil }
    var multifunction = false
    var primaryBus: UInt8 = 0
    var secondaryBus: UInt8 = 0
    var subordinateBus: UInt8 = 0
    var vgaEnable = false
    var subsystem: (UInt16, UInt16) = (0, 0)
    var link: HostTree.Link?
    var portNumber: UInt8 = 0
    var nextFunction: UInt8 = 0
    var bars: [PlacedBAR] = []
    var windows = Windows()
    var group: Int?
    var resetMethods: [String] = []
    var powerState = "D0"
    var numaNode = -1
    var legacyIRQ = 0
    var irqs: [IRQ] = []
    var children: [HostTree.Address] = []

    /// sysfs `irq`: the MSI vector once MSI is on, else the INTx line (MSI-X leaves it at INTx).
    var irqFileValue: Int { irqs.first?.kind == .msi ? irqs[0].number : legacyIRQ }
}

/// One line of `/proc/interrupts` and its `/proc/irq/N/` directory.
struct IRQ {
    enum Kind { case ioapic, intx, msi, msix, iommu }
    var number: Int
    var kind: Kind
    /// Chip column: `IR-IO-APIC`, `IR-PCI-MSI-0000:01:00.0`, `DMAR-MSI`.
    var chip: String
    var hwirq: Int
    /// `edge` or `fasteoi`.
    var flow: String
    var actions: [String]
    var affinity: [Int]
    var effectiveCPU: Int
    var managed = false
}

/// Everything the renderers need, computed once from a ``HostTree``.
struct Layout {
    var devices: [ResolvedDevice] = []
    var index: [HostTree.Address: Int] = [:]
    var irqs: [IRQ] = []
    /// Group number → member addresses (empty when the host has no IOMMU).
    var groups: [Int: [HostTree.Address]] = [:]

    subscript(_ address: HostTree.Address) -> ResolvedDevice { devices[index[address]!] }

    init(host: HostTree) throws {
        let specs = host.devices.sorted { $0.address < $1.address }
        for (i, s) in specs.enumerated() {
            devices.append(ResolvedDevice(spec: s))
            index[s.address] = i
        }
        try resolveTopology()
        resolveCapabilities()
        resolveLinks()
        placeBARs()
        resolveGroups(host)
        for i in devices.indices { resolveMisc(&devices[i], host) }
        IRQPlanner(host: host).plan(&self)
    }

    // MARK: Topology

    private var roots: [HostTree.Address] { devices.filter { $0.spec.parent == nil }.map(\.address) }

    private mutating func resolveTopology() throws {
        for d in devices {
            guard let p = d.spec.parent else { continue }
            guard let pi = index[p] else { throw FixtureError.invalidTopology("\(d.address): parent \(p) is missing") }
            guard devices[pi].spec.isBridge else {
                throw FixtureError.invalidTopology("\(d.address): parent \(p) has class \(Format.hex(devices[pi].spec.classCode, digits: 6)), not a bridge")
            }
            devices[pi].children.append(d.address)
        }
        var used: [UInt16: Set<UInt8>] = [:]
        for d in devices { used[d.address.domain, default: []].insert(d.address.bus) }
        for i in devices.indices where devices[i].spec.isBridge {
            let kids = devices[i].children
            if let first = kids.first {
                guard kids.allSatisfy({ $0.bus == first.bus }) else {
                    throw FixtureError.invalidTopology("children of \(devices[i].address) sit on different buses")
                }
                guard first.bus != devices[i].address.bus else {
                    throw FixtureError.invalidTopology("\(first) is on the bus of its parent bridge \(devices[i].address)")
                }
                devices[i].secondaryBus = first.bus
            } else {
                // An empty slot still gets a bus number from the kernel.
                let domain = devices[i].address.domain
                var bus = UInt8(min(255, Int(used[domain]!.max()!) + 1))
                while used[domain]!.contains(bus) && bus < 255 { bus += 1 }
                used[domain]!.insert(bus)
                devices[i].secondaryBus = bus
            }
        }
        var claimed: [String: HostTree.Address] = [:]
        for d in devices where d.spec.isBridge {
            let key = "\(d.address.domain):\(d.secondaryBus)"
            if let other = claimed[key] {
                throw FixtureError.invalidTopology("\(d.address) and \(other) both lead to bus \(Format.hex(d.secondaryBus, digits: 2, prefix: false))")
            }
            claimed[key] = d.address
        }
        for d in devices where d.spec.parent == nil {
            if claimed["\(d.address.domain):\(d.address.bus)"] != nil {
                throw FixtureError.invalidTopology("\(d.address) has no parent but its bus is behind a bridge")
            }
        }
        func walk(_ a: HostTree.Address, _ prefix: String) -> UInt8 {
            let i = index[a]!
            devices[i].path = prefix + "/" + a.description
            devices[i].primaryBus = a.bus
            var maxBus = devices[i].secondaryBus
            for c in devices[i].children { maxBus = max(maxBus, walk(c, devices[i].path)) }
            devices[i].subordinateBus = devices[i].spec.isBridge ? maxBus : 0
            return max(maxBus, a.bus)
        }
        for r in roots {
            _ = walk(r, "devices/pci\(r.busName)")
        }
        for i in devices.indices {
            let a = devices[i].address
            devices[i].multifunction = devices.contains {
                $0.address != a && $0.address.domain == a.domain && $0.address.bus == a.bus && $0.address.device == a.device
            }
            let later = devices.filter {
                $0.address.domain == a.domain && $0.address.bus == a.bus && $0.address.device == a.device
                    && $0.address.function > a.function
            }
            devices[i].nextFunction = later.first?.address.function ?? 0
        }
    }

    // MARK: Capabilities

    private mutating func resolveCapabilities() {
        for i in devices.indices {
            let spec = devices[i].spec
            let parentType = spec.parent.flatMap { self[$0].portType }
            let caps = spec.caps ?? Self.defaultCaps(spec, parentType: parentType)
            devices[i].caps = caps
            for cap in caps { if case .pcie(let type, _) = cap.kind { devices[i].portType = type } }
            let baseClass = spec.classCode >> 8
            devices[i].subsystem = spec.subsystem ?? ((spec.isBridge || baseClass == 0x0600) ? (0, 0) : (spec.vendor, spec.device))
        }
    }

    static func defaultCaps(_ spec: HostTree.Device, parentType: HostTree.PortType?) -> [HostTree.Capability] {
        let cls = spec.classCode >> 8
        if cls == 0x0600 || cls == 0x0601 { return [.vendorSpecific] }
        if spec.isBridge {
            switch parentType {
            case nil: return [.pm, .msi, .pcie(.rootPort), .subsystemID, .aer, .acs]
            case .rootPort?, .downstreamPort?: return [.pm, .msi, .pcie(.upstreamPort), .aer]
            default: return [.pm, .msi, .pcie(.downstreamPort), .subsystemID, .aer, .acs]
            }
        }
        if spec.parent == nil { return [.pm, .msi] }
        var caps: [HostTree.Capability] = [.pm, .msi, .pcie(.endpoint)]
        if cls == 0x0108 || cls == 0x0200 || cls == 0x0c03 { caps.append(.msix(tableSize: cls == 0x0108 ? 33 : 10)) }
        caps.append(.aer)
        return caps
    }

    private mutating func resolveLinks() {
        func link(_ i: Int, depth: Int) -> HostTree.Link? {
            let d = devices[i]
            guard d.isPCIe else { return nil }
            if let l = d.spec.link { return l }
            if depth < 8, d.portType == .rootPort || d.portType == .downstreamPort,
               let child = d.children.first, let l = link(index[child]!, depth: depth + 1) {
                return l
            }
            if d.portType == .upstreamPort, let p = d.spec.parent, let pl = devices[index[p]!].spec.link { return pl }
            return d.spec.classCode >> 16 == 0x03 || d.portType == .upstreamPort ? .x(16) : .x(1)
        }
        for i in devices.indices {
            devices[i].link = link(i, depth: 0)
            devices[i].portNumber = devices[i].address.device
        }
    }

    // MARK: BARs and bridge windows

    static func defaultBARs(_ spec: HostTree.Device) -> [HostTree.BAR] {
        let cls = spec.classCode >> 8
        switch cls >> 8 {
        case 0x03:
            if spec.parent == nil { return [.mem64(0, size: 16 * .MiB), .mem64(2, size: 256 * .MiB, prefetchable: true), .io(4, size: 64)] }
            return [.mem32(0, size: 16 * .MiB), .mem64(1, size: 256 * .MiB, prefetchable: true),
                    .mem64(3, size: 32 * .MiB, prefetchable: true), .io(5, size: 128)]
        case 0x06: return []
        default: break
        }
        switch cls {
        case 0x0403: return [.mem32(0, size: 16 * .KiB)]
        case 0x0c03, 0x0108: return [.mem64(0, size: cls == 0x0108 ? 16 * .KiB : 64 * .KiB)]
        case 0x0106: return [.io(0, size: 8), .io(1, size: 4), .io(2, size: 8), .io(3, size: 4), .io(4, size: 32), .mem32(5, size: 2 * .KiB)]
        case 0x0200: return [.mem32(0, size: 128 * .KiB), .mem32(3, size: 16 * .KiB)]
        case 0x0c05: return [.mem64(0, size: 256), .io(4, size: 32)]
        default: return [.mem64(0, size: 16 * .KiB)]
        }
    }

    private mutating func placeBARs() {
        var mem32: UInt64 = 0x8000_0000, io: UInt64 = 0x3000, pref: UInt64 = 0x40_0000_0000
        let mem32End: UInt64 = 0xfec0_0000, ioEnd: UInt64 = 0x1_0000
        func align(_ v: UInt64, _ a: UInt64) -> UInt64 { (v + a - 1) / a * a }
        func needsIO(_ i: Int) -> Bool {
            devices[i].bars.contains { $0.bar.kind == .io }
                || devices[i].children.contains { needsIO(index[$0]!) }
        }
        for i in devices.indices {
            devices[i].bars = (devices[i].spec.bars ?? Self.defaultBARs(devices[i].spec)).map { .init(bar: $0, base: 0) }
        }
        func visit(_ i: Int) {
            for b in devices[i].bars.indices {
                let bar = devices[i].bars[b].bar
                let size = max(bar.size, 16)
                switch (bar.kind, bar.prefetchable) {
                case (.io, _):
                    let base = align(io, size)
                    if base + size <= ioEnd { devices[i].bars[b].base = base; io = base + size }
                case (.memory64, true):
                    let base = align(pref, size)
                    devices[i].bars[b].base = base
                    pref = base + size
                default:
                    let base = align(mem32, size)
                    if base + size <= mem32End { devices[i].bars[b].base = base; mem32 = base + size }
                }
            }
            guard devices[i].spec.isBridge else { return }
            let wantsIO = needsIO(i)
            if wantsIO { io = align(io, 0x1000) }
            mem32 = align(mem32, .MiB)
            pref = align(pref, .MiB)
            let (io0, m0, p0) = (io, mem32, pref)
            for c in devices[i].children { visit(index[c]!) }
            if wantsIO { io = min(ioEnd, align(io, 0x1000)) }
            mem32 = min(mem32End, align(mem32, .MiB))
            pref = align(pref, .MiB)
            if wantsIO, io > io0 { devices[i].windows.io = io0...(io - 1) }
            if mem32 > m0 { devices[i].windows.mem = m0...(mem32 - 1) }
            if pref > p0 { devices[i].windows.prefetch = p0...(pref - 1) }
        }
        for r in roots { visit(index[r]!) }
    }

    // MARK: Groups, reset, power, NUMA

    private mutating func resolveGroups(_ host: HostTree) {
        guard host.iommu.isOn else { return }
        var used = Set(devices.compactMap(\.spec.group))
        var next = 0
        for i in devices.indices {
            // The IOMMU's own function (AMD 00:00.2) is not translated by itself and joins no group.
            if devices[i].spec.classCode >> 8 == 0x0806 || devices[i].spec.group == HostTree.noGroup { continue }
            if let g = devices[i].spec.group {
                devices[i].group = g
            } else {
                while used.contains(next) { next += 1 }
                devices[i].group = next
                used.insert(next)
            }
            groups[devices[i].group!, default: []].append(devices[i].address)
        }
    }

    private func resolveMisc(_ d: inout ResolvedDevice, _ host: HostTree) {
        let spec = d.spec
        if let methods = spec.resetMethod {
            d.resetMethods = methods
        } else {
            var methods: [String] = []
            for cap in d.caps { if case .pcie(_, true) = cap.kind { methods.append("flr") } }
            for cap in d.caps { if case .pm(false) = cap.kind, !spec.isBridge { methods.append("pm") } }
            if spec.parent != nil && !spec.isBridge { methods.append("bus") }
            d.resetMethods = methods
        }
        d.powerState = spec.powerState ?? (spec.driver == "vfio-pci" ? "D3hot" : "D0")
        d.numaNode = spec.numaNode ?? (host.cpu.numaNodes > 1 ? 0 : -1)
        let cls = spec.classCode >> 8
        d.legacyIRQ = (cls == 0x0600 || cls == 0x0601) ? 0 : 16 + Int(d.address.device % 4)
        if spec.isBridge { d.vgaEnable = subtreeHasBootVGA(d) }
    }

    private func subtreeHasBootVGA(_ d: ResolvedDevice) -> Bool {
        d.children.contains { c in
            let child = self[c]
            return child.spec.bootVGA == true || subtreeHasBootVGA(child)
        }
    }
}
