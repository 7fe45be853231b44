/// Text for `shield --dry-run`: every change, old → new, grouped by kind.
extension ShieldPlan {
    public func dryRunText() -> String {
        var out = "shield CPUs \(vmCPUs) for VMs; the host keeps \(housekeeping) (\(hierarchy)\(systemd ? ", systemd" : ""))\n"
        var cgroups: [String] = [], irqs: [String] = [], kernel: [String] = []
        var affinities: [(TaskRef, CPUSet, CPUSet)] = []
        for step in steps {
            switch step {
            case .enableController(let file, let c): cgroups.append("\(file): +\(c)")
            case .createCgroup(let path, _): cgroups.append("create \(path)")
            case .write(let path, let value, let original):
                let line = "\(path): \(original.map { "'\($0)'" } ?? "(new)") → \(value)"
                if path.hasPrefix("/proc/irq/") && path.hasSuffix("smp_affinity_list") { irqs.append(line) }
                else if path.hasPrefix("/proc/") || path.hasPrefix("/sys/devices") || path.hasPrefix("/sys/bus") { kernel.append(line) }
                else { cgroups.append(line) }
            case .systemdAllowedCPUs(let unit, _, let value, let original):
                cgroups.append("systemctl set-property --runtime \(unit) AllowedCPUs=\(value)   (was '\(original)')")
            case .moveTasks(let tasks, let to):
                cgroups.append("move \(tasks.count) task\(tasks.count == 1 ? "" : "s") of the root cgroup to \(to) (\(ShieldPlanner.abbreviate(tasks.map(\.comm))))")
            case .setAffinity(let t, let cpus, let original): affinities.append((t, cpus, original))
            }
        }
        if let kthreadd = affinities.first(where: { $0.0.pid == 2 }) {
            kernel.append("kthreadd (pid 2) affinity: \(kthreadd.2) → \(kthreadd.1) (kernel threads it starts inherit it)")
        }
        let others = affinities.filter { $0.0.pid != 2 }
        if !others.isEmpty {
            kernel.append("\(others.count) unbound kernel thread\(others.count == 1 ? "" : "s") → \(housekeeping) (\(ShieldPlanner.abbreviate(others.map(\.0.comm))))")
        }
        for (title, lines) in [("cgroups", cgroups), ("IRQs", irqs), ("kernel", kernel)] where !lines.isEmpty {
            out += "\(title)\n" + lines.map { "  \($0)\n" }.joined()
        }
        if steps.isEmpty { out += "nothing to change: already shielded\n" }
        out += "VM threads go to \(vmCgroup) (vfioctl shield --move PID)\n"
        if !stays.isEmpty {
            out += "stays on \(vmCPUs) (cannot move)\n" + stays.map { "  \($0.subject): \($0.reason)\n" }.joined()
        }
        return out
    }
}

/// `shield --status`: what the journal says was shielded, and what still runs on the VM CPUs (and why), live.
public struct ShieldStatus: Sendable {
    public var active: Bool
    public var vmCPUs: CPUSet?
    public var housekeeping: CPUSet?
    public var hierarchy: String?
    public var vmCgroup: String?
    public var changes = 0
    public var vmTasks: [String] = []
    public var remaining: [ShieldNote] = []
    public var refused: [ShieldNote] = []
    /// The VMs the shield is for (`shield --vm`), with their CPUs.
    public var owners: [ShieldOwners.Owner] = []

    public static func evaluate(records: [ShieldRecord], state: ShieldHostState) -> ShieldStatus {
        var st = ShieldStatus(active: false)
        let owners = ShieldOwners(records: records)
        st.owners = owners.active
        for r in records {
            switch r {
            case .begin(_, let hk, let hierarchy, let vm, _, _):
                // The newest begin has the housekeeping CPUs of the shield as it stands.
                st.active = !owners.isEmpty
                st.vmCPUs = owners.union()
                st.housekeeping = CPUSet(list: hk)
                st.hierarchy = hierarchy
                st.vmCgroup = vm
            case .release: continue
            case .refused(let what, let value, let reason):
                if !st.refused.contains(where: { $0.subject == what }) { st.refused.append(ShieldNote(subject: what, reason: "\(value): \(reason)")) }
            default: st.changes += 1
            }
        }
        guard st.active, let vm = st.vmCPUs else { return st }
        if !state.online.isEmpty { st.housekeeping = state.online.subtracting(vm) }
        let vmRel = st.vmCgroup.map { String($0.dropFirst(state.hierarchy.mount.count)) }
        var perCPU: [String] = []
        for t in state.tasks {
            if let vmRel, let cg = t.cgroup, cg == vmRel || cg.hasPrefix(vmRel + "/") {
                st.vmTasks.append("\(t.comm) (\(t.pid))")
                continue
            }
            guard let allowed = t.allowed, !allowed.intersection(vm).isEmpty else { continue }
            if t.isKernelThread && t.refusesAffinity { perCPU.append(t.comm); continue }
            st.remaining.append(ShieldNote(subject: "\(t.isKernelThread ? "kernel thread" : "task") \(t.comm) (\(t.pid))",
                                           reason: "may run on \(allowed)\(t.cgroup.map { " in cgroup \($0)" } ?? "") (started or moved in after the shield?)"))
        }
        if !perCPU.isEmpty {
            st.remaining.insert(ShieldNote(subject: "\(perCPU.count) per-CPU kernel threads (\(ShieldPlanner.abbreviate(perCPU)))",
                                           reason: "bound to their CPU (PF_NO_SETAFFINITY)"), at: 0)
        }
        for irq in state.irqs {
            guard let eff = irq.effective ?? CPUSet(list: irq.affinity), !eff.intersection(vm).isEmpty else { continue }
            let why = irq.isVFIO ? "vfio: the VM's own" : (st.refused.contains { $0.subject.hasPrefix("/proc/irq/\(irq.number)/") } ? "the kernel refused the move (managed IRQ)" : "affinity \(irq.affinity)")
            st.remaining.append(ShieldNote(subject: "IRQ \(irq.number) \(irq.actions)".trimmingASCIIWhitespace(), reason: "effective on \(eff): \(why)"))
        }
        return st
    }

    public func text() -> String {
        guard active, let vm = vmCPUs else { return "not shielded (no journal under /run/vfioctl)\n" }
        var out = "shielded: CPUs \(vm) for VMs, host on \(housekeeping?.description ?? "?") (\(hierarchy ?? "?")), \(changes) changes journaled\n"
        if owners.count > 1 || owners.contains(where: { !$0.name.isEmpty }) {
            out += "for " + owners.map(ShieldOwners.describe).joined(separator: ", ") + "\n"
        }
        out += "VM cgroup \(vmCgroup ?? "?"): \(vmTasks.isEmpty ? "no tasks yet (vfioctl shield --move PID)" : ShieldPlanner.abbreviate(vmTasks))\n"
        if !refused.isEmpty { out += "refused by the kernel\n" + refused.map { "  \($0.subject): \($0.reason)\n" }.joined() }
        if !remaining.isEmpty { out += "still on \(vm)\n" + remaining.map { "  \($0.subject): \($0.reason)\n" }.joined() }
        return out
    }
}
