/// The kernel's CPU list format ("0-3,8,10-11"; sysfs `cpulist`, `isolated`, `smp_affinity_list`).
public struct CPUSet: Hashable, Sendable, CustomStringConvertible, Sequence {
    public private(set) var cpus: [Int]

    public init<S: Sequence>(_ cpus: S) where S.Element == Int {
        self.cpus = Array(Set(cpus)).sorted()
    }

    public static let empty = CPUSet([Int]())

    /// Highest CPU number a list or mask may name: the kernel's NR_CPUS maximum (CONFIG_NR_CPUS ≤ 8192 with
    /// CONFIG_MAXSMP). Lists come from spec files, the command line and snapshots, so "0-4294967295" or
    /// "0-8191" repeated a million times must be refused, not expanded.
    public static let maxCPU = 8191

    /// Why a CPU list was refused.
    public struct ListError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Parses a list; nil when the text is not a CPU list or names a CPU above `maxCPU`. Empty text is the empty set.
    public init?(list text: String) {
        guard let set = try? CPUSet.parse(list: text) else { return nil }
        self = set
    }

    /// Parses a list, saying what is wrong. Members are counted as written (a repeated range counts each time),
    /// and more than `maxCPU + 1` is refused, so the work is bounded by the cap, not by the text.
    public static func parse(list text: String) throws(ListError) -> CPUSet {
        let trimmed = text.trimmingASCIIWhitespace()
        var result: [Int] = []
        var written = 0
        func number(_ s: Substring) throws(ListError) -> Int {
            guard !s.isEmpty, s.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { throw ListError("'\(s)' is not a CPU number") }
            // Longer than five digits is above the cap whatever it says (and Int could not hold all of them).
            guard s.utf8.count <= 5, let n = Int(s), n <= maxCPU else { throw ListError("CPU \(s.prefix(24))\(s.count > 24 ? "…" : "") is above \(maxCPU), the highest CPU number the kernel supports") }
            return n
        }
        if !trimmed.isEmpty {
            for item in trimmed.split(separator: ",") {
                let range = item.split(separator: "-", omittingEmptySubsequences: false)
                let a: Int, b: Int
                if range.count == 1 {
                    a = try number(range[0]); b = a
                } else if range.count == 2 {
                    a = try number(range[0]); b = try number(range[1])
                    guard a <= b else { throw ListError("range \(item) runs backwards") }
                } else {
                    throw ListError("'\(item)' is not a CPU or a range")
                }
                written += b - a + 1
                guard written <= maxCPU + 1 else { throw ListError("more than \(maxCPU + 1) CPUs named (ranges repeat)") }
                result.append(contentsOf: a...b)
            }
        }
        return CPUSet(result)
    }

    private init(sorted: [Int]) { cpus = sorted }

    /// Parses a hex mask as `smp_affinity` prints it ("ff,ffffffff"); nil when a bit above `maxCPU` is set
    /// (leading zero words, as an NR_CPUS=8192 kernel prints, are fine).
    public init?(mask text: String) {
        let digits = text.trimmingASCIIWhitespace().replacingComma()
        guard !digits.isEmpty else { return nil }
        var result: [Int] = []
        var bit = 0
        for ch in digits.reversed() {
            guard let v = ch.hexDigitValue else { return nil }
            for i in 0..<4 where v & (1 << i) != 0 {
                guard bit + i <= CPUSet.maxCPU else { return nil }
                result.append(bit + i)
            }
            bit += 4
        }
        self.init(sorted: result)
    }

    public var isEmpty: Bool { cpus.isEmpty }
    public var count: Int { cpus.count }
    public func contains(_ cpu: Int) -> Bool { cpus.contains(cpu) }
    public func makeIterator() -> IndexingIterator<[Int]> { cpus.makeIterator() }
    public func union(_ other: CPUSet) -> CPUSet { CPUSet(cpus + other.cpus) }
    public func subtracting(_ other: CPUSet) -> CPUSet { CPUSet(cpus.filter { !other.contains($0) }) }
    public func intersection(_ other: CPUSet) -> CPUSet { CPUSet(cpus.filter { other.contains($0) }) }
    public func isSubset(of other: CPUSet) -> Bool { cpus.allSatisfy { other.contains($0) } }

    /// Compact list form ("0-3,8").
    public var description: String {
        var parts: [String] = []
        var i = 0
        while i < cpus.count {
            var j = i
            while j + 1 < cpus.count, cpus[j + 1] == cpus[j] + 1 { j += 1 }
            parts.append(i == j ? "\(cpus[i])" : "\(cpus[i])-\(cpus[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}

extension String {
    fileprivate func replacingComma() -> String { String(filter { $0 != "," }) }
}
