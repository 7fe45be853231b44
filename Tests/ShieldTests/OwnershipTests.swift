import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

/// Shields of several VMs (`shield --vm NAME`, as the libvirt hook runs it): concurrent starts, one VM's release,
/// and recovery from a corrupt journal.
@Suite struct ShieldOwnershipTests {
    func setUp() throws -> (FakeHost, FakeKernel, ShieldExecutor) {
        let host = try FakeHost.standard()
        let kernel = FakeKernel(host, mount: "/sys/fs/cgroup")
        return (host, kernel, ShieldExecutor(files: host.files, writer: kernel, kernel: kernel))
    }

    /// What `vfioctl shield --vm NAME --cpus LIST` does: under the runtime lock, plan for every owner's CPUs, apply.
    @discardableResult
    func shield(_ host: FakeHost, _ executor: ShieldExecutor, vm: String, _ cpus: CPUSet) throws -> ShieldExecutor.Outcome {
        let lock = try RuntimeLock.acquire(host.files, command: "shield --vm \(vm)", timeout: 30)
        defer { withExtendedLifetime(lock) {} }
        let union = try executor.cpusToShield(owner: vm, cpus: cpus)
        let plan = try ShieldPlanner.plan(try ShieldLoader(host.files).load(forStatus: false), vmCPUs: union)
        return try executor.apply(plan, owner: vm, cpus: cpus)
    }

    func unshield(_ host: FakeHost, _ executor: ShieldExecutor, vm: String) throws -> ShieldExecutor.Released {
        let lock = try RuntimeLock.acquire(host.files, command: "unshield --vm \(vm)", timeout: 30)
        defer { withExtendedLifetime(lock) {} }
        return try executor.release(owner: vm, state: try ShieldLoader(host.files).load(forStatus: false))
    }

    func cpus(_ host: FakeHost, _ path: String) -> CPUSet? {
        path.hasSuffix("cpumask") || path.hasSuffix("default_smp_affinity") ? CPUSet(mask: host.read(path)) : CPUSet(list: host.read(path))
    }

    /// Two VMs start at once (two threads, as two hook processes): the lock serialises them, the second plans on
    /// what the first left, both owners and every original are journaled, and one full unshield puts every file back.
    @Test func concurrentShieldsOfTwoVMsJournalBothAndUnshieldRestoresExactly() throws {
        let (host, _, executor) = try setUp()
        let before = host.snapshot()
        final class Failures: @unchecked Sendable {
            let lock = NSLock()
            var list: [String] = []
        }
        let failures = Failures()
        let vms = [("win10", CPUSet([1])), ("linux", CPUSet([2, 3]))]
        DispatchQueue.concurrentPerform(iterations: vms.count) { i in
            do { try shield(host, executor, vm: vms[i].0, vms[i].1) } catch {
                failures.lock.withLock { failures.list.append("\(vms[i].0): \(error)") }
            }
        }
        #expect(failures.list.isEmpty)
        let owners = ShieldOwners(records: try executor.records())
        #expect(Set(owners.active.map(\.name)) == ["win10", "linux"])
        #expect(owners.union() == CPUSet([1, 2, 3]))
        #expect(cpus(host, "/proc/irq/24/smp_affinity_list") == CPUSet([0]))
        #expect(cpus(host, "/sys/fs/cgroup/user.slice/cpuset.cpus") == CPUSet([0]))
        #expect(cpus(host, "/sys/fs/cgroup/vfioctl.vm/cpuset.cpus") == CPUSet([1, 2, 3]))
        let restored = try executor.restore()
        #expect(restored.problems.isEmpty && restored.corrupt.isEmpty)
        #expect(host.snapshot() == before)
        #expect(!host.files.exists(executor.journal.path))
    }

