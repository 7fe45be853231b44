#if canImport(Glibc)
import Glibc
#endif
import Histogram
import SystemPackage
import VFIOCore

/// Probes one CPU from a thread pinned to it, in one of two ways:
/// - `run()`, a timer-wakeup probe like cyclictest: the thread sleeps to absolute deadlines
///   (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`) and records how late each wakeup comes;
/// - `runBusy()`: the thread spins like a vCPU thread running guest code.
/// Both report the thread's own run-queue wait from `/proc/thread-self/schedstat` (field 2, run_delay, ns; field 1
/// is time on the CPU; Documentation/scheduler/sched-stats.rst), read before and after, and what else hit the CPU.
///
/// The measuring loop does what cyclictest's does and nothing else: sleep, read the clock, count the sample in a
/// preallocated one-microsecond array. No allocation, no /proc reads and no generic code run per wakeup; the
/// percentiles and histograms are built after the loop. Timer slack is left at the thread's default (50 µs for
/// SCHED_OTHER), as cyclictest leaves it: it never calls PR_SET_TIMERSLACK.
public struct LatencyProbe: Sendable {
    public var cpu: Int
    public var durationNs: UInt64
    public var periodNs: UInt64 = 1_000_000
    public var policy: LatencyReport.Policy = .other
    /// SCHED_FIFO priority (cyclictest's usual 80 or higher puts it above most kernel threads).
    public var fifoPriority: Int32 = 80
    /// Like cyclictest (unless `--laptop`): hold a 0 µs PM QoS request on `/dev/cpu_dma_latency` while measuring,
    /// so that waking from a deep idle state is not counted as scheduling latency. The kernel drops the request when
    /// the file closes (also when the probe is killed): nothing of the host stays changed.
    public var holdIdleStates = true
    public let files: RootedFileSystem

    /// Lateness below this many microseconds is counted per microsecond in the loop (160 KB, touched before the
    /// loop starts so that no page fault lands in it); later wakeups, rare by nature, go to an HdrHistogram.
    static let microsecondBuckets = 20_000
    /// The largest lateness the tail histogram tells apart; anything later counts as this.
    static let tailLimitNs: UInt64 = 3_600_000_000_000
    static let schedstatPath = "/proc/thread-self/schedstat"

    public init(cpu: Int, durationNs: UInt64, policy: LatencyReport.Policy, files: RootedFileSystem) {
        self.cpu = cpu
        self.durationNs = durationNs
        self.policy = policy
        self.files = files
    }

    @inline(__always)
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// What the measuring thread brings back from its loop.
    struct Measured {
        var elapsedNs: UInt64 = 0
        var microseconds: [LatencyReport.Bucket] = []
        var minNs: UInt64 = 0
        var maxNs: UInt64 = 0
        var longestGapNs: UInt64 = 0
        var wait: Result<RunQueueWait, SchedstatError> = .failure(SchedstatError("not measured"))
        var statusBefore = ""
        var statusAfter = ""
    }

    public func run() throws(ShieldError) -> LatencyReport {
        var idleStates = "allowed"
        var qos: Int32 = -1
        if holdIdleStates {
            qos = open(files.realPath("/dev/cpu_dma_latency"), O_RDWR | O_CLOEXEC)
            var zero: Int32 = 0
            // SAFETY: writes the 4 bytes of a local s32, the format the PM QoS device takes.
            if qos >= 0, write(qos, &zero, 4) == 4 {
                idleStates = "held at 0 µs exit latency (/dev/cpu_dma_latency, as cyclictest does)"
            } else {
                idleStates = "allowed (/dev/cpu_dma_latency: \(Errno(rawValue: errno)))"
                if qos >= 0 { close(qos) }
                qos = -1
            }
        }
        defer { if qos >= 0 { close(qos) } }
        // Allocated and zeroed here, so the measuring thread starts its loop with nothing to do but measure.
        let recorder = Recorder()
        defer { recorder.counts.deallocate() }
        var (m, d) = try measure { measureSleeping(recorder) }
        m.microseconds = recorder.buckets()
        var report = LatencyReport(cpu: cpu, policy: policy, periodNs: periodNs, durationNs: m.elapsedNs, microseconds: m.microseconds,
                                   min: m.minNs, max: m.maxNs, disturbances: d)
        report.idleStates = idleStates
        switch m.wait {
        case .success(let w): report.runQueueWait = w
        case .failure(let e): report.runQueueWaitUnknown = e.description
        }
        return report
    }

