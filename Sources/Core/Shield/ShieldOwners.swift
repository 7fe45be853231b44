/// Who a shield is for, folded from its journal. Several VMs may be shielded at once (each through the libvirt
/// hook, `shield --vm NAME`); the host then keeps what none of them uses.
///
/// The rule, chosen because every step of it stays correct after a crash:
/// - The shield covers the union of the active owners' CPUs. An owner joining re-plans the host for the union
///   and journals the values it overwrites; the first journaled value of each key is the host's true original
///   (restore goes newest first, so the oldest value is the one left in place).
/// - An owner leaving while others stay (`unshield --vm NAME`) does not restore originals: the shield shrinks to
///   the remaining owners' CPUs. What the host gets back is computed from the originals (`ShieldRelease`), as if
///   only the remaining owners had ever been shielded, so nothing the others need is given back.
/// - Originals are restored only when the last owner leaves (or by `unshield` without `--vm`, which ends every
///   shield at once), and only then does the journal go.
public struct ShieldOwners: Sendable, Equatable {
    public struct Owner: Sendable, Equatable {
        /// The VM (`--vm NAME`); "" for a shield made by hand.
        public var name: String
        public var cpus: CPUSet
        /// When it joined, in clock ticks since boot (nil: journaled by an older vfioctl, or no /proc/uptime).
        public var since: UInt64?

        public init(name: String, cpus: CPUSet, since: UInt64? = nil) {
            self.name = name
            self.cpus = cpus
            self.since = since
        }
    }

    /// Active owners, in the order they joined.
    public var active: [Owner] = []

    public init(records: [ShieldRecord]) {
        for r in records {
            switch r {
            case .begin(let cpus, _, _, _, let owner, let since):
                let name = owner ?? ""
                if !active.contains(where: { $0.name == name }) {
                    active.append(Owner(name: name, cpus: CPUSet(list: cpus) ?? .empty, since: since))
                }
            case .release(let owner):
                active.removeAll { $0.name == owner }
            default: continue
            }
        }
    }

    public var isEmpty: Bool { active.isEmpty }

    public func owner(_ name: String) -> Owner? { active.first { $0.name == name } }

    /// The CPUs of every active owner, but `excluding`.
    public func union(excluding: String? = nil) -> CPUSet {
        active.filter { $0.name != excluding }.reduce(CPUSet.empty) { $0.union($1.cpus) }
    }

    /// "VM win10 (CPUs 2-5)", "by hand (CPUs 2-5)".
    public static func describe(_ o: Owner) -> String {
        (o.name.isEmpty ? "by hand" : "VM \(o.name)") + " (CPUs \(o.cpus))"
    }
}

/// The shield for the owners that remain when one leaves: planned on the host as it was before any shield (the
/// current state with every journaled original put back), for the remaining owners' CPUs. Values that plan
/// changes get its value; every other journaled value goes back to its original. Pure, like the planner.
public enum ShieldRelease {
    /// The first (oldest) journaled value of each key: the host's own.
    public struct Originals: Sendable {
        public var attributes: [String: String] = [:]
        public var systemd: [String: (unit: String, original: String)] = [:]
        public var affinities: [Int: (startTime: UInt64, original: CPUSet)] = [:]
        public var refused: Set<String> = []

        public init(_ records: [ShieldRecord]) {
            for r in records {
                switch r {
                case .attribute(let path, let original):
                    if attributes[path] == nil { attributes[path] = original }
                case .systemd(let unit, let file, let original):
                    if systemd[file] == nil { systemd[file] = (unit, original) }
                case .affinity(let pid, let start, let original):
                    if affinities[pid] == nil, let cpus = CPUSet(list: original) { affinities[pid] = (start, cpus) }
                case .refused(let what, _, _):
                    refused.insert(what)
                default: continue
                }
            }
        }
    }

    /// The host with every journaled original put back (what the planner would have seen before any shield).
    public static func unshielded(_ state: ShieldHostState, _ o: Originals) -> ShieldHostState {
        var s = state
        for i in s.irqs.indices {
            if let v = o.attributes["/proc/irq/\(s.irqs[i].number)/smp_affinity_list"] { s.irqs[i].affinity = v }
        }
        if let v = o.attributes[ShieldLoader.defaultSMPAffinity] { s.defaultSMPAffinity = v }
        if let v = o.attributes[ShieldLoader.workqueueMask] { s.workqueueMask = v }
        if let v = o.attributes[ShieldLoader.writebackMask] { s.writebackMask = v }
        for i in s.cgroups.indices {
            let file = s.cgroups[i].path + "/" + s.hierarchy.cpusFile
            if let v = o.attributes[file] ?? o.systemd[file]?.original { s.cgroups[i].cpus = v }
        }
        for i in s.tasks.indices {
            if let a = o.affinities[s.tasks[i].pid], a.startTime == s.tasks[i].startTime { s.tasks[i].allowed = a.original }
        }
        return s
    }

    /// The steps that make the current host a shield of `remaining` alone (journaled like a plan's: the values
    /// they overwrite that the journal does not hold yet are new originals).
    public static func plan(_ state: ShieldHostState, records: [ShieldRecord], remaining: CPUSet) throws(ShieldError) -> ShieldPlan {
        let o = Originals(records)
        var plan = try ShieldPlanner.plan(unshielded(state, o), vmCPUs: remaining)
        var steps: [ShieldStep] = []
        var touched: Set<String> = []
        var threads: Set<Int> = []
        for step in plan.steps {
            switch step {
            case .write(let path, _, _), .systemdAllowedCPUs(_, let path, _, _):
                touched.insert(path)
                if o.refused.contains(path) { continue }
            case .setAffinity(let t, _, _): threads.insert(t.pid)
            default: break
            }
            steps.append(step)
        }
        // Everything else the journal holds goes back to the host's own value: no remaining owner needs it.
        for (path, original) in o.attributes.sorted(by: { $0.key < $1.key }) where !touched.contains(path) && !o.refused.contains(path) {
            steps.append(.write(path: path, value: original, original: original))
        }
        for (file, s) in o.systemd.sorted(by: { $0.key < $1.key }) where !touched.contains(file) {
            steps.append(.systemdAllowedCPUs(unit: s.unit, cpusFile: file, value: s.original, original: s.original))
        }
        for (pid, a) in o.affinities.sorted(by: { $0.key < $1.key }) where !threads.contains(pid) {
            guard let t = state.tasks.first(where: { $0.pid == pid && $0.startTime == a.startTime }) else { continue }
            steps.append(.setAffinity(TaskRef(t), cpus: a.original, original: a.original))
        }
        // The CPUs given back widen cgroups: in v1 a child may not hold CPUs its parent lacks, so parents first (the
        // shield narrowed children first). Cgroups made first, tasks moved last.
        let mount = state.hierarchy.mount
        let cpusSuffix = "/" + state.hierarchy.cpusFile
        func rank(_ step: ShieldStep) -> Int {
            switch step {
            case .enableController, .createCgroup: return 0
            case .write(let path, _, _), .systemdAllowedCPUs(_, let path, _, _):
                guard path.hasPrefix(mount + "/"), path.hasSuffix(cpusSuffix) else { return path.hasPrefix(mount + "/") ? 0 : 1_000 }
                return path.dropFirst(mount.count).split(separator: "/").count - 1
            case .moveTasks: return 2_000
            case .setAffinity: return 1_000
            }
        }
        plan.steps = steps.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
        return plan
    }
}
