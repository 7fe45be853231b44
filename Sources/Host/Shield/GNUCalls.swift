import CVFIO
#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// glibc's GNU extensions that Swift's Glibc module does not import (their declarations need `_GNU_SOURCE`), through
/// the C shim (Sources/CVFIO/gnu.c), which compiles them against glibc's own prototypes and links statically too.
enum GNUCalls {
    /// `sched_setaffinity(pid, cpus)`; pid 0 is the calling thread. Nil on success, else the kernel's errno.
    static func setAffinity(_ pid: Int, _ cpus: [Int]) -> Errno? {
        guard let pid = Int32(exactly: pid) else { return .noSuchProcess }
        var set = cpu_set_t()
        // SAFETY: cpu_set_t is a plain bit array of CPU_SETSIZE bits; only bits inside it are set, and the pointer
        // passed to the kernel lives for the call.
        return withUnsafeMutableBytes(of: &set) { raw -> Errno? in
            guard let base = raw.baseAddress else { return .invalidArgument }
            for cpu in cpus {
                guard cpu >= 0, cpu / 8 < raw.count else { return .invalidArgument }
                raw[cpu / 8] |= UInt8(1) << UInt8(cpu % 8)
            }
            return cvfio_sched_setaffinity(pid, raw.count, base) == 0 ? nil : Errno(rawValue: errno)
        }
    }

    /// `sched_getaffinity(pid)`: the CPUs the task may run on, or nil (gone, or not allowed to look).
    static func affinity(_ pid: Int) -> [Int]? {
        guard let pid = Int32(exactly: pid) else { return nil }
        var set = cpu_set_t()
        // SAFETY: the kernel writes at most `raw.count` bytes into the local cpu_set_t.
        return withUnsafeMutableBytes(of: &set) { raw -> [Int]? in
            guard let base = raw.baseAddress, cvfio_sched_getaffinity(pid, raw.count, base) >= 0 else { return nil }
            var cpus: [Int] = []
            for (i, byte) in raw.enumerated() where byte != 0 {
                for bit in 0..<8 where byte & (1 << bit) != 0 { cpus.append(i * 8 + bit) }
            }
            return cpus
        }
    }

    /// The CPU the calling thread runs on now.
    static func currentCPU() -> Int { Int(cvfio_sched_getcpu()) }
}
