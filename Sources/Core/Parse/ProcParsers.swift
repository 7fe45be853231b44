/// Parsers for procfs tables. Pure functions of the file text.
public enum ProcParsers {
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public let line: Int
        public let detail: String
        public var description: String { "line \(line): \(detail)" }
    }

    public struct CPUInfoSummary: Sendable, Equatable {
        public var vendorID = ""
        public var modelName = ""
        public var flags: Set<String> = []
        public var processors: [Int] = []
    }

    /// `/proc/cpuinfo`: the first block's vendor, model and flags, and every processor number.
    public static func cpuinfo(_ text: String) -> CPUInfoSummary {
        var summary = CPUInfoSummary()
        var sawFlags = false
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingASCIIWhitespace()
            let value = line[line.index(after: colon)...].trimmingASCIIWhitespace()
            switch key {
            case "processor": if let n = Int(value) { summary.processors.append(n) }
            case "vendor_id": if summary.vendorID.isEmpty { summary.vendorID = value }
            case "model name": if summary.modelName.isEmpty { summary.modelName = value }
            case "flags":
                if !sawFlags { summary.flags = Set(value.split(separator: " ").map(String.init)); sawFlags = true }
            default: break
            }
        }
        return summary
    }

    /// `/proc/modules`: first column of each line.
    public static func modules(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// `/proc/meminfo` in KiB.
    public static func meminfo(_ text: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, parts[0].hasSuffix(":"), let value = Int(parts[1]) else { continue }
            out[String(parts[0].dropLast())] = value
        }
        return out
    }

    /// `/proc/interrupts`: header of CPU columns, then one row per IRQ.
    public static func interrupts(_ text: String) throws(Malformed) -> [IRQ] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)[...]
        guard let header = lines.popFirst() else { return [] }
        let cpuCount = header.split(separator: " ").filter { $0.hasPrefix("CPU") }.count
        guard cpuCount > 0 else { throw Malformed(line: 1, detail: "header has no CPU columns") }
        var irqs: [IRQ] = []
        for (offset, line) in lines.enumerated() {
            let tokens = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let label = tokens.first, label.hasSuffix(":") else {
                throw Malformed(line: offset + 2, detail: "expected 'NAME:' at the start, read '\(line.prefix(40))'")
            }
            let name = String(label.dropLast())
            var counts: [Int] = []
            var i = 1
            while i < tokens.count, counts.count < cpuCount, let n = Int(tokens[i]) { counts.append(n); i += 1 }
            let number = Int(name)
            if number != nil && counts.count != cpuCount {
                throw Malformed(line: offset + 2, detail: "IRQ \(name) has \(counts.count) counts for \(cpuCount) CPUs")
            }
            var chip = ""
            var actions = ""
            if number != nil {
                if i < tokens.count { chip = String(tokens[i]); i += 1 }
                if i < tokens.count { i += 1 }  // hwirq-type ("2-edge")
                actions = tokens[min(i, tokens.count)...].joined(separator: " ")
            } else {
                actions = tokens[i...].joined(separator: " ")
            }
            irqs.append(IRQ(number: number, name: name, countsPerCPU: counts, chip: chip, actions: actions))
        }
        return irqs
    }

    /// cgroup layout from `/proc/mounts`: cgroup2 at /sys/fs/cgroup is v2; v1 controllers with or without a
    /// cgroup2 mount elsewhere are v1/hybrid.
    public static func cgroupLayout(mounts: String, hasV2Controllers: Bool) -> CgroupLayout {
        var v2Root = false, v2Elsewhere = false, v1 = false
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 3 else { continue }
            if f[2] == "cgroup2" { if f[1] == "/sys/fs/cgroup" { v2Root = true } else { v2Elsewhere = true } }
            if f[2] == "cgroup" { v1 = true }
        }
        if v2Root || (hasV2Controllers && !v1) { return .v2 }
        if v1 { return v2Elsewhere ? .hybrid : .v1 }
        return v2Elsewhere ? .hybrid : .none
    }

    /// Interfaces carrying a default route in `/proc/net/route` (destination 00000000, mask 00000000).
    public static func defaultRouteInterfaces(_ text: String) -> Set<String> {
        var out = Set<String>()
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if f.count >= 8, f[1] == "00000000", f[7] == "00000000" { out.insert(String(f[0])) }
        }
        return out
    }

    /// Module parameter booleans: `Y`/`N`, `1`/`0`.
    public static func parameterBool(_ text: String) -> Bool? {
        switch text.trimmingASCIIWhitespace() {
        case "Y", "y", "1": return true
        case "N", "n", "0": return false
        default: return nil
        }
    }

    /// The bracketed choice of a sysfs selector: `always [madvise] never` gives "madvise".
    public static func selectedChoice(_ text: String) -> String? {
        guard let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]"), open < close else { return nil }
        return String(text[text.index(after: open)..<close])
    }
}
