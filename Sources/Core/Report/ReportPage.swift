/// `vfioctl report`: one self-contained HTML page (inline CSS, SVG and a few lines of script; nothing is
/// fetched) with the PCIe tree, the slot advisor, the CPU map, doctor's findings and latency histograms.
public enum ReportPage {
    public static func render(_ input: ReportInput) -> String {
        var out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        out += "<title>vfioctl report: \(HTML.escape(input.source))</title><style>\(css)</style></head><body>\n"
        out += header(input)
        out += "<section id=\"tree\"><h2>PCIe tree and IOMMU groups</h2>"
        out += "<p>Each device is coloured by doctor's verdict for passing it to a VM (the <code>device.group-isolation</code> check run for that device alone); "
            + "each IOMMU group has a coloured outline. Click a device to highlight its group.</p>"
        out += PCITreeSVG.legend()
        out += "<div class=\"scroll\">" + PCITreeSVG.render(input) + "</div></section>\n"
        out += advisor(input)
        out += "<section id=\"cpu\"><h2>CPU and memory</h2>" + cpuSummary(input) + CPUMapSVG.legend(input)
            + "<div class=\"scroll\">" + CPUMapSVG.render(input) + "</div></section>\n"
        out += doctor(input)
        out += latency(input)
        out += "<footer>Written by vfioctl report. Everything on this page is in this one file.</footer>\n"
        out += "<script>\(script)</script>\n</body></html>\n"
        return out
    }

    static func header(_ input: ReportInput) -> String {
        let host = input.host
        var out = "<header><h1>vfioctl report</h1><dl>"
        func row(_ k: String, _ v: String) { out += "<dt>\(k)</dt><dd>\(HTML.escape(v))</dd>" }
        row("host", input.source)
        row("CPU", host.cpu.modelName.isEmpty ? "(not reported)" : "\(host.cpu.modelName), \(host.cpu.logicalCPUs.count) CPUs")
        row("IOMMU", ListRenderer.iommuSummary(host))
        row("kernel command line", host.cmdline.raw)
        if let name = input.specName { row("VM spec", name + (input.spec.map { " (\($0.name): \($0.vcpus) vCPUs, \($0.memoryMiB) MiB)" } ?? "")) }
        row("doctor", DoctorRenderer.summary(input.doctor))
        out += "</dl><nav><a href=\"#tree\">PCIe tree</a> · <a href=\"#slots\">Slot advisor</a> · <a href=\"#cpu\">CPU and memory</a> · <a href=\"#doctor\">Doctor</a> · <a href=\"#latency\">Latency</a></nav></header>\n"
        return out
    }

    static func link(_ a: PCIAddress) -> String { "<a href=\"#d-\(HTML.token(a))\">\(a)</a>" }

    static func advisor(_ input: ReportInput) -> String {
        var out = "<section id=\"slots\"><h2>Slot advisor</h2>"
        let ports = SlotAdvice.ports(input.host)
        let advice = SlotAdvice.advise(input, ports: ports)
        if advice.isEmpty {
            out += "<p class=\"muted\">No GPU on this host and no --device given.</p>"
        }
        for a in advice {
            let d = input.host.device(a.device)
            out += "<div class=\"adv\"><h3>\(link(a.device)) \(HTML.escape(d.map(PCITreeSVG.displayName) ?? ""))"
                + " <span class=\"badge v-\(a.verdict.rawValue)\">\(a.verdict.label)</span></h3><ul>"
            let place = a.currentPort.map { "behind \(link($0))" } ?? "on the root complex itself (integrated: it cannot move)"
            out += "<li><b>Now:</b> \(place), IOMMU group \(a.group.map(String.init) ?? "none")"
            if let reason = input.verdicts[a.device]?.reason { out += " — \(HTML.escape(reason))" }
            out += ".</li>"
            if a.currentPort != nil && input.host.iommu.enabled {
                out += "<li><b>Isolated slots elsewhere:</b> " + (a.isolatedElsewhere.isEmpty ? "none on this board"
                    : a.isolatedElsewhere.prefix(8).map(link).joined(separator: ", ")
                    + (a.isolatedElsewhere.count > 8 ? " and \(a.isolatedElsewhere.count - 8) more" : "") + " (see the port table below)") + "</li>"
            }
            out += "<li><b>ACS override:</b> \(HTML.escape(a.acsOverride))</li></ul></div>"
        }
        if !ports.isEmpty {
            out += "<h3>Ports of this board</h3><p>Root ports and switch downstream ports, and the IOMMU group a card plugged in below each would get "
                + "(from the ports' current groups and their ACS capability, PCIe r4.0 §7.7.7). A card moved to an occupied port replaces what is there.</p>"
            out += "<table class=\"ports\"><tr><th>port</th><th>link</th><th>ACS</th><th>a card here</th><th>occupied by</th></tr>"
            for p in ports {
                let occupants = SlotAdvice.cards(p.occupants.compactMap { input.host.device($0) })
                out += "<tr class=\"\(p.isolated ? "ok" : "no")\"><td>\(p.isolated ? "✔" : "✘") \(HTML.escape(p.portKind)) \(link(p.port))</td>"
                    + "<td>\(HTML.escape(p.link ?? "?"))</td><td>\(HTML.escape(p.acs))</td><td>\(HTML.escape(p.reason))</td>"
                    + "<td>\(occupants.isEmpty ? "empty" : HTML.escape(occupants))</td></tr>"
            }
            out += "</table>"
        }
        return out + "</section>\n"
    }

