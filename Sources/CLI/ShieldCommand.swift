import ArgumentParser
import VFIOCore
import VFIOHost

struct Shield: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Dedicate CPUs to VMs: move every movable task, IRQ and kernel cpumask off them, until vfioctl unshield.",
        discussion: """
            cgroup v2 (cpuset on every top-level cgroup, systemd AllowedCPUs on system.slice, user.slice, init.scope when \
            systemd runs; the root cgroup's tasks go to vfioctl.host) or a v1 cpuset mount (vfioctl.host and vfioctl.vm \
            cpusets). IRQs move where the kernel allows (managed IRQs refuse: reported), as do \
            /proc/irq/default_smp_affinity, the workqueue and writeback cpumasks, kthreadd and unbound kernel threads. \
            Every original value is journaled (/run/vfioctl/shield.journal) before it changes; vfioctl unshield puts them \
            back, also after a crash. VM threads go to machine.slice or vfioctl.vm with --move.
            With --vm NAME (the libvirt hook passes it), the shield belongs to that VM; several VMs may be shielded at             once (the shield covers all their CPUs), and vfioctl unshield --vm NAME gives back only what no other VM             still needs.
            """)

    @OptionGroup var root: RootOptions
    @Option(help: ArgumentHelp("CPUs to dedicate to VMs, in the kernel's list format.", valueName: "LIST")) var cpus: CPUSet?
    @Option(help: ArgumentHelp("Take the CPUs from a VM spec's pinning (the libvirt hook uses this).", valueName: "SPEC")) var spec: String?
    @Flag(help: "Print every change (old → new) and change nothing.") var dryRun = false
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Put these processes (a QEMU, a benchmark) on the VM side.", valueName: "PID"))
    var move: [Int] = []
    @Flag(help: "What is shielded, what could not move and why.") var status = false
    @Option(help: ArgumentHelp("The VM the shield is for (several VMs may hold shields at once; unshield --vm gives back one).", valueName: "NAME"))
    var vm: String?

    func validate() throws {
        if let vm, !Self.isVMName(vm) {
            throw ValidationError("--vm '\(escapingControls(vm))': not a VM name (libvirt's domain name: printable, up to 256 bytes)")
        }
        if cpus != nil && spec != nil { throw ValidationError("give either --cpus or --spec") }
        if !move.isEmpty && (cpus != nil || spec != nil) { throw ValidationError("--move takes only PIDs; shield --cpus first") }
    }

    static func isVMName(_ vm: String) -> Bool {
        !(vm.isEmpty || vm.hasPrefix("-") || vm.utf8.count > 256 || vm.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }))
    }

    func run() throws {
        let session = try root.open()
        try HostChange.refuseSnapshot(session, "shield", dryRun: dryRun || status)
        let files = session.files
        if !status && !move.isEmpty {
            try HostActions.move(session, pids: move) { print($0) }
            return
        }
        if !status && !dryRun {
            try HostActions.shield(session, cpus: try vmCPUs(), vm: vm) { print($0) }
            return
        }
        // --status and --dry-run only read: no lock, no change.
        let executor = ShieldExecutor(files: files, writer: RootedHostWriter(files: files), kernel: LiveShieldKernel(files: files))
        do {
            if status {
                let state = try session.facts([.shield, .shieldStatus]).shieldState()
                let records = try executor.records()
                let st = ShieldStatus.evaluate(records: records, state: state)
                Output.write(st.text())
                if st.active, let vm = st.vmCPUs {
                    Output.write(ShieldLeakSampler.sample(files: files, state: state, records: records, shielded: vm).text())
                }
                return
            }
            let list = try vmCPUs()
            let union = try executor.cpusToShield(owner: vm, cpus: list)
            let state = try session.facts(.shield, affinity: LiveShieldKernel(files: files).affinityReader).shieldState()
            let plan = try ShieldPlanner.plan(state, vmCPUs: union)
            if union != list { print("other VMs hold shields: the shield would cover CPUs \(union)") }
            Output.write(plan.dryRunText())
        } catch let error as ShieldError {
            throw CLIError(error.description)
        }
    }

    private func vmCPUs() throws -> CPUSet {
        switch (cpus, spec) {
        case (let set?, nil):
            return set
        case (nil, let path?):
            let vm = try SpecFile.load(path)
            guard !vm.vmCPUs.isEmpty else { throw CLIError("\(path): the spec pins no vCPUs ([cpu] pin)") }
            return vm.vmCPUs
        case (nil, nil): throw CLIError("shield: give --cpus LIST (or --spec SPEC, --move PID..., --status)")
        default: throw CLIError("shield: give either --cpus or --spec")
        }
    }
}
