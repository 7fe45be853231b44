import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

@Suite struct LatencyTests {
    @Test func interruptDeltasPerIRQOnOneCPU() {
        let before = "           CPU0       CPU1\n  24:   5   10   IR-PCI-MSI 1-edge  nvme0q1\n LOC:  100  200   Local timer interrupts\n"
        let after = "           CPU0       CPU1\n  24:   9   13   IR-PCI-MSI 1-edge  nvme0q1\n LOC:  150  1200   Local timer interrupts\n  30:  0  4  IR-PCI-MSI 2-edge  new\n"
        let d = CPUDisturbances.interruptDeltas(before: before, after: after, cpu: 1)
        #expect(d.map(\.irq) == ["LOC", "30", "24"])
        #expect(d.map(\.count) == [1000, 4, 3])
    }

    @Test func switchesAndScheduleCalls() {
        let s = CPUDisturbances.switches(status: "Name:\tx\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t2\n")
        #expect(s?.voluntary == 7 && s?.involuntary == 2)
        let stat = "version 15\ntimestamp 1\ncpu0 0 0 100 50 1 1 1 1 1\ndomain0 3 ...\ncpu1 0 0 333 5 1 1 1 1 1\n"
        #expect(CPUDisturbances.scheduleCalls(schedstat: stat, cpu: 1) == 333)
    }

    @Test func logBucketsArePowersOfTwoMicroseconds() {
        let values: [UInt64] = [500, 1500, 1600, 70_000]
        let b = LatencyReport.logBuckets(max: 70_000) { r in UInt64(values.filter { r.contains($0) }.count) }
        #expect(b == [.init(fromNs: 0, toNs: 1000, count: 1), .init(fromNs: 1000, toNs: 2000, count: 2), .init(fromNs: 64_000, toNs: 128_000, count: 1)])
    }

    /// The probe itself, briefly, on CPU 0 in a thread of its own (measuring only; nothing of the host changes).
    @Test func probeMeasuresWakeups() throws {
        let files = try RootedFileSystem(root: "/")
        nonisolated(unsafe) var result: Result<LatencyReport, ShieldError>?
        let thread = Thread {
            result = Result { () throws(ShieldError) in try LatencyProbe(cpu: 0, durationNs: 200_000_000, policy: .other, files: files).run() }
        }
        thread.start()
        while result == nil { usleep(10_000) }
        let r = try #require(try result?.get())
        #expect(r.samples >= 50 && r.samples <= 210)
        #expect(r.p50 <= r.p99 && r.p99 <= r.p999 && r.p999 <= r.max)
        #expect(r.buckets.reduce(0) { $0 + $1.count } == r.samples)
        #expect(r.text().contains("wakeup lateness"))
        // Root here: the 0 µs PM QoS request is held (and dropped when the probe closes the device).
        #expect(r.idleStates.hasPrefix(getuid() == 0 && access("/dev/cpu_dma_latency", W_OK) == 0 ? "held at 0 µs" : "allowed"))
        #expect(r.json().serialized().contains("\"p99.9\""))
        // Its own run-queue wait, from its schedstat, next to the percentiles.
        let wait = try #require(r.runQueueWait, "\(r.runQueueWaitUnknown ?? "")")
        #expect(wait.waitShare >= 0 && wait.waitShare <= 1 && wait.wallNs >= 200_000_000)
        #expect(r.json().serialized().contains("\"waitShare\":"))
        #expect(r.text().contains("run-queue wait: "))
        // The per-microsecond histogram holds every sample, and its cyclictest-format file says so too.
        #expect(r.microseconds.reduce(0) { $0 + $1.count } == r.samples)
        #expect(r.microseconds.allSatisfy { $0.toNs - $0.fromNs == 1000 && $0.fromNs % 1000 == 0 })
        let lines = r.cyclictestHistfile().split(separator: "\n")
        let counted = lines.filter { $0.first?.isNumber == true }.map { $0.split(separator: " ") }
        #expect(counted.reduce(0) { $0 + UInt64($1[1])! } == r.samples)
        #expect(UInt64(counted.first![0])! == r.microseconds.first!.fromNs / 1000)
        #expect(lines.contains("# Max Latencies: \(r.max / 1000)"))
    }

    /// Up to 20 ms each microsecond is counted exactly; later wakeups (rare) land in an HdrHistogram and come back
    /// as microsecond buckets at most 0.1 % below their value; past an hour they count as an hour.
    @Test func recorderKeepsEverySampleInMicrosecondBuckets() throws {
        let r = LatencyProbe.Recorder()
        defer { r.counts.deallocate() }
        for late: UInt64 in [0, 999, 1000, 19_999_999, 20_000_000, 25_000_000, 25_000_100, 7_200_000_000_000] { r.record(late) }
        let b = r.buckets()
        #expect(b.reduce(0) { $0 + $1.count } == 8)
        #expect(Array(b.prefix(3)) == [.init(fromNs: 0, toNs: 1000, count: 2), .init(fromNs: 1000, toNs: 2000, count: 1),
                                       .init(fromNs: 19_999_000, toNs: 20_000_000, count: 1)])
        #expect(b.map(\.fromNs) == b.map(\.fromNs).sorted())
        let late = Array(b.dropFirst(3))
        #expect(late.count == 3)
        // Its HdrHistogram bucket starts below 20 ms, but the sample was not earlier than 20 ms: kept in order.
        #expect(late[0] == .init(fromNs: 20_000_000, toNs: 20_001_000, count: 1))
        #expect(late[1].fromNs <= 25_000_000 && late[1].fromNs >= 24_975_000 && late[1].count == 2)
        #expect(late[2].fromNs <= LatencyProbe.tailLimitNs && late[2].fromNs >= LatencyProbe.tailLimitNs / 1000 * 999)
    }

    @Test func histfileIsCyclictestsFormat() {
        var r = LatencyReport(cpu: 1, policy: .other, periodNs: 1_000_000, durationNs: 1_000_000_000, samples: 3, p50: 52_000, p99: 1_234_000,
                              p999: 1_234_000, max: 1_234_567, min: 51_200, buckets: [], disturbances: CPUDisturbances())
        r.microseconds = [.init(fromNs: 51_000, toNs: 52_000, count: 2), .init(fromNs: 1_234_000, toNs: 1_235_000, count: 1)]
        #expect(r.cyclictestHistfile() == """
            000051 000002
            001234 000001
            # Total: 3
            # Min Latencies: 51
            # Max Latencies: 1234
            # Histogram Overflows: 0

            """)
    }
}
