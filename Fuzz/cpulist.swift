// Fuzz target "cpulist": the kernel's CPU list ("0-3,8") and hex mask ("ff,ffffffff") formats, read from sysfs
// (`cpulist`, `isolated`, `smp_affinity_list`, `smp_affinity`) and from specs. A parsed set must print back to a
// list that parses to the same set.

@testable import VFIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCPUList(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let set = CPUSet(list: text) {
        precondition(CPUSet(list: set.description) == set, "CPU list '\(set.description)' does not read back")
    }
    if let set = CPUSet(mask: text) {
        precondition(CPUSet(list: set.description) == set, "mask set '\(set.description)' does not read back")
    }
    return 0
}
