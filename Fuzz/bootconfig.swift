// Fuzz target "bootconfig": the text of a boot configuration file -> the edit `vfioctl setup` makes with fixed
// arguments: /etc/default/grub, a BLS entry, /etc/kernel/cmdline, kernelstub's JSON, mkinitcpio.conf,
// booster.yaml and initramfs-tools' modules. Each editor either returns the edited text or refuses with a
// BootConfigError naming the file; none may trap on what a user left in the file.

@testable import VFIOCore
#if canImport(Glibc)
import Glibc
#endif

/// FUZZ_TRAPS_ONLY=1 (scripts/fuzz) skips the round-trip checks, to look for traps past a known failure.
let checkProperties = getenv("FUZZ_TRAPS_ONLY") == nil

let fuzzArgs = ["intel_iommu=on", "iommu=pt", "vfio-pci.ids=10de:2204,10de:1aef", "isolcpus=2-7"]
let fuzzModules = ["vfio_pci", "vfio", "vfio_iommu_type1"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBootConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? GrubDefault.arguments(text, path: "/etc/default/grub")
    if let out = try? GrubDefault.merge(text, args: fuzzArgs, path: "/etc/default/grub") {
        // What setup wrote must read back with the arguments in it (a second run then changes nothing).
        let back = try? GrubDefault.arguments(out, path: "/etc/default/grub")
        precondition(!checkProperties || back.map { a in fuzzArgs.allSatisfy { a.contains($0) } } ?? false, "edited grub file does not read back with the arguments")
    }
    _ = try? BLSEntry.merge(text, args: fuzzArgs, path: "/boot/loader/entries/fuzz.conf")
    _ = try? KernelCmdlineFile.merge(text, args: fuzzArgs, path: "/etc/kernel/cmdline")
    _ = try? Kernelstub.merge(text, args: fuzzArgs)
    _ = try? Mkinitcpio.merge(text, modules: fuzzModules)
    _ = try? Booster.merge(text, modules: fuzzModules)
    _ = InitramfsToolsModules.merge(text, modules: fuzzModules)
    return 0
}
