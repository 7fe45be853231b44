import ArgumentParser
import FoundationEssentials
import VFIOCore
import VFIOHost

struct Latency: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure timer-wakeup latency on one CPU (like cyclictest) and what disturbed it meanwhile.",
        discussion: """
            The probe is pinned to --cpu and sleeps to absolute deadlines every 1 ms (clock_nanosleep, TIMER_ABSTIME); \
            each wakeup's lateness is counted per microsecond. Reports p50/p99/p99.9/max, a histogram, the IRQs that hit \
            the CPU and context switches. SCHED_OTHER is what vCPU threads run as; --policy fifo shows the floor. \
            Run it inside a shield with: vfioctl shield --move $$ (from a shell), then vfioctl latency.
            Both probes measure from a fresh thread pinned to --cpu and report its run-queue wait from its own \
            /proc/thread-self/schedstat (field 2, run_delay: time spent runnable but not running). --busy spins like \
            a vCPU thread instead of sleeping: its wait share (waitShare, 0 to 1, of wallNs) is what a guest loses \
            on that CPU (its steal time) and what a shield brings to near 0.
            """)

    @OptionGroup var root: RootOptions
    @Option(help: ArgumentHelp("The CPU to probe.", valueName: "N")) var cpu: Int
    @Option(help: ArgumentHelp("How long to measure.", valueName: "SECONDS")) var duration: Double = 10
    @Option(help: ArgumentHelp("Scheduling policy of the probe: other (SCHED_OTHER, like a vCPU thread) or fifo.", valueName: "other|fifo"))
    var policy: LatencyReport.Policy = .other
    @Flag(help: "Spin like a vCPU thread instead of sleeping, and report the share of wall time spent waiting for the CPU.")
    var busy = false
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Let the CPU enter idle states (by default a 0 µs request on /dev/cpu_dma_latency is held while measuring, as cyclictest does without --laptop).")
    var allowIdleStates = false
    @Option(help: ArgumentHelp("Also write the per-microsecond histogram in cyclictest's --histfile format.", valueName: "PATH"))
    var histfile: String?

    func validate() throws {
        guard (0...CPUSet.maxCPU).contains(cpu) else { throw ValidationError("--cpu \(cpu): expected a CPU number 0…\(CPUSet.maxCPU)") }
        guard duration > 0, duration <= 86_400 else { throw ValidationError("--duration \(duration): expected 0 < SECONDS <= 86400") }
    }

    func run() throws {
        let p = policy
        let files = try root.open().files
        var probe = LatencyProbe(cpu: cpu, durationNs: UInt64(duration * 1e9), policy: p, files: files)
        probe.holdIdleStates = !allowIdleStates
        if busy {
            if histfile != nil { throw CLIError("--busy --histfile: the busy probe never sleeps, so it has no wakeup histogram") }
            let report: BusyReport
            do { report = try probe.runBusy() } catch { throw CLIError(error.description) }
            Output.write(json ? report.json().serialized(pretty: true) : report.text())
            return
        }
        let report: LatencyReport
        do { report = try probe.run() } catch { throw CLIError(error.description) }
        if let histfile {
            // An output file the user names, like a snapshot's: not a host setting, so not journaled.
            guard FileManager.default.createFile(atPath: histfile, contents: Data(report.cyclictestHistfile().utf8)) else {
                throw CLIError("--histfile \(histfile): cannot write it")
            }
        }
        Output.write(json ? report.json().serialized(pretty: true) : report.text())
    }
}
