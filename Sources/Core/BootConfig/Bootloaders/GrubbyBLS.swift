/// GRUB with Boot Loader Specification entries (Fedora, RHEL: `GRUB_ENABLE_BLSCFG=true`), managed by grubby: the
/// entries' `options`, plus `/etc/default/grub` and `/etc/kernel/cmdline` for kernels installed later.
struct GrubbyBLSBackend: BootloaderBackend {
    let kind = Bootloader.grubbyBLS
    static let check = "grubby --info=ALL   # check: every entry lists the new arguments"
    let commands = [check]

    func recognises(_ boot: BootFiles) throws(BootConfigError) -> Bool {
        guard !boot.blsEntries.isEmpty, let grub = try boot.read(GrubDefault.path) else { return false }
        return grub.contains("GRUB_ENABLE_BLSCFG=true")
    }

    func configuredArguments(_ boot: BootFiles) -> [String]? {
        BLSEntry.configuredArguments(boot)
    }

    func plan(args: [String], boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        var plan = BackendPlan(edits: try BLSEntry.edits(args: args, boot: boot, why: "kernel arguments of an installed kernel"))
        if let old = try boot.read(GrubDefault.path) {
            plan.edits.append(FileEdit(path: GrubDefault.path, old: old, new: try GrubDefault.merge(old, args: args, path: GrubDefault.path), why: "kernel arguments for kernels installed later"))
        }
        if let old = try boot.read(KernelCmdlineFile.path) {
            plan.edits.append(FileEdit(path: KernelCmdlineFile.path, old: old, new: try KernelCmdlineFile.merge(old, args: args, path: KernelCmdlineFile.path),
                                       why: "kernel arguments for kernels installed later"))
        }
        plan.commands.append(Self.check)
        return plan
    }
}
