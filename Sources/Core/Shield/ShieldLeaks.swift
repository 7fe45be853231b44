/// One thread as `/proc/PID/task/TID/stat` and `.../schedstat` show it at one moment.
public struct ThreadSample: Sendable, Equatable {
    public var pid: Int
    public var tid: Int
    public var comm: String
    /// Field 39 (`processor`): the CPU the thread last ran on (or runs on now).
    public var processor: Int
    /// Field 22, clock ticks since boot: with the tid, names the thread (a tid the kernel reused differs here).
    public var startTime: UInt64
    /// schedstat field 1: time on a CPU, ns, since the thread began.
    public var onCpuNs: UInt64

    public init(pid: Int, tid: Int, comm: String, processor: Int, startTime: UInt64, onCpuNs: UInt64) {
        self.pid = pid
        self.tid = tid
        self.comm = comm
        self.processor = processor
        self.startTime = startTime
        self.onCpuNs = onCpuNs
    }

    /// `/proc/PID/task/TID/stat`: "TID (COMM) STATE ..." with field 22 the start time and field 39 the CPU.
    public static func parseStat(_ text: String) -> (tid: Int, comm: String, startTime: UInt64, processor: Int)? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
              let tid = Int(text[..<open].trimmingASCIIWhitespace()) else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state): field N is rest[N - 3].
        guard rest.count > 36, let start = UInt64(rest[19]), let cpu = Int(rest[36].trimmingASCIIWhitespace()), cpu >= 0 else { return nil }
        return (tid, String(text[text.index(after: open)..<close]), start, cpu)
    }

    /// Every thread of `pids`, read through `files` (a tree root reads its own `/proc`). Threads that exit while
    /// read are left out; at most `limit` threads are read (a bound on the work, named in the report).
    public static func read(_ files: any HostFileReader, pids: [Int], limit: Int = 100_000) -> (threads: [ThreadSample], truncated: Bool) {
        var out: [ThreadSample] = []
        for pid in pids {
            for name in (try? files.listDirectory("/proc/\(pid)/task")) ?? [] {
                guard let tid = Int(name) else { continue }
                if out.count >= limit { return (out, true) }
                let dir = "/proc/\(pid)/task/\(tid)"
                guard let stat = (try? files.readText(dir + "/stat")).flatMap(parseStat),
                      let text = try? files.readText(dir + "/schedstat"),
                      let sched = try? TaskSchedstat.parse(text, path: dir + "/schedstat") else { continue }
                out.append(ThreadSample(pid: pid, tid: tid, comm: stat.comm, processor: stat.processor, startTime: stat.startTime,
                                        onCpuNs: sched.onCpuNs))
            }
        }
        return (out, false)
    }
}

