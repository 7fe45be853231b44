import ArgumentParser
import VFIOCore
import VFIOHost

struct Latency: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure timer-wakeup latency on one CPU (like cyclictest) and what disturbed it meanwhile.",
        discussion: """
            The probe is pinned to --cpu and sleeps to absolute deadlines every 1 ms (clock_nanosleep, TIMER_ABSTIME); \
            each wakeup's lateness goes into an HdrHistogram. Reports p50/p99/p99.9/max, a histogram, the IRQs that hit \
            the CPU and context switches. SCHED_OTHER is what vCPU threads run as; --policy fifo shows the floor. \
            Run it inside a shield with: vfioctl shield --move $$ (from a shell), then vfioctl latency.
            """)

    @OptionGroup var root: RootOptions
    @Option(help: ArgumentHelp("The CPU to probe.", valueName: "N")) var cpu: Int
    @Option(help: ArgumentHelp("How long to measure.", valueName: "SECONDS")) var duration: Double = 10
    @Option(help: ArgumentHelp("Scheduling policy of the probe: other (SCHED_OTHER, like a vCPU thread) or fifo.", valueName: "other|fifo"))
    var policy: String = "other"
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard let p = LatencyReport.Policy(rawValue: policy) else { throw CLIError("--policy \(policy): expected other or fifo") }
        guard duration > 0, duration <= 86_400 else { throw CLIError("--duration \(duration): expected 0 < SECONDS <= 86400") }
        let files = try root.open().files
        let probe = LatencyProbe(cpu: cpu, durationNs: UInt64(duration * 1e9), policy: p, files: files)
        let report: LatencyReport
        do { report = try probe.run() } catch { throw CLIError(error.description) }
        Output.write(json ? report.json().serialized(pretty: true) : report.text())
    }
}