    /// VM A's release gives back A's CPUs only: B's stay shielded, planned from the host's own values (not from
    /// what A's shield left), and B's release then restores every file exactly. Either order.
    @Test(arguments: [true, false]) func unshieldOfOneVMLeavesTheOtherShielded(firstJoinedLeavesFirst: Bool) throws {
        let (host, _, executor) = try setUp()
        let before = host.snapshot()
        let a = ("a", CPUSet([1])), b = ("b", CPUSet([2, 3]))
        try shield(host, executor, vm: a.0, a.1)
        try shield(host, executor, vm: b.0, b.1)
        let (leaving, staying) = firstJoinedLeavesFirst ? (a, b) : (b, a)
        guard case .shrunk(let out, let to, let remaining) = try unshield(host, executor, vm: leaving.0) else {
            Issue.record("expected the shield to shrink"); return
        }
        #expect(!out.failedHard)
        #expect(to == staying.1 && remaining.map(\.name) == [staying.0])
        let hk = CPUSet([0, 1, 2, 3]).subtracting(staying.1)
        // Every host value leaves the staying VM's CPUs and gets the leaving VM's back (as far as it had them).
        #expect(cpus(host, "/proc/irq/24/smp_affinity_list") == hk)
        #expect(cpus(host, "/proc/irq/default_smp_affinity") == hk)
        #expect(cpus(host, "/sys/fs/cgroup/user.slice/cpuset.cpus") == CPUSet([0, 1, 2]).intersection(hk))
        #expect(cpus(host, "/sys/fs/cgroup/system.slice/cpuset.cpus") == hk)
        #expect(cpus(host, "/sys/fs/cgroup/vfioctl.host/cpuset.cpus") == hk)
        #expect(cpus(host, "/sys/fs/cgroup/vfioctl.vm/cpuset.cpus") == staying.1)
        #expect(host.read("/proc/2/status").contains("Cpus_allowed_list:\t\(hk)\n"))
        #expect(host.read("/proc/irq/27/smp_affinity_list") == "0", "never touched")
        #expect(ShieldOwners(records: try executor.records()).active.map(\.name) == [staying.0])
        // Leaving twice changes nothing.
        guard case .notOwner = try unshield(host, executor, vm: leaving.0) else { Issue.record("expected no shield for \(leaving.0)"); return }
        guard case .restored(let last) = try unshield(host, executor, vm: staying.0) else { Issue.record("expected the last owner to restore"); return }
        #expect(last.problems.isEmpty)
        #expect(host.snapshot() == before)
        #expect(!host.files.exists(executor.journal.path))
    }

    @Test func aVMCannotChangeItsCPUsWhileShielded() throws {
        let (host, _, executor) = try setUp()
        try shield(host, executor, vm: "a", CPUSet([1]))
        #expect(throws: ShieldError.self) { try executor.cpusToShield(owner: "a", cpus: CPUSet([2])) }
        // A plan that leaves out another VM's CPUs is refused rather than applied.
        let narrow = try ShieldPlanner.plan(try ShieldLoader(host.files).load(forStatus: false), vmCPUs: CPUSet([3]))
        #expect(throws: ShieldError.self) { try executor.apply(narrow, owner: "b", cpus: CPUSet([3])) }
        _ = try executor.restore()
    }

    /// A corrupt line in the middle of the shield journal: unshield restores everything the other lines hold,
    /// names the line (file:line), and keeps the journal until `--drop-corrupt`.
    @Test func corruptMiddleLineIsNamedAndTheRestRestored() throws {
        let (host, _, executor) = try setUp()
        let before = host.snapshot()
        try shield(host, executor, vm: "a", CPUSet([2, 3]))
        let real = host.files.realPath(executor.journal.path)
        var lines = try String(contentsOfFile: real, encoding: .utf8).split(separator: "\n").map(String.init)
        lines.insert("\u{0}\u{0}garbage", at: 2)
        try (lines.joined(separator: "\n") + "\n").write(toFile: real, atomically: false, encoding: .utf8)
        #expect(throws: ShieldError.self) { try executor.records() }
        let out = try executor.restore()
        #expect(out.corrupt.map(\.line) == [3] && out.corrupt.first?.path == "/run/vfioctl/shield.journal")
        #expect(out.corrupt.first?.description.hasPrefix("/run/vfioctl/shield.journal:3: not a journal record") == true)
        #expect(out.problems.isEmpty)
        #expect(host.snapshot() == before)
        #expect(host.files.exists(executor.journal.path))
        #expect(try executor.dropCorrupt().map(\.line) == [3])
        let again = try executor.restore()
        #expect(again.corrupt.isEmpty && again.problems.isEmpty, "\(again.problems)")
        #expect(!host.files.exists(executor.journal.path))
    }

    /// A journal written before shields had owners still reads (as one shield by hand) and restores.
    @Test func journalWithoutOwnersReadsAsOneShieldByHand() throws {
        let (host, _, executor) = try setUp()
        try host.write("/run/vfioctl/shield.journal", #"{"begin":{"cpus":"2-3","housekeeping":"0-1","hierarchy":"cgroup v2 at /sys/fs/cgroup","vmCgroup":"/sys/fs/cgroup/vfioctl.vm"}}"# + "\n")
        let owners = ShieldOwners(records: try executor.records())
        #expect(owners.active == [ShieldOwners.Owner(name: "", cpus: CPUSet([2, 3]))])
        #expect(try executor.cpusToShield(owner: "vm", cpus: CPUSet([1])) == CPUSet([1, 2, 3]))
    }
}
