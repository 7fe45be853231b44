#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VFIOCore

/// Applies a `ShieldPlan` (journal the original, change, verify), moves VM tasks in, and restores everything from
/// the journal — also after a crash half-way. Every write goes through the `HostWriter`, every other change through
/// the `ShieldKernel`.
public struct ShieldExecutor: Sendable {
    public let files: RootedFileSystem
    public let writer: any HostWriter
    public let kernel: any ShieldKernel
    public let journal: Journal<ShieldRecord>

    public init(files: RootedFileSystem, writer: any HostWriter, kernel: any ShieldKernel) {
        self.files = files
        self.writer = writer
        self.kernel = kernel
        journal = Journal(files: files, name: "shield")
    }

    public struct Outcome: Sendable {
        public var changed = 0
        /// What the kernel refused: the subject and why. Managed IRQs (EIO) are expected; the rest deserve a look.
        public var refused: [ShieldNote] = []
        /// What was left as it is on purpose (`move`: a task already inside the VM's cgroup).
        public var stayed: [ShieldNote] = []
        public var failedHard: Bool { refused.contains { !$0.subject.hasPrefix("/proc/irq/") } }
    }

    /// The journal's records; a line that is no record is an error naming it (file:line) and the way out.
    public func records() throws(ShieldError) -> [ShieldRecord] {
        let contents = try readContents()
        if let bad = contents.corrupt.first {
            throw ShieldError("\(bad); 'vfioctl unshield' restores what the rest of the journal holds, then 'vfioctl unshield --drop-corrupt' removes the line")
        }
        return contents.records
    }

    private func readContents() throws(ShieldError) -> Journal<ShieldRecord>.Contents {
        do { return try journal.read() } catch { throw ShieldError(error.description) }
    }

    /// `unshield --drop-corrupt`: removes the journal lines that are no records (after the user looked at them).
    public func dropCorrupt() throws(ShieldError) -> [CorruptJournalLine] {
        do { return try journal.dropCorrupt() } catch { throw ShieldError(error.description) }
    }

    private func append(_ r: ShieldRecord) throws(ShieldError) {
        try append([r])
    }

    private func append(_ rs: [ShieldRecord]) throws(ShieldError) {
        do { try journal.append(rs) } catch { throw ShieldError("journal: \(error.description)") }
    }

    /// The faults to inject (`VFIOCTL_CRASH_AFTER_WRITES` counts changes here, to prove that `unshield` recovers
    /// from a crash half-way) and the clock. Given by the command.
    public var effects: HostEffects = .standard
    /// Unit tests' crash: stop after this many changes, journaling nothing more (as `kill -9` would).
    var stopAfterChanges: Int?

    /// The journal records of a plan: every original value its steps may overwrite.
    static func originals(_ plan: ShieldPlan) -> [ShieldRecord] {
        plan.steps.compactMap { step -> ShieldRecord? in
            switch step {
            case .enableController(let file, let c): .controller(subtreeControl: file, name: c)
            case .createCgroup(let path, let parent): .cgroup(path: path, parent: parent)
            case .write(let path, _, let original): original.map { .attribute(path: path, original: $0) }
            case .systemdAllowedCPUs(let unit, let file, _, let original): .systemd(unit: unit, cpusFile: file, original: original)
            case .moveTasks: nil
            case .setAffinity(let t, _, let original): .affinity(pid: t.pid, startTime: t.startTime, original: original.description)
            }
        }
    }

    /// The CPUs a shield for `owner` must cover: its own and every other active owner's (nil: by hand).
    public func cpusToShield(owner: String?, cpus: CPUSet) throws(ShieldError) -> CPUSet {
        let owners = ShieldOwners(records: try records())
        if let mine = owners.owner(owner ?? ""), mine.cpus != cpus {
            throw ShieldError("already shielded for \(ShieldOwners.describe(mine)) (\(journal.path)); run vfioctl unshield\(owner.map { " --vm \($0)" } ?? "") first")
        }
        return owners.union(excluding: owner ?? "").union(cpus)
    }

    /// Journals every original of the plan in one durable append, then changes the host step by step. After a
    /// crash at any point the journal holds the originals of everything that may have changed; restoring a value
    /// that never changed is a no-op (an unchanged attribute is skipped, a cgroup never made is absent).
    /// `owner` joins the shield with `cpus` (nil: the plan's); the plan must cover every active owner's CPUs
    /// (`cpusToShield`).
    public func apply(_ plan: ShieldPlan, owner: String? = nil, cpus: CPUSet? = nil) throws(ShieldError) -> Outcome {
        let mine = cpus ?? plan.vmCPUs
        let needed = try cpusToShield(owner: owner, cpus: mine)
        guard plan.vmCPUs == needed else {
            throw ShieldError("the plan covers CPUs \(plan.vmCPUs), but the shield must cover \(needed) (the other VMs' CPUs too): plan again")
        }
        let joined = ShieldOwners(records: try records()).owner(owner ?? "") != nil
        let since = (try? files.readText("/proc/uptime")).flatMap(ShieldLeaks.uptimeTicks)
        let irqs = ((try? files.listOptionalDirectory("/proc/irq")) ?? []).compactMap(Int.init).sorted()
        return try run(plan, journal: (joined ? [] : [plan.beginRecord(owner: owner, cpus: mine, since: since)])
                       + [.irqs(present: irqs.map(String.init).joined(separator: ","))] + Self.originals(plan))
    }

