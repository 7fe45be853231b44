import Testing
import VFIOCore
@testable import VFIOHost

@Suite struct ShieldExecutorTests {
    func setUp(v1: Bool = false, systemd: Bool = false) throws -> (FakeHost, FakeKernel, ShieldExecutor) {
        let host = try FakeHost.standard(v1: v1, systemd: systemd, machineSlice: systemd)
        let kernel = FakeKernel(host, mount: v1 ? "/sys/fs/cgroup/cpuset" : "/sys/fs/cgroup")
        return (host, kernel, ShieldExecutor(files: host.files, writer: kernel, kernel: kernel))
    }

    @Test(arguments: [false, true]) func shieldThenUnshieldRestoresEveryFileExactly(v1: Bool) throws {
        let (host, kernel, executor) = try setUp(v1: v1)
        let before = host.snapshot()
        let plan = try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([1, 2, 3]))
        let out = try executor.apply(plan)
        #expect(out.refused.map(\.subject) == ["/proc/irq/25/smp_affinity_list"])
        #expect(out.refused.first?.reason.contains("managed IRQ") == true)
        #expect(!out.failedHard)
        #expect(host.read("/proc/irq/24/smp_affinity_list") == "0")
        #expect(host.read("/proc/irq/default_smp_affinity") == "1")
        #expect(host.read("/proc/2/status").contains("Cpus_allowed_list:\t0\n"))
        let m = v1 ? "/sys/fs/cgroup/cpuset" : "/sys/fs/cgroup"
        #expect(host.read("\(m)/vfioctl.host/cgroup.procs") == "1\n100")

        // Move a "QEMU" in, then ask for the status.
        _ = try executor.move([200], hierarchy: plan.hierarchy)
        #expect(host.read("\(m)/vfioctl.vm/cgroup.procs") == "200")
        let status = ShieldStatus.evaluate(records: try executor.records(), state: try ShieldLoader(host.files).load())
        #expect(status.active && status.vmCPUs == CPUSet([1, 2, 3]))
        #expect(status.vmTasks == ["daemon (x) (200)"])
        #expect(status.refused.map(\.subject) == ["/proc/irq/25/smp_affinity_list"])
        #expect(status.text().contains("per-CPU kernel threads (ksoftirqd/1)"))

