/// `sys/class/iommu/*` with the unit's registers, and the ACPI table that announced the IOMMU
/// (Intel VT-d spec ch. 8 "DMAR"; AMD IOMMU spec 5.2 "IVRS").
struct IOMMURenderer {
    let host: HostTree
    let layout: Layout

    /// sysfs directory of the IOMMU unit translating `d`, root-relative.
    static func unitPath(for d: ResolvedDevice, host: HostTree, layout: Layout) -> String? {
        switch host.iommu {
        case .intel(_, let units):
            let n = max(1, units)
            // With two or more DRHD units the first one serves the integrated GPU alone, as on client parts.
            let igpu = d.spec.parent == nil && d.spec.classCode >> 16 == 0x03
            return "sys/devices/virtual/iommu/dmar\(n > 1 && igpu ? 0 : n - 1)"
        case .amd:
            if let own = layout.devices.first(where: { $0.spec.classCode >> 8 == 0x0806 }) {
                return "sys/\(own.path)/iommu/ivhd0"
            }
            return "sys/devices/virtual/iommu/ivhd0"
        case .off:
            return nil
        }
    }

    func render(into t: inout FileTree) {
        t.directory("sys/class/iommu")
        t.directory("sys/firmware/acpi/tables")
        switch host.iommu {
        case .intel(let ir, let units):
            for k in 0..<max(1, units) {
                let dir = "sys/devices/virtual/iommu/dmar\(k)"
                t.file("\(dir)/intel-iommu/address", Format.hex(0xfed9_0000 + UInt64(k) * 0x1000, digits: 0, prefix: false) + "\n")
                t.file("\(dir)/intel-iommu/cap", "d2008c40660462\n")
                // ecap bit 3: interrupt remapping support.
                t.file("\(dir)/intel-iommu/ecap", (ir ? "f050da" : "f050d2") + "\n")
                t.file("\(dir)/intel-iommu/version", "1:0\n")
                t.directory("\(dir)/devices")
                t.link("sys/class/iommu/dmar\(k)", to: dir)
            }
            t.file("sys/firmware/acpi/tables/DMAR", bytes: dmarTable(interruptRemapping: ir, units: max(1, units)))
        case .amd:
            let own = layout.devices.first { $0.spec.classCode >> 8 == 0x0806 }
            let dir = own.map { "sys/\($0.path)/iommu/ivhd0" } ?? "sys/devices/virtual/iommu/ivhd0"
            t.file("\(dir)/amd-iommu/cap", "190f21\n")
            t.file("\(dir)/amd-iommu/features", "58f77ef22294a5a:0\n")
            t.directory("\(dir)/devices")
            t.link("sys/class/iommu/ivhd0", to: dir)
            t.file("sys/firmware/acpi/tables/IVRS", bytes: ivrsTable(iommu: own?.address))
        case .off:
            break
        }
    }

    private func acpiHeader(_ signature: String, revision: UInt8) -> [UInt8] {
        var h = Array(signature.utf8)
        h += [0, 0, 0, 0, revision, 0]
        h += Array("ALASKA".utf8) + Array("A M I   ".utf8)
        h += le32(2) + Array("INTL".utf8) + le32(0x2019_0509)
        return h
    }

    private func finish(_ table: inout [UInt8]) {
        let length = le32(UInt32(table.count))
        table.replaceSubrange(4..<8, with: length)
        let sum = table.reduce(UInt8(0)) { $0 &+ $1 }
        table[9] = 0 &- sum
    }

    /// DMAR: host address width 39 bits, INTR_REMAP flag, one DRHD per unit (the last with INCLUDE_PCI_ALL).
    func dmarTable(interruptRemapping: Bool, units: Int) -> [UInt8] {
        var t = acpiHeader("DMAR", revision: 1)
        t += [38, interruptRemapping ? 0x01 : 0x00] + [UInt8](repeating: 0, count: 10)
        for k in 0..<units {
            let last = k == units - 1
            var scopes: [UInt8] = []
            if last {
                scopes += [3, 8, 0, 0, 2, 0xf0, 0x1f, 0x00] // IOAPIC id 2 at f0:1f.0
                scopes += [4, 8, 0, 0, 0, 0x00, 0x1f, 0x00] // HPET at 00:1f.0
            } else {
                scopes += [1, 8, 0, 0, 0, 0x00, 0x02, 0x00] // the integrated GPU, 00:02.0
            }
            let length = UInt16(16 + scopes.count)
            t += le16(0) + le16(length) + [last ? 0x01 : 0x00, 0] + le16(0)
            t += le64(0xfed9_0000 + UInt64(k) * 0x1000) + scopes
        }
        finish(&t)
        return t
    }

    /// IVRS: one type-10h IVHD for segment 0 covering every device ID.
    func ivrsTable(iommu: HostTree.Address?) -> [UInt8] {
        var t = acpiHeader("IVRS", revision: 2)
        t += le32(0x0020_3041) + [UInt8](repeating: 0, count: 8)
        let bdf = iommu.map { UInt16($0.bus) << 8 | UInt16($0.device) << 3 | UInt16($0.function) } ?? 0x0002
        let entries: [UInt8] = [3, 0x00, 0x00, 0x00, 4, 0xff, 0xff, 0x00]
        t += [0x10, 0xb0] + le16(UInt16(24 + entries.count)) + le16(bdf) + le16(0x40)
        t += le64(0xfd20_0000) + le16(0) + le16(0) + le32(0x8004_8f6e) + entries
        finish(&t)
        return t
    }
}

func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { le16(UInt16(v & 0xffff)) + le16(UInt16(v >> 16)) }
func le64(_ v: UInt64) -> [UInt8] { le32(UInt32(v & 0xffff_ffff)) + le32(UInt32(v >> 32)) }