    static func cpuSummary(_ input: ReportInput) -> String {
        let host = input.host
        var items: [String] = []
        items.append("\(host.cpu.packages.count) package(s), \(max(1, host.cpu.numaNodes.count)) NUMA node(s), \(host.cpu.l3Groups.count) L3 group(s), \(host.cpu.cores.count) cores, \(host.cpu.logicalCPUs.count) threads")
        if !host.cpu.isolated.isEmpty { items.append("isolcpus: \(host.cpu.isolated)") }
        if !host.cpu.nohzFull.isEmpty { items.append("nohz_full: \(host.cpu.nohzFull)") }
        let pools = host.memory.hugepages.filter { $0.node == nil && $0.total > 0 }
        items.append("hugepages: " + (pools.isEmpty ? "none reserved" : pools.map { "\($0.total)×\(HTML.size(kib: $0.sizeKiB))" + ($0.free.map { " (\($0) free)" } ?? "") }.joined(separator: ", ")))
        if let t = host.memory.transparentHugepages { items.append("transparent hugepages: \(t)") }
        if let spec = input.spec {
            items.append("VM \(spec.name): vCPUs on \(spec.vmCPUs) (\(spec.cpu.sockets) socket × \(spec.cpu.cores) cores × \(spec.cpu.threads) threads), emulator/iothreads on \(spec.cpu.emulator)")
            if let size = spec.hugepages {
                let pages = spec.memoryMiB / max(1, size.mib)
                let pool = host.memory.hugepages.first { $0.node == nil && $0.sizeKiB == size.kib }
                var text = "VM memory \(spec.memoryMiB) MiB in \(size.rawValue) pages: \(pages) pages needed"
                if let pool { text += ", \(pool.total) reserved" + (pool.free.map { ", \($0) free" } ?? "") }
                if let node = spec.numaNode { text += ", bound to NUMA node \(node)" }
                items.append(text)
            } else {
                items.append("VM memory \(spec.memoryMiB) MiB without hugepages")
            }
            let gpus = spec.devices.filter { $0.kind == .gpu }.compactMap { host.device($0.address) }
            for g in gpus {
                let node = g.numaNode.flatMap { $0 < 0 ? nil : $0 }
                let single = host.cpu.numaNodes.count <= 1
                items.append("guest GPU \(g.address): NUMA node " + (node.map(String.init) ?? (single ? "\(host.cpu.numaNodes.first?.id ?? 0) (the only one)" : "not reported"))
                    + (spec.numaNode.map { n in node.map { $0 == n ? ", the node the VM memory is bound to" : ", but the VM memory is bound to node \(n)" } ?? "" } ?? ""))
            }
        }
        return "<ul>" + items.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
    }

