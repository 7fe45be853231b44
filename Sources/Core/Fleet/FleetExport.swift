/// What an exporter produced: the file text for stdout, the same data as JSON (`--json`), and notes for the admin
/// that do not belong in the file (printed to stderr).
public struct FleetExport: Sendable {
    public var text: String
    public var json: JSON
    public var notes: [String]
}

public struct FleetExportError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension FleetReport {
    /// Devices passable only together with other cards of their group: no engine can express "these two
    /// resources go to one VM", so they are named in the notes instead of exported.
    var groupOnlyNotes: [String] {
        var out: [String] = []
        for n in nodes {
            for d in n.devices {
                if case .passableWithGroup(let others) = d.verdict {
                    out.append("not exported: \(d.id) at \(d.address) on \(n.name) shares its IOMMU group with \(others.map(\.description).joined(separator: ", ")); pass them to one VM by hand or move the card")
                }
            }
        }
        return out
    }
}

/// Block YAML for the JSON subset the exporters build (objects, arrays, strings, integers, booleans). Strings are
/// written double-quoted with JSON escapes, which YAML 1.2 reads the same way.
enum YAMLText {
    static func lines(_ value: JSON, indent: Int = 0) -> [String] {
        let pad = String(repeating: "  ", count: indent)
        switch value {
        case .object(let fields):
            return fields.flatMap { key, v -> [String] in
                switch v {
                case .object(let f) where !f.isEmpty: return ["\(pad)\(key):"] + lines(v, indent: indent + 1)
                case .array(let a) where !a.isEmpty: return ["\(pad)\(key):"] + lines(v, indent: indent + 1)
                default: return ["\(pad)\(key): \(v.serialized())"]
                }
            }
        case .array(let items):
            return items.flatMap { item -> [String] in
                let inner = lines(item, indent: indent + 1)
                guard let first = inner.first else { return [] }
                let innerPad = String(repeating: "  ", count: indent + 1)
                return ["\(pad)- " + first.dropFirst(innerPad.count)] + inner.dropFirst()
            }
        default:
            return [pad + value.serialized()]
        }
    }
}
