/// systemd-boot reading Boot Loader Specification entries from the ESP (no GRUB configuration): each entry's
/// `options` line, and `/etc/kernel/cmdline` for entries kernel-install writes later.
struct SystemdBootBackend: BootloaderBackend {
    let kind = Bootloader.systemdBoot
    /// The entries are read as they are: nothing to regenerate.
    let commands: [String] = []

    func recognises(_ boot: BootFiles) throws(BootConfigError) -> Bool {
        !boot.blsEntries.isEmpty && boot.kind(of: GrubDefault.path) != .regular
    }

    func configuredArguments(_ boot: BootFiles) -> [String]? {
        BLSEntry.configuredArguments(boot)
    }

    func plan(args: [String], boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        var plan = BackendPlan(edits: try BLSEntry.edits(args: args, boot: boot, why: "kernel arguments of a boot entry (read directly by systemd-boot)"))
        if let old = try boot.read(KernelCmdlineFile.path) {
            plan.edits.append(FileEdit(path: KernelCmdlineFile.path, old: old, new: try KernelCmdlineFile.merge(old, args: args, path: KernelCmdlineFile.path),
                                       why: "kernel arguments for entries kernel-install adds later"))
        } else {
            plan.notes.append("systemd-boot reads the entries directly; a kernel package that writes new entries may not carry these arguments (write them to /etc/kernel/cmdline too)")
        }
        return plan
    }
}

/// A Boot Loader Specification entry (`/boot/loader/entries/*.conf`): its `options` line.
enum BLSEntry {
    /// One edit per entry: its `options` line with `args` added.
    static func edits(args: [String], boot: BootFiles, why: String) throws(BootConfigError) -> [FileEdit] {
        var edits: [FileEdit] = []
        for path in boot.blsEntries {
            let old = try boot.readExisting(path)
            edits.append(FileEdit(path: path, old: old, new: try merge(old, args: args, path: path), why: why))
        }
        return edits
    }

    /// The `options` of the newest entry (the last by name): what boots next.
    static func configuredArguments(_ boot: BootFiles) -> [String]? {
        guard let path = boot.blsEntries.last, let text = try? boot.read(path) else { return nil }
        return splitLines(text).first { $0.hasPrefix("options ") }.map { KernelCommandLine(String($0.dropFirst(8))).arguments }
    }

    static func merge(_ text: String, args: [String], path: String) throws(BootConfigError) -> String {
        var lines = splitLines(text)
        let idx = lines.indices.filter { lines[$0].hasPrefix("options ") || lines[$0] == "options" }
        guard idx.count <= 1 else { throw BootConfigError(path, line: idx[1] + 1, "a second options line: refusing to edit") }
        if let i = idx.first {
            let value = String(lines[i].dropFirst(7)).trimmingASCIIWhitespace()
            if value.contains("$") { throw BootConfigError(path, line: i + 1, "options uses a variable (\(value)): edit it with grubby --args instead") }
            lines[i] = "options " + BootArguments.merge(KernelCommandLine(value).arguments, args).joined(separator: " ")
        } else {
            lines.append("options " + args.joined(separator: " "))
        }
        return joinLines(lines, like: text)
    }
}