    static func doctor(_ input: ReportInput) -> String {
        var out = "<section id=\"doctor\"><h2>Doctor</h2><p>\(HTML.escape(DoctorRenderer.summary(input.doctor)))"
        if !input.focus.isEmpty { out += " (for " + input.focus.map(\.description).joined(separator: ", ") + ")" }
        out += "</p><table class=\"doc\"><tr><th>status</th><th>finding</th><th>evidence</th><th>why and fix</th></tr>"
        for f in input.doctor.findings {
            out += "<tr class=\"f-\(f.status.rawValue)\"><td><span class=\"st\">\(f.status.rawValue)</span></td>"
            out += "<td>\(HTML.escape(f.title))<div class=\"id\">\(HTML.escape(f.check))</div></td><td>"
            out += f.evidence.map { "<div><code>\(HTML.escape($0.source))</code>: \(HTML.escape($0.value))</div>" }.joined()
            out += "</td><td>"
            if !f.explanation.isEmpty { out += "<div>\(HTML.escape(f.explanation))</div>" }
            if let fix = f.fix { out += "<div class=\"fix\"><code>\(HTML.escape(fix))</code></div>" }
            if let ref = f.reference { out += "<div class=\"ref\">\(HTML.escape(ref))</div>" }
            out += "</td></tr>\n"
        }
        return out + "</table></section>\n"
    }

    static func latency(_ input: ReportInput) -> String {
        var out = "<section id=\"latency\"><h2>Latency</h2>"
        guard !input.latency.isEmpty else {
            return out + "<p class=\"muted\">No measurements given. Add <code>--latency FILE.json</code> (from <code>vfioctl latency --cpu N --json</code>), e.g. one before and one after <code>vfioctl shield</code>.</p></section>\n"
        }
        out += "<p>Timer-wakeup lateness of each run, on one logarithmic axis; lines mark p50, p99, p99.9 and the maximum.</p>"
        out += "<div class=\"scroll\">" + LatencySVG.render(input.latency) + "</div>" + LatencySVG.table(input.latency)
        return out + "</section>\n"
    }