    /// The busy probe. SCHED_FIFO is refused: a spinning real-time thread would starve the CPU's other tasks (up
    /// to the RT throttle), which is not what a vCPU thread does.
    public func runBusy() throws(ShieldError) -> BusyReport {
        guard policy == .other else {
            throw ShieldError("--busy --policy fifo: a spinning SCHED_FIFO thread would starve CPU \(cpu); the busy probe runs as SCHED_OTHER, like a vCPU thread")
        }
        let (m, d) = try measure { measureBusy() }
        switch m.wait {
        case .success(let w): return BusyReport(cpu: cpu, policy: policy, wait: w, longestGapNs: m.longestGapNs, disturbances: d)
        case .failure(let e): throw ShieldError("cannot measure the run-queue wait: \(e.description)")
        }
    }

    /// Runs `loop` on a fresh pinned thread between two readings of what disturbed the CPU.
    private func measure(_ loop: @escaping () -> Result<Measured, ShieldError>) throws(ShieldError) -> (Measured, CPUDisturbances) {
        let irqBefore = (try? files.readText("/proc/interrupts")) ?? ""
        let schedBefore = (try? files.readText("/proc/schedstat")) ?? ""
        let m = try ProbeThread.run(loop).get()
        let irqAfter = (try? files.readText("/proc/interrupts")) ?? ""
        let schedAfter = (try? files.readText("/proc/schedstat")) ?? ""
        var d = CPUDisturbances()
        d.interrupts = CPUDisturbances.interruptDeltas(before: irqBefore, after: irqAfter, cpu: cpu)
        if let a = CPUDisturbances.switches(status: m.statusBefore), let b = CPUDisturbances.switches(status: m.statusAfter) {
            d.probeVoluntarySwitches = b.voluntary - a.voluntary
            d.probeInvoluntarySwitches = b.involuntary - a.involuntary
        }
        if let a = CPUDisturbances.scheduleCalls(schedstat: schedBefore, cpu: cpu), let b = CPUDisturbances.scheduleCalls(schedstat: schedAfter, cpu: cpu) {
            d.cpuScheduleCalls = b - a
        }
        return (m, d)
    }

    /// On the measuring thread: pin it (and set its policy) before anything else.
    private func enterCPU() -> ShieldError? {
        if let e = GNUCalls.setAffinity(0, [cpu]) { return ShieldError("--cpu \(cpu): sched_setaffinity failed: \(e) (is CPU \(cpu) online and allowed here?)") }
        if policy == .fifo {
            var param = sched_param(sched_priority: fifoPriority)
            guard sched_setscheduler(0, SCHED_FIFO, &param) == 0 else {
                return ShieldError("--policy fifo: sched_setscheduler(SCHED_FIFO, \(fifoPriority)) failed: \(Errno(rawValue: errno)) (needs root or CAP_SYS_NICE)")
            }
        }
        return nil
    }

    private func readSchedstat() -> Result<TaskSchedstat, SchedstatError> {
        do throws(FileReadError) {
            let text = try files.readText(Self.schedstatPath)
            return Result { () throws(SchedstatError) in try TaskSchedstat.parse(text, path: Self.schedstatPath) }
        } catch {
            return .failure(SchedstatError("\(error)"))
        }
    }

