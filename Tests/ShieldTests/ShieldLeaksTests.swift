import Testing
import VFIOCore
@testable import VFIOHost

/// `shield --status`: non-VM threads seen on the shielded CPUs, from each thread's last CPU and on-CPU time.
@Suite struct ShieldLeaksTests {
    /// `/proc/PID/task/TID/stat` with field 22 (start time) and field 39 (processor), and its schedstat.
    static func thread(_ host: FakeHost, pid: Int, tid: Int, comm: String, start: UInt64, cpu: Int, onCpuNs: UInt64) throws {
        var fields = ["S", "1"] + Array(repeating: "0", count: 50)
        fields[19] = String(start)
        fields[36] = String(cpu)
        try host.write("/proc/\(pid)/task/\(tid)/stat", "\(tid) (\(comm)) " + fields.joined(separator: " ") + "\n")
        try host.write("/proc/\(pid)/task/\(tid)/schedstat", "\(onCpuNs) 1000 3\n")
    }

    @Test func statFieldsOfAThread() {
        let line = "812 (stress-ng (cpu)) R 811 811 300 0 -1 4194368 110 0 0 0 4806 1 0 0 20 0 1 0 150500 20000000 700 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        let s = ThreadSample.parseStat(line)
        #expect(s?.tid == 812 && s?.comm == "stress-ng (cpu)" && s?.startTime == 150_500 && s?.processor == 1)
        #expect(ThreadSample.parseStat("812 (x) R 1 2 3") == nil)
        #expect(ShieldLeaks.uptimeTicks("1500.07 99.00\n") == 150_007)
        #expect(ShieldLeaks.uptimeTicks("15.5 1") == 1550)
        #expect(ShieldLeaks.uptimeTicks("x.5 1") == nil)
    }

    /// A fixture tree shielded on CPUs 1-3, read through its root as `shield --status --root TREE` does.
    @Test func statusNamesNonVMThreadsOnShieldedCPUsOfATree() throws {
        let host = try FakeHost.standard()
        let kernel = FakeKernel(host, mount: "/sys/fs/cgroup")
        let executor = ShieldExecutor(files: host.files, writer: kernel, kernel: kernel)
        try host.write("/proc/uptime", "1500.00 100.00\n")
        let plan = try ShieldPlanner.plan(try ShieldLoader(host.files).load(), vmCPUs: CPUSet([1, 2, 3]))
        _ = try executor.apply(plan)
        guard case .begin(_, _, _, _, _, let since)? = try executor.records().first else { Issue.record("no begin record"); return }
        #expect(since == 150_000)
        _ = try executor.move([200], hierarchy: plan.hierarchy)
        try host.write("/proc/uptime", "1600.00 100.00\n")
        // A task that came after the shield into a cgroup the shield never saw, allowed everywhere.
        try host.task(300, "stress-ng", ppid: 1, allowed: "0-3", cgroup: "/late.slice")
        try Self.thread(host, pid: 300, tid: 300, comm: "stress-ng", start: 150_500, cpu: 1, onCpuNs: 2_000_000_000)
        try Self.thread(host, pid: 300, tid: 301, comm: "stress-ng-cpu", start: 150_600, cpu: 0, onCpuNs: 5_000_000)
        // An old task that may still run on CPU 3 (its cgroup widened again by hand).
        try host.task(400, "cron", ppid: 1, allowed: "0-3", cgroup: "/late.slice")
        try Self.thread(host, pid: 400, tid: 400, comm: "cron", start: 1400, cpu: 3, onCpuNs: 7_000_000)
        // Moved off by the shield (allowed CPU 0 now) but not run since: its last CPU is still 1.
        try host.task(100, "sh", ppid: 1, allowed: "0", cgroup: "/vfioctl.host")
        try Self.thread(host, pid: 100, tid: 100, comm: "sh", start: 1100, cpu: 1, onCpuNs: 9_000_000)
        // The VM (moved in with --move) and a per-CPU kernel thread: on shielded CPUs, never named.
        try Self.thread(host, pid: 200, tid: 200, comm: "daemon (x)", start: 1200, cpu: 2, onCpuNs: 1_000_000)
        try Self.thread(host, pid: 10, tid: 10, comm: "ksoftirqd/1", start: 1010, cpu: 1, onCpuNs: 1_000_000)
        try Self.thread(host, pid: 1, tid: 1, comm: "init", start: 1001, cpu: 0, onCpuNs: 1_000_000)

        let state = try ShieldLoader(host.files).load()
        let leaks = ShieldLeakSampler.sample(files: host.files, state: state, records: try executor.records(), shielded: CPUSet([1, 2, 3]))
        let text = leaks.text()
        #expect(text.hasPrefix("non-VM threads on the shielded CPUs since the shield began 100 s ago (each thread's last CPU, /proc/PID/task/TID/stat field 39, and on-CPU time, schedstat field 1, read once (not the running system: nothing ran in between)"))
        #expect(text.contains("  CPU 1: stress-ng (pid 300) last ran here, started after the shield began (2000.0 ms on a CPU in all)\n"))
        #expect(text.contains("  CPU 3: cron (pid 400) last ran here and may still; whether since the shield began is unknown (it started before)\n"))
        #expect(!text.contains("daemon") && !text.contains("ksoftirqd") && !text.contains("stress-ng-cpu") && !text.contains("init"))
        #expect(text.contains("  7 threads read; 1 last ran here before being moved off (not since)\n"))
        #expect(leaks.leaks.map(\.tid) == [300, 400])
    }

