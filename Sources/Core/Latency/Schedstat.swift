/// One task's scheduler accounting from `/proc/PID/schedstat` (or `/proc/thread-self/schedstat`), as documented in
/// the kernel's Documentation/scheduler/sched-stats.rst ("/proc/<pid>/schedstat"): 1) time spent on the CPU (ns),
/// 2) time spent waiting on a run queue (ns; `sched_info.run_delay`), 3) number of timeslices run on this CPU.
/// Field 2 is the exact measure of what a vCPU thread loses to other tasks: a preempted or woken task is queued,
/// and the kernel adds the time until it runs again. It is what a guest reports as steal time.
public struct TaskSchedstat: Sendable, Equatable {
    public var onCpuNs: UInt64
    public var runQueueWaitNs: UInt64
    public var timeslices: UInt64

    public init(onCpuNs: UInt64, runQueueWaitNs: UInt64, timeslices: UInt64) {
        self.onCpuNs = onCpuNs
        self.runQueueWaitNs = runQueueWaitNs
        self.timeslices = timeslices
    }

    /// Parses the file's one line. Later kernels may append fields; the first three are the documented ones.
    public static func parse(_ text: String, path: String) throws(SchedstatError) -> TaskSchedstat {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count >= 3 else {
            throw SchedstatError("\(path): expected 3 numbers (on-CPU ns, run-queue wait ns, timeslices), found \(fields.count) in '\(escapingControls(text.prefix(80)))'")
        }
        let names = ["on-CPU time", "run-queue wait (run_delay)", "timeslices"]
        var values: [UInt64] = []
        for (i, field) in fields.prefix(3).enumerated() {
            // UInt64(_:) also refuses values past 2^64 - 1, which no kernel counter reaches.
            guard field.first != "+", let v = UInt64(field) else {
                throw SchedstatError("\(path): field \(i + 1) (\(names[i])) '\(escapingControls(field.prefix(40)))' is not a count below 2^64")
            }
            values.append(v)
        }
        return TaskSchedstat(onCpuNs: values[0], runQueueWaitNs: values[1], timeslices: values[2])
    }
}

public struct SchedstatError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What one thread lost to other tasks between two readings of its schedstat: run-queue wait against wall time.
public struct RunQueueWait: Sendable, Equatable {
    /// CLOCK_MONOTONIC time between the two readings (taken around them, so it covers the schedstat interval).
    public var wallNs: UInt64
    public var onCpuNs: UInt64
    public var runQueueWaitNs: UInt64
    public var timeslices: UInt64

    public init(wallNs: UInt64, onCpuNs: UInt64, runQueueWaitNs: UInt64, timeslices: UInt64) {
        self.wallNs = wallNs
        self.onCpuNs = onCpuNs
        self.runQueueWaitNs = runQueueWaitNs
        self.timeslices = timeslices
    }

    /// Share of wall time spent waiting for the CPU, 0...1. The scheduler's clock and CLOCK_MONOTONIC may drift
    /// apart by a little, so a wait a hair longer than the wall time reads as 1, never more.
    public var waitShare: Double {
        guard wallNs > 0 else { return 0 }
        return Swift.min(1, Double(runQueueWaitNs) / Double(wallNs))
    }

    /// The counters only grow while a thread lives: a smaller second reading means the two came from different
    /// threads (or a damaged file), and no share can be computed from them.
    public static func between(_ before: TaskSchedstat, _ after: TaskSchedstat, wallNs: UInt64, path: String) throws(SchedstatError) -> RunQueueWait {
        func delta(_ name: String, _ a: UInt64, _ b: UInt64) throws(SchedstatError) -> UInt64 {
            guard b >= a else { throw SchedstatError("\(path): \(name) went backwards (\(a) then \(b)): the two readings are not of one thread") }
            return b - a
        }
        guard wallNs > 0 else { throw SchedstatError("\(path): no wall time passed between the two readings") }
        return RunQueueWait(wallNs: wallNs,
                            onCpuNs: try delta("on-CPU time", before.onCpuNs, after.onCpuNs),
                            runQueueWaitNs: try delta("run-queue wait", before.runQueueWaitNs, after.runQueueWaitNs),
                            timeslices: try delta("timeslices", before.timeslices, after.timeslices))
    }

    /// A percentage with three decimals ("56.123 %"), without Foundation.
    public var percentText: String {
        let thousandths = Int((waitShare * 100_000).rounded())
        let frac = String(thousandths % 1000)
        return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac) %"
    }

    public func jsonFields() -> [(String, JSON)] {
        [("wallNs", .int(Self.clampedInt(wallNs))), ("onCpuNs", .int(Self.clampedInt(onCpuNs))),
         ("runQueueWaitNs", .int(Self.clampedInt(runQueueWaitNs))), ("timeslices", .int(Self.clampedInt(timeslices))),
         ("waitShare", .number(waitShare))]
    }

    /// The fields of a report that measured (or failed to measure) its run-queue wait: the same keys either way,
    /// null and a reason when unknown.
    public static func jsonFields(_ wait: RunQueueWait?, unknown: String?) -> [(String, JSON)] {
        if let wait { return wait.jsonFields() }
        return [("wallNs", .null), ("onCpuNs", .null), ("runQueueWaitNs", .null), ("timeslices", .null), ("waitShare", .null),
                ("runQueueWaitUnknown", .optional(unknown ?? "not measured"))]
    }

    /// Counters above Int.max (only from a damaged file) print as Int.max rather than trapping.
    static func clampedInt(_ v: UInt64) -> Int { v > UInt64(Int.max) ? Int.max : Int(v) }
}
