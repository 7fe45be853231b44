/// Packages → NUMA nodes → L3 groups → cores → SMT threads as nested boxes, with the spec's vCPU pins, emulator
/// CPUs and shielded CPUs drawn on the threads; hugepages and the GPU's node beside each node.
enum CPUMapSVG {
    static let cellW = 34
    static let cellH = 26
    static let coresPerRow = 16
    static let pad = 8
    static let titleH = 16

    struct Box { var w: Int; var h: Int; var svg: String }

    static func render(_ input: ReportInput) -> String {
        let cpu = input.host.cpu
        guard !cpu.logicalCPUs.isEmpty else { return "<p class=\"muted\">No CPU topology was readable (/sys/devices/system/cpu).</p>" }
        let spec = input.spec
        var vcpuOf: [Int: [Int]] = [:]
        for (v, host) in (spec?.cpu.pin ?? []).enumerated() { vcpuOf[host, default: []].append(v) }
        let emulator = spec?.cpu.emulator ?? .empty
        let shielded = spec?.vmCPUs ?? .empty
        let isolated = cpu.isolated.union(cpu.nohzFull)
        let gpuNodes = gpuNodesByNode(input)

        let byID = Dictionary(cpu.logicalCPUs.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let cores = cpu.cores
        var boxes: [Box] = []
        for pkg in cpu.packages.sorted() {
            let pkgCPUs = CPUSet(cpu.logicalCPUs.filter { $0.packageID == pkg }.map(\.id))
            var nodes = cpu.numaNodes.filter { !$0.cpus.intersection(pkgCPUs).isEmpty }
            if nodes.isEmpty { nodes = [NUMANode(id: -1, cpus: pkgCPUs, hugepages: [])] }
            var nodeBoxes: [Box] = []
            for node in nodes {
                let nodeCPUs = node.cpus.intersection(pkgCPUs)
                var l3s = cpu.l3Groups.map { $0.intersection(nodeCPUs) }.filter { !$0.isEmpty }
                let covered = l3s.reduce(CPUSet.empty) { $0.union($1) }
                let rest = nodeCPUs.subtracting(covered)
                if !rest.isEmpty { l3s.append(rest) }
                var l3Boxes: [Box] = []
                for (i, l3) in l3s.enumerated() {
                    let l3Cores = cores.map { $0.intersection(l3) }.filter { !$0.isEmpty }
                    let title = (rest.isEmpty || i < l3s.count - 1) ? "L3 \(l3)" : "no L3 reported: \(l3)"
                    l3Boxes.append(l3Box(title: title, cores: l3Cores, byID: byID, vcpuOf: vcpuOf, emulator: emulator,
                                         shielded: shielded, isolated: isolated))
                }
                var title = node.id >= 0 ? "NUMA node \(node.id)" : "NUMA node (not reported)"
                title += hugepageText(node, input)
                if let gpus = gpuNodes[node.id], !gpus.isEmpty { title += " · GPU \(gpus.joined(separator: ", ")) here" }
                nodeBoxes.append(stack(title: title, cls: "node", children: l3Boxes, horizontal: true))
            }
            boxes.append(stack(title: "package \(pkg)", cls: "pkg", children: nodeBoxes, horizontal: false))
        }
        let all = stack(title: nil, cls: nil, children: boxes, horizontal: false)
        return "<svg id=\"cpumap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(all.w)\" height=\"\(all.h)\" viewBox=\"0 0 \(all.w) \(all.h)\">\n"
            + all.svg + "</svg>"
    }

    static func gpuNodesByNode(_ input: ReportInput) -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        var slots = Set<PCIAddress>()
        for d in input.host.devices where d.pciClass.isDisplay && !d.isBridge && slots.insert(d.address.slot).inserted {
            out[(d.numaNode ?? -1) < 0 ? -1 : (d.numaNode ?? -1), default: []].append(d.address.shortDescription)
        }
        // Single-node hosts report -1 for every device: the GPU is on the one node.
        if input.host.cpu.numaNodes.count == 1, let only = input.host.cpu.numaNodes.first, let unplaced = out[-1] {
            out[only.id, default: []] += unplaced
        }
        return out
    }

    static func hugepageText(_ node: NUMANode, _ input: ReportInput) -> String {
        let pools = node.id >= 0 && !node.hugepages.isEmpty ? node.hugepages
            : input.host.memory.hugepages.filter { $0.node == nil }
        let used = pools.filter { $0.total > 0 }
        guard !used.isEmpty else { return " · no hugepages" }
        return " · hugepages " + used.map { p in
            "\(p.total)×\(HTML.size(kib: p.sizeKiB))" + (p.free.map { " (\($0) free)" } ?? "")
        }.joined(separator: ", ")
    }

