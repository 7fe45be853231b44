/// The PCIe tree as `lspci -t` nests it (root complex → ports and bridges → functions), in drawing order.
struct PCITree {
    enum Row {
        case complex(domain: UInt32, bus: UInt8)
        case device(PCIDevice, depth: Int, parentRow: Int)
    }

    var rows: [Row] = []
    /// Row index of each device.
    var rowOf: [PCIAddress: Int] = [:]

    init(_ host: HostModel) {
        var present = Set<PCIAddress>()
        for d in host.devices { present.insert(d.address) }
        var children: [PCIAddress: [PCIDevice]] = [:]
        var roots: [PCIDevice] = []
        for d in host.devices {
            // A parent missing from the model (unreadable sysfs entry) makes the device a root-level one.
            if let parent = d.upstreamBridges.first, present.contains(parent), parent != d.address {
                children[parent, default: []].append(d)
            } else {
                roots.append(d)
            }
        }
        var seen = Set<PCIAddress>()
        var lastComplex: (UInt32, UInt8)?
        for root in roots.sorted(by: { $0.address < $1.address }) {
            let key = (root.address.domain, root.address.bus)
            if lastComplex.map({ $0 != key }) ?? true {
                rows.append(.complex(domain: key.0, bus: key.1))
                lastComplex = key
            }
            let complexRow = rows.count - 1
            // Explicit stack: a malformed tree cannot recurse without bound, and `seen` breaks cycles.
            var stack: [(PCIDevice, Int, Int)] = [(root, 1, complexRow)]
            while let (d, depth, parentRow) = stack.popLast() {
                guard seen.insert(d.address).inserted else { continue }
                rows.append(.device(d, depth: depth, parentRow: parentRow))
                let row = rows.count - 1
                rowOf[d.address] = row
                for c in (children[d.address] ?? []).sorted(by: { $0.address > $1.address }) {
                    stack.append((c, depth + 1, row))
                }
            }
        }
    }
}

/// The PCIe tree drawing: one `<g>` per device coloured by its verdict class, one outline per run of an IOMMU
/// group, all connectors in one path.
enum PCITreeSVG {
    static let rowHeight = 20
    /// The stylesheet sets it on every device box (`#pcie .d rect{height:16px}`), so 1,300 boxes do not repeat it.
    static let boxHeight = 16
    static let indent = 18
    static let top = 8
    static let left = 8
    /// Width of one character of the 11px monospace label font.
    static let charWidth = 6.7
    static let maxName = 56

    static func displayName(_ d: PCIDevice) -> String {
        let name = [d.names.vendor, d.names.device].compactMap { $0 }.joined(separator: " ")
        if !name.isEmpty { return name }
        let cls = d.names.subclassName ?? d.names.className
        let ids = "[\(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4))]"
        return cls.map { "\($0) \(ids)" } ?? "class \(d.pciClass.hex4) \(ids)"
    }

    static func label(_ d: PCIDevice) -> String {
        var name = displayName(d)
        if name.count > maxName { name = String(name.prefix(maxName - 1)) + "…" }
        var text = "\(d.address)  \(name)  [\(d.driver ?? "no driver")]"
        if d.bootVGA == true { text += "  ★ boot display" }
        return text
    }

    static func render(_ input: ReportInput) -> String {
        let host = input.host
        let tree = PCITree(host)
        var body = ""
        var edges = ""
        var outlines = ""
        var width = 300
        struct Run { var group: Int; var first: Int; var last: Int; var minX: Int; var maxX: Int }
        var runs: [Run] = []
        var xOf: [Int] = Array(repeating: left, count: tree.rows.count)

        for (i, row) in tree.rows.enumerated() {
            let y = top + i * rowHeight
            switch row {
            case .complex(let domain, let bus):
                let text = "pci\(hex(domain, width: 4)):\(hex(bus, width: 2)) root complex"
                body += "<text class=\"rc\" x=\"\(left)\" y=\"\(y + 12)\">\(text)</text>\n"
            case .device(let d, let depth, let parentRow):
                let x = left + depth * indent
                xOf[i] = x
                let text = label(d)
                let w = Int(Double(text.count) * charWidth) + 8
                width = max(width, x + w)
                let px = xOf[parentRow] + 6
                edges += "M\(px) \(top + parentRow * rowHeight + boxHeight)V\(y + boxHeight / 2)H\(x)"
                let v = input.verdicts[d.address]
                var cls = "d v-\((v?.verdict ?? .none).rawValue)"
                if d.pciClass.isDisplay && !d.isBridge { cls += " gpu" }
                if d.bootVGA == true { cls += " boot" }
                if v?.hostNeeds != nil { cls += " hc" }
                let g = d.iommuGroup.map { " data-g=\"\($0)\"" } ?? ""
                body += "<g id=\"d-\(HTML.token(d.address))\" class=\"\(cls)\"\(g) transform=\"translate(\(x),\(y))\">"
                    + "<rect width=\"\(w)\"/><text x=\"4\" y=\"12\">\(HTML.escape(text))</text></g>\n"
                if let gid = d.iommuGroup {
                    if var last = runs.last, last.group == gid, last.last == i - 1 {
                        last.last = i
                        last.minX = min(last.minX, x)
                        last.maxX = max(last.maxX, x + w)
                        runs[runs.count - 1] = last
                    } else {
                        runs.append(Run(group: gid, first: i, last: i, minX: x, maxX: x + w))
                    }
                }
            }
        }
        for r in runs {
            let x = r.minX - 3, y = top + r.first * rowHeight - 2
            let h = (r.last - r.first) * rowHeight + boxHeight + 4
            outlines += "<rect class=\"grp gc\(r.group % 10)\" x=\"\(x)\" y=\"\(y)\" width=\"\(r.maxX - r.minX + 6)\" height=\"\(h)\"/>"
                + "<text class=\"gl gt\(r.group % 10)\" x=\"\(r.maxX + 8)\" y=\"\(y + 13)\">group \(r.group)</text>\n"
            width = max(width, r.maxX + 80)
        }
        let height = top * 2 + tree.rows.count * rowHeight
        return "<svg id=\"pcie\" class=\"tree\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">\n"
            + outlines + "<path class=\"edge\" d=\"\(edges)\"/>\n" + body + "</svg>"
    }

    /// The verdict legend; counts are filled in by the page script from the drawing itself.
    static func legend() -> String {
        var out = "<ul class=\"legend\">"
        for v in PassVerdict.allCases {
            out += "<li><svg width=\"22\" height=\"14\"><g class=\"d v-\(v.rawValue)\"><rect width=\"20\" height=\"12\" rx=\"3\"/></g></svg> \(v.label) <span class=\"cnt\" data-v=\"\(v.rawValue)\"></span></li>"
        }
        out += "<li><svg width=\"22\" height=\"14\"><g class=\"d v-alone gpu\"><rect width=\"20\" height=\"12\" rx=\"3\"/></g></svg> GPU (bold)</li>"
        out += "<li><svg width=\"22\" height=\"14\"><g class=\"d v-alone boot\"><rect width=\"20\" height=\"12\" rx=\"3\"/></g></svg> ★ boot display (dashed)</li>"
        out += "<li><svg width=\"22\" height=\"14\"><g class=\"d v-alone hc\"><rect width=\"20\" height=\"12\" rx=\"3\"/></g></svg> the host needs it (dark red border)</li>"
        out += "<li><svg width=\"22\" height=\"14\"><rect class=\"grp gc1\" x=\"1\" y=\"1\" width=\"20\" height=\"12\"/></svg> IOMMU group outline</li>"
        return out + "</ul>"
    }
}
