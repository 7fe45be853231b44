/// Why shielding cannot even be planned on a host (as opposed to single values the kernel refuses later).
public struct ShieldError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads a `ShieldHostState` through a `HostFileReader`: `/proc/mounts`, the cpuset hierarchy, `/proc/PID/*`,
/// `/proc/irq/*`, the workqueue cpumasks.
public struct ShieldLoader: Sendable {
    public let files: any HostFileReader

    /// The allowed CPUs of a task when the caller can ask the kernel directly (`sched_getaffinity`); otherwise, and
    /// on trees and snapshots, `Cpus_allowed_list` of `/proc/PID/status`.
    public let affinity: (@Sendable (Int) -> CPUSet?)?

    public init(_ files: any HostFileReader, affinity: (@Sendable (Int) -> CPUSet?)? = nil) {
        self.files = files
        self.affinity = affinity
    }

    public static let workqueueMask = SysfsPaths.workqueueMask
    public static let writebackMask = SysfsPaths.writebackMask
    public static let defaultSMPAffinity = SysfsPaths.defaultSMPAffinity

    /// `forStatus`: every detail `shield --status` reports. A plan needs less, and reading it costs a file per
    /// task: the cpuset cgroup only of user tasks (kernel threads are moved by affinity), `Cpus_allowed_list` only of
    /// kernel threads (user tasks move with their cgroup), no effective IRQ affinities.
    public func load(forStatus: Bool = true) throws(ShieldError) -> ShieldHostState {
        var state = ShieldHostState()
        guard let online = try? files.readText(SysfsPaths.cpusOnline), let set = CPUSet(list: online) else {
            throw ShieldError("/sys/devices/system/cpu/online: unreadable; is this a Linux host root?")
        }
        state.online = set
        let hierarchy = try self.hierarchy()
        state.hierarchy = hierarchy
        let mount = hierarchy.mount
        switch hierarchy {
        case .v2:
            state.rootSubtreeControl = Set(((try? files.readText(mount + "/cgroup.subtree_control")) ?? "").split(separator: " ").map(String.init))
        case .v1:
            state.rootMems = (try? files.readText(mount + "/" + hierarchy.memsFile)) ?? ""
        }
        state.cgroups = walk(mount, hierarchy: hierarchy, depth: 1, maxDepth: hierarchy.isV1 ? 64 : 1)
        state.tasks = loadTasks(hierarchy, forStatus: forStatus)
        state.irqs = loadIRQs(effective: forStatus)
        state.defaultSMPAffinity = try? files.readText(Self.defaultSMPAffinity)
        state.workqueueMask = try? files.readText(Self.workqueueMask)
        state.writebackMask = try? files.readText(Self.writebackMask)
        state.systemd = files.kind(of: SysfsPaths.systemdRunning) == .directory
        return state
    }

    /// The cpuset hierarchy of this host (`/proc/mounts`).
    public func hierarchy() throws(ShieldError) -> CpusetHierarchy {
        let mounts = (try? files.readText(SysfsPaths.procMounts)) ?? ""
        guard let hierarchy = Self.cpusetHierarchy(mounts: mounts, controllers: { (try? self.files.readText($0 + "/cgroup.controllers")) ?? "" })
        else {
            throw ShieldError("/proc/mounts: no cpuset controller (neither a cgroup v1 cpuset mount nor cgroup2 with cpuset in cgroup.controllers)")
        }
        return hierarchy
    }

