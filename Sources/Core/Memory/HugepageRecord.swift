/// One line of `/run/vfioctl/hugepages.journal`. `allocate` is written and fsync'd before `nr_hugepages` is
/// written and carries the count before, so `--release` restores it exactly even after a crash; `result` records
/// how many pages the kernel gave; `released` closes an allocation.
public struct HugepageRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case allocate, result, released }

    public var kind: Kind
    /// Names one allocation (every record of it carries it).
    public var id: String
    /// allocate: the `nr_hugepages` file and its count before, and the count written.
    public var path: String?
    public var previous: Int?
    public var target: Int?
    /// result: the count read back after the write.
    public var got: Int?
    /// Who asked (a VM name from the hook, or nil from the command line).
    public var label: String?

    public init(kind: Kind, id: String, path: String? = nil, previous: Int? = nil, target: Int? = nil, got: Int? = nil,
                label: String? = nil) {
        self.kind = kind
        self.id = id
        self.path = path
        self.previous = previous
        self.target = target
        self.got = got
        self.label = label
    }
}

/// The allocations still open in the journal, oldest first.
public struct HugepageHeld: Sendable, Equatable {
    public struct Allocation: Sendable, Equatable {
        public var id: String
        public var path: String
        public var previous: Int
        public var target: Int
        /// The count read back after the write; nil when vfioctl stopped before reading it.
        public var reached: Int?
        public var label: String?

        /// Pages this allocation added (at most what it asked; the whole ask when unknown).
        public var added: Int { max(0, (reached.map { min($0, target) } ?? target) - previous) }
    }

    public var allocations: [Allocation] = []

    public init(records: [HugepageRecord]) {
        for r in records {
            switch r.kind {
            case .allocate:
                guard let path = r.path, let previous = r.previous, let target = r.target,
                      !allocations.contains(where: { $0.id == r.id }) else { continue }
                allocations.append(Allocation(id: r.id, path: path, previous: previous, target: target, reached: nil, label: r.label))
            case .result:
                if let i = allocations.firstIndex(where: { $0.id == r.id }) { allocations[i].reached = r.got }
            case .released:
                guard let i = allocations.firstIndex(where: { $0.id == r.id }) else { continue }
                let gone = allocations.remove(at: i)
                // Released before later allocations of its pool: their counts included its pages, which are gone.
                for j in allocations.indices[i...] where allocations[j].path == gone.path {
                    allocations[j].previous = max(0, allocations[j].previous - gone.added)
                    allocations[j].target = max(0, allocations[j].target - gone.added)
                    allocations[j].reached = allocations[j].reached.map { max(0, $0 - gone.added) }
                }
            }
        }
    }
}

public enum HugepageReleasePlanner {
    /// The writes that give back `selected` (a subset of `held`, by id), newest first. When every open allocation
    /// of a pool goes, each writes its `previous` count back, so the pool ends exactly as before the first; when
    /// another allocation of the pool stays (another VM's), one takes off only the pages it added.
    /// `current` is each pool's count now.
    public static func plan(_ held: HugepageHeld, selecting ids: Set<String>, current: [String: Int]) -> [(id: String, path: String, value: Int)] {
        var counts = current
        var out: [(id: String, path: String, value: Int)] = []
        for a in held.allocations.reversed() where ids.contains(a.id) {
            let othersStay = held.allocations.contains { $0.path == a.path && !ids.contains($0.id) }
            let now = counts[a.path] ?? a.target
            let value = othersStay ? max(0, now - a.added) : a.previous
            counts[a.path] = value
            out.append((a.id, a.path, value))
        }
        return out
    }
}
