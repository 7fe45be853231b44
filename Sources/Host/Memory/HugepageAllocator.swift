#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// Reserves hugepages at runtime and gives them back, journaled in `/run/vfioctl/hugepages.journal`: the count
/// before each write is on disk before the write, so `release` restores it exactly, also after a crash.
/// The libvirt hook calls `allocate(HugepageRequest.forVM(spec), label: vm)` at prepare and `release(label: vm)`
/// at release; the CLI is `vfioctl hugepages`.
public struct HugepageAllocator: Sendable {
    public let files: RootedFileSystem
    public let writer: any HostWriter
    public let journal: Journal<HugepageRecord>

    public init(files: RootedFileSystem, writer: any HostWriter) {
        self.files = files
        self.writer = writer
        journal = Journal<HugepageRecord>(files: files, name: "hugepages")
    }

    public struct Allocation: Sendable, Equatable {
        public var plan: HugepagePlan
        /// Pages the kernel added (≤ asked).
        public var got: Int
        public var asked: Int { plan.target - plan.previous }
        /// Nil when every page came; else what is missing and what to do.
        public var shortfall: String? { HugepagePlanner.shortfall(plan, got: got) }
        /// Writes done, in order, as `path=value` (compaction first).
        public var writes: [String]
    }

    /// The pool's count now.
    public func count(_ path: String) throws(HugepageError) -> Int {
        let text: String
        do { text = try files.readText(path) } catch { throw HugepageError("cannot read \(path): \(error)") }
        guard let n = Int(text.trimmingASCIIWhitespace()), n >= 0 else { throw HugepageError("\(path) reads '\(text.prefix(40))', not a page count") }
        return n
    }

    /// The plan for `request` against the pool now, after checking the node and the page size exist.
    public func plan(_ request: HugepageRequest, dropCaches: Bool) throws(HugepageError) -> HugepagePlan {
        if let node = request.node, files.kind(of: HugepagePaths.nodeDirectory(node)) != .directory {
            let nodes = ((try? files.listOptionalDirectory("/sys/devices/system/node")) ?? []).filter { $0.hasPrefix("node") }.sorted()
            throw HugepageError("no NUMA node \(node) (\(HugepagePaths.nodeDirectory(node)) missing; the host has \(nodes.isEmpty ? "no node directories" : nodes.joined(separator: ", ")))")
        }
        let path = HugepagePaths.count(node: request.node, pageSize: request.pageSize)
        guard files.exists(path) else {
            throw HugepageError("the kernel has no \(request.pageSize.rawValue) hugepage pool (\(path) missing)"
                + (request.pageSize == .size1G ? ": the CPU lacks 1G pages (pdpe1gb) or the kernel was built without them; use --page-size 2M" : ": is CONFIG_HUGETLBFS on?"))
        }
        return try HugepagePlanner.plan(request, current: try count(path), dropCaches: dropCaches)
    }

    /// Compacts (and drops caches when asked), journals the count before, writes the new count and reads back what
    /// the kernel gave. A short allocation is kept and journaled (the caller decides: release it, or run with less);
    /// `release` gives it back.
    public func allocate(_ request: HugepageRequest, label: String? = nil, dropCaches: Bool = false) throws(HugepageError) -> Allocation {
        let plan = try plan(request, dropCaches: dropCaches)
        var writes: [String] = []
        for (path, value) in plan.preparation {
            // Compaction is best effort: a kernel without CONFIG_COMPACTION has no such file, and the write itself
            // still allocates what is free.
            guard files.exists(path) else { continue }
            do { try writer.write(path, value) } catch { throw HugepageError("\(error)") }
            writes.append("\(path)=\(value)")
        }
        let id = HandoffExecutor.newRunID()
        do {
            try journal.append(HugepageRecord(kind: .allocate, id: id, path: plan.path, previous: plan.previous, target: plan.target, label: label))
        } catch { throw HugepageError("journal: \(error)") }
        do { try writer.write(plan.path, String(plan.target)) } catch {
            // Nothing was reserved, so nothing to hold: close the record (the count is still what it was).
            try? journal.append(HugepageRecord(kind: .released, id: id))
            throw HugepageError("\(error)")
        }
        writes.append("\(plan.path)=\(plan.target)")
        let now = try count(plan.path)
        do { try journal.append(HugepageRecord(kind: .result, id: id, got: now)) } catch { throw HugepageError("journal: \(error)") }
        return Allocation(plan: plan, got: max(0, min(now, plan.target) - plan.previous), writes: writes)
    }

    public struct Released: Sendable, Equatable {
        public var path: String
        public var value: Int
        public var before: Int
        public var label: String?
    }

    /// Gives back the open allocations (those with `label`, or all), restoring the counts they found. Pages a
    /// running VM still maps stay in use until it exits (the kernel turns them into surplus pages and frees them
    /// then); the count is written anyway, so nothing stays reserved afterwards.
    public func release(label: String? = nil) throws(HugepageError) -> [Released] {
        let held: HugepageHeld
        do { held = HugepageHeld(records: try journal.records()) } catch { throw HugepageError("journal: \(error)") }
        let selected = Set(held.allocations.filter { label == nil || $0.label == label }.map(\.id))
        var current: [String: Int] = [:]
        for a in held.allocations where selected.contains(a.id) && current[a.path] == nil { current[a.path] = try count(a.path) }
        var out: [Released] = []
        for step in HugepageReleasePlanner.plan(held, selecting: selected, current: current) {
            let before = try count(step.path)
            do { try writer.write(step.path, String(step.value)) } catch { throw HugepageError("\(error)") }
            do { try journal.append(HugepageRecord(kind: .released, id: step.id)) } catch { throw HugepageError("journal: \(error)") }
            out.append(Released(path: step.path, value: step.value, before: before,
                                label: held.allocations.first { $0.id == step.id }?.label))
        }
        if (try? journal.records()).map({ HugepageHeld(records: $0).allocations.isEmpty }) == true { try? journal.remove() }
        return out
    }

    public func held() throws(HugepageError) -> HugepageHeld {
        do { return HugepageHeld(records: try journal.records()) } catch { throw HugepageError("journal: \(error)") }
    }

    /// NUMA node of a PCI function (sysfs `numa_node`; -1 or missing: none).
    public func node(of address: PCIAddress) -> Int? {
        guard let text = (try? files.readOptionalText("/sys/bus/pci/devices/\(address)/numa_node")) ?? nil, let n = Int(text), n >= 0 else { return nil }
        return n
    }
}