    /// The cpuset hierarchy: a v1 mount with the cpuset option wins (the controller is bound to it), else a cgroup2
    /// mount whose `cgroup.controllers` offers cpuset, `/sys/fs/cgroup` first.
    public static func cpusetHierarchy(mounts: String, controllers: (String) -> String) -> CpusetHierarchy? {
        var v2: [String] = []
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 4 else { continue }
            let options = f[3].split(separator: ",")
            if f[2] == "cgroup", options.contains("cpuset") {
                return .v1(mount: unescape(String(f[1])), prefix: options.contains("noprefix") ? "" : "cpuset.")
            }
            if f[2] == "cgroup2" { v2.append(unescape(String(f[1]))) }
        }
        v2.sort { a, b in (a == "/sys/fs/cgroup" ? 0 : 1, a) < (b == "/sys/fs/cgroup" ? 0 : 1, b) }
        return v2.first { controllers($0).split(separator: " ").contains("cpuset") }.map { .v2(mount: $0) }
    }

    /// `/proc/mounts` escapes spaces as `\040`.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = "", i = s.startIndex
        while i < s.endIndex {
            if s[i] == "\\", let end = s.index(i, offsetBy: 4, limitedBy: s.endIndex), let v = UInt8(s[s.index(after: i)..<end], radix: 8) {
                out.append(Character(Unicode.Scalar(v)))
                i = end
            } else {
                out.append(s[i])
                i = s.index(after: i)
            }
        }
        return out
    }

    func walk(_ dir: String, hierarchy: CpusetHierarchy, depth: Int, maxDepth: Int) -> [CpusetCgroup] {
        var out: [CpusetCgroup] = []
        for name in (try? files.listDirectory(dir)) ?? [] {
            let path = dir + "/" + name
            guard files.kind(of: path) == .directory else { continue }
            out.append(CpusetCgroup(path: path, cpus: try? files.readText(path + "/" + hierarchy.cpusFile), depth: depth))
            if depth < maxDepth { out += walk(path, hierarchy: hierarchy, depth: depth + 1, maxDepth: maxDepth) }
        }
        return out
    }

    func loadTasks(_ hierarchy: CpusetHierarchy, forStatus: Bool) -> [ProcTask] {
        var tasks: [ProcTask] = []
        for name in (try? files.listDirectory("/proc")) ?? [] {
            guard let pid = Int(name) else { continue }
            // A task that exits while we read is simply gone.
            guard let stat = try? files.readText(SysfsPaths.task(pid) + "/stat"), var task = Self.parseStat(stat) else { continue }
            if forStatus || task.isKernelThread {
                if let affinity {
                    task.allowed = affinity(pid)
                } else if let status = try? files.readText(SysfsPaths.task(pid) + "/status") {
                    task.allowed = Self.allowedCPUs(status: status)
                }
            }
            if forStatus || !task.isKernelThread, let cgroup = try? files.readText(SysfsPaths.task(pid) + "/cgroup") {
                task.cgroup = Self.cpusetCgroup(cgroup, v1: hierarchy.isV1)
            }
            tasks.append(task)
        }
        return tasks.sorted { $0.pid < $1.pid }
    }

    /// `/proc/PID/stat`: "PID (COMM) STATE PPID ... FLAGS(9) ... STARTTIME(22) ...". COMM may hold spaces and parentheses.
    public static func parseStat(_ text: String) -> ProcTask? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
              let pid = Int(text[..<open].trimmingASCIIWhitespace()) else { return nil }
        let comm = String(text[text.index(after: open)..<close])
        let rest = text[text.index(after: close)...].split(separator: " ")
        guard rest.count > 19, let ppid = Int(rest[1]), let flags = UInt64(rest[6]), let start = UInt64(rest[19]) else { return nil }
        return ProcTask(pid: pid, comm: comm, ppid: ppid, flags: flags, startTime: start, allowed: nil, cgroup: nil)
    }

    /// `/proc/PID/status`: `Cpus_allowed_list:\t0-3`.
    public static func allowedCPUs(status: String) -> CPUSet? {
        for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            return CPUSet(list: String(line.dropFirst("Cpus_allowed_list:".count)))
        }
        return nil
    }

    /// `/proc/PID/cgroup`: v2 "0::/path"; v1 "N:cpuset[,...]:/path".
    public static func cpusetCgroup(_ text: String, v1: Bool) -> String? {
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            if v1 ? f[1].split(separator: ",").contains("cpuset") : (f[0] == "0" && f[1].isEmpty) { return String(f[2]) }
        }
        return nil
    }

    func loadIRQs(effective withEffective: Bool) -> [IRQAffinity] {
        var actions: [Int: String] = [:]
        if let table = try? files.readText(SysfsPaths.procInterrupts), let rows = try? ProcParsers.interrupts(table) {
            for row in rows { if let n = row.number { actions[n] = row.actions } }
        }
        var out: [IRQAffinity] = []
        for name in (try? files.listDirectory(SysfsPaths.procIRQs)) ?? [] {
            guard let n = Int(name), let list = try? files.readText(SysfsPaths.irqAffinityList(n)) else { continue }
            let effective = withEffective ? (try? files.readText(SysfsPaths.irqEffectiveAffinityList(n))).flatMap { CPUSet(list: $0) } : nil
            out.append(IRQAffinity(number: n, affinity: list, effective: effective, actions: actions[n] ?? ""))
        }
        return out.sorted { $0.number < $1.number }
    }
}