/// `shield --status`: the non-VM threads seen on the shielded CPUs since the shield began. The kernel keeps no
/// per-CPU history of a thread, only the CPU it last ran on and its total on-CPU time, so this reads every thread
/// twice (`sampleNs` apart) and names:
/// - threads that ran during the sample and were on a shielded CPU at either reading (`ranInSample`);
/// - threads started after the shield began whose last CPU is a shielded one (`startedAfter`): all their time is
///   since the shield;
/// - older threads whose last CPU is a shielded one and that may still run there (`lastRanHere`): when they ran
///   there is unknown (perhaps before the shield).
/// A thread that ran on a shielded CPU between the readings and left it is not seen; nor one that ran there
/// before the first reading and moved. A thread whose last CPU is shielded but which may no longer run there has
/// not run since it was moved off (a thread that runs again runs on an allowed CPU): counted as `movedOff`.
/// VM threads (the VM cgroup, or moved by `shield --move`) and per-CPU kernel threads (bound to their CPU) are
/// not named; the per-CPU kernel threads' time in the sample is summed.
public struct ShieldLeaks: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case ranInSample
        case startedAfter
        case lastRanHere
    }

    public struct Leak: Sendable, Equatable {
        public var cpu: Int
        public var pid: Int
        public var tid: Int
        public var comm: String
        public var kind: Kind
        /// On-CPU time between the two readings (anywhere: the CPU of each moment is not known).
        public var sampleNs: UInt64
        public var totalNs: UInt64
    }

    public var leaks: [Leak] = []
    public var sampleNs: UInt64
    public var threadsRead = 0
    public var truncated = false
    public var movedOff = 0
    public var perCPUKernelNs: UInt64 = 0
    public var perCPUKernelThreads = 0
    /// When the shield (its oldest owner) began, in clock ticks since boot, and the clock now; nil when unknown.
    public var since: UInt64?
    public var now: UInt64?

    /// "123.45 678.90" (`/proc/uptime`, seconds since boot): clock ticks (hundredths, USER_HZ = 100).
    public static func uptimeTicks(_ text: String) -> UInt64? {
        guard let first = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first else { return nil }
        let parts = first.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let secs = UInt64(parts[0]), secs < UInt64.max / 100 else { return nil }
        var hundredths: UInt64 = 0
        if parts.count == 2 {
            let digits = parts[1].prefix(2).compactMap(\.wholeNumberValue)
            guard digits.count == parts[1].prefix(2).count else { return nil }
            hundredths = UInt64(digits.first ?? 0) * 10 + UInt64(digits.count > 1 ? digits[1] : 0)
        }
        return secs * 100 + hundredths
    }

    /// `before` and `after`: two readings `sampleNs` apart. `state`: the host (cgroups, allowed CPUs, kernel flags
    /// of each process); `records`: the journal (owners, `shield --move` tasks, the VM cgroup).
    public static func evaluate(before: [ThreadSample], after: [ThreadSample], sampleNs: UInt64, shielded: CPUSet,
                                state: ShieldHostState, records: [ShieldRecord], now: UInt64?, truncated: Bool = false) -> ShieldLeaks {
        var out = ShieldLeaks(sampleNs: sampleNs)
        out.threadsRead = after.count
        out.truncated = truncated
        out.now = now
        out.since = ShieldOwners(records: records).active.compactMap(\.since).min()
        var vmCgroup: String?
        var moved: Set<[UInt64]> = []
        for r in records {
            switch r {
            case .begin(_, _, _, let vm, _, _): vmCgroup = vm
            case .task(let pid, let start, _): moved.insert([UInt64(clamping: pid), start])
            default: continue
            }
        }
        let vmRel = vmCgroup.map { String($0.dropFirst(state.hierarchy.mount.count)) }
        let tasks = Dictionary(state.tasks.map { ($0.pid, $0) }, uniquingKeysWith: { a, _ in a })
        let earlier = Dictionary(before.map { ($0.tid, $0) }, uniquingKeysWith: { a, _ in a })
        for t in after {
            let task = tasks[t.pid]
            if let task {
                if let vmRel, let cg = task.cgroup, cg == vmRel || cg.hasPrefix(vmRel + "/") { continue }
                if moved.contains([UInt64(clamping: task.pid), task.startTime]) { continue }
            }
            let prior = earlier[t.tid].flatMap { $0.startTime == t.startTime ? $0 : nil }
            let ran = prior.map { t.onCpuNs >= $0.onCpuNs ? t.onCpuNs - $0.onCpuNs : 0 } ?? 0
            if let task, task.isKernelThread && task.refusesAffinity {
                if shielded.contains(t.processor) && ran > 0 {
                    out.perCPUKernelThreads += 1
                    out.perCPUKernelNs += ran
                }
                continue
            }
            let cpuNow = shielded.contains(t.processor) ? t.processor : nil
            let cpuBefore = prior.flatMap { shielded.contains($0.processor) ? $0.processor : nil }
            var kind: Kind?
            if ran > 0, let cpu = cpuNow ?? cpuBefore {
                kind = .ranInSample
                out.leaks.append(Leak(cpu: cpu, pid: t.pid, tid: t.tid, comm: t.comm, kind: .ranInSample, sampleNs: ran, totalNs: t.onCpuNs))
            }
            guard kind == nil, let cpu = cpuNow else { continue }
            if let allowed = task?.allowed, allowed.intersection(shielded).isEmpty {
                out.movedOff += 1
                continue
            }
            let after = out.since.map { t.startTime >= $0 } ?? false
            out.leaks.append(Leak(cpu: cpu, pid: t.pid, tid: t.tid, comm: t.comm, kind: after ? .startedAfter : .lastRanHere, sampleNs: 0, totalNs: t.onCpuNs))
        }
        func rank(_ l: Leak) -> (Int, Int, UInt64, Int) {
            (l.cpu, l.kind == .ranInSample ? 0 : l.kind == .startedAfter ? 1 : 2, UInt64.max - l.sampleNs, l.tid)
        }
        out.leaks.sort { rank($0) < rank($1) }
        return out
    }

    static func ms(_ ns: UInt64) -> String {
        let tenths = (ns + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10) ms"
    }

    public func text() -> String {
        var out = "non-VM threads on the shielded CPUs"
        if let since, let now, now >= since { out += " since the shield began \((now - since) / 100) s ago" }
        let how = sampleNs == 0 ? "read once (not the running system: nothing ran in between)" : "read twice \(Self.ms(sampleNs)) apart"
        out += " (each thread's last CPU, /proc/PID/task/TID/stat field 39, and on-CPU time, schedstat field 1, \(how): a thread that ran there only between readings and left is not seen)\n"
        if leaks.isEmpty { out += "  none seen\n" }
        for l in leaks {
            let who = "\(l.comm) (pid \(l.pid)\(l.tid == l.pid ? "" : ", thread \(l.tid)"))"
            switch l.kind {
            case .ranInSample: out += "  CPU \(l.cpu): \(who) ran \(Self.ms(l.sampleNs)) of the \(Self.ms(sampleNs)) sample\n"
            case .startedAfter: out += "  CPU \(l.cpu): \(who) last ran here, started after the shield began (\(Self.ms(l.totalNs)) on a CPU in all)\n"
            case .lastRanHere: out += "  CPU \(l.cpu): \(who) last ran here and may still; whether since the shield began is unknown (it started before)\n"
            }
        }
        var notes: [String] = ["\(threadsRead) threads read\(truncated ? " (stopped at the limit: more exist)" : "")"]
        if movedOff > 0 { notes.append("\(movedOff) last ran here before being moved off (not since)") }
        if perCPUKernelThreads > 0 { notes.append("per-CPU kernel threads ran \(Self.ms(perCPUKernelNs)) there in the sample (\(perCPUKernelThreads) thread\(perCPUKernelThreads == 1 ? "" : "s"), bound to their CPU)") }
        out += "  " + notes.joined(separator: "; ") + "\n"
        return out
    }
}
