/// Wakeup-lateness histograms of several `vfioctl latency --json` runs on one logarithmic time axis, with
/// p50/p99/p99.9/max marked per run. Counts are drawn on a log scale too, so a tail of single samples shows.
enum LatencySVG {
    static let width = 900
    static let plotLeft = 60
    static let plotRight = 880
    static let plotTop = 20
    static let plotHeight = 220
    static let markRow = 12

    /// The decade range of the x axis in nanoseconds: from the decade below the smallest bucket (at least
    /// 100 ns, so a `< 1 µs` bucket has room) to the decade above the largest maximum.
    static func axis(_ series: [LatencySeries]) -> (lo: Int, hi: Int) {
        var minNs = UInt64.max, maxNs: UInt64 = 0
        for s in series {
            for b in s.report.buckets where b.count > 0 {
                minNs = min(minNs, max(b.fromNs, 100))
                maxNs = max(maxNs, b.toNs)
            }
            maxNs = max(maxNs, s.report.max)
            if s.report.min > 0 { minNs = min(minNs, s.report.min) }
        }
        if minNs == .max { minNs = 1000 }
        maxNs = max(maxNs, minNs * 10)
        let lo = Int(HTML.log10(Double(minNs)).rounded(.down))
        var hi = Int(HTML.log10(Double(maxNs)).rounded(.up))
        if hi <= lo { hi = lo + 1 }
        return (max(2, lo), min(hi, 12))
    }

    static func x(_ ns: Double, _ axis: (lo: Int, hi: Int)) -> Double {
        let v = HTML.log10(max(ns, 1))
        let f = (v - Double(axis.lo)) / Double(axis.hi - axis.lo)
        return Double(plotLeft) + min(max(f, 0), 1) * Double(plotRight - plotLeft)
    }

    static func decadeLabel(_ d: Int) -> String {
        let units = ["ns", "ns", "ns", "µs", "µs", "µs", "ms", "ms", "ms", "s", "s", "s", "s"]
        let mult = [1, 10, 100, 1, 10, 100, 1, 10, 100, 1, 10, 100, 1000]
        guard d >= 0, d < units.count else { return "1e\(d) ns" }
        return "\(mult[d]) \(units[d])"
    }

    static func render(_ series: [LatencySeries]) -> String {
        let ax = axis(series)
        // One label row per mark (p50, p99, p99.9, max) and run: marks of similar runs lie close together.
        let height = plotTop + plotHeight + 44 + series.count * 4 * markRow
        var maxCount: UInt64 = 1
        for s in series { for b in s.report.buckets { maxCount = max(maxCount, b.count) } }
        let yMax = HTML.log10(Double(maxCount) + 1)
        func y(_ count: UInt64) -> Double {
            Double(plotTop + plotHeight) - HTML.log10(Double(count) + 1) / yMax * Double(plotHeight)
        }
        let base = plotTop + plotHeight
        var svg = "<svg id=\"latency\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">\n"
        svg += "<rect class=\"plot\" x=\"\(plotLeft)\" y=\"\(plotTop)\" width=\"\(plotRight - plotLeft)\" height=\"\(plotHeight)\"/>\n"
        for d in ax.lo...ax.hi {
            let px = HTML.num(x(pow10(d), ax))
            svg += "<line class=\"tick\" x1=\"\(px)\" y1=\"\(plotTop)\" x2=\"\(px)\" y2=\"\(base + 4)\"/>"
                + "<text class=\"axis\" x=\"\(px)\" y=\"\(base + 16)\">\(decadeLabel(d))</text>\n"
        }
        svg += "<text class=\"axis\" x=\"\(plotLeft - 8)\" y=\"\(plotTop + 8)\" text-anchor=\"end\">\(maxCount)</text>"
            + "<text class=\"axis\" x=\"\(plotLeft - 8)\" y=\"\(base)\" text-anchor=\"end\">0</text>"
            + "<text class=\"axis\" x=\"\((plotLeft + plotRight) / 2)\" y=\"\(base + 30)\">wakeup lateness (log scale); bar height: samples (log scale)</text>\n"
        for (i, s) in series.enumerated() {
            var d = ""
            for b in s.report.buckets where b.count > 0 {
                let x0 = x(Double(max(b.fromNs, 100)), ax), x1 = x(Double(b.toNs), ax)
                d += "M\(HTML.num(x0)) \(base)V\(HTML.num(y(b.count)))H\(HTML.num(x1))V\(base)Z"
            }
            svg += "<path class=\"hist s\(i % 6)\" d=\"\(d)\"/>\n"
            let r = s.report
            let first = base + 44 + i * 4 * markRow
            svg += "<text class=\"sl s\(i % 6)\" x=\"4\" y=\"\(first + 4)\">\(HTML.escape(short(s.label)))</text>"
            for (k, (name, ns)) in [("p50", r.p50), ("p99", r.p99), ("p99.9", r.p999), ("max", r.max)].enumerated() {
                let px = HTML.num(x(Double(ns), ax))
                let my = first + k * markRow
                svg += "<g class=\"mk s\(i % 6)\" data-mark=\"\(name)\"><line x1=\"\(px)\" y1=\"\(plotTop)\" x2=\"\(px)\" y2=\"\(my)\"/>"
                    + "<text x=\"\(px)\" dx=\"3\" y=\"\(my + 4)\">\(name) \(HTML.duration(ns))</text></g>"
            }
            svg += "\n"
        }
        return svg + "</svg>"
    }

    static func short(_ label: String) -> String { label.count > 9 ? String(label.prefix(8)) + "…" : label }

    static func pow10(_ d: Int) -> Double {
        var v = 1.0
        for _ in 0..<max(0, d) { v *= 10 }
        return v
    }

    static func table(_ series: [LatencySeries]) -> String {
        var out = "<table class=\"lat\"><tr><th>run</th><th>CPU</th><th>policy</th><th>samples</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th><th>idle states</th></tr>"
        for (i, s) in series.enumerated() {
            let r = s.report
            out += "<tr><td><span class=\"key s\(i % 6)\"></span>\(HTML.escape(s.label))</td><td>\(r.cpu)</td><td>SCHED_\(r.policy == .fifo ? "FIFO" : "OTHER")</td>"
                + "<td>\(r.samples)</td><td>\(HTML.duration(r.p50))</td><td>\(HTML.duration(r.p99))</td><td>\(HTML.duration(r.p999))</td>"
                + "<td>\(HTML.duration(r.max))</td><td>\(HTML.escape(r.idleStates))</td></tr>"
        }
        return out + "</table>"
    }
}
