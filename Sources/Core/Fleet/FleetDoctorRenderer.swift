/// `vfioctl fleet doctor`: node × device model, the verdict of every function, and host-level blockers.
public enum FleetDoctorRenderer {
    public static func text(_ report: FleetReport) -> String {
        let width = max(4, report.nodes.map(\.name.count).max() ?? 4)
        func pad(_ s: String) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
        var out: [String] = []
        out.append("vfioctl fleet doctor: \(report.nodes.count) node\(report.nodes.count == 1 ? "" : "s"), \(report.models.count) device model\(report.models.count == 1 ? "" : "s")")
        out.append("")
        out.append("Host level")
        for n in report.nodes {
            if n.hostBlockers.isEmpty {
                out.append("  \(pad(escapingControls(n.name)))  ok: IOMMU on, interrupt remapping, no ACS override")
            }
            for (i, f) in n.hostBlockers.enumerated() {
                out.append("  \(pad(i == 0 ? escapingControls(n.name) : ""))  \(f.status.rawValue.uppercased()) \(escapingControls(f.title))")
            }
        }
        for m in report.models {
            out.append("")
            let cls = m.className.map { " (\(escapingControls($0)))" } ?? ""
            out.append("\(m.id)  \(escapingControls(FleetNames.display(m)))\(cls)")
            for n in report.nodes {
                let devices = n.devices(m.id)
                if devices.isEmpty {
                    out.append("  \(pad(escapingControls(n.name)))  not present")
                    continue
                }
                for (i, d) in devices.enumerated() {
                    out.append("  \(pad(i == 0 ? escapingControls(n.name) : ""))  \(d.address)  \(escapingControls(cell(d)))")
                }
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func cell(_ d: FleetDevice) -> String {
        let companions = d.functions.filter { $0 != d.address }
        let with = companions.isEmpty ? "" : " (with \(companions.map(\.description).joined(separator: ", ")))"
        switch d.verdict {
        case .passable: return "passable" + with
        case .passableWithGroup(let others):
            return "passable with its group: \(others.map(\.description).joined(separator: ", ")) must go to the same VM" + with
        case .blocked(let reason): return "blocked: " + reason
        }
    }

    public static func json(_ report: FleetReport) -> JSON {
        .object([
            ("nodes", .array(report.nodes.map { n in
                .object([
                    ("name", .string(n.name)),
                    ("hostBlockers", .array(n.hostBlockers.map { f in
                        .object([("check", .string(f.check)), ("status", .string(f.status.rawValue)), ("title", .string(f.title)),
                                 ("evidence", .array(f.evidence.map { .object([("source", .string($0.source)), ("value", .string($0.value))]) })),
                                 ("fix", .optional(f.fix))])
                    })),
                ])
            })),
            ("devices", .array(report.models.map { m in
                .object([
                    ("id", .string(m.id.description)),
                    ("vendor", .optional(m.vendorName)),
                    ("device", .optional(m.deviceName)),
                    ("class", .optional(m.className)),
                    ("nodes", .array(report.nodes.map { n in
                        let devices = n.devices(m.id)
                        return .object([
                            ("node", .string(n.name)),
                            ("present", .bool(!devices.isEmpty)),
                            ("functions", .array(devices.map(deviceJSON))),
                        ])
                    })),
                ])
            })),
        ])
    }

    static func deviceJSON(_ d: FleetDevice) -> JSON {
        var fields: [(String, JSON)] = [
            ("address", .string(d.address.description)),
            ("verdict", .string(d.verdict.label)),
            ("with", .strings(d.functions.filter { $0 != d.address }.map(\.description))),
            ("iommuGroup", .optional(d.group)),
            ("subsystem", .optional(d.subsystem?.description)),
            ("numaNode", .optional(d.numaNode)),
        ]
        switch d.verdict {
        case .passable: break
        case .passableWithGroup(let others): fields.append(("groupAlsoHolds", .strings(others.map(\.description))))
        case .blocked(let reason): fields.append(("reason", .string(reason)))
        }
        if let f = d.groupFinding {
            fields.append(("groupCheck", .object([("status", .string(f.status.rawValue)), ("title", .string(f.title))])))
        }
        if !d.bindRefusals.isEmpty { fields.append(("bindRefusals", .strings(d.bindRefusals))) }
        return .object(fields)
    }

    /// 2 when a node cannot pass anything (no IOMMU, no interrupt remapping), 1 when no device passes anywhere,
    /// else 0.
    public static func exitStatus(_ report: FleetReport) -> Int32 {
        if report.nodes.contains(where: \.hostFails) { return 2 }
        return report.exportable.isEmpty ? 1 : 0
    }
}
