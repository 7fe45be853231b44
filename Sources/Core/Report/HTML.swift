/// Text helpers for the report page: escaping and number formatting without Foundation.
public enum HTML {
    /// Escapes text for HTML element content and quoted attribute values. Every string that comes from the host
    /// (device names, drivers, evidence values) passes through here: a tree can carry `<script>` in a driver name.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab/newline are not allowed in HTML text; show them as U+FFFD.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" { out += "\u{FFFD}" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// An id/class-safe token from an address: `0000:06:00.0` → `0000-06-00-0`.
    static func token(_ address: PCIAddress) -> String {
        String(address.description.map { $0 == ":" || $0 == "." ? "-" : $0 })
    }

    /// One decimal place, for SVG coordinates.
    static func num(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let t = Int((v * 10).rounded())
        let sign = t < 0 ? "-" : ""
        let a = t.magnitude
        return a % 10 == 0 ? "\(sign)\(a / 10)" : "\(sign)\(a / 10).\(a % 10)"
    }

    /// Base-10 logarithm from the binary exponent and an atanh series for the mantissa (Core has no libm import).
    static func log10(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return 0 }
        let m = x.significand            // [1, 2)
        let e = Double(x.exponent)
        let y = (m - 1) / (m + 1)        // ≤ 1/3: the series converges fast
        var term = y, sum = 0.0
        var k = 1.0
        let y2 = y * y
        for _ in 0..<12 {
            sum += term / k
            term *= y2
            k += 2
        }
        let ln2 = 0.6931471805599453
        return (e * ln2 + 2 * sum) / 2.302585092994046
    }

    /// Nanoseconds as a short human value: "850 ns", "12.3 µs", "2.7 ms".
    static func duration(_ ns: UInt64) -> String {
        if ns < 1000 { return "\(ns) ns" }
        if ns < 1_000_000 { return num(Double(ns) / 1000) + " µs" }
        return num(Double(ns) / 1_000_000) + " ms"
    }

    /// KiB as MiB/GiB text.
    static func size(kib: Int) -> String {
        if kib >= 1_048_576 && kib % 1_048_576 == 0 { return "\(kib / 1_048_576) GiB" }
        if kib >= 1024 && kib % 1024 == 0 { return "\(kib / 1024) MiB" }
        return "\(kib) KiB"
    }
}
