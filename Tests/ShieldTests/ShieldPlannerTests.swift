import Testing
import Glibc
import VFIOCore
import VFIOHost

@Suite struct ShieldPlannerTests {
    @Test func masksAreKernelHexWords() {
        #expect(CPUSet([0, 1]).mask == "3")
        #expect(CPUSet([0, 1, 2, 3]).mask == "f")
        #expect(CPUSet([33]).mask == "2,00000000")
        #expect(CPUSet(mask: CPUSet([1, 40, 63]).mask) == CPUSet([1, 40, 63]))
    }

    @Test func procParsers() {
        let t = ShieldLoader.parseStat("42 (a) (b c)) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0")
        #expect(t?.pid == 42 && t?.comm == "a) (b c)" && t?.ppid == 7 && t?.startTime == 12345 && t?.flags == 4_194_560)
        #expect(ShieldLoader.cpusetCgroup("0::/system.slice/x.service\n", v1: false) == "/system.slice/x.service")
        #expect(ShieldLoader.cpusetCgroup("5:cpuacct,cpu:/a\n3:cpuset:/docker\n0::/\n", v1: true) == "/docker")
        #expect(ShieldLoader.allowedCPUs(status: "Name:\tx\nCpus_allowed_list:\t0-2,5\n") == CPUSet([0, 1, 2, 5]))
    }

    @Test func v1CpusetMountWinsOverAnEmptyUnifiedHierarchy() {
        let split = "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\ncgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
        #expect(ShieldLoader.cpusetHierarchy(mounts: split, controllers: { _ in "" }) == .v1(mount: "/sys/fs/cgroup/cpuset", prefix: "cpuset."))
        let v2 = "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
        #expect(ShieldLoader.cpusetHierarchy(mounts: v2, controllers: { _ in "cpuset cpu memory" }) == .v2(mount: "/sys/fs/cgroup"))
        #expect(ShieldLoader.cpusetHierarchy(mounts: v2, controllers: { _ in "cpu memory" }) == nil)
        let noprefix = "cgroup /dev/cpuset cgroup rw,cpuset,noprefix 0 0\n"
        #expect(ShieldLoader.cpusetHierarchy(mounts: noprefix, controllers: { _ in "" }) == .v1(mount: "/dev/cpuset", prefix: ""))
    }

