#if canImport(Glibc)
import Glibc
#endif
import Histogram
import VFIOCore

/// A timer-wakeup probe like cyclictest: the calling thread pinned to one CPU sleeps to absolute deadlines
/// (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`) and records how late each wakeup comes in an HdrHistogram.
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

    public init(cpu: Int, durationNs: UInt64, policy: LatencyReport.Policy, files: RootedFileSystem) {
        self.cpu = cpu
        self.durationNs = durationNs
        self.policy = policy
        self.files = files
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public func run() throws(ShieldError) -> LatencyReport {
        let e = GNUCalls.setAffinity(0, [cpu])
        guard e == 0 else { throw ShieldError("--cpu \(cpu): sched_setaffinity failed: \(String(cString: strerror(e))) (is CPU \(cpu) online and allowed here?)") }
        if policy == .fifo {
            var param = sched_param(sched_priority: fifoPriority)
            guard sched_setscheduler(0, SCHED_FIFO, &param) == 0 else {
                throw ShieldError("--policy fifo: sched_setscheduler(SCHED_FIFO, \(fifoPriority)) failed: \(String(cString: strerror(errno))) (needs root or CAP_SYS_NICE)")
            }
        }
        var idleStates = "allowed"
        var qos: Int32 = -1
        if holdIdleStates {
            qos = open(files.realPath("/dev/cpu_dma_latency"), O_RDWR | O_CLOEXEC)
            var zero: Int32 = 0
            // SAFETY: writes the 4 bytes of a local s32, the format the PM QoS device takes.
            if qos >= 0, write(qos, &zero, 4) == 4 {
                idleStates = "held at 0 µs exit latency (/dev/cpu_dma_latency, as cyclictest does)"
            } else {
                idleStates = "allowed (/dev/cpu_dma_latency: \(String(cString: strerror(errno))))"
                if qos >= 0 { close(qos) }
                qos = -1
            }
        }
        defer { if qos >= 0 { close(qos) } }
        let irqBefore = (try? files.readText("/proc/interrupts")) ?? ""
        let schedBefore = ((try? files.readText("/proc/schedstat")) ?? "")
        let statusBefore = (try? files.readText("/proc/thread-self/status")) ?? ""

        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        let start = Self.now()
        let end = start + durationNs
        var next = start + periodNs
        var deadline = timespec()
        while true {
            deadline.tv_sec = Int(next / 1_000_000_000)
            deadline.tv_nsec = Int(next % 1_000_000_000)
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
            let woke = Self.now()
            _ = histogram.record(woke >= next ? woke - next : 0)
            // Missed periods are skipped, not replayed (that would record one stall many times); the deadlines stay
            // on the same grid, as cyclictest's do.
            next += periodNs
            while next <= woke { next += periodNs }
            if woke >= end { break }
        }
        let elapsed = Self.now() - start

        let irqAfter = (try? files.readText("/proc/interrupts")) ?? ""
        let schedAfter = ((try? files.readText("/proc/schedstat")) ?? "")
        let statusAfter = (try? files.readText("/proc/thread-self/status")) ?? ""
        var d = CPUDisturbances()
        d.interrupts = CPUDisturbances.interruptDeltas(before: irqBefore, after: irqAfter, cpu: cpu)
        if let a = CPUDisturbances.switches(status: statusBefore), let b = CPUDisturbances.switches(status: statusAfter) {
            d.probeVoluntarySwitches = b.voluntary - a.voluntary
            d.probeInvoluntarySwitches = b.involuntary - a.involuntary
        }
        if let a = CPUDisturbances.scheduleCalls(schedstat: schedBefore, cpu: cpu), let b = CPUDisturbances.scheduleCalls(schedstat: schedAfter, cpu: cpu) {
            d.cpuScheduleCalls = b - a
        }
        let h = histogram
        var perMicrosecond: [UInt64: UInt64] = [:]
        for v in h.recordedValues() where v.count > 0 { perMicrosecond[h.lowestEquivalentForValue(v.value) / 1000, default: 0] += UInt64(v.count) }
        var report = LatencyReport(cpu: cpu, policy: policy, periodNs: periodNs, durationNs: elapsed, samples: h.totalCount,
                             p50: h.valueAtPercentile(50), p99: h.valueAtPercentile(99), p999: h.valueAtPercentile(99.9),
                             max: h.max, min: h.min,
                             buckets: LatencyReport.logBuckets(max: h.max) { h.count(within: $0) },
                             disturbances: d)
        report.idleStates = idleStates
        report.microseconds = perMicrosecond.keys.sorted().map { LatencyReport.Bucket(fromNs: $0 * 1000, toNs: $0 * 1000 + 1000, count: perMicrosecond[$0]!) }
        return report
    }
}
