/// The result of a timer-wakeup probe on one CPU (like cyclictest): how late each wakeup came, and what else ran
/// on the CPU meanwhile. Times in nanoseconds.
public struct LatencyReport: Sendable, Equatable {
    public enum Policy: String, Sendable { case other, fifo }

    public struct Bucket: Sendable, Equatable {
        public var fromNs: UInt64
        public var toNs: UInt64
        public var count: UInt64
        public init(fromNs: UInt64, toNs: UInt64, count: UInt64) {
            self.fromNs = fromNs
            self.toNs = toNs
            self.count = count
        }
    }

    public var cpu: Int
    public var policy: Policy
    public var periodNs: UInt64
    public var durationNs: UInt64
    public var samples: UInt64
    public var p50: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
    public var min: UInt64
    public var buckets: [Bucket]
    /// One-microsecond buckets holding samples (lateness rounded down to the microsecond, as cyclictest counts).
    public var microseconds: [Bucket] = []
    /// How CPU idle states were treated: "held at 0 µs exit latency (/dev/cpu_dma_latency)" as cyclictest does,
    /// "allowed", or why holding them failed.
    public var idleStates = "allowed"
    public var disturbances: CPUDisturbances
    /// The probe's own run-queue wait over the measurement (its wakeup-to-run delays summed), from its schedstat;
    /// nil with `runQueueWaitUnknown` saying why when the file could not be read or made no sense.
    public var runQueueWait: RunQueueWait?
    public var runQueueWaitUnknown: String?

    public init(cpu: Int, policy: Policy, periodNs: UInt64, durationNs: UInt64, samples: UInt64, p50: UInt64, p99: UInt64,
                p999: UInt64, max: UInt64, min: UInt64, buckets: [Bucket], disturbances: CPUDisturbances) {
        self.cpu = cpu
        self.policy = policy
        self.periodNs = periodNs
        self.durationNs = durationNs
        self.samples = samples
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.min = min
        self.buckets = buckets
        self.disturbances = disturbances
    }

    /// A report from one-microsecond buckets (sorted, each holding samples whose lateness rounds down to its
    /// microsecond) and the exact extremes. Percentiles read the buckets as cyclictest's histogram is read: the
    /// smallest microsecond at or below which at least p % of the samples lie.
    public init(cpu: Int, policy: Policy, periodNs: UInt64, durationNs: UInt64, microseconds: [Bucket], min: UInt64, max: UInt64,
                disturbances: CPUDisturbances) {
        let total = microseconds.reduce(UInt64(0)) { $0 &+ $1.count }
        self.init(cpu: cpu, policy: policy, periodNs: periodNs, durationNs: durationNs, samples: total,
                  p50: Self.percentile(50, of: microseconds), p99: Self.percentile(99, of: microseconds),
                  p999: Self.percentile(99.9, of: microseconds), max: max, min: min,
                  buckets: Self.logBuckets(max: max) { r in
                      microseconds.reduce(UInt64(0)) { r.contains($1.fromNs) ? $0 &+ $1.count : $0 }
                  },
                  disturbances: disturbances)
        self.microseconds = microseconds
    }

    /// The lower edge of the first bucket where the running count reaches p % of all samples (the rank
    /// ceil(total × p / 100), in integers so that 99.9 % of 1000 samples is the 999th, not the 1000th); 0 for none.
    public static func percentile(_ p: Double, of buckets: [Bucket]) -> UInt64 {
        let total = buckets.reduce(UInt64(0)) { $0 &+ $1.count }
        guard total > 0 else { return 0 }
        let perHundredThousand = UInt64((Swift.min(Swift.max(p, 0), 100) * 1000).rounded())
        let (scaled, overflow) = total.multipliedReportingOverflow(by: perHundredThousand)
        var rank = (scaled / 100_000) + (scaled % 100_000 > 0 ? 1 : 0)
        if overflow {
            // Double(UInt64.max) is 2^64, one past the largest UInt64: compared, never converted back.
            let d = (Double(total) * Double(perHundredThousand) / 100_000).rounded(.up)
            rank = d >= Double(UInt64.max) ? .max : UInt64(d)
        }
        rank = Swift.max(1, rank)
        var seen: UInt64 = 0
        for b in buckets {
            seen &+= b.count
            if seen >= rank { return b.fromNs }
        }
        return buckets.last?.fromNs ?? 0
    }