    @Test func v2WithoutSystemdPlansEveryKnob() throws {
        let host = try FakeHost.standard()
        let state = try ShieldLoader(host.files).load()
        let plan = try ShieldPlanner.plan(state, vmCPUs: CPUSet([1, 2, 3]))
        let m = "/sys/fs/cgroup"
        #expect(plan.housekeeping == CPUSet([0]))
        #expect(plan.vmCgroup == "\(m)/vfioctl.vm")
        #expect(plan.steps == [
            .enableController(subtreeControl: "\(m)/cgroup.subtree_control", controller: "cpuset"),
            .createCgroup(path: "\(m)/vfioctl.host", parent: m),
            .write(path: "\(m)/vfioctl.host/cpuset.cpus", value: "0", original: nil),
            .createCgroup(path: "\(m)/vfioctl.vm", parent: m),
            .write(path: "\(m)/vfioctl.vm/cpuset.cpus", value: "1-3", original: nil),
            .write(path: "\(m)/system.slice/cpuset.cpus", value: "0", original: ""),
            .write(path: "\(m)/user.slice/cpuset.cpus", value: "0", original: "0-2"),
            .moveTasks([TaskRef(pid: 1, comm: "init", startTime: 1001), TaskRef(pid: 100, comm: "sh", startTime: 1100)], to: "\(m)/vfioctl.host"),
            .write(path: "/proc/irq/24/smp_affinity_list", value: "0", original: "0-3"),
            .write(path: "/proc/irq/25/smp_affinity_list", value: "0", original: "1"),
            .write(path: "/proc/irq/default_smp_affinity", value: "1", original: "f"),
            .write(path: "/sys/devices/virtual/workqueue/cpumask", value: "1", original: "f"),
            .write(path: "/sys/bus/workqueue/devices/writeback/cpumask", value: "1", original: "f"),
            .setAffinity(TaskRef(pid: 2, comm: "kthreadd", startTime: 1002), cpus: CPUSet([0]), original: CPUSet([0, 1, 2, 3])),
            .setAffinity(TaskRef(pid: 11, comm: "rcu_preempt", startTime: 1011), cpus: CPUSet([0]), original: CPUSet([0, 1, 2, 3])),
        ])
        #expect(plan.stays.map(\.subject) == ["1 per-CPU kernel thread (ksoftirqd/1)", "IRQ 26 (vfio)"])
        let text = plan.dryRunText()
        #expect(text.contains("/proc/irq/24/smp_affinity_list: '0-3' → 0"))
        #expect(text.contains("kthreadd (pid 2) affinity: 0-3 → 0"))
    }

    @Test func systemdSlicesGoThroughAllowedCPUsAndMachineSliceIsTheVMPlace() throws {
        let host = try FakeHost.standard(systemd: true, machineSlice: true)
        let plan = try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([2, 3]))
        let m = "/sys/fs/cgroup"
        #expect(plan.vmCgroup == "\(m)/machine.slice")
        // machine.slice keeps every CPU: libvirt pins this VM's emulator threads to housekeeping CPUs there.
        #expect(!plan.steps.contains { if case .systemdAllowedCPUs(let unit, _, _, _) = $0 { unit == "machine.slice" } else { false } })
        try host.write("\(m)/machine.slice/cpuset.cpus", "0-1\n")
        let widened = try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([2, 3]))
        #expect(widened.steps.contains(.systemdAllowedCPUs(unit: "machine.slice", cpusFile: "\(m)/machine.slice/cpuset.cpus", value: "0-3", original: "0-1")))
        #expect(plan.steps.contains(.systemdAllowedCPUs(unit: "system.slice", cpusFile: "\(m)/system.slice/cpuset.cpus", value: "0-1", original: "")))
        #expect(plan.steps.contains(.systemdAllowedCPUs(unit: "user.slice", cpusFile: "\(m)/user.slice/cpuset.cpus", value: "0-1", original: "0-2")))
        #expect(!plan.steps.contains { if case .createCgroup(let p, _) = $0 { p.hasSuffix("vfioctl.vm") } else { false } })
    }

    @Test func v1NarrowsChildrenBeforeParentsAndSetsMems() throws {
        let host = try FakeHost.standard(v1: true)
        let plan = try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([2, 3]))
        let m = "/sys/fs/cgroup/cpuset"
        let writes = plan.steps.compactMap { if case .write(let p, let v, _) = $0, p.hasPrefix(m) { "\(p)=\(v)" } else { nil } }
        #expect(writes == [
            "\(m)/vfioctl.host/cpuset.mems=0", "\(m)/vfioctl.host/cpuset.cpus=0-1",
            "\(m)/vfioctl.vm/cpuset.mems=0", "\(m)/vfioctl.vm/cpuset.cpus=2-3",
            "\(m)/docker/c1/cpuset.cpus=1", "\(m)/docker/cpuset.cpus=0-1",
        ])
        #expect(!plan.steps.contains { if case .enableController = $0 { true } else { false } })
    }

    @Test func refusesListsThatLeaveNothingOrAreOffline() throws {
        let host = try FakeHost.standard()
        let state = try ShieldLoader(host.files).load()
        #expect(throws: ShieldError.self) { try ShieldPlanner.plan(state, vmCPUs: CPUSet([0, 1, 2, 3])) }
        #expect(throws: ShieldError.self) { try ShieldPlanner.plan(state, vmCPUs: CPUSet([7])) }
        #expect(throws: ShieldError.self) { try ShieldPlanner.plan(state, vmCPUs: .empty) }
    }
}

@Suite struct LiveAffinityTests {
    /// On the real root the loader asks sched_getaffinity; it must agree with /proc/PID/status (read-only: nothing
    /// on this machine changes). On a tree root there is no kernel to ask.
    @Test func schedGetaffinityAgreesWithProcStatus() throws {
        let real = try RootedFileSystem(root: "/")
        let reader = try #require(LiveShieldKernel(files: real).affinityReader)
        for pid in [Int(getpid()), 1] {
            let status = try real.readText("/proc/\(pid)/status")
            #expect(reader(pid) == ShieldLoader.allowedCPUs(status: status), "pid \(pid)")
        }
        #expect(reader(Int(Int32.max)) == nil)
        let tree = try FakeHost.standard(v1: false, systemd: false, machineSlice: false)
        #expect(LiveShieldKernel(files: tree.files).affinityReader == nil)
    }
}