    /// `unshield --vm NAME`: `owner` leaves. The last owner restores every original (`restore`); otherwise the
    /// shield shrinks to the remaining owners' CPUs (`ShieldRelease`, planned on `state`, the host now) and
    /// the departure is journaled once that is done, so a crash half-way repeats the shrink.
    public func release(owner: String, state: ShieldHostState) throws(ShieldError) -> Released {
        let contents = try readContents()
        let owners = ShieldOwners(records: contents.records)
        guard owners.owner(owner) != nil else {
            return .notOwner(active: owners.active)
        }
        let remaining = owners.active.filter { $0.name != owner }
        if remaining.isEmpty { return .restored(try restore()) }
        let plan = try ShieldRelease.plan(state, records: contents.records, remaining: owners.union(excluding: owner))
        let out = try run(plan, journal: Self.originals(plan))
        if !out.failedHard { try append(.release(owner: owner)) }
        return .shrunk(out, to: plan.vmCPUs, remaining: remaining)
    }

    public enum Released: Sendable {
        /// The owner held no shield (the active owners are named).
        case notOwner(active: [ShieldOwners.Owner])
        /// It was the last: every original is back (or the problems say what is not).
        case restored(Restored)
        /// Others remain: the shield now covers only their CPUs.
        case shrunk(Outcome, to: CPUSet, remaining: [ShieldOwners.Owner])
    }

    /// Journals `records` (durably, before any change), then makes the plan's changes.
    private func run(_ plan: ShieldPlan, journal records: [ShieldRecord]) throws(ShieldError) -> Outcome {
        try append(records)
        var out = Outcome()
        var refusals: [ShieldRecord] = []
        var stopped = false
        func changed() {
            out.changed += 1
            effects.faults.afterChange(out.changed)
            if let limit = stopAfterChanges, out.changed >= limit { stopped = true }
        }
        func refuse(_ e: HostWriteError) {
            let reason = e.detail ?? e.errno.name + (e.errno == .ioError && e.path.hasPrefix("/proc/irq/") ? " (managed IRQ: the kernel keeps it)" : "")
            out.refused.append(ShieldNote(subject: e.path, reason: "\(e.value): \(reason)"))
            refusals.append(.refused(what: e.path, value: e.value, reason: reason))
        }
        if stopAfterChanges == 0 { return out }
        for step in plan.steps where !stopped {
            switch step {
            case .enableController(let file, let c):
                do { try writer.write(file, "+" + c); changed() } catch { refuse(error) }
            case .createCgroup(let path, _):
                do { try kernel.makeCgroup(path); changed() } catch { refuse(error) }
            case .write(let path, let value, _):
                do {
                    // An empty value (a v2 cgroup inheriting its parent's CPUs, given back) is written as a newline: a
                    // zero-length write reaches no handler.
                    try writer.write(path, value.isEmpty ? "\n" : value)
                    if !value.isEmpty { try verify(path, value) }
                    changed()
                } catch { refuse(error) }
            case .systemdAllowedCPUs(let unit, let file, let value, _):
                do {
                    do { try kernel.setAllowedCPUs(unit: unit, value) } catch { try writer.write(file, value.isEmpty ? "\n" : value) }
                    if !value.isEmpty { try verify(file, value) }
                    changed()
                } catch { refuse(error) }
            case .moveTasks(let tasks, let to):
                for t in tasks where !stopped {
                    do { try writer.write(to + "/cgroup.procs", String(t.pid)); changed() } catch {
                        if error.errno == .noSuchProcess { continue }  // exited meanwhile
                        refuse(HostWriteError(path: to + "/cgroup.procs", value: "\(t.pid) (\(t.comm))", errno: error.errno, detail: error.detail))
                    }
                }
            case .setAffinity(let t, let cpus, _):
                do { try kernel.setAffinity(pid: t.pid, cpus); changed() } catch {
                    if error.errno == .noSuchProcess { continue }
                    refuse(HostWriteError(path: "\(error.path) \(t.comm)", value: error.value, errno: error.errno, detail: error.detail))
                }
            }
        }
        if stopped { return out }
        // What the kernel refused never changed; recorded for `shield --status` and so that unshield does not
        // retry it (a managed IRQ refuses its original too).
        try append(refusals)
        return out
    }

