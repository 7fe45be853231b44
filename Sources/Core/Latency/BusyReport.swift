/// The result of the busy probe: a thread that spins on one CPU the way a vCPU thread runs guest code, and the share
/// of wall time it waited on the run queue instead of running (its own schedstat, Documentation/scheduler/
/// sched-stats.rst). A shielded CPU gives its vCPU thread the whole CPU: the share is then near 0.
public struct BusyReport: Sendable, Equatable {
    public var cpu: Int
    public var policy: LatencyReport.Policy
    public var wait: RunQueueWait
    /// The longest gap between two consecutive clock readings of the spinning loop: the longest single time the
    /// thread lost its CPU (to a task, an interrupt, or the hypervisor when the host is itself a guest).
    public var longestGapNs: UInt64
    public var disturbances: CPUDisturbances

    public init(cpu: Int, policy: LatencyReport.Policy, wait: RunQueueWait, longestGapNs: UInt64, disturbances: CPUDisturbances) {
        self.cpu = cpu
        self.policy = policy
        self.wait = wait
        self.longestGapNs = longestGapNs
        self.disturbances = disturbances
    }

    public func text() -> String {
        var out = "CPU \(cpu), SCHED_\(policy == .fifo ? "FIFO" : "OTHER"), busy (spinning like a vCPU thread), \(LatencyReport.us(wait.wallNs / 1000)) ms\n"
        out += "run-queue wait: \(wait.percentText) of wall time (\(LatencyReport.us(wait.runQueueWaitNs / 1000)) ms waiting, "
            + "\(LatencyReport.us(wait.onCpuNs / 1000)) ms on the CPU, \(wait.timeslices) timeslices; /proc/thread-self/schedstat)\n"
        out += "longest time without the CPU: \(LatencyReport.us(longestGapNs)) µs\n"
        out += disturbances.text(cpu: cpu)
        return out
    }

    public func json() -> JSON {
        .object([("cpu", .int(cpu)), ("policy", .string(policy.rawValue)), ("mode", .string("busy"))]
            + wait.jsonFields()
            + [("longestGapNs", .int(RunQueueWait.clampedInt(longestGapNs))), ("disturbances", disturbances.json())])
    }
}
