/// `vfioctl fleet export kubevirt`: the `spec.configuration.permittedHostDevices.pciHostDevices` fragment of the
/// KubeVirt CR (KubeVirt's `v1.PciHostDevice`: `pciVendorSelector` "VVVV:DDDD", `resourceName`) and, per node,
/// what KubeVirt leaves to the admin: vfio-pci bound by address (KubeVirt advertises only functions already on
/// vfio-pci) and a node label per resource for scheduling.
public enum KubeVirtExport {
    public static func render(_ report: FleetReport) -> FleetExport {
        let models = report.exportable
        let names = FleetNames.resourceNames(models)
        let devices: [JSON] = models.map { m in
            .object([("pciVendorSelector", .string(m.id.description.uppercased())), ("resourceName", .string(names[m.id] ?? ""))])
        }
        let fragment: JSON = .object([("spec", .object([("configuration", .object([("permittedHostDevices",
            .object([("pciHostDevices", .array(devices))]))]))]))])
        var out = [
            "# vfioctl fleet export kubevirt: merge into the KubeVirt CR (kubectl edit kubevirt kubevirt -n kubevirt).",
            "# KubeVirt advertises only functions already bound to vfio-pci: prepare every node as shown after the fragment.",
        ]
        out += YAMLText.lines(fragment)
        var nodesJSON: [JSON] = []
        for n in report.nodes {
            let labels = label(n, names: names)
            let files = AddressBinding.files(n)
            out.append("")
            out.append("# Node \(n.name)")
            if n.hostFails {
                out.append("#   nothing to pass: \(n.hostBlockers.first { $0.status == .fail }?.title ?? "host-level failure")")
            } else if files.isEmpty {
                out.append("#   no passable device")
            } else {
                out.append("#   bind by address (never by id), then rebuild the initramfs and reboot:")
                for (name, keeps) in twins(n) { out.append("#   \(name) is also the id of \(keeps) the host keeps") }
                for f in files {
                    out.append("#   \(f.path) (mode \(f.mode)):")
                    for line in f.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() { out.append("#     \(line)") }
                }
                out.append("#   kubectl label node \(n.name) --overwrite " + labels.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
            }
            nodesJSON.append(.object([
                ("name", .string(n.name)),
                ("bindByAddress", .strings(AddressBinding.functions(n).map(\.description))),
                ("files", .array(files.map { .object([("path", .string($0.path)), ("mode", .string($0.mode)), ("text", .string($0.text))]) })),
                ("labels", .object(labels.map { ($0.0, .string($0.1)) })),
            ]))
        }
        let notes = report.groupOnlyNotes
        for note in notes { out.append("# \(note)") }
        return FleetExport(text: out.joined(separator: "\n") + "\n",
                           json: .object([("kubevirt", fragment), ("nodes", .array(nodesJSON)), ("notes", .strings(notes))]),
                           notes: notes)
    }

    /// `vfioctl.io/pci-VVVV-DDDD=COUNT` per exported model the node can pass (a label key's name part allows
    /// at most 63 characters of [A-Za-z0-9._-]: the resource name itself does not fit).
    static func label(_ n: FleetNodeReport, names: [PCIID: String]) -> [(String, String)] {
        var count: [PCIID: Int] = [:]
        for d in n.devices where d.isPassable && names[d.id] != nil { count[d.id, default: 0] += 1 }
        return count.keys.sorted().map { ("vfioctl.io/pci-\(hex($0.vendor, width: 4))-\(hex($0.device, width: 4))", String(count[$0] ?? 0)) }
    }

    /// Ids of passed functions that the host also keeps: why binding must go by address.
    static func twins(_ n: FleetNodeReport) -> [(String, String)] {
        let conflicts = IdenticalDevices.conflicts(host: n.host, passed: Set(AddressBinding.functions(n)))
        return conflicts.keys.sorted().map { ($0.description, (conflicts[$0] ?? []).map(\.description).joined(separator: ", ")) }
    }
}