        let restored = try executor.restore()
        #expect(restored.problems.isEmpty)
        #expect(host.snapshot() == before)
        #expect(try executor.records().isEmpty)
        #expect(kernel.log.contains("rmdir \(m)/vfioctl.vm"))
        // Idempotent: a second unshield has nothing to do.
        #expect(try executor.restore().wasShielded == false)
    }

    /// A device given back to its driver while the shield stands (restore before unshield) requests its IRQs then,
    /// and the kernel puts them on the shielded default set: unshield gives such an IRQ the original default. One
    /// that someone set elsewhere meanwhile is left alone.
    @Test func anIRQRequestedDuringTheShieldGetsTheOriginalDefaultBack() throws {
        let (host, _, executor) = try setUp()
        _ = try executor.apply(try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([1, 2, 3])))
        #expect(host.read("/proc/irq/default_smp_affinity") == "1")
        try host.write("/proc/irq/40/smp_affinity_list", "0\n")   // nvme's admin queue, requested on the shielded default
        try host.write("/proc/irq/41/smp_affinity_list", "2\n")   // set to CPU 2 by someone else
        let restored = try executor.restore()
        #expect(restored.problems.isEmpty)
        #expect(host.read("/proc/irq/default_smp_affinity") == "f")
        #expect(host.read("/proc/irq/40/smp_affinity_list") == "0-3")
        #expect(host.read("/proc/irq/41/smp_affinity_list") == "2")
    }

    @Test func applyingTwiceChangesNothingMoreAndRestoresTheFirstOriginals() throws {
        let (host, kernel, executor) = try setUp()
        let before = host.snapshot()
        _ = try executor.apply(try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([2, 3])))
        let writes = kernel.log.count
        let again = try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([2, 3]))
        // Only the managed IRQ (refused, so still on CPU 1... not a VM CPU here) and nothing else remains.
        #expect(again.steps.filter { if case .write(let p, _, _) = $0 { !p.contains("vfioctl.") } else { true } }.isEmpty)
        _ = try executor.apply(again)
        #expect(kernel.log.count - writes <= 2)
        #expect(throws: ShieldError.self) { try executor.apply(try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([3]))) }
        _ = try executor.restore()
        #expect(host.snapshot() == before)
    }

    /// A crash (kill -9) after any change: the journal holds every original of the plan (written before the first
    /// change), only some changes happened; unshield must restore exactly.
    @Test(arguments: [false, true]) func crashAfterAnyChangeRestoresExactly(v1: Bool) throws {
        let probe = try setUp(v1: v1)
        let total = try probe.2.apply(try ShieldPlanner.plan(try ShieldLoader(probe.0.files).load(forStatus: false), vmCPUs: CPUSet([1, 2, 3]))).changed
        #expect(total > 5)
        for k in 0...total {
            var (host, _, executor) = try setUp(v1: v1)
            let before = host.snapshot()
            let plan = try ShieldPlanner.plan(try ShieldLoader(host.files).load(forStatus: false), vmCPUs: CPUSet([1, 2, 3]))
            executor.stopAfterChanges = k
            #expect(try executor.apply(plan).changed == k)
            #expect(try executor.records().count == ShieldExecutor.originals(plan).count + 2, "every original journaled first (after the begin and IRQs records)")
            _ = try executor.restore()
            #expect(host.snapshot() == before, "crash after change \(k)")
        }
    }

    @Test func systemdUnitsAreSetAndResetThroughSystemctl() throws {
        let (host, kernel, executor) = try setUp(systemd: true)
        let before = host.snapshot()
        _ = try executor.apply(try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([2, 3])))
        #expect(kernel.log.contains("systemctl system.slice AllowedCPUs=0-1"))
        #expect(!kernel.log.contains { $0.hasPrefix("systemctl machine.slice") }, "machine.slice keeps every CPU")
        _ = try executor.restore()
        #expect(kernel.log.contains("systemctl system.slice AllowedCPUs="))
        #expect(kernel.log.contains("systemctl user.slice AllowedCPUs=0-2"))
        #expect(host.snapshot() == before)
    }

    /// libvirt puts QEMU in its machine scope under machine.slice (emulator and vcpu cgroups, pinned by libvirt):
    /// the hook's move at started leaves it there; a QEMU elsewhere moves to machine.slice.
    @Test func moveLeavesATaskAlreadyInsideTheVMCgroup() throws {
        let (host, _, executor) = try setUp(systemd: true)
        let scope = "/machine.slice/machine-qemu\\x2d1\\x2dnvme.scope/libvirt/emulator"
        try host.task(300, "qemu-system-x86", ppid: 1, allowed: "0-1", cgroup: scope)
        try host.task(301, "qemu-system-x86", ppid: 1, allowed: "0-3", cgroup: "/system.slice")
        _ = try executor.apply(try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([2, 3])))
        let out = try executor.move([300, 301], hierarchy: .v2(mount: "/sys/fs/cgroup"))
        #expect(out.changed == 1 && out.refused.isEmpty)
        #expect(out.stayed.map(\.subject) == ["pid 300 (qemu-system-x86)"] && out.stayed[0].reason == "already in \(scope), inside the VM's cgroup")
        #expect(try host.files.readText("/sys/fs/cgroup/machine.slice/cgroup.procs").split(separator: "\n").contains("301"))
        #expect(!(try host.files.readText("/sys/fs/cgroup/machine.slice/cgroup.procs")).split(separator: "\n").contains("300"))
    }

    @Test func moveNeedsAShield() throws {
        let (_, _, executor) = try setUp()
        #expect(throws: ShieldError.self) { try executor.move([100], hierarchy: .v2(mount: "/sys/fs/cgroup")) }
    }
}
