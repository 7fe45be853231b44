#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// Reads every thread of the host twice, `interval` apart, for `ShieldLeaks` (`shield --status`). On a tree root
/// (a fixture, a copied /proc) nothing runs in between: it reads once.
public enum ShieldLeakSampler {
    public static func sample(files: RootedFileSystem, state: ShieldHostState, records: [ShieldRecord], shielded: CPUSet,
                              intervalNs: UInt64 = 500_000_000) -> ShieldLeaks {
        let pids = state.tasks.map(\.pid)
        let first = ThreadSample.read(files, pids: pids)
        var second = first
        var sampled: UInt64 = 0
        if files.isRealRoot {
            let t0 = monotonicNs()
            var ts = timespec(tv_sec: Int(intervalNs / 1_000_000_000), tv_nsec: Int(intervalNs % 1_000_000_000))
            var rest = timespec()
            // Bounded: each EINTR leaves less to sleep.
            while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
            second = ThreadSample.read(files, pids: pids)
            sampled = monotonicNs() &- t0
        }
        let now = (try? files.readText("/proc/uptime")).flatMap(ShieldLeaks.uptimeTicks)
        return ShieldLeaks.evaluate(before: first.threads, after: second.threads, sampleNs: sampled, shielded: shielded,
                                    state: state, records: records, now: now, truncated: second.truncated)
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
