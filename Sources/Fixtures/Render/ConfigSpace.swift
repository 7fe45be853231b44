/// Builds the bytes of sysfs `config`: a type-0 or type-1 header (PCI Local Bus 3.0 ch. 6.1), the capability
/// list from 0x40 (ch. 6.7) and, for PCIe functions, extended capabilities from 0x100 (PCIe r4.0 7.6).
struct ConfigSpace {
    private(set) var bytes: [UInt8]

    init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }

    mutating func put8(_ offset: Int, _ value: UInt8) { bytes[offset] = value }
    mutating func put16(_ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value & 0xff)
        bytes[offset + 1] = UInt8(value >> 8)
    }
    mutating func put32(_ offset: Int, _ value: UInt32) {
        put16(offset, UInt16(value & 0xffff))
        put16(offset + 2, UInt16(value >> 16))
    }

    /// The config space of one resolved function.
    static func build(_ d: ResolvedDevice) -> [UInt8] {
        var c = ConfigSpace(size: d.isPCIe ? 4096 : 256)
        let spec = d.spec
        c.put16(0x00, spec.vendor)
        c.put16(0x02, spec.device)
        var command: UInt16 = 0
        if d.bars.contains(where: { $0.bar.kind == .io && $0.base != 0 }) || d.windows.io != nil { command |= 0x1 }
        if d.bars.contains(where: { $0.bar.kind != .io && $0.base != 0 }) || d.windows.mem != nil
            || d.windows.prefetch != nil { command |= 0x2 }
        if spec.driver != nil { command |= 0x4 }
        if !d.irqs.isEmpty && d.irqs.first?.kind != .intx { command |= 0x400 } // INTx disabled while MSI is used
        c.put16(0x04, command)
        var status: UInt16 = 0x0010 * (d.caps.contains { !$0.isExtended } ? 1 : 0)
        if !d.isPCIe { status |= 0x0200 } // DEVSEL medium, as conventional functions report it
        c.put16(0x06, status)
        c.put8(0x08, spec.revision)
        c.put8(0x09, UInt8(spec.classCode & 0xff))
        c.put8(0x0a, UInt8((spec.classCode >> 8) & 0xff))
        c.put8(0x0b, UInt8((spec.classCode >> 16) & 0xff))
        c.put8(0x0c, 0x10) // cache line size: 64 bytes
        let type: UInt8 = spec.isBridge ? 1 : 0
        c.put8(0x0e, type | (d.multifunction ? 0x80 : 0))

        for placed in d.bars where placed.bar.index < (type == 1 ? 2 : 6) {
            let offset = 0x10 + 4 * placed.bar.index
            switch placed.bar.kind {
            case .io:
                c.put32(offset, UInt32(placed.base) | 0x1)
            case .memory32:
                c.put32(offset, UInt32(placed.base) | (placed.bar.prefetchable ? 0x8 : 0))
            case .memory64:
                c.put32(offset, UInt32(placed.base & 0xffff_ffff) | 0x4 | (placed.bar.prefetchable ? 0x8 : 0))
                c.put32(offset + 4, UInt32(placed.base >> 32))
            }
        }

        if type == 0 {
            let sub = d.subsystem
            c.put16(0x2c, sub.0)
            c.put16(0x2e, sub.1)
        } else {
            c.put8(0x18, d.primaryBus)
            c.put8(0x19, d.secondaryBus)
            c.put8(0x1a, d.subordinateBus)
            c.putWindows(d.windows)
            c.put16(0x3e, 0x0010 | (d.vgaEnable ? 0x0008 : 0)) // bridge control: ISA enable off, VGA when routed
        }
        c.put8(0x3c, UInt8(truncatingIfNeeded: d.legacyIRQ))
        c.put8(0x3d, d.legacyIRQ > 0 ? 1 : 0) // INTA

        c.putCapabilities(d)
        return c.bytes
    }

    private mutating func putWindows(_ w: ResolvedDevice.Windows) {
        // Closed windows read base > limit (PCI-to-PCI Bridge 1.2, 3.2.5.6).
        if let io = w.io {
            put8(0x1c, UInt8((io.lowerBound >> 8) & 0xf0) | 0x1)
            put8(0x1d, UInt8((io.upperBound >> 8) & 0xf0) | 0x1)
            put16(0x30, UInt16(io.lowerBound >> 16))
            put16(0x32, UInt16(io.upperBound >> 16))
        } else {
            put8(0x1c, 0xf1)
            put8(0x1d, 0x01)
        }
        if let mem = w.mem {
            put16(0x20, UInt16((mem.lowerBound >> 16) & 0xfff0))
            put16(0x22, UInt16((mem.upperBound >> 16) & 0xfff0))
        } else {
            put16(0x20, 0xfff0)
            put16(0x22, 0x0000)
        }
        if let pf = w.prefetch {
            put16(0x24, UInt16((pf.lowerBound >> 16) & 0xfff0) | 0x1)
            put16(0x26, UInt16((pf.upperBound >> 16) & 0xfff0) | 0x1)
            put32(0x28, UInt32(pf.lowerBound >> 32))
            put32(0x2c, UInt32(pf.upperBound >> 32))
        } else {
            put16(0x24, 0xfff1)
            put16(0x26, 0x0001)
        }
    }

    private mutating func putCapabilities(_ d: ResolvedDevice) {
        let standard = d.caps.filter { !$0.isExtended }
        let extended = d.caps.filter { $0.isExtended }
        var offset = 0x40
        var previousNext: Int? = nil
        for cap in standard {
            let size = ConfigSpace.size(of: cap)
            if let p = previousNext { put8(p, UInt8(offset)) } else { put8(0x34, UInt8(offset)) }
            putStandard(cap, at: offset, d)
            previousNext = offset + 1
            offset = (offset + size + 7) & ~7
        }
        guard d.isPCIe, !extended.isEmpty else { return }
        offset = 0x100
        var previousHeader: Int? = nil
        for cap in extended {
            if let p = previousHeader {
                let header = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16
                put32(p, header | UInt32(offset) << 20)
            }
            putExtended(cap, at: offset, d)
            previousHeader = offset
            offset = (offset + ConfigSpace.size(of: cap) + 7) & ~7
        }
    }

    static func size(of cap: HostTree.Capability) -> Int {
        switch cap.kind {
        case .pm: 8
        case .msi: 24
        case .msix: 12
        case .pcie: 0x3c
        case .subsystemID: 8
        case .vendorSpecific: 12
        case .aer: 0x48
        case .acs: 8
        case .ari: 8
        case .sriov: 0x40
        }
    }

    private mutating func putStandard(_ cap: HostTree.Capability, at o: Int, _ d: ResolvedDevice) {
        switch cap.kind {
        case .pm(let noSoftReset):
            put8(o, 0x01)
            put16(o + 2, 0x0003 | 0xc800) // version 3, PME from D3hot and D3cold
            var csr: UInt16 = noSoftReset ? 0x0008 : 0
            if d.powerState == "D3hot" { csr |= 0x3 }
            put16(o + 4, csr)
        case .msi(let vectors):
            put8(o, 0x05)
            let log2 = UInt16(max(0, Int(ceilLog2(vectors))))
            var control: UInt16 = 0x0080 | 0x0100 | (log2 << 1) // 64-bit, per-vector masking
            if d.irqs.first?.kind == .msi { control |= 0x0001 }
            put16(o + 2, control)
            if d.irqs.first?.kind == .msi {
                put32(o + 4, 0xfee0_0000 | UInt32(d.irqs.first!.effectiveCPU) << 12)
                put16(o + 12, UInt16(0x20 + d.irqs.first!.number % 0xc0))
            }
        case .msix(let tableSize):
            put8(o, 0x11)
            var control = UInt16(max(1, tableSize) - 1) & 0x07ff
            if d.irqs.first?.kind == .msix { control |= 0x8000 }
            put16(o + 2, control)
            let bir = UInt32(d.bars.first { $0.bar.kind != .io }?.bar.index ?? 0)
            put32(o + 4, 0x2000 | bir)
            put32(o + 8, 0x3000 | bir)
        case .pcie(let type, let flr):
            put8(o, 0x10)
            let slot: UInt16 = (type == .rootPort || type == .downstreamPort) ? 0x0100 : 0
            put16(o + 2, 0x0002 | UInt16(type.rawValue) << 4 | slot) // capability version 2
            var devcap: UInt32 = 0x0000_8001 | 0x0000_0e00 // 256-byte MPS, L0s/L1 acceptable latency
            if flr { devcap |= 1 << 28 }
            if type == .endpoint || type == .legacyEndpoint { devcap |= 0x0000_0fc0 }
            put32(o + 4, devcap)
            put16(o + 8, 0x2810) // relaxed ordering, no-snoop, MPS 128, MRRS 512
            if let link = d.link {
                // Ports report Data Link Layer Active (cap bit 20, status bit 13), as hotplug-capable ports do.
                let port = type == .rootPort || type == .downstreamPort
                put32(o + 0x0c, UInt32(link.maxSpeed.rawValue) | UInt32(link.maxWidth) << 4 | 0x0003_c800
                      | (port ? 1 << 20 : 0) | UInt32(d.portNumber) << 24)
                put16(o + 0x10, 0x0040) // common clock
                put16(o + 0x12, UInt16(link.speed.rawValue) | UInt16(link.width) << 4 | 0x1000 | (port ? 0x2000 : 0))
                put32(o + 0x2c, UInt32((1 << link.maxSpeed.rawValue) - 1) << 1) // supported speeds vector
                put16(o + 0x30, UInt16(link.maxSpeed.rawValue))
            }
            if slot != 0 {
                put32(o + 0x14, UInt32(d.portNumber) << 19 | 75 << 7) // slot number, 75 W, no hot-plug
                put16(o + 0x1a, 0x0040) // presence detect: a card is in the slot
            }
            var devcap2: UInt32 = 0x0000_001f // completion timeout ranges, disable supported
            if type == .downstreamPort || type == .rootPort { devcap2 |= 1 << 5 } // ARI forwarding
            put32(o + 0x24, devcap2)
        case .subsystemID:
            put8(o, 0x0d)
            put16(o + 4, d.subsystem.0)
            put16(o + 6, d.subsystem.1)
        case .vendorSpecific:
            put8(o, 0x09)
            put8(o + 2, 0x0c)
        case .aer, .acs, .ari, .sriov:
            break
        }
    }

    private mutating func putExtended(_ cap: HostTree.Capability, at o: Int, _ d: ResolvedDevice) {
        func header(_ id: UInt32, version: UInt32) { put32(o, id | version << 16) }
        switch cap.kind {
        case .aer:
            header(0x0001, version: 2)
            put32(o + 0x0c, 0x0046_2030) // uncorrectable severity, spec default
            put32(o + 0x14, 0x0000_2000) // correctable mask: advisory non-fatal
        case .acs(let capability, let control):
            header(0x000d, version: 1)
            put16(o + 4, capability)
            put16(o + 6, control)
        case .ari:
            header(0x000e, version: 1)
            put16(o + 4, UInt16(d.nextFunction) << 8)
        case .sriov(let total, let vfDevice):
            header(0x0010, version: 1)
            put32(o + 4, 0x0000_0002) // ARI capable hierarchy preserved
            put16(o + 0x0c, UInt16(total))
            put16(o + 0x0e, UInt16(total))
            put16(o + 0x14, 0x0080) // first VF offset
            put16(o + 0x16, 0x0002) // VF stride
            put16(o + 0x1a, vfDevice)
            put32(o + 0x1c, 0x0000_0553) // supported page sizes
            put32(o + 0x20, 0x0000_0001) // system page size 4K
        default:
            break
        }
    }
}

func ceilLog2(_ n: Int) -> Int {
    var k = 0
    while (1 << k) < n { k += 1 }
    return k
}
