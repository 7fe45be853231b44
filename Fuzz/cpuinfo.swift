// Fuzz target "cpuinfo": /proc/cpuinfo text -> summary, plus the small procfs readers that share its shape
// (/proc/meminfo, /proc/modules, /proc/mounts, /proc/net/route, module parameters, sysfs selectors).

@testable import VFIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCPUInfo(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = ProcParsers.cpuinfo(text)
    _ = ProcParsers.meminfo(text)
    _ = ProcParsers.modules(text)
    _ = ProcParsers.cgroupLayout(mounts: text, hasV2Controllers: false)
    _ = ProcParsers.defaultRouteInterfaces(text)
    _ = ProcParsers.parameterBool(text)
    _ = ProcParsers.selectedChoice(text)
    return 0
}
