// Fuzz target "cpulist": the kernel's CPU list ("0-3,8") and hex mask ("ff,ffffffff") formats, read from sysfs
// (`cpulist`, `isolated`, `smp_affinity_list`, `smp_affinity`) and from specs. A parsed set must print back to a
// list that parses to the same set.

@testable import VFIOCore
#if canImport(Glibc)
import Glibc
#endif

/// FUZZ_TRAPS_ONLY=1 (scripts/fuzz) skips the round-trip checks, to look for traps past a known failure.
let checkProperties = getenv("FUZZ_TRAPS_ONLY") == nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCPUList(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let set = CPUSet(list: text) {
        precondition(!checkProperties || CPUSet(list: set.description) == set, "CPU list '\(set.description)' does not read back")
    }
    if let set = CPUSet(mask: text) {
        precondition(!checkProperties || CPUSet(list: set.description) == set, "mask set '\(set.description)' does not read back")
    }
    return 0
}
