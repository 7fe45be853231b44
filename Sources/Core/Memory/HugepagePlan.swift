/// Runtime hugepage reservation (`vfioctl hugepages --allocate`): what to ask the kernel for, where, and how to
/// give it back exactly (Documentation/admin-guide/mm/hugetlbpage.rst).
public struct HugepageRequest: Sendable, Equatable {
    public var sizeMiB: Int
    public var pageSize: VMSpec.HugepageSize
    /// NUMA node; nil: the global pool (the kernel spreads the pages over the nodes).
    public var node: Int?

    public init(sizeMiB: Int, pageSize: VMSpec.HugepageSize, node: Int?) {
        self.sizeMiB = sizeMiB
        self.pageSize = pageSize
        self.node = node
    }

    /// Pages covering `sizeMiB` (rounded up: a VM's memory must fit whole).
    public var pages: Int { (sizeMiB + pageSize.mib - 1) / pageSize.mib }

    /// The request for a VM at start (the hook's prepare): its whole memory in its page size, on its NUMA node
    /// (the GPU's, as `init` records it). Nil when the spec asks for no hugepages.
    public static func forVM(_ spec: VMSpec) -> HugepageRequest? {
        guard let size = spec.hugepages else { return nil }
        return HugepageRequest(sizeMiB: spec.memoryMiB, pageSize: size, node: spec.numaNode)
    }
}

/// The sysfs files of one pool.
public enum HugepagePaths {
    /// `nr_hugepages` of the pool: per node under /sys/devices/system/node, global under /sys/kernel/mm.
    public static func count(node: Int?, pageSize: VMSpec.HugepageSize) -> String {
        "\(pool(node: node, pageSize: pageSize))/nr_hugepages"
    }

    public static func free(node: Int?, pageSize: VMSpec.HugepageSize) -> String {
        "\(pool(node: node, pageSize: pageSize))/free_hugepages"
    }

    public static func pool(node: Int?, pageSize: VMSpec.HugepageSize) -> String {
        let dir = "hugepages/hugepages-\(pageSize.kib)kB"
        if let node { return "\(nodeDirectory(node))/\(dir)" }
        return "/sys/kernel/mm/\(dir)"
    }

    public static func nodeDirectory(_ node: Int) -> String { "/sys/devices/system/node/node\(node)" }

    /// Compaction: per node (`compact`, CONFIG_COMPACTION) or the whole machine.
    public static func compact(node: Int?) -> String {
        node.map { "\(nodeDirectory($0))/compact" } ?? "/proc/sys/vm/compact_memory"
    }

    public static let dropCaches = "/proc/sys/vm/drop_caches"
}

/// One allocation: the pool's count before, the count asked for.
public struct HugepagePlan: Sendable, Equatable {
    public var request: HugepageRequest
    public var path: String
    public var previous: Int
    public var target: Int
    /// Writes done first, in order: drop caches (only when asked), then compaction of the node.
    public var preparation: [(path: String, value: String)]

    public static func == (a: HugepagePlan, b: HugepagePlan) -> Bool {
        a.request == b.request && a.path == b.path && a.previous == b.previous && a.target == b.target
            && a.preparation.map { "\($0.path)=\($0.value)" } == b.preparation.map { "\($0.path)=\($0.value)" }
    }
}

public struct HugepageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum HugepagePlanner {
    /// Pools larger than this many pages are not a VM's (a 64 TiB host holds 32 Mi 2M pages): refused as input.
    public static let maxPages = 1 << 25

    /// Adds `request.pages` to the pool's current count. Dropping the page cache is opt-in: it is host-wide, cannot
    /// be undone and costs every other workload its cached files; compaction alone usually finds 2M pages, and 1G
    /// pages on a fragmented host are better reserved at boot.
    public static func plan(_ request: HugepageRequest, current: Int, dropCaches: Bool) throws(HugepageError) -> HugepagePlan {
        guard request.sizeMiB > 0 else { throw HugepageError("nothing to allocate: give a size (2G, 512M)") }
        guard current >= 0, current <= maxPages, request.pages <= maxPages else {
            throw HugepageError("\(request.pages) pages of \(request.pageSize.rawValue) on top of \(current) is more than any host has")
        }
        var prep: [(path: String, value: String)] = []
        // 3: page cache and reclaimable slab, the largest movable users of free memory.
        if dropCaches { prep.append((HugepagePaths.dropCaches, "3")) }
        prep.append((HugepagePaths.compact(node: request.node), "1"))
        return HugepagePlan(request: request, path: HugepagePaths.count(node: request.node, pageSize: request.pageSize),
                            previous: current, target: current + request.pages, preparation: prep)
    }

    /// The shortfall message: how much is missing and what gets it.
    public static func shortfall(_ plan: HugepagePlan, got: Int) -> String? {
        let asked = plan.target - plan.previous
        guard got < asked else { return nil }
        let size = plan.request.pageSize
        let missing = asked - max(got, 0)
        let missingMiB = missing.multipliedReportingOverflow(by: size.mib).partialValue
        let whereText = plan.request.node.map { "node \($0)" } ?? "the host"
        var text = "got \(max(got, 0)) of \(asked) \(size.rawValue) pages on \(whereText): \(missing) missing (\(MemorySize.format(mib: missingMiB))); "
            + "free memory is too fragmented or too small."
        if !plan.preparation.contains(where: { $0.path == HugepagePaths.dropCaches }) {
            text += " Retry with --drop-caches (drops the page cache host-wide), or"
        }
        text += " reserve them at boot: hugepagesz=\(size.rawValue) hugepages=\(plan.target) on the kernel command line (vfioctl setup writes it for a spec with hugepages)."
        text += " 'vfioctl hugepages --release' gives back what was got."
        return text
    }
}
