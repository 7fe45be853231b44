/// Text formats the kernel uses in sysfs and procfs.
enum Format {
    /// `0x10de` style, zero-padded to `digits`.
    static func hex(_ value: UInt64, digits: Int, prefix: Bool = true) -> String {
        let s = String(value, radix: 16)
        let padded = String(repeating: "0", count: max(0, digits - s.count)) + s
        return prefix ? "0x" + padded : padded
    }

    static func hex<T: BinaryInteger>(_ value: T, digits: Int, prefix: Bool = true) -> String {
        hex(UInt64(value), digits: digits, prefix: prefix)
    }

    /// A CPU list as the kernel prints it (`%*pbl`): `0-2,12-14`; empty for no CPUs.
    static func cpuList(_ cpus: [Int]) -> String {
        let sorted = Array(Set(cpus)).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count, sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// A CPU mask as the kernel prints it (`%*pb`): 32-bit hex words separated by commas, the first one only as
    /// wide as `bits` needs (`fffff` for 20 CPUs, `ff,ffffffff` for 40).
    static func cpuMask(_ cpus: [Int], bits: Int) -> String {
        let words = max(1, (bits + 31) / 32)
        var values = [UInt32](repeating: 0, count: words)
        for cpu in cpus where cpu >= 0 && cpu < bits { values[cpu / 32] |= 1 << UInt32(cpu % 32) }
        var parts: [String] = []
        for w in (0..<words).reversed() {
            let width = w == words - 1 ? ((bits - 32 * w) + 3) / 4 : 8
            parts.append(hex(UInt64(values[w]), digits: min(8, width), prefix: false))
        }
        return parts.joined(separator: ",")
    }

    /// Parses `0-3,8,10-11` into CPU numbers; ignores anything it cannot read.
    static func parseCPUList(_ text: String) -> [Int] {
        var out: [Int] = []
        for part in text.split(separator: ",") {
            let ends = part.split(separator: "-")
            if ends.count == 1, let a = Int(ends[0]) { out.append(a) }
            if ends.count == 2, let a = Int(ends[0]), let b = Int(ends[1]), a <= b { out.append(contentsOf: a...b) }
        }
        return out
    }

    static func leftPad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    static func rightPad(_ s: String, _ width: Int) -> String {
        s + String(repeating: " ", count: max(0, width - s.count))
    }

    /// FNV-1a: a stable hash for deterministic pseudo-random values (sizes, MACs, counters).
    static func stableHash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
