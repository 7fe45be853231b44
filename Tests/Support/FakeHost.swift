import Foundation
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

/// A fake host tree: files as the kernel shows them, written by small builders (shielding's `standard` host), or
/// rendered from a `HostTree`.
public final class FakeHost: @unchecked Sendable {
    public let dir: String
    public let files: RootedFileSystem

    public init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-fake-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        files = try RootedFileSystem(root: dir)
    }

    /// The tree rendered into a new directory.
    public convenience init(_ tree: HostTree) throws {
        try self.init()
        try tree.write(to: URL(fileURLWithPath: dir))
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    public func write(_ path: String, _ text: String) throws {
        let real = dir + path
        try FileManager.default.createDirectory(atPath: (real as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: real))
    }

    public func read(_ path: String) -> String { (try? files.readText(path)) ?? "<missing>" }

    /// PF_KTHREAD and PF_NO_SETAFFINITY.
    public static let kthread: UInt64 = 0x0020_0000
    public static let perCPU: UInt64 = 0x0420_0000

    public func task(_ pid: Int, _ comm: String, ppid: Int, flags: UInt64 = 0x0040_0100, allowed: String, cgroup: String, v1: Bool = false) throws {
        // Fields after "(comm)": state ppid pgrp session tty tpgid flags ... starttime is field 22.
        var fields = ["S", String(ppid)] + Array(repeating: "0", count: 18)
        fields[6] = String(flags)
        fields[19] = String(1000 + pid)
        try write("/proc/\(pid)/stat", "\(pid) (\(comm)) " + fields.joined(separator: " ") + "\n")
        try write("/proc/\(pid)/status", "Name:\t\(comm)\nCpus_allowed:\tf\nCpus_allowed_list:\t\(allowed)\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n")
        try write("/proc/\(pid)/cgroup", v1 ? "3:cpuset:\(cgroup)\n1:name=systemd:/\n" : "0::\(cgroup)\n")
    }

    /// A 4-CPU host: cgroup v2 (or a v1 cpuset mount), four IRQs (24 plain, 25 managed, 26 vfio, 27 already on CPU 0),
    /// init and a shell in the root cgroup, a daemon in system.slice, kthreadd, a per-CPU and an unbound kernel thread.
    public static func standard(v1: Bool = false, systemd: Bool = false, machineSlice: Bool = false) throws -> FakeHost {
        let h = try FakeHost()
        try h.write("/sys/devices/system/cpu/online", "0-3\n")
        let m = v1 ? "/sys/fs/cgroup/cpuset" : "/sys/fs/cgroup"
        if v1 {
            try h.write("/proc/mounts", "tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n")
            try h.write("/sys/fs/cgroup/unified/cgroup.controllers", "\n")
            try h.write("\(m)/cpuset.cpus", "0-3\n")
            try h.write("\(m)/cpuset.mems", "0\n")
            try h.write("\(m)/cgroup.procs", "1\n100\n")
            try h.write("\(m)/docker/cpuset.cpus", "0-3\n")
            try h.write("\(m)/docker/cpuset.mems", "0\n")
            try h.write("\(m)/docker/cgroup.procs", "200\n")
            try h.write("\(m)/docker/c1/cpuset.cpus", "1-2\n")
            try h.write("\(m)/docker/c1/cpuset.mems", "0\n")
            try h.write("\(m)/docker/c1/cgroup.procs", "\n")
        } else {
            try h.write("/proc/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n")
            try h.write("\(m)/cgroup.controllers", "cpuset cpu io memory pids\n")
            try h.write("\(m)/cgroup.subtree_control", "memory\n")
            try h.write("\(m)/cgroup.procs", "1\n100\n")
            try h.write("\(m)/system.slice/cpuset.cpus", "\n")
            try h.write("\(m)/system.slice/cgroup.procs", "200\n")
            try h.write("\(m)/user.slice/cpuset.cpus", "0-2\n")
            try h.write("\(m)/user.slice/cgroup.procs", "\n")
            if machineSlice {
                try h.write("\(m)/machine.slice/cpuset.cpus", "\n")
                try h.write("\(m)/machine.slice/cgroup.procs", "\n")
            }
        }
        if systemd { try h.write("/run/systemd/system/.keep", "") }
        try h.task(1, "init", ppid: 0, allowed: "0-3", cgroup: "/", v1: v1)
        try h.task(100, "sh", ppid: 1, allowed: "0-3", cgroup: "/", v1: v1)
        try h.task(200, "daemon (x)", ppid: 1, allowed: "0-3", cgroup: v1 ? "/docker" : "/system.slice", v1: v1)
        try h.task(2, "kthreadd", ppid: 0, flags: kthread, allowed: "0-3", cgroup: "/", v1: v1)
        try h.task(10, "ksoftirqd/1", ppid: 2, flags: perCPU, allowed: "1", cgroup: "/", v1: v1)
        try h.task(11, "rcu_preempt", ppid: 2, flags: kthread, allowed: "0-3", cgroup: "/", v1: v1)
        try h.task(12, "ksoftirqd/0", ppid: 2, flags: perCPU, allowed: "0", cgroup: "/", v1: v1)
        try h.write("/proc/interrupts", """
                       CPU0       CPU1       CPU2       CPU3
              24:         10          0          0          0  IR-PCI-MSI 1-edge      e1000e
              25:          0          5          0          0  IR-PCI-MSI 2-edge      nvme0q1
              26:          0          0          7          0  IR-PCI-MSI 3-edge      vfio-msix[0](0000:01:00.0)
              27:          3          0          0          0  IR-IO-APIC 4-edge      ttyS0
             LOC:        100        200        300        400   Local timer interrupts

            """)
        for (n, list) in [(24, "0-3"), (25, "1"), (26, "2-3"), (27, "0")] {
            try h.write("/proc/irq/\(n)/smp_affinity_list", list + "\n")
            try h.write("/proc/irq/\(n)/effective_affinity_list", String(list.prefix(1)) + "\n")
        }
        try h.write("/proc/irq/default_smp_affinity", "f\n")
        try h.write("/sys/devices/virtual/workqueue/cpumask", "f\n")
        try h.write("/sys/bus/workqueue/devices/writeback/cpumask", "f\n")
        return h
    }

    /// Every file's content (cgroup.procs and subtree_control as sorted sets), for exact before/after comparisons.
    public func snapshot() -> [String: String] {
        var out: [String: String] = [:]
        let e = FileManager.default.enumerator(atPath: dir)
        while let rel = e?.nextObject() as? String {
            let path = "/" + rel
            guard !path.hasPrefix("/run/vfioctl"), files.kind(of: path) == .regular else { continue }
            var text = read(path)
            if path.hasSuffix("cgroup.procs") || path.hasSuffix("subtree_control") {
                text = text.split(whereSeparator: { $0 == "\n" || $0 == " " }).map(String.init).sorted().joined(separator: " ")
            }
            out[path] = text
        }
        return out
    }
}