    static let css = """
    body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 16px;color:#1d1d1f}
    h1{margin:.6em 0 .2em}h2{border-bottom:2px solid #ddd;margin-top:1.6em}h3{margin:.8em 0 .3em;font-size:15px}
    dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}dt{font-weight:600}dd{margin:0;word-break:break-word}
    code{white-space:pre-wrap;font-size:12px;background:#f3f3f3;padding:0 3px;border-radius:3px}.muted{color:#777}
    .scroll{overflow:auto;max-height:900px;border:1px solid #e3e3e3;border-radius:4px;background:#fcfcfc}
    svg text{font:11px monospace;fill:#1d1d1f}
    .legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 18px}.legend svg{vertical-align:middle}
    .d rect{stroke-width:1}#pcie .d rect{height:16px;rx:3px}.v-alone rect,.badge.v-alone{fill:#d4efd4;background:#d4efd4;stroke:#2e7d32}
    .v-group rect,.badge.v-group{fill:#ffeeb8;background:#ffeeb8;stroke:#a87b00}
    .v-blocked rect,.badge.v-blocked{fill:#f7cccc;background:#f7cccc;stroke:#c62828}
    .v-bridge rect,.badge.v-bridge{fill:#e8e8e8;background:#e8e8e8;stroke:#888}
    .v-none rect,.badge.v-none{fill:#e3e6f3;background:#e3e6f3;stroke:#556}
    .badge{font-size:12px;font-weight:normal;padding:1px 6px;border-radius:8px}
    .gpu text{font-weight:bold}.gpu rect{stroke-width:2.5}.boot rect{stroke-dasharray:4 2;stroke-width:2}
    .hc rect{stroke:#7a0000;stroke-width:2.5}.d{cursor:pointer}.d.sel rect,.d:target rect{stroke:#0050c8;stroke-width:3}
    .rc{font-weight:bold}.edge{fill:none;stroke:#999}.grp{fill:none;stroke-width:2;rx:5}.gl{font-size:10px}
    .gc0{stroke:#1f77b4}.gc1{stroke:#ff7f0e}.gc2{stroke:#2ca02c}.gc3{stroke:#d62728}.gc4{stroke:#9467bd}
    .gc5{stroke:#8c564b}.gc6{stroke:#e377c2}.gc7{stroke:#7f7f7f}.gc8{stroke:#bcbd22}.gc9{stroke:#17becf}
    text.gt0{fill:#1f77b4}text.gt1{fill:#ff7f0e}text.gt2{fill:#2ca02c}text.gt3{fill:#d62728}text.gt4{fill:#9467bd}
    text.gt5{fill:#8c564b}text.gt6{fill:#e377c2}text.gt7{fill:#7f7f7f}text.gt8{fill:#bcbd22}text.gt9{fill:#17becf}
    .adv{border-left:4px solid #ddd;padding-left:12px;margin:10px 0}.adv ul{margin:4px 0}.ports{table-layout:fixed}.ports th:first-child{width:17%}.ports th:nth-child(2){width:11%}.ports th:nth-child(3){width:7%}.ports th:nth-child(4){width:36%}.ports tr.ok td:first-child{color:#1b5e20}.ports tr.no td:first-child{color:#8a1c1c}
        .pkg{fill:#f4f6fb;stroke:#445}.node{fill:#eef3ee;stroke:#575}.l3{fill:#fff;stroke:#99a}.core{fill:none;stroke:#ccc}
    .bt{font-weight:bold}.t rect{fill:#fafafa;stroke:#aaa}.t text{text-anchor:middle}.t .sub{font-size:9px}
    .t.pin rect{fill:#bcd7ff;stroke:#1a56b0}.t.emu rect{fill:#ffd9a8;stroke:#b46000}.t.sh rect{stroke:#111;stroke-width:2.5}
    .t.iso rect{stroke-dasharray:3 2}
    table{border-collapse:collapse;width:100%;margin:8px 0}.doc{table-layout:fixed}.doc th:first-child{width:70px}.doc th:nth-child(2){width:26%}.doc th:nth-child(3){width:32%}td,th{word-break:break-word;border-bottom:1px solid #e5e5e5;padding:4px 6px;vertical-align:top;text-align:left}
    .doc .id{color:#888;font-size:11px}.doc .fix code{background:#eef6ee}.doc .ref{font-size:11px;color:#666;word-break:break-all}
    .st{font-weight:bold;text-transform:uppercase;font-size:11px;padding:1px 5px;border-radius:3px}
    .f-pass .st{background:#d4efd4}.f-info .st{background:#dde8f7}.f-warn .st{background:#ffeeb8}.f-fail .st,.f-crashed .st{background:#f7cccc}.f-skipped .st{background:#eee}
    .plot{fill:#fff;stroke:#aaa}.tick{stroke:#ddd}.axis{text-anchor:middle;fill:#555}
    .hist{fill-opacity:.25;stroke-width:1.5}.mk line{stroke-width:1;stroke-dasharray:2 2}.mk text{font-size:10px;stroke:none}text.sl{stroke:none;font-weight:bold}
    .s0{fill:#1f77b4;stroke:#1f77b4}.s1{fill:#d62728;stroke:#d62728}.s2{fill:#2ca02c;stroke:#2ca02c}
    .s3{fill:#9467bd;stroke:#9467bd}.s4{fill:#ff7f0e;stroke:#ff7f0e}.s5{fill:#17becf;stroke:#17becf}
    .key{display:inline-block;width:10px;height:10px;margin-right:6px}.key.s0{background:#1f77b4}
    .key.s1{background:#d62728}.key.s2{background:#2ca02c}.key.s3{background:#9467bd}.key.s4{background:#ff7f0e}.key.s5{background:#17becf}
    footer{color:#888;font-size:12px;margin:2em 0}
    """

    /// Fills the legend counts from the drawing and highlights a clicked device's group.
    static let script = """
    (function(){var c={};document.querySelectorAll('#pcie g.d').forEach(function(g){var v=g.getAttribute('class').split(' ')[1].slice(2);c[v]=(c[v]||0)+1;});
    document.querySelectorAll('.cnt').forEach(function(s){s.textContent='('+(c[s.getAttribute('data-v')]||0)+')';});
    var svg=document.getElementById('pcie');if(!svg)return;
    svg.addEventListener('click',function(e){var g=e.target.closest('g.d');svg.querySelectorAll('.sel').forEach(function(x){x.classList.remove('sel');});
    if(!g||!g.getAttribute('data-g'))return;svg.querySelectorAll('g.d[data-g="'+g.getAttribute('data-g')+'"]').forEach(function(x){x.classList.add('sel');});});})();
    """
}
