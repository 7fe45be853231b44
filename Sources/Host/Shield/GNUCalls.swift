#if canImport(Glibc)
import Glibc
#endif

/// glibc's GNU extensions that Swift's Glibc module does not import (their declarations need `_GNU_SOURCE`).
/// Bound by symbol name so they also link into a static executable (the lab's), where dlsym finds nothing.
/// Only integer and pointer arguments: the Swift and C calling conventions agree on those.
@_silgen_name("sched_setaffinity")
private func c_sched_setaffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeRawPointer) -> Int32

@_silgen_name("sched_getaffinity")
private func c_sched_getaffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeMutableRawPointer) -> Int32

@_silgen_name("sched_getcpu")
private func c_sched_getcpu() -> Int32

enum GNUCalls {
    /// `sched_setaffinity(pid, cpus)`; pid 0 is the calling thread. Returns 0 or an errno.
    static func setAffinity(_ pid: Int, _ cpus: [Int]) -> Int32 {
        var set = cpu_set_t()
        // SAFETY: cpu_set_t is a plain bit array of CPU_SETSIZE bits; only bits inside it are set, and the pointer
        // passed to the kernel lives for the call.
        return withUnsafeMutableBytes(of: &set) { raw -> Int32 in
            for cpu in cpus {
                guard cpu >= 0, cpu / 8 < raw.count else { return EINVAL }
                raw[cpu / 8] |= UInt8(1) << UInt8(cpu % 8)
            }
            return c_sched_setaffinity(Int32(pid), raw.count, raw.baseAddress!) == 0 ? 0 : errno
        }
    }

    /// `sched_getaffinity(pid)`: the CPUs the task may run on, or nil (gone, or not allowed to look).
    static func affinity(_ pid: Int) -> [Int]? {
        var set = cpu_set_t()
        // SAFETY: the kernel writes at most `raw.count` bytes into the local cpu_set_t.
        return withUnsafeMutableBytes(of: &set) { raw -> [Int]? in
            guard c_sched_getaffinity(Int32(pid), raw.count, raw.baseAddress!) >= 0 else { return nil }
            var cpus: [Int] = []
            for (i, byte) in raw.enumerated() where byte != 0 {
                for bit in 0..<8 where byte & (1 << bit) != 0 { cpus.append(i * 8 + bit) }
            }
            return cpus
        }
    }

    /// The CPU the calling thread runs on now.
    static func currentCPU() -> Int { Int(c_sched_getcpu()) }
}
