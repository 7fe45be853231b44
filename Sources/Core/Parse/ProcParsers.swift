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
        /// The first `flags` line; nil when the file has none (empty, cut short, or not x86).
        public var flags: Set<String>?
        public var processors: [Int] = []
    }

    /// `/proc/cpuinfo`: the first block's vendor, model and flags, and every processor number.
    public static func cpuinfo(_ text: String) -> CPUInfoSummary {
        var summary = CPUInfoSummary()
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingASCIIWhitespace()
            let value = line[line.index(after: colon)...].trimmingASCIIWhitespace()
            switch key {
            case "processor": if let n = Int(value) { summary.processors.append(n) }
            case "vendor_id": if summary.vendorID.isEmpty { summary.vendorID = value }
            case "model name": if summary.modelName.isEmpty { summary.modelName = value }
            case "flags":
                if summary.flags == nil { summary.flags = Set(value.split(separator: " ").map(String.init)) }
            default: break
            }
        }
        return summary
    }

    /// `/proc/modules`: first column of each line.
    public static func modules(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// `/proc/modules`: each module's "used by" column (4th: "nvidia_modeset,nvidia_uvm," or "-"), the modules
    /// that hold it and must go before it can be unloaded.
    public static func moduleHolders(_ text: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 4 else { continue }
            out[String(f[0])] = f[3] == "-" ? [] : f[3].split(separator: ",").map(String.init)
        }
        return out
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

    /// `/proc/interrupts`: header of CPU columns, then one row per IRQ. Scans bytes: on large hosts the table
    /// is a megabyte (thousands of IRQs × hundreds of CPUs).
    public static func interrupts(_ text: String) throws(Malformed) -> [IRQ] {
        var text = text
        return try text.withUTF8 { buf in parseInterrupts(buf) }.get()
    }

    private static func parseInterrupts(_ buf: UnsafeBufferPointer<UInt8>) -> Result<[IRQ], Malformed> {
        do throws(Malformed) {
            let n = buf.count
            func lineEnd(_ from: Int) -> Int { var e = from; while e < n, buf[e] != 0x0A { e += 1 }; return e }
            func string(_ a: Int, _ b: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: buf[a..<b]), as: UTF8.self) }
            /// Next token in [i, end): (start, end) or nil.
            func token(_ i: inout Int, _ end: Int) -> (Int, Int)? {
                while i < end, buf[i] == 0x20 || buf[i] == 0x09 { i += 1 }
                guard i < end else { return nil }
                let start = i
                while i < end, buf[i] != 0x20 && buf[i] != 0x09 { i += 1 }
                return (start, i)
            }
            var pos = 0
            let headerEnd = lineEnd(0)
            var cpuCount = 0
            var h = 0
            while let (a, _) = token(&h, headerEnd) { if buf[a] == 0x43 /* C */ { cpuCount += 1 } }
            guard cpuCount > 0 else {
                if n == 0 { return .success([]) }
                throw Malformed(line: 1, detail: "header has no CPU columns")
            }
            pos = headerEnd + 1
            var irqs: [IRQ] = []
            var lineNumber = 1
            while pos < n {
                let end = lineEnd(pos)
                lineNumber += 1
                defer { pos = end + 1 }
                var i = pos
                guard let (la, lb) = token(&i, end) else { continue }
                guard buf[lb - 1] == 0x3A /* : */ else {
                    throw Malformed(line: lineNumber, detail: "expected 'NAME:' at the start, read '\(string(la, min(end, la + 40)))'")
                }
                let name = string(la, lb - 1)
                let number = Int(name)
                var counts: [Int] = []
                counts.reserveCapacity(cpuCount)
                var rest = i
                while counts.count < cpuCount {
                    var probe = rest
                    guard let (a, b) = token(&probe, end) else { break }
                    var value = 0
                    var numeric = true
                    for k in a..<b {
                        let c = buf[k]
                        if c < 0x30 || c > 0x39 { numeric = false; break }
                        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                        let (sum, o2) = times10.addingReportingOverflow(Int(c - 0x30))
                        if o1 || o2 { throw Malformed(line: lineNumber, detail: "IRQ \(name): count '\(string(a, min(b, a + 40)))' is too large") }
                        value = sum
                    }
                    guard numeric else { break }
                    counts.append(value)
                    rest = probe
                }
                if number != nil && counts.count != cpuCount {
                    throw Malformed(line: lineNumber, detail: "IRQ \(name) has \(counts.count) counts for \(cpuCount) CPUs")
                }
                var chip = ""
                if number != nil {
                    if let (a, b) = token(&rest, end) { chip = string(a, b) }
                    _ = token(&rest, end)  // hwirq-type ("2-edge")
                }
                while rest < end, buf[rest] == 0x20 || buf[rest] == 0x09 { rest += 1 }
                var actionsEnd = end
                while actionsEnd > rest, buf[actionsEnd - 1] == 0x20 || buf[actionsEnd - 1] == 0x0D { actionsEnd -= 1 }
                irqs.append(IRQ(number: number, name: name, countsPerCPU: counts, chip: chip, actions: string(rest, actionsEnd)))
            }
            return .success(irqs)
        } catch {
            return .failure(error)
        }
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
