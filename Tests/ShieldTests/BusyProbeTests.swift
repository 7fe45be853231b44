import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

@Suite struct BusyProbeTests {
    // MARK: schedstat parsing

    @Test func parsesTheThreeDocumentedFields() throws {
        let s = try TaskSchedstat.parse("123456789 4242 17\n", path: "/proc/thread-self/schedstat")
        #expect(s == TaskSchedstat(onCpuNs: 123_456_789, runQueueWaitNs: 4242, timeslices: 17))
        // A later kernel appending fields keeps the first three.
        #expect(try TaskSchedstat.parse("1 2 3 4 5", path: "p").timeslices == 3)
        #expect(try TaskSchedstat.parse("18446744073709551615 0 0", path: "p").onCpuNs == UInt64.max)
    }

    @Test(arguments: [
        ("", "found 0"),
        ("123 456", "found 2 in '123 456'"),
        ("1 x 3", "field 2 (run-queue wait (run_delay)) 'x'"),
        ("1 -5 3", "field 2 (run-queue wait (run_delay)) '-5'"),
        ("18446744073709551616 1 1", "field 1 (on-CPU time) '18446744073709551616' is not a count below 2^64"),
        ("1 2 +3", "field 3 (timeslices) '+3'"),
        ("1 2 3.5", "field 3 (timeslices) '3.5'"),
        ("\u{1b}[31m 2 3", "field 1 (on-CPU time) '\\x1b[31m'"),
    ])
    func malformedSchedstatNamesFileAndValue(text: String, message: String) {
        #expect {
            try TaskSchedstat.parse(text, path: "/proc/thread-self/schedstat")
        } throws: { error in
            let d = (error as? SchedstatError)?.description ?? ""
            return d.hasPrefix("/proc/thread-self/schedstat: ") && d.contains(message)
        }
    }

    // MARK: wait share arithmetic

    @Test func waitShareIsWaitOverWall() throws {
        let a = TaskSchedstat(onCpuNs: 1_000, runQueueWaitNs: 5_000, timeslices: 2)
        let b = TaskSchedstat(onCpuNs: 401_000, runQueueWaitNs: 565_000, timeslices: 12)
        let w = try RunQueueWait.between(a, b, wallNs: 1_000_000, path: "p")
        #expect(w == RunQueueWait(wallNs: 1_000_000, onCpuNs: 400_000, runQueueWaitNs: 560_000, timeslices: 10))
        #expect(w.waitShare == 0.56)
        #expect(w.percentText == "56.000 %")
        #expect(RunQueueWait(wallNs: 3, onCpuNs: 0, runQueueWaitNs: 1, timeslices: 0).percentText == "33.333 %")
        #expect(RunQueueWait(wallNs: 1_000_000_000, onCpuNs: 0, runQueueWaitNs: 160_000, timeslices: 0).percentText == "0.016 %")
    }

    @Test func waitShareStaysWithinZeroAndOne() throws {
        // The scheduler's clock may run a hair ahead of CLOCK_MONOTONIC: never more than 1.
        let over = RunQueueWait(wallNs: 1_000, onCpuNs: 0, runQueueWaitNs: 1_003, timeslices: 0)
        #expect(over.waitShare == 1)
        #expect(over.percentText == "100.000 %")
        // Huge counters (a damaged file) give a share, not a trap, and print clamped.
        let huge = try RunQueueWait.between(TaskSchedstat(onCpuNs: 0, runQueueWaitNs: 0, timeslices: 0),
                                            TaskSchedstat(onCpuNs: .max, runQueueWaitNs: .max, timeslices: .max), wallNs: .max, path: "p")
        #expect(huge.waitShare == 1)
        #expect(JSON.object(huge.jsonFields()).serialized().contains("\"runQueueWaitNs\":\(Int.max)"))
        #expect(RunQueueWait(wallNs: 0, onCpuNs: 0, runQueueWaitNs: 5, timeslices: 0).waitShare == 0)
    }

    @Test func countersGoingBackwardsAreAnErrorNamingBothValues() {
        let a = TaskSchedstat(onCpuNs: 10, runQueueWaitNs: 900, timeslices: 5)
        #expect(throws: SchedstatError("/proc/thread-self/schedstat: run-queue wait went backwards (900 then 800): the two readings are not of one thread")) {
            try RunQueueWait.between(a, TaskSchedstat(onCpuNs: 20, runQueueWaitNs: 800, timeslices: 6), wallNs: 1, path: "/proc/thread-self/schedstat")
        }
        #expect(throws: SchedstatError("p: on-CPU time went backwards (10 then 9): the two readings are not of one thread")) {
            try RunQueueWait.between(a, TaskSchedstat(onCpuNs: 9, runQueueWaitNs: 900, timeslices: 5), wallNs: 1, path: "p")
        }
        #expect(throws: SchedstatError("p: timeslices went backwards (5 then 4): the two readings are not of one thread")) {
            try RunQueueWait.between(a, TaskSchedstat(onCpuNs: 10, runQueueWaitNs: 900, timeslices: 4), wallNs: 1, path: "p")
        }
        #expect(throws: SchedstatError("p: no wall time passed between the two readings")) {
            try RunQueueWait.between(a, a, wallNs: 0, path: "p")
        }
    }

    // MARK: reports

    @Test func busyReportJSONAndText() {
        var d = CPUDisturbances()
        d.probeVoluntarySwitches = 0
        d.probeInvoluntarySwitches = 40
        let r = BusyReport(cpu: 1, policy: .other, wait: RunQueueWait(wallNs: 2_000_000_000, onCpuNs: 880_000_000, runQueueWaitNs: 1_120_000_000, timeslices: 41),
                           longestGapNs: 12_345_678, disturbances: d)
        #expect(r.json().serialized() == #"{"cpu":1,"policy":"other","mode":"busy","wallNs":2000000000,"onCpuNs":880000000,"runQueueWaitNs":1120000000,"timeslices":41,"waitShare":0.56,"longestGapNs":12345678,"disturbances":{"interrupts":[],"probeVoluntarySwitches":0,"probeInvoluntarySwitches":40,"cpuScheduleCalls":null}}"#)
        #expect(r.text().contains("run-queue wait: 56.000 % of wall time (1120.0 ms waiting, 880.0 ms on the CPU, 41 timeslices; /proc/thread-self/schedstat)"))
        #expect(r.text().contains("longest time without the CPU: 12345.7 µs"))
        #expect(r.text().contains("40 involuntary (preempted)"))
    }

    @Test func sleepingReportCarriesItsRunQueueWaitOrWhyNot() {
        var r = LatencyReport(cpu: 1, policy: .other, periodNs: 1_000_000, durationNs: 1_000_000_000,
                              microseconds: [.init(fromNs: 50_000, toNs: 51_000, count: 1000)], min: 50_100, max: 50_900, disturbances: CPUDisturbances())
        r.runQueueWait = RunQueueWait(wallNs: 1_000_000_000, onCpuNs: 20_000_000, runQueueWaitNs: 5_000_000, timeslices: 1000)
        let json = r.json().serialized()
        #expect(json.contains(#""wallNs":1000000000,"onCpuNs":20000000,"runQueueWaitNs":5000000,"timeslices":1000,"waitShare":0.005"#))
        #expect(r.text().contains("run-queue wait: 0.500 % of 1000.0 ms (5.0 ms in all, 5.0 µs per wakeup; /proc/thread-self/schedstat)"))
        r.runQueueWait = nil
        r.runQueueWaitUnknown = "/proc/thread-self/schedstat: not found"
        #expect(r.json().serialized().contains(#""runQueueWaitNs":null,"timeslices":null,"waitShare":null,"runQueueWaitUnknown":"/proc/thread-self/schedstat: not found""#))
        #expect(r.text().contains("run-queue wait: unknown (/proc/thread-self/schedstat: not found)"))
    }

    @Test func numbersPrintAsJSONNumbers() {
        #expect(JSON.array([.number(0.25), .number(0), .number(1), .number(1e-5), .number(.nan), .number(.infinity)]).serialized()
            == "[0.25,0.0,1.0,1e-05,null,null]")
    }

    // MARK: percentiles from the per-microsecond counts

    @Test func percentilesReadTheMicrosecondBucketsLikeCyclictest() {
        // 1000 samples: 989 at 50 µs, 10 at 700 µs, 1 at 9 ms.
        let b: [LatencyReport.Bucket] = [.init(fromNs: 50_000, toNs: 51_000, count: 989), .init(fromNs: 700_000, toNs: 701_000, count: 10),
                                        .init(fromNs: 9_000_000, toNs: 9_001_000, count: 1)]
        #expect(LatencyReport.percentile(50, of: b) == 50_000)
        // The 990th sample: past 989, so 700 µs.
        #expect(LatencyReport.percentile(99, of: b) == 700_000)
        // 99.9 % of 1000 is the 999th sample (700 µs), not the 1000th: the rank is counted in integers.
        #expect(LatencyReport.percentile(99.9, of: b) == 700_000)
        #expect(LatencyReport.percentile(100, of: b) == 9_000_000)
        #expect(LatencyReport.percentile(0, of: b) == 50_000)
        #expect(LatencyReport.percentile(99, of: []) == 0)
        // Counts whose product with the rank would overflow still give an answer.
        #expect(LatencyReport.percentile(99.9, of: [.init(fromNs: 1000, toNs: 2000, count: .max)]) == 1000)
        #expect(LatencyReport.percentile(100, of: [.init(fromNs: 1000, toNs: 2000, count: .max)]) == 1000)

        let r = LatencyReport(cpu: 1, policy: .other, periodNs: 1_000_000, durationNs: 1_000_000_000, microseconds: b, min: 50_010, max: 9_000_400,
                              disturbances: CPUDisturbances())
        #expect(r.samples == 1000 && r.p50 == 50_000 && r.p99 == 700_000 && r.p999 == 700_000 && r.max == 9_000_400 && r.min == 50_010)
        #expect(r.buckets == [.init(fromNs: 32_000, toNs: 64_000, count: 989), .init(fromNs: 512_000, toNs: 1_024_000, count: 10),
                              .init(fromNs: 8_192_000, toNs: 16_384_000, count: 1)])
    }

    // MARK: the probes on this machine (measuring only; nothing of the host changes)

    /// The busy probe, ~0.3 s on CPU 0, in a thread of its own. Bounds are wide: this checks the shape, not timing.
    @Test func busyProbeReportsItsWaitShare() throws {
        let files = try RootedFileSystem(root: "/")
        nonisolated(unsafe) var result: Result<BusyReport, ShieldError>?
        let thread = Thread {
            result = Result { () throws(ShieldError) in try LatencyProbe(cpu: 0, durationNs: 300_000_000, policy: .other, files: files).runBusy() }
        }
        thread.start()
        while result == nil { usleep(10_000) }
        let r = try #require(try result?.get())
        #expect(r.wait.waitShare >= 0 && r.wait.waitShare <= 1)
        #expect(r.wait.wallNs >= 300_000_000 && r.wait.wallNs < 30_000_000_000)
        #expect(r.wait.onCpuNs + r.wait.runQueueWaitNs <= r.wait.wallNs + r.wait.wallNs / 10 + 50_000_000)
        #expect(r.longestGapNs <= r.wait.wallNs)
        let json = r.json().serialized(pretty: true)
        for key in ["\"waitShare\": ", "\"runQueueWaitNs\": ", "\"wallNs\": ", "\"onCpuNs\": ", "\"disturbances\": ", "\"probeInvoluntarySwitches\": "] {
            #expect(json.contains(key), "\(key) missing from \(json)")
        }
        #expect(r.text().contains("run-queue wait: "))
    }

    @Test func busyProbeRefusesFIFO() throws {
        let files = try RootedFileSystem(root: "/")
        #expect(throws: ShieldError("--busy --policy fifo: a spinning SCHED_FIFO thread would starve CPU 0; the busy probe runs as SCHED_OTHER, like a vCPU thread")) {
            try LatencyProbe(cpu: 0, durationNs: 1_000_000, policy: .fifo, files: files).runBusy()
        }
    }

    /// The probes measure on a fresh thread of their own: the caller is neither pinned nor left pinned (it used to
    /// be the measuring thread, and stayed on --cpu afterwards).
    @Test func probesLeaveTheCallersAffinityAlone() throws {
        let files = try RootedFileSystem(root: "/")
        nonisolated(unsafe) var seen: (before: [Int]?, after: [Int]?, error: ShieldError?)?
        let thread = Thread {
            let before = GNUCalls.affinity(0)
            var failure: ShieldError?
            do throws(ShieldError) {
                _ = try LatencyProbe(cpu: 0, durationNs: 20_000_000, policy: .other, files: files).run()
                _ = try LatencyProbe(cpu: 0, durationNs: 20_000_000, policy: .other, files: files).runBusy()
            } catch { failure = error }
            seen = (before, GNUCalls.affinity(0), failure)
        }
        thread.start()
        while seen == nil { usleep(10_000) }
        #expect(seen?.error == nil)
        #expect(seen?.before != nil && seen?.after == seen?.before)
    }

    @Test func offlineOrMissingCPUIsAClearError() throws {
        let files = try RootedFileSystem(root: "/")
        #expect {
            try LatencyProbe(cpu: 4095, durationNs: 1_000_000, policy: .other, files: files).runBusy()
        } throws: { error in
            (error as? ShieldError)?.description.hasPrefix("--cpu 4095: sched_setaffinity failed: ") == true
        }
    }
}