    /// Reads a CPU list or mask back and compares it as a set (the kernel normalizes "0,1" to "0-1").
    private func verify(_ path: String, _ value: String) throws(HostWriteError) {
        guard let back = try? files.readText(path) else { return }
        guard let want = Self.cpus(path, value), let got = Self.cpus(path, back) else { return }
        if want != got { throw HostWriteError(path: path, value: value, errno: .ioError, detail: "wrote \(value), reads back \(back)") }
    }

    private func sameCPUs(_ path: String, _ a: String, _ b: String) -> Bool {
        let x = Self.cpus(path, a)
        return x != nil && x == Self.cpus(path, b)
    }

    /// A value of a CPU attribute: a hex mask (`*cpumask`, `default_smp_affinity`) or a CPU list (the rest).
    private static func cpus(_ path: String, _ text: String) -> CPUSet? {
        path.hasSuffix("cpumask") || path.hasSuffix("default_smp_affinity") ? CPUSet(mask: text) : CPUSet(list: text)
    }

    /// `shield --move PID...`: into the VM cgroup, each task's cgroup journaled first.
    public func move(_ pids: [Int], hierarchy: CpusetHierarchy) throws(ShieldError) -> Outcome {
        let recs = try records()
        guard case .begin(_, _, _, let vmCgroup, _, _)? = recs.first(where: { if case .begin = $0 { true } else { false } }) else {
            throw ShieldError("not shielded: run vfioctl shield --cpus LIST first")
        }
        var out = Outcome()
        for pid in pids {
            guard let stat = try? files.readText("/proc/\(pid)/stat"), let task = ShieldLoader.parseStat(stat) else {
                throw ShieldError("--move \(pid): no such process")
            }
            let rel = (try? files.readText("/proc/\(pid)/cgroup")).flatMap { ShieldLoader.cpusetCgroup($0, v1: hierarchy.isV1) } ?? "/"
            let from = rel == "/" ? hierarchy.mount : hierarchy.mount + rel
            // Already in the VM's place (libvirt's machine scope under machine.slice, with its own vcpu and
            // emulator cgroups): moving it up would undo libvirt's placement.
            if from.hasPrefix(vmCgroup + "/") {
                out.stayed.append(ShieldNote(subject: "pid \(pid) (\(task.comm))", reason: "already in \(rel), inside the VM's cgroup"))
                continue
            }
            if from != vmCgroup { try append(.task(pid: pid, startTime: task.startTime, from: from)) }
            do { try writer.write(vmCgroup + "/cgroup.procs", String(pid)); out.changed += 1 } catch {
                out.refused.append(ShieldNote(subject: "pid \(pid) (\(task.comm))", reason: error.description))
            }
        }
        return out
    }

    public struct Restored: Sendable {
        public var restored = 0
        public var problems: [String] = []
        public var wasShielded = true
        /// Journal lines that are no records: skipped (the rest is restored); the journal stays until they are
        /// dropped (`unshield --drop-corrupt`).
        public var corrupt: [CorruptJournalLine] = []
    }

