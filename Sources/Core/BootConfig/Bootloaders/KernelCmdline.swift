/// `/etc/kernel/cmdline` alone (systemd-boot through kernel-install, Proxmox's proxmox-boot-tool): the file holds
/// the command line and the boot entries are generated from it.
struct KernelCmdlineBackend: BootloaderBackend {
    let kind = Bootloader.kernelCmdline
    static let proxmox = "proxmox-boot-tool refresh", kernelInstall = "kernel-install add $(uname -r) /usr/lib/modules/$(uname -r)/vmlinuz"
    let commands = [proxmox, kernelInstall]

    func recognises(_ boot: BootFiles) throws(BootConfigError) -> Bool {
        // With BLS entries on the ESP, the entries are what boots (systemd-boot, grubby).
        boot.kind(of: KernelCmdlineFile.path) == .regular && boot.blsEntries.isEmpty
    }

    func configuredArguments(_ boot: BootFiles) -> [String]? {
        (try? boot.read(KernelCmdlineFile.path)).flatMap { $0.map { KernelCommandLine(splitLines($0).joined(separator: " ")).arguments } }
    }

    func plan(args: [String], boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        let old = try boot.readExisting(KernelCmdlineFile.path)
        var plan = BackendPlan(edits: [FileEdit(path: KernelCmdlineFile.path, old: old, new: try KernelCmdlineFile.merge(old, args: args, path: KernelCmdlineFile.path),
                                                why: "kernel arguments for the next boot")])
        if boot.osRelease.id == "proxmox" || boot.kind(of: "/usr/sbin/proxmox-boot-tool") == .regular || boot.kind(of: "/etc/kernel/proxmox-boot-uuids") == .regular {
            plan.commands.append(Self.proxmox)
        } else {
            plan.commands.append(Self.kernelInstall)
        }
        return plan
    }
}

/// `/etc/kernel/cmdline` (systemd-boot via kernel-install, Proxmox's proxmox-boot-tool): one line of arguments.
enum KernelCmdlineFile {
    static let path = "/etc/kernel/cmdline"
    static func merge(_ text: String, args: [String], path: String) throws(BootConfigError) -> String {
        let file = ConfigLines(text)
        let lines = file.lines.filter { !$0.trimmingASCIIWhitespace().isEmpty }
        guard lines.count <= 1 else { throw BootConfigError(path, line: 2, "more than one line: the kernel command line must be a single line; refusing to edit") }
        let current = KernelCommandLine(lines.first ?? "").arguments
        // Always one terminated line, in the file's own line ending.
        return BootArguments.merge(current, args).joined(separator: " ") + file.ending
    }
}
