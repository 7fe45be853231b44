/// The kernel's CPU list format ("0-3,8,10-11"; sysfs `cpulist`, `isolated`, `smp_affinity_list`).
public struct CPUSet: Hashable, Sendable, CustomStringConvertible, Sequence {
    public private(set) var cpus: [Int]

    public init<S: Sequence>(_ cpus: S) where S.Element == Int {
        self.cpus = Array(Set(cpus)).sorted()
    }

    public static let empty = CPUSet([Int]())

    /// Parses a list; nil when the text is not a CPU list. Empty text is the empty set.
    public init?(list text: String) {
        let trimmed = text.trimmingASCIIWhitespace()
        var result: [Int] = []
        if !trimmed.isEmpty {
            for item in trimmed.split(separator: ",") {
                let range = item.split(separator: "-", omittingEmptySubsequences: false)
                if range.count == 1, let n = Int(range[0]), n >= 0 {
                    result.append(n)
                } else if range.count == 2, let a = Int(range[0]), let b = Int(range[1]), a >= 0, a <= b, b < 1 << 16 {
                    result.append(contentsOf: a...b)
                } else {
                    return nil
                }
            }
        }
        self.init(result)
    }

    /// Parses a hex mask as `smp_affinity` prints it ("ff,ffffffff").
    public init?(mask text: String) {
        let digits = text.trimmingASCIIWhitespace().replacingComma()
        guard !digits.isEmpty else { return nil }
        var result: [Int] = []
        var bit = 0
        for ch in digits.reversed() {
            guard let v = ch.hexDigitValue else { return nil }
            for i in 0..<4 where v & (1 << i) != 0 { result.append(bit + i) }
            bit += 4
        }
        self.init(result)
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
