/// `vfioctl fleet export nova`: `[pci] alias` entries for nova-api and every compute node, and per node the
/// `[pci] device_spec` entries (keys and values as nova/conf/pci.py documents them). A node that keeps a device
/// with the same vendor:device gets `address` in its device_spec, never the ids alone.
public enum NovaExport {
    public static func render(_ report: FleetReport) -> FleetExport {
        let models = report.exportable
        let slugs = FleetNames.slugs(models)
        let aliases: [JSON] = models.map { m in
            .object([
                ("name", .string(slugs[m.id] ?? "")),
                ("vendor_id", .string(hex(m.id.vendor, width: 4))),
                ("product_id", .string(hex(m.id.device, width: 4))),
                ("device_type", .string(deviceType(m.id, report))),
                ("numa_policy", .string(numaPolicy(m.id, report))),
            ])
        }
        var out = [
            "# vfioctl fleet export nova: /etc/nova/nova.conf [pci] sections.",
            "# Flavors request a device with --property \"pci_passthrough:alias\"=NAME:1.",
            "",
            "# nova-api (controllers)",
            "[pci]",
        ]
        out += aliases.map { "alias = " + $0.serialized() }
        var nodesJSON: [JSON] = []
        for n in report.nodes {
            let specs = deviceSpecs(n)
            out.append("")
            out.append("# compute node \(n.name)")
            if n.hostFails {
                out.append("# nothing to pass: \(n.hostBlockers.first { $0.status == .fail }?.title ?? "host-level failure")")
            } else if specs.isEmpty {
                out.append("# no passable device")
            } else {
                out.append("# vfio-pci must own these functions at boot, by address: \(AddressBinding.functions(n).map(\.description).joined(separator: " "))")
                for f in AddressBinding.files(n) {
                    out.append("#   \(f.path) (mode \(f.mode)):")
                    for line in f.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() { out.append("#     \(line)") }
                }
                out.append("[pci]")
                out += aliases.map { "alias = " + $0.serialized() }
                out += specs.map { "device_spec = " + $0.serialized() }
            }
            nodesJSON.append(.object([("name", .string(n.name)), ("device_spec", .array(specs))]))
        }
        let notes = report.groupOnlyNotes
        for note in notes { out.append("# \(note)") }
        return FleetExport(text: out.joined(separator: "\n") + "\n",
                           json: .object([("alias", .array(aliases)), ("nodes", .array(nodesJSON)), ("notes", .strings(notes))]),
                           notes: notes)
    }

    /// One entry per passable device: the ids alone when the node keeps no device with them, else with `address`.
    static func deviceSpecs(_ n: FleetNodeReport) -> [JSON] {
        guard !n.hostFails else { return [] }
        let passable = n.devices.filter(\.isPassable)
        let conflicts = IdenticalDevices.conflicts(host: n.host, passed: Set(AddressBinding.functions(n)))
        var out: [JSON] = []
        var byID = Set<PCIID>()
        for d in passable {
            let ids: [(String, JSON)] = [("vendor_id", .string(hex(d.id.vendor, width: 4))), ("product_id", .string(hex(d.id.device, width: 4)))]
            if conflicts[d.id] != nil {
                out.append(.object(ids + [("address", .string(d.address.description))]))
            } else if byID.insert(d.id).inserted {
                out.append(.object(ids))
            }
        }
        return out
    }

    /// `type-PF` for a function with SR-IOV (Nova: "must be specified if you wish to passthrough a device that
    /// supports SR-IOV in its entirety"), else `type-PCI`.
    static func deviceType(_ id: PCIID, _ report: FleetReport) -> String {
        let sriov = report.nodes.contains { n in
            n.devices(id).contains { $0.isPassable && n.host.device($0.address)?.capabilities?.sriov == true }
        }
        return sriov ? "type-PF" : "type-PCI"
    }

    /// `preferred` when a node with more than one NUMA node has the device on a known node (the guest should sit
    /// next to the card's memory, without failing to schedule when it cannot); `legacy` (Nova's default) when
    /// every node is a single NUMA node.
    static func numaPolicy(_ id: PCIID, _ report: FleetReport) -> String {
        let multi = report.nodes.contains { n in
            n.host.cpu.numaNodes.count > 1 && n.devices(id).contains { $0.isPassable && $0.numaNode != nil }
        }
        return multi ? "preferred" : "legacy"
    }
}
