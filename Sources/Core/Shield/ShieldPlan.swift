/// A task named by pid, with its start time so a pid the kernel reused is never mistaken for it.
public struct TaskRef: Sendable, Equatable, Codable {
    public var pid: Int
    public var comm: String
    public var startTime: UInt64

    public init(pid: Int, comm: String, startTime: UInt64) {
        self.pid = pid
        self.comm = comm
        self.startTime = startTime
    }

    public init(_ task: ProcTask) { self.init(pid: task.pid, comm: task.comm, startTime: task.startTime) }
}

/// One change of a shield plan. Applying it means: journal the original, make the change, verify.
public enum ShieldStep: Sendable, Equatable {
    /// v2: write `+cpuset` to a `cgroup.subtree_control` (undone with `-cpuset`).
    case enableController(subtreeControl: String, controller: String)
    /// A cgroup vfioctl creates (undone: its tasks go back to the parent, then rmdir).
    case createCgroup(path: String, parent: String)
    /// An attribute write. `original` is nil inside a cgroup vfioctl created (it goes away on restore).
    case write(path: String, value: String, original: String?)
    /// systemd owns this cgroup: `systemctl set-property --runtime UNIT AllowedCPUs=VALUE`, so a daemon-reload keeps it.
    case systemdAllowedCPUs(unit: String, cpusFile: String, value: String, original: String)
    /// Tasks to a cgroup (one `cgroup.procs` write each; the whole thread group moves).
    case moveTasks([TaskRef], to: String)
    /// `sched_setaffinity` of a kernel thread (kthreadd first: threads it creates later inherit its mask).
    case setAffinity(TaskRef, cpus: CPUSet, original: CPUSet)
}

/// Something that stays on the VM CPUs, with why (known before applying).
public struct ShieldNote: Sendable, Equatable {
    public var subject: String
    public var reason: String
    public init(subject: String, reason: String) {
        self.subject = subject
        self.reason = reason
    }
}

public struct ShieldPlan: Sendable, Equatable {
    public var vmCPUs: CPUSet
    public var housekeeping: CPUSet
    public var hierarchy: CpusetHierarchy
    /// Where VM threads go (`shield --move`): machine.slice when it exists, else a cgroup vfioctl creates.
    public var vmCgroup: String
    public var systemd: Bool
    public var steps: [ShieldStep]
    public var stays: [ShieldNote]

    /// The journal record of an owner joining the shield: the CPUs it is for (`owner` nil: `shield --cpus` by hand,
    /// for the plan's CPUs).
    public func beginRecord(owner: String? = nil, cpus: CPUSet? = nil, since: UInt64? = nil) -> ShieldRecord {
        .begin(cpus: (cpus ?? vmCPUs).description, housekeeping: housekeeping.description, hierarchy: hierarchy.description,
               vmCgroup: vmCgroup, owner: owner, since: since)
    }
}

/// The journal of a shield (`/run/vfioctl/shield.journal`), one record per line, each written before its change.
public enum ShieldRecord: Codable, Sendable, Equatable {
    /// An owner (a VM, `--vm NAME`; nil: by hand) joins the shield with its CPUs; the shield covers every active
    /// owner's CPUs. Journals without `owner` (older vfioctl) read as one shield by hand. `since`: when, in clock
    /// ticks since boot (`/proc/uptime` × 100, the unit of a task's start time), for `shield --status`.
    case begin(cpus: String, housekeeping: String, hierarchy: String, vmCgroup: String, owner: String? = nil, since: UInt64? = nil)
    /// An owner left while others stayed: the shield shrank to the others' CPUs (see `ShieldOwners`).
    case release(owner: String)
    case attribute(path: String, original: String)
    case controller(subtreeControl: String, name: String)
    case cgroup(path: String, parent: String)
    /// A task `shield --move` moved, and the cgroup it came from.
    case task(pid: Int, startTime: UInt64, from: String)
    case affinity(pid: Int, startTime: UInt64, original: String)
    case systemd(unit: String, cpusFile: String, original: String)
    /// A change the kernel refused (not undone: nothing changed), for `shield --status`.
    case refused(what: String, value: String, reason: String)
    /// The IRQ numbers present when an owner joined (comma-separated): one missing from every such record was
    /// requested while the shield stood, on the shielded default affinity, and has no original of its own.
    case irqs(present: String)
}