    /// Two readings: a thread that ran between them and was on a shielded CPU at either is named with its time.
    @Test func threadsThatRanDuringTheSampleAreNamedWithTheirTime() {
        var state = ShieldHostState()
        state.hierarchy = .v2(mount: "/sys/fs/cgroup")
        state.tasks = [ProcTask(pid: 50, comm: "backup", ppid: 1, flags: 0, startTime: 10, allowed: CPUSet([0, 1]), cgroup: "/system.slice"),
                       ProcTask(pid: 60, comm: "qemu", ppid: 1, flags: 0, startTime: 20, allowed: CPUSet([1]), cgroup: "/vfioctl.vm"),
                       ProcTask(pid: 12, comm: "kworker/1:1", ppid: 2, flags: 0x0420_0000, startTime: 5, allowed: CPUSet([1]), cgroup: "/")]
        let records: [ShieldRecord] = [.begin(cpus: "1", housekeeping: "0", hierarchy: "cgroup v2", vmCgroup: "/sys/fs/cgroup/vfioctl.vm", since: 100)]
        let before = [ThreadSample(pid: 50, tid: 50, comm: "backup", processor: 0, startTime: 10, onCpuNs: 1_000_000),
                      ThreadSample(pid: 50, tid: 51, comm: "backup-io", processor: 1, startTime: 11, onCpuNs: 1_000_000),
                      ThreadSample(pid: 60, tid: 60, comm: "qemu", processor: 1, startTime: 20, onCpuNs: 0),
                      ThreadSample(pid: 12, tid: 12, comm: "kworker/1:1", processor: 1, startTime: 5, onCpuNs: 0)]
        var after = before
        after[0].processor = 1
        after[0].onCpuNs += 120_000_000
        after[1].processor = 0
        after[1].onCpuNs += 3_000_000
        after[2].onCpuNs += 400_000_000
        after[3].onCpuNs += 250_000
        let leaks = ShieldLeaks.evaluate(before: before, after: after, sampleNs: 500_000_000, shielded: CPUSet([1]), state: state, records: records, now: 1100)
        let text = leaks.text()
        #expect(text.contains("since the shield began 10 s ago"))
        #expect(text.contains("read twice 500.0 ms apart"))
        #expect(text.contains("  CPU 1: backup (pid 50) ran 120.0 ms of the 500.0 ms sample\n  CPU 1: backup-io (pid 50, thread 51) ran 3.0 ms of the 500.0 ms sample\n"))
        #expect(!text.contains("qemu"))
        #expect(text.contains("per-CPU kernel threads ran 0.3 ms there in the sample (1 thread, bound to their CPU)"))
    }

    /// Journals of older vfioctl have no `since`: they still read, and the status says nothing of when.
    @Test func beginRecordWithoutSinceStillReads() throws {
        let host = try FakeHost.standard()
        try host.write("/run/vfioctl/shield.journal", #"{"begin":{"cpus":"1","housekeeping":"0,2-3","hierarchy":"cgroup v2","vmCgroup":"/sys/fs/cgroup/vfioctl.vm"}}"# + "\n")
        let kernel = FakeKernel(host, mount: "/sys/fs/cgroup")
        let records = try ShieldExecutor(files: host.files, writer: kernel, kernel: kernel).records()
        #expect(ShieldOwners(records: records).active == [ShieldOwners.Owner(name: "", cpus: CPUSet([1]))])
        let leaks = ShieldLeaks.evaluate(before: [], after: [], sampleNs: 0, shielded: CPUSet([1]), state: ShieldHostState(), records: records, now: 5)
        #expect(leaks.text().hasPrefix("non-VM threads on the shielded CPUs (each"))
        #expect(leaks.text().contains("  none seen\n"))
    }
}
