// Fuzz target "modprobe": an /etc/modprobe.d/*.conf file -> directives, then the vfio-pci ids they claim.
// These files are hand-edited by users and by other tools; unknown or odd lines are skipped, never a trap.

@testable import VFIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModprobe(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let directives = ModprobeDirective.parse(text, file: "/etc/modprobe.d/fuzz.conf")
    _ = directives.vfioPCIIDs
    return 0
}