    /// Power-of-two microsecond buckets (`< 1 µs`, `1-2 µs`, `2-4 µs`, ...) up to the maximum, from a counting function.
    public static func logBuckets(max: UInt64, count: (ClosedRange<UInt64>) -> UInt64) -> [Bucket] {
        var out: [Bucket] = []
        var lo: UInt64 = 0, hi: UInt64 = 1000
        while lo <= max {
            let n = count(lo...(hi - 1))
            if n > 0 { out.append(Bucket(fromNs: lo, toNs: hi, count: n)) }
            lo = hi
            hi *= 2
        }
        return out
    }

    /// The per-microsecond histogram in cyclictest's `--histfile` format ("USEC COUNT" lines, then the summary
    /// comments), so that one script reads, merges and compares both.
    public func cyclictestHistfile() -> String {
        var out = ""
        for b in microseconds {
            let us = String(b.fromNs / 1000), n = String(b.count)
            out += String(repeating: "0", count: Swift.max(0, 6 - us.count)) + us + " "
                + String(repeating: "0", count: Swift.max(0, 6 - n.count)) + n + "\n"
        }
        out += "# Total: \(samples)\n# Min Latencies: \(min / 1000)\n# Max Latencies: \(max / 1000)\n# Histogram Overflows: 0\n"
        return out
    }

    static func us(_ ns: UInt64) -> String {
        let tenths = (ns + 50) / 100
        return "\(tenths / 10).\(tenths % 10)"
    }

    public func text() -> String {
        var out = "CPU \(cpu), SCHED_\(policy == .fifo ? "FIFO" : "OTHER"), \(periodNs / 1000) µs period, \(Self.us(durationNs / 1000) ) ms: \(samples) wakeups\n"
        out += "idle states: \(idleStates)\n"
        out += "wakeup lateness (µs): p50 \(Self.us(p50))  p99 \(Self.us(p99))  p99.9 \(Self.us(p999))  max \(Self.us(max))  min \(Self.us(min))\n"
        out += "histogram\n"
        let widest = buckets.map(\.count).max() ?? 1
        for b in buckets {
            let range = b.fromNs == 0 ? "< \(b.toNs / 1000) µs" : "\(b.fromNs / 1000)-\(b.toNs / 1000) µs"
            let bar = String(repeating: "#", count: Int((b.count * 40 + widest - 1) / widest))
            out += "  " + String(repeating: " ", count: Swift.max(0, 14 - range.count)) + range + "  " + bar + " \(b.count)\n"
        }
        if let w = runQueueWait {
            let perWakeup = samples > 0 ? w.runQueueWaitNs / samples : 0
            out += "run-queue wait: \(w.percentText) of \(Self.us(w.wallNs / 1000)) ms (\(Self.us(w.runQueueWaitNs / 1000)) ms in all, \(Self.us(perWakeup)) µs per wakeup; /proc/thread-self/schedstat)\n"
        } else {
            out += "run-queue wait: unknown (\(runQueueWaitUnknown ?? "not measured"))\n"
        }
        out += disturbances.text(cpu: cpu)
        return out
    }

    public func json() -> JSON {
        .object([
            ("cpu", .int(cpu)), ("policy", .string(policy.rawValue)), ("periodNs", .int(Int(periodNs))),
            ("durationNs", .int(Int(durationNs))), ("samples", .int(Int(samples))), ("idleStates", .string(idleStates)),
            ("latencyNs", .object([("p50", .int(Int(p50))), ("p99", .int(Int(p99))), ("p99.9", .int(Int(p999))),
                                   ("max", .int(Int(max))), ("min", .int(Int(min)))])),
            ("histogram", .array(buckets.map { .object([("fromNs", .int(Int($0.fromNs))), ("toNs", .int(Int($0.toNs))), ("count", .int(Int($0.count)))]) })),
            ("disturbances", disturbances.json()),
        ] + RunQueueWait.jsonFields(runQueueWait, unknown: runQueueWaitUnknown))
    }
}

