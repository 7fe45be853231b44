/// `vfioctl fleet export proxmox`: the cluster's PCI resource mapping, `/etc/pve/mapping/pci.cfg` (pve-guest-common
/// PVE/Mapping/PCI.pm): one section per device model, named by its id line, and a tab-indented
/// `map id=VVVV:DDDD,iommugroup=N,node=NAME,path=ADDR[,subsystem-id=VVVV:DDDD]` line per passable device and node.
/// Functions a node needs itself are never mapped.
public enum ProxmoxExport {
    public static func render(_ report: FleetReport) throws(FleetExportError) -> FleetExport {
        for n in report.nodes where !validNodeName(n.name) {
            throw FleetExportError("node name \"\(escapingControls(n.name))\" is not a Proxmox VE node name (letters, digits and inner hyphens); fix the snapshot's hostname")
        }
        let models = report.exportable
        let slugs = FleetNames.slugs(models)
        var sections: [String] = []
        var json: [JSON] = []
        for m in models {
            var maps: [String] = []
            for n in report.nodes {
                for d in n.devices(m.id) where d.isPassable { if let line = mapLine(d, node: n) { maps.append(line) } }
            }
            guard let slug = slugs[m.id], !maps.isEmpty else { continue }
            sections.append(([slug] + maps.map { "\tmap " + $0 }).joined(separator: "\n") + "\n")
            json.append(.object([("id", .string(slug)), ("map", .strings(maps))]))
        }
        var notes = report.groupOnlyNotes
        if !models.isEmpty {
            for n in report.nodes where !AddressBinding.functions(n).isEmpty {
                notes.append("node \(n.name): Proxmox moves mapped functions to vfio-pci at VM start; where a host driver holds a GPU, bind by address at boot instead (driver_override for \(AddressBinding.functions(n).map(\.description).joined(separator: " ")); vfioctl fleet export kubevirt prints the modprobe.d lines)")
            }
            notes.append("in each VM: hostpciN: MAPPING,pcie=1 (qm set VMID -hostpci0 MAPPING,pcie=1); users need Mapping.Use on /mapping/pci/MAPPING")
        }
        return FleetExport(text: sections.joined(separator: "\n"), json: .object([("mappings", .array(json)), ("notes", .strings(notes))]), notes: notes)
    }

    /// The property string of one device: the whole slot (path without function) when the group holds every
    /// function of the card, with the ids and group of function 0, as PCI.pm checks them.
    static func mapLine(_ d: FleetDevice, node: FleetNodeReport) -> String? {
        let slot = d.address.slot
        let slotFunctions = node.host.devices.filter { $0.address.slot == slot }.map(\.address)
        let wholeSlot = d.functions.count > 1 && d.functions.contains(slot) && Set(slotFunctions) == Set(d.functions)
        let first = wholeSlot ? node.host.device(slot) : node.host.device(d.address)
        guard let first, let id = PCIID(first) else { return nil }
        let path = wholeSlot ? String(slot.description.dropLast(2)) : d.address.description
        var props = ["id=\(id)"]
        if let g = first.iommuGroup { props.append("iommugroup=\(g)") }
        props.append("node=\(node.name)")
        props.append("path=\(path)")
        if let v = first.subsystemVendorID, let s = first.subsystemDeviceID { props.append("subsystem-id=\(PCIID(vendor: v, device: s))") }
        return props.joined(separator: ",")
    }

    /// pve-common's `pve-node` format: `^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`.
    static func validNodeName(_ name: String) -> Bool {
        let s = Array(name.unicodeScalars)
        guard let first = s.first, let last = s.last, first.isASCIIAlphanumeric, last.isASCIIAlphanumeric else { return false }
        return s.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" }
    }
}