    static func l3Box(title: String, cores: [CPUSet], byID: [Int: LogicalCPU], vcpuOf: [Int: [Int]], emulator: CPUSet,
                      shielded: CPUSet, isolated: CPUSet) -> Box {
        let threads = max(1, cores.map(\.count).max() ?? 1)
        let cols = min(coresPerRow, max(1, cores.count))
        let rows = (cores.count + coresPerRow - 1) / coresPerRow
        let coreH = threads * cellH + 4
        var svg = ""
        for (i, core) in cores.enumerated() {
            let cx = pad + (i % coresPerRow) * (cellW + 4)
            let cy = pad + titleH + (i / coresPerRow) * (coreH + 4)
            svg += "<rect class=\"core\" x=\"\(cx - 2)\" y=\"\(cy - 2)\" width=\"\(cellW + 4)\" height=\"\(coreH)\"/>"
            for (t, id) in core.cpus.enumerated() {
                var cls = "t"
                if vcpuOf[id] != nil { cls += " pin" }
                if emulator.contains(id) { cls += " emu" }
                if shielded.contains(id) { cls += " sh" }
                if isolated.contains(id) { cls += " iso" }
                let y = cy + t * cellH
                let sub = vcpuOf[id].map { "v" + $0.map(String.init).joined(separator: ",") } ?? (emulator.contains(id) ? "emu" : "")
                svg += "<g class=\"\(cls)\" data-cpu=\"\(id)\"><rect x=\"\(cx)\" y=\"\(y)\" width=\"\(cellW)\" height=\"\(cellH - 2)\" rx=\"2\"/>"
                    + "<text x=\"\(cx + cellW / 2)\" y=\"\(y + 11)\">\(id)</text>"
                    + (sub.isEmpty ? "" : "<text class=\"sub\" x=\"\(cx + cellW / 2)\" y=\"\(y + 21)\">\(sub)</text>") + "</g>"
            }
        }
        let w = max(pad * 2 + cols * (cellW + 4), Int(Double(title.count) * 7.0) + pad * 2)
        let h = pad * 2 + titleH + rows * (coreH + 4)
        let frame = "<rect class=\"l3\" width=\"\(w)\" height=\"\(h)\"/><text class=\"bt\" x=\"\(pad)\" y=\"\(pad + 10)\">\(HTML.escape(title))</text>"
        return Box(w: w, h: h, svg: frame + svg)
    }

    /// Lays children out in a row or a column under an optional title, inside a frame of class `cls`.
    static func stack(title: String?, cls: String?, children: [Box], horizontal: Bool) -> Box {
        let inset = cls == nil ? 0 : pad
        let head = title == nil ? 0 : titleH + 4
        var x = inset, y = inset + head
        var w = 0, h = 0
        var svg = ""
        for c in children {
            svg += "<g transform=\"translate(\(x),\(y))\">\(c.svg)</g>"
            if horizontal {
                x += c.w + pad
                w = x
                h = max(h, y + c.h)
            } else {
                y += c.h + pad
                h = y
                w = max(w, x + c.w)
            }
        }
        if horizontal { w = w - pad + inset } else { h = h - pad + inset; w += inset }
        if horizontal { h += inset }
        if let title { w = max(w, Int(Double(title.count) * 7.0) + inset * 2) }
        var frame = ""
        if let cls { frame += "<rect class=\"\(cls)\" width=\"\(w)\" height=\"\(h)\"/>" }
        if let title { frame += "<text class=\"bt\" x=\"\(inset)\" y=\"\(inset + 11)\">\(HTML.escape(title))</text>" }
        return Box(w: max(w, 1), h: max(h, 1), svg: frame + svg)
    }

    static func legend(_ input: ReportInput) -> String {
        var out = "<ul class=\"legend\">"
        func item(_ cls: String, _ text: String) {
            out += "<li><svg width=\"22\" height=\"14\"><g class=\"\(cls)\"><rect width=\"20\" height=\"12\" rx=\"2\"/></g></svg> \(text)</li>"
        }
        item("t", "host CPU (a column is one core, its rows the SMT threads)")
        if input.spec != nil {
            item("t pin", "vCPU pinned here (v<i>n</i>)")
            item("t emu", "emulator and iothread CPUs")
            item("t sh", "shielded by vfioctl shield --spec (thick border)")
        }
        item("t iso", "isolated at boot: isolcpus/nohz_full (dashed)")
        return out + "</ul>"
    }
}
