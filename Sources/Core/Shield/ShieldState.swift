/// What shielding reads of a host before it plans: the cpuset hierarchy, every task, IRQ affinities and the
/// kernel's housekeeping cpumasks. Loaded by `ShieldLoader` through a `HostFileReader`, so plans are pure.
public struct ShieldHostState: Sendable, Equatable {
    /// sysfs: `/sys/devices/system/cpu/online`.
    public var online: CPUSet = .empty
    public var hierarchy: CpusetHierarchy = .v2(mount: "/sys/fs/cgroup")
    /// v2: the root's `cgroup.subtree_control` controllers.
    public var rootSubtreeControl: Set<String> = []
    /// v1: the root cpuset's `cpuset.mems` (a new v1 cpuset takes no task until its mems are set).
    public var rootMems: String = ""
    /// Every cgroup below the root, parents before children.
    public var cgroups: [CpusetCgroup] = []
    public var tasks: [ProcTask] = []
    public var irqs: [IRQAffinity] = []
    /// procfs: `/proc/irq/default_smp_affinity` (hex mask, as read).
    public var defaultSMPAffinity: String?
    /// sysfs: `/sys/devices/virtual/workqueue/cpumask` (unbound workqueues).
    public var workqueueMask: String?
    /// sysfs: `/sys/bus/workqueue/devices/writeback/cpumask` (the bdi writeback workqueue).
    public var writebackMask: String?
    /// `/run/systemd/system` exists: systemd is the init and owns the slices.
    public var systemd = false

    public init() {}

    public func cgroup(_ path: String) -> CpusetCgroup? { cgroups.first { $0.path == path } }
}

/// Where the cpuset controller lives. v2: the unified hierarchy (files `cpuset.cpus`, `cgroup.procs`);
/// v1: a cpuset mount of its own (files `cpuset.cpus` or, mounted with `noprefix`, `cpus`).
public enum CpusetHierarchy: Sendable, Equatable, CustomStringConvertible {
    case v2(mount: String)
    case v1(mount: String, prefix: String)

    public var mount: String {
        switch self {
        case .v2(let m), .v1(let m, _): m
        }
    }
    public var isV1: Bool { if case .v1 = self { true } else { false } }
    public var cpusFile: String { if case .v1(_, let p) = self { "\(p)cpus" } else { "cpuset.cpus" } }
    public var memsFile: String { if case .v1(_, let p) = self { "\(p)mems" } else { "cpuset.mems" } }
    public var description: String {
        switch self {
        case .v2(let m): "cgroup v2 at \(m)"
        case .v1(let m, _): "cgroup v1 cpuset at \(m)"
        }
    }
}

/// One cgroup of the cpuset hierarchy.
public struct CpusetCgroup: Sendable, Equatable {
    /// Host path of its directory.
    public var path: String
    /// Its `cpuset.cpus` as read ("" in v2 when it inherits; nil when the controller is not enabled for it).
    public var cpus: String?
    /// 1 for a child of the root.
    public var depth: Int

    public init(path: String, cpus: String?, depth: Int) {
        self.path = path
        self.cpus = cpus
        self.depth = depth
    }
}

/// One task as `/proc/PID/stat`, `status` and `cgroup` show it.
public struct ProcTask: Sendable, Equatable {
    public var pid: Int
    public var comm: String
    public var ppid: Int
    /// `stat` field 9: `PF_*` flags.
    public var flags: UInt64
    /// `stat` field 22: start time in clock ticks since boot; tells a reused pid apart.
    public var startTime: UInt64
    /// `status`: `Cpus_allowed_list`.
    public var allowed: CPUSet?
    /// Its cgroup in the cpuset hierarchy, relative to the mount ("/" is the root).
    public var cgroup: String?

    public init(pid: Int, comm: String, ppid: Int, flags: UInt64, startTime: UInt64, allowed: CPUSet?, cgroup: String?) {
        self.pid = pid
        self.comm = comm
        self.ppid = ppid
        self.flags = flags
        self.startTime = startTime
        self.allowed = allowed
        self.cgroup = cgroup
    }

    /// include/linux/sched.h `PF_KTHREAD`.
    public var isKernelThread: Bool { flags & 0x0020_0000 != 0 || ppid == 2 || pid == 2 }
    /// include/linux/sched.h `PF_NO_SETAFFINITY`: per-CPU kernel threads; `sched_setaffinity` fails with EINVAL.
    public var refusesAffinity: Bool { flags & 0x0400_0000 != 0 }
}

/// One IRQ's affinity files under `/proc/irq/N`.
public struct IRQAffinity: Sendable, Equatable {
    public var number: Int
    /// `smp_affinity_list` as read.
    public var affinity: String
    public var effective: CPUSet?
    /// The handlers of `/proc/interrupts` ("nvme0q1", "vfio-msix[0](0000:01:00.0)").
    public var actions: String

    public init(number: Int, affinity: String, effective: CPUSet?, actions: String) {
        self.number = number
        self.affinity = affinity
        self.effective = effective
        self.actions = actions
    }

    /// vfio IRQs belong to the VM: they may stay on (or go to) its CPUs.
    public var isVFIO: Bool { actions.contains("vfio") }
}

extension CPUSet {
    /// The hex mask form of `smp_affinity`/`cpumask` files, in 32-bit words separated by commas ("3", "1,00000000").
    public var mask: String {
        guard let top = cpus.last else { return "0" }
        var words: [UInt32] = Array(repeating: 0, count: top / 32 + 1)
        for cpu in cpus { words[cpu / 32] |= 1 << UInt32(cpu % 32) }
        var parts: [String] = []
        for (i, word) in words.enumerated().reversed() {
            let hex = String(word, radix: 16)
            parts.append(i == words.count - 1 ? hex : String(repeating: "0", count: 8 - hex.count) + hex)
        }
        return parts.joined(separator: ",")
    }
}