    /// Puts back every journaled value, newest first (so the oldest original wins), then removes the journal.
    /// Safe to run again: with no journal there is nothing to do. Values that are gone (an exited task, a removed
    /// IRQ) are skipped; anything else that fails keeps the journal for another try. Ends every owner's shield.
    /// A journal line that is no record is skipped and named (`corrupt`): the rest is restored, and the journal
    /// stays until the user drops such lines (`dropCorrupt`), since vfioctl cannot tell what they held.
    public func restore() throws(ShieldError) -> Restored {
        let contents = try readContents()
        let recs = contents.records
        var out = Restored()
        out.corrupt = contents.corrupt
        guard !recs.isEmpty || !contents.corrupt.isEmpty else {
            out.wasShielded = false
            return out
        }
        func attempt(_ what: String, _ body: () throws(HostWriteError) -> Void) {
            do { try body(); out.restored += 1 } catch {
                if error.errno == .noSuchFileOrDirectory || error.errno == .noSuchProcess { return }
                out.problems.append("\(what): \(error.description)")
            }
        }
        // A refused change never happened; putting its original back may be refused the same way (managed IRQs).
        let refused = Set(recs.compactMap { if case .refused(let what, _, _) = $0 { what } else { nil } })
        // Read before the default goes back: what an IRQ requested during the shield was given.
        let shieldedDefault = (try? files.readText(ShieldLoader.defaultSMPAffinity)).flatMap { CPUSet(mask: $0) }
        for r in recs.reversed() {
            switch r {
            case .begin, .refused, .release, .irqs: continue
            case .attribute(let path, let original):
                if let current = try? files.readText(path), current == original || (!original.isEmpty && sameCPUs(path, current, original)) {
                    out.restored += 1
                    continue
                }
                do {
                    // An empty value cannot be written (a zero-length write reaches no handler): a newline clears it.
                    try writer.write(path, original.isEmpty ? "\n" : original)
                    if !original.isEmpty { try verify(path, original) }
                    out.restored += 1
                } catch {
                    if error.errno == .noSuchFileOrDirectory || refused.contains(path) { continue }
                    out.problems.append("\(path): \(error.description)")
                }
            case .controller(let file, let name):
                attempt(file) { () throws(HostWriteError) in try writer.write(file, "-" + name) }
            case .systemd(let unit, let file, let original):
                attempt(unit) { () throws(HostWriteError) in
                    do { try kernel.setAllowedCPUs(unit: unit, original) } catch { try writer.write(file, original.isEmpty ? "\n" : original) }
                }
            case .cgroup(let path, let parent):
                attempt(path) { () throws(HostWriteError) in
                    try emptyCgroup(path, into: parent)
                    try kernel.removeCgroup(path)
                }
            case .task(let pid, let start, let from):
                guard isSameTask(pid, start), files.kind(of: from) == .directory else { continue }
                attempt("pid \(pid)") { () throws(HostWriteError) in try writer.write(from + "/cgroup.procs", String(pid)) }
            case .affinity(let pid, let start, let original):
                guard isSameTask(pid, start), let cpus = CPUSet(list: original) else { continue }
                attempt("pid \(pid) affinity") { () throws(HostWriteError) in try kernel.setAffinity(pid: pid, cpus) }
            }
        }
        resetNewIRQs(recs, shieldedDefault: shieldedDefault, &out)
        if out.problems.isEmpty && out.corrupt.isEmpty {
            do { try journal.remove() } catch { out.problems.append(error.description) }
        }
        return out
    }

    /// An IRQ requested while the shield stood (a device given back to its driver, a VM's MSI-X vectors) was given
    /// the shielded `default_smp_affinity`, and has no original in the journal. One still on exactly that set gets
    /// the original default, as if it had been requested without the shield. Managed IRQs (the kernel spreads them
    /// itself and refuses the write) and IRQs gone meanwhile are left alone.
    private func resetNewIRQs(_ recs: [ShieldRecord], shieldedDefault: CPUSet?, _ out: inout Restored) {
        var original: CPUSet?
        var journaled: Set<Int> = []
        var present: Set<Int>?
        for r in recs {
            let path: String
            switch r {
            case .irqs(let list):
                present = (present ?? []).union(list.split(separator: ",").compactMap { Int($0) })
                continue
            case .attribute(let p, let v):
                path = p
                // The oldest original is the one from before any shield.
                if p == ShieldLoader.defaultSMPAffinity, original == nil { original = CPUSet(mask: v) }
            case .refused(let p, _, _): path = p
            default: continue
            }
            let parts = path.split(separator: "/")
            if parts.count == 4, parts[0] == "proc", parts[1] == "irq", let n = Int(parts[2]) { journaled.insert(n) }
        }
        // A journal without the IRQs present at the start (older vfioctl) cannot tell new IRQs from old ones.
        guard let original, let shieldedDefault, let present, original != shieldedDefault else { return }
        for name in (try? files.listOptionalDirectory("/proc/irq")) ?? [] {
            guard let n = Int(name), !journaled.contains(n), !present.contains(n) else { continue }
            let path = "/proc/irq/\(n)/smp_affinity_list"
            guard let current = (try? files.readText(path)).flatMap({ CPUSet(list: $0) }), current == shieldedDefault else { continue }
            do {
                try writer.write(path, original.description)
                out.restored += 1
            } catch {
                if error.errno == .noSuchFileOrDirectory || error.errno == .ioError { continue }
                out.problems.append("\(path) (requested during the shield): \(error.description)")
            }
        }
    }

    /// Moves every task of a cgroup vfioctl made back to its parent (several rounds: tasks may fork meanwhile).
    private func emptyCgroup(_ path: String, into parent: String) throws(HostWriteError) {
        for _ in 0..<5 {
            let procs: String
            do { procs = try files.readText(path + "/cgroup.procs") } catch {
                if error.reason == .notFound { return }
                throw HostWriteError(path: path + "/cgroup.procs", value: "", errno: .ioError, detail: error.description)
            }
            let pids = procs.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            if pids.isEmpty { return }
            for pid in pids {
                do { try writer.write(parent + "/cgroup.procs", pid) } catch {
                    if error.errno != .noSuchProcess && error.errno != .invalidArgument { throw error }
                }
            }
        }
    }

    private func isSameTask(_ pid: Int, _ start: UInt64) -> Bool {
        guard let stat = try? files.readText("/proc/\(pid)/stat"), let t = ShieldLoader.parseStat(stat) else { return false }
        return t.startTime == start
    }
}