    /// Brackets `body` with the thread's schedstat, its wall time taken around the two readings.
    private func withRunQueueWait(_ m: inout Measured, _ body: (inout Measured) -> Void) {
        m.statusBefore = (try? files.readText("/proc/thread-self/status")) ?? ""
        let wallStart = Self.now()
        let before = readSchedstat()
        body(&m)
        let after = readSchedstat()
        let wallNs = Self.now() &- wallStart
        m.statusAfter = (try? files.readText("/proc/thread-self/status")) ?? ""
        m.wait = Result { () throws(SchedstatError) in
            try RunQueueWait.between(try before.get(), try after.get(), wallNs: wallNs, path: Self.schedstatPath)
        }
    }

    /// The sleeping probe's counts: one-microsecond buckets, then an HdrHistogram for the rare later wakeups.
    final class Recorder: @unchecked Sendable {
        let counts: UnsafeMutableBufferPointer<UInt64>
        var tail = Histogram<UInt64>(lowestDiscernibleValue: 1000, highestTrackableValue: LatencyProbe.tailLimitNs, numberOfSignificantValueDigits: .three)

        init() {
            counts = .allocate(capacity: LatencyProbe.microsecondBuckets)
            counts.initialize(repeating: 0)
        }

        @inline(__always)
        func record(_ lateNs: UInt64) {
            let us = lateNs / 1000
            if us < UInt64(counts.count) {
                counts[Int(us)] &+= 1
            } else {
                tail.record(Swift.min(lateNs, LatencyProbe.tailLimitNs))
            }
        }

        /// Sorted one-microsecond buckets holding every sample (tail samples at their HdrHistogram bucket's floor, never
        /// below the end of the exact range).
        func buckets() -> [LatencyReport.Bucket] {
            var out: [LatencyReport.Bucket] = []
            for us in 0..<counts.count where counts[us] > 0 {
                out.append(.init(fromNs: UInt64(us) * 1000, toNs: UInt64(us) * 1000 + 1000, count: counts[us]))
            }
            guard tail.totalCount > 0 else { return out }
            var tailCounts: [UInt64: UInt64] = [:]
            // An HdrHistogram bucket may start below the first tail microsecond; its samples are not below it.
            let first = UInt64(counts.count)
            for v in tail.recordedValues() where v.count > 0 {
                tailCounts[Swift.max(first, tail.lowestEquivalentForValue(v.value) / 1000), default: 0] += v.count
            }
            for us in tailCounts.keys.sorted() {
                out.append(.init(fromNs: us * 1000, toNs: us * 1000 + 1000, count: tailCounts[us] ?? 0))
            }
            return out
        }
    }

    private func measureSleeping(_ recorder: Recorder) -> Result<Measured, ShieldError> {
        if let e = enterCPU() { return .failure(e) }
        let period = periodNs, duration = durationNs
        var m = Measured()
        var minNs = UInt64.max, maxNs: UInt64 = 0
        withRunQueueWait(&m) { m in
            let start = Self.now()
            let end = start &+ duration
            var next = start &+ period
            var deadline = timespec()
            while true {
                deadline.tv_sec = Int(next / 1_000_000_000)
                deadline.tv_nsec = Int(next % 1_000_000_000)
                while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
                let woke = Self.now()
                let late = woke >= next ? woke - next : 0
                recorder.record(late)
                if late < minNs { minNs = late }
                if late > maxNs { maxNs = late }
                // Missed periods are skipped, not replayed (that would record one stall many times); the deadlines
                // stay on the same grid, as cyclictest's do.
                next &+= period
                while next <= woke { next &+= period }
                if woke >= end { break }
            }
            m.elapsedNs = Self.now() &- start
        }
        m.minNs = minNs == .max ? 0 : minNs
        m.maxNs = maxNs
        return .success(m)
    }

    private func measureBusy() -> Result<Measured, ShieldError> {
        if let e = enterCPU() { return .failure(e) }
        let duration = durationNs
        var m = Measured()
        withRunQueueWait(&m) { m in
            let start = Self.now()
            let end = start &+ duration
            var last = start, longest: UInt64 = 0
            while true {
                let t = Self.now()
                if t &- last > longest { longest = t &- last }
                last = t
                if t >= end { break }
            }
            m.elapsedNs = last &- start
            m.longestGapNs = longest
        }
        return .success(m)
    }
}
