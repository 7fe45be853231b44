/// Plans a shield: every movable task, IRQ and kernel cpumask leaves the VM CPUs; a cgroup on those CPUs stays for
/// the VM. Pure: the same state and CPU list always give the same steps, so a plan can be printed (dry run), applied
/// and tested on any tree. Values already in place give no step, which makes applying twice a no-op.
public enum ShieldPlanner {
    public static let hostCgroupName = "vfioctl.host"
    public static let vmCgroupName = "vfioctl.vm"
    /// systemd's slices for host work; on them `AllowedCPUs` is set through systemd.
    public static let systemdUnits: Set<String> = ["system.slice", "user.slice", "init.scope"]

    public static func plan(_ s: ShieldHostState, vmCPUs: CPUSet) throws(ShieldError) -> ShieldPlan {
        guard !vmCPUs.isEmpty else { throw ShieldError("--cpus: the list is empty") }
        guard vmCPUs.isSubset(of: s.online) else {
            throw ShieldError("--cpus \(vmCPUs): CPUs \(vmCPUs.subtracting(s.online)) are not online (online: \(s.online))")
        }
        let hk = s.online.subtracting(vmCPUs)
        guard !hk.isEmpty else { throw ShieldError("--cpus \(vmCPUs): that is every online CPU; the host needs at least one") }

        let m = s.hierarchy.mount
        let cpusFile = s.hierarchy.cpusFile
        let hostPath = m + "/" + hostCgroupName
        var steps: [ShieldStep] = []
        var stays: [ShieldNote] = []
        func isOurs(_ path: String) -> Bool {
            path == hostPath || path.hasPrefix(hostPath + "/") || path == m + "/" + vmCgroupName || path.hasPrefix(m + "/" + vmCgroupName + "/")
        }

        // The VM's place: libvirt's machine.slice when it exists (v2), else a cgroup of ours.
        var vmPath = m + "/" + vmCgroupName
        if !s.hierarchy.isV1, let machine = s.cgroup(m + "/machine.slice") { vmPath = machine.path }

        if case .v2 = s.hierarchy, !s.rootSubtreeControl.contains("cpuset") {
            steps.append(.enableController(subtreeControl: m + "/cgroup.subtree_control", controller: "cpuset"))
        }

        let rootTasks = s.tasks.filter { !$0.isKernelThread && $0.cgroup == "/" }
        func ourCgroup(_ path: String, cpus: CPUSet) {
            if s.cgroup(path) == nil { steps.append(.createCgroup(path: path, parent: m)) }
            if s.hierarchy.isV1 { steps.append(.write(path: path + "/" + s.hierarchy.memsFile, value: s.rootMems, original: nil)) }
            if CPUSet(list: s.cgroup(path)?.cpus ?? "") != cpus || s.cgroup(path)?.cpus?.isEmpty != false {
                steps.append(.write(path: path + "/" + cpusFile, value: cpus.description, original: nil))
            }
        }
        if !rootTasks.isEmpty || s.cgroup(hostPath) != nil { ourCgroup(hostPath, cpus: hk) }
        if isOurs(vmPath) {
            ourCgroup(vmPath, cpus: vmCPUs)
        } else if let vm = s.cgroup(vmPath), let current = CPUSet(list: vm.cpus ?? "").flatMap({ $0.isEmpty ? nil : $0 }), !vmCPUs.isSubset(of: current) {
            // machine.slice must reach the VM CPUs, and keeps the rest: libvirt pins the emulator and I/O threads of
            // this VM to housekeeping CPUs (emulatorpin), and other VMs live there too. Narrowing it to the VM CPUs
            // makes libvirt's sched_setaffinity fail ("cannot set CPU affinity ...: Invalid argument").
            steps.append(cgroupCPUs(vm, value: current.union(vmCPUs), state: s))
        }

        // Every other cgroup keeps only housekeeping CPUs. v2: the top level is enough (children cannot use more than
        // their parent). v1: every cpuset, children first (a v1 parent may not shrink below a child's CPUs).
        let others = s.cgroups.filter { !isOurs($0.path) && $0.path != vmPath && !$0.path.hasPrefix(vmPath + "/") }
        let ordered = s.hierarchy.isV1 ? others.sorted { $0.depth > $1.depth } : others.filter { $0.depth == 1 }
        for cg in ordered {
            let current = CPUSet(list: cg.cpus ?? "").flatMap { $0.isEmpty ? nil : $0 } ?? s.online
            let narrowed = narrow(current, to: hk)
            if narrowed == current && !(cg.cpus ?? "").isEmpty { continue }
            if narrowed == current && s.hierarchy.isV1 { continue }
            steps.append(cgroupCPUs(cg, value: narrowed, state: s))
        }
        if !rootTasks.isEmpty { steps.append(.moveTasks(rootTasks.map(TaskRef.init), to: hostPath)) }

        // IRQs: where the kernel allows; vfio IRQs belong to the VM and stay.
        for irq in s.irqs where !irq.isVFIO {
            guard let current = CPUSet(list: irq.affinity), !current.intersection(vmCPUs).isEmpty else { continue }
            steps.append(.write(path: "/proc/irq/\(irq.number)/smp_affinity_list", value: narrow(current, to: hk).description,
                                original: irq.affinity))
        }
        for (path, value) in [(ShieldLoader.defaultSMPAffinity, s.defaultSMPAffinity), (ShieldLoader.workqueueMask, s.workqueueMask),
                              (ShieldLoader.writebackMask, s.writebackMask)] {
            guard let value, let current = CPUSet(mask: value), !current.intersection(vmCPUs).isEmpty else { continue }
            steps.append(.write(path: path, value: narrow(current, to: hk).mask, original: value))
        }

        // Kernel threads: kthreadd first, then every unbound one; per-CPU threads refuse and stay.
        let kthreads = s.tasks.filter(\.isKernelThread).sorted { ($0.pid == 2 ? 0 : 1, $0.pid) < ($1.pid == 2 ? 0 : 1, $1.pid) }
        var perCPU: [String] = []
        for t in kthreads {
            guard let allowed = t.allowed, !allowed.intersection(vmCPUs).isEmpty else { continue }
            if t.refusesAffinity {
                perCPU.append(t.comm)
                continue
            }
            steps.append(.setAffinity(TaskRef(t), cpus: narrow(allowed, to: hk), original: allowed))
        }
        if !perCPU.isEmpty {
            stays.append(ShieldNote(subject: "\(perCPU.count) per-CPU kernel thread\(perCPU.count == 1 ? "" : "s") (\(abbreviate(perCPU)))",
                                    reason: "the kernel fixes their CPUs (PF_NO_SETAFFINITY): per-CPU threads run only when their CPU needs them; workqueue workers follow the workqueue cpumask"))
        }
        let vfio = s.irqs.filter { $0.isVFIO && !(CPUSet(list: $0.affinity) ?? .empty).intersection(vmCPUs).isEmpty }
        if !vfio.isEmpty {
            stays.append(ShieldNote(subject: "IRQ \(vfio.map { String($0.number) }.joined(separator: ", ")) (vfio)",
                                    reason: "the VM's own device interrupts may stay on its CPUs"))
        }
        return ShieldPlan(vmCPUs: vmCPUs, housekeeping: hk, hierarchy: s.hierarchy, vmCgroup: vmPath, systemd: s.systemd,
                          steps: steps, stays: stays)
    }

    /// `current ∩ keep`, or `keep` when they do not meet (an IRQ or cgroup only on VM CPUs moves to housekeeping).
    static func narrow(_ current: CPUSet, to keep: CPUSet) -> CPUSet {
        let both = current.intersection(keep)
        return both.isEmpty ? keep : both
    }

    static func cgroupCPUs(_ cg: CpusetCgroup, value: CPUSet, state s: ShieldHostState) -> ShieldStep {
        let name = HostPath.lastComponent(cg.path)
        let file = cg.path + "/" + s.hierarchy.cpusFile
        if s.systemd, !s.hierarchy.isV1, cg.depth == 1, systemdUnits.contains(name) || name == "machine.slice" {
            return .systemdAllowedCPUs(unit: name, cpusFile: file, value: value.description, original: cg.cpus ?? "")
        }
        return .write(path: file, value: value.description, original: cg.cpus ?? "")
    }

    static func abbreviate(_ names: [String]) -> String {
        names.count <= 6 ? names.joined(separator: ", ") : names.prefix(5).joined(separator: ", ") + ", ... \(names.count - 5) more"
    }
}