/// What ran on the probe's CPU besides the probe: interrupt counts per IRQ (from `/proc/interrupts`), the probe's own
/// context switches (`/proc/thread-self/status`) and the CPU's `schedule()` calls (`/proc/schedstat`).
public struct CPUDisturbances: Sendable, Equatable {
    public struct IRQCount: Sendable, Equatable {
        public var irq: String
        public var actions: String
        public var count: Int
    }

    public var interrupts: [IRQCount] = []
    public var probeVoluntarySwitches: Int?
    public var probeInvoluntarySwitches: Int?
    public var cpuScheduleCalls: Int?

    public init() {}

    /// Interrupts that hit `cpu` between two `/proc/interrupts` readings, most first.
    public static func interruptDeltas(before: String, after: String, cpu: Int) -> [IRQCount] {
        func counts(_ text: String) -> [String: (Int, String)] {
            var out: [String: (Int, String)] = [:]
            for irq in (try? ProcParsers.interrupts(text)) ?? [] where cpu < irq.countsPerCPU.count {
                out[irq.number.map(String.init) ?? irq.name] = (irq.countsPerCPU[cpu], irq.actions)
            }
            return out
        }
        let a = counts(before), b = counts(after)
        return b.compactMap { key, value -> IRQCount? in
            let delta = value.0 - (a[key]?.0 ?? 0)
            return delta > 0 ? IRQCount(irq: key, actions: value.1, count: delta) : nil
        }.sorted { ($0.count, $1.irq) > ($1.count, $0.irq) }
    }

    /// `voluntary_ctxt_switches` / `nonvoluntary_ctxt_switches` of a `status` file.
    public static func switches(status: String) -> (voluntary: Int, involuntary: Int)? {
        var v: Int?, n: Int?
        for line in status.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
            guard f.count == 2 else { continue }
            if f[0] == "voluntary_ctxt_switches" { v = Int(f[1]) }
            if f[0] == "nonvoluntary_ctxt_switches" { n = Int(f[1]) }
        }
        guard let v, let n else { return nil }
        return (v, n)
    }

    /// `/proc/schedstat` line `cpuN yld_count 0 sched_count ...`: the number of `schedule()` calls on CPU N.
    public static func scheduleCalls(schedstat: String, cpu: Int) -> Int? {
        for line in schedstat.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count > 3, f[0] == "cpu\(cpu)" { return Int(f[3]) }
        }
        return nil
    }

    public func text(cpu: Int) -> String {
        var out = "what disturbed CPU \(cpu) meanwhile\n"
        let total = interrupts.reduce(0) { $0 + $1.count }
        let top = interrupts.prefix(8).map { "\($0.irq)\($0.actions.isEmpty ? "" : " " + $0.actions): \($0.count)" }
        out += "  interrupts: \(total)\(top.isEmpty ? "" : " (" + top.joined(separator: ", ") + (interrupts.count > 8 ? ", ..." : "") + ")")\n"
        if let v = probeVoluntarySwitches, let n = probeInvoluntarySwitches {
            out += "  probe context switches: \(v) voluntary (its sleeps), \(n) involuntary (preempted)\n"
        }
        if let s = cpuScheduleCalls { out += "  schedule() calls on CPU \(cpu): \(s)\n" }
        return out
    }

    public func json() -> JSON {
        .object([
            ("interrupts", .array(interrupts.map { .object([("irq", .string($0.irq)), ("actions", .string($0.actions)), ("count", .int($0.count))]) })),
            ("probeVoluntarySwitches", .optional(probeVoluntarySwitches)),
            ("probeInvoluntarySwitches", .optional(probeInvoluntarySwitches)),
            ("cpuScheduleCalls", .optional(cpuScheduleCalls)),
        ])
    }
}
