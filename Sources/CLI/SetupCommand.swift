import ArgumentParser
import VFIOCore
import VFIOHost

struct Setup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Configure the host's boot-time isolation for a VM spec: kernel arguments, modprobe.d, initramfs.",
        discussion: """
            The bootloader (GRUB, /etc/kernel/cmdline, kernelstub, BLS/grubby) and initramfs tool (mkinitcpio, dracut, \
            booster, initramfs-tools) are detected under --root. --dry-run (the default) prints a unified diff and the \
            commands to run afterwards; --apply writes atomically with backups and a journal under /var/lib/vfioctl/setup; \
            --revert restores the last applied change byte for byte.
            """)

    enum Mode: String, EnumerableFlag {
        case dryRun, apply, revert

        static func help(for value: Mode) -> ArgumentHelp? {
            switch value {
            case .dryRun: "Print the edits as a unified diff and the commands to run."
            case .apply: "Write the edits (journal and backups first, then temp file + rename, verified)."
            case .revert: "Restore the files of the last --apply byte for byte."
            }
        }
    }

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("The VM spec (TOML); not needed with --revert.", valueName: "SPEC")) var spec: String?
    @Flag(exclusivity: .exclusive) var mode: Mode = .dryRun
    @Flag(name: .customLong("no-regenerate"), help: "With --apply or --revert: only print the commands that regenerate the boot files (initramfs, bootloader) instead of running them.")
    var noRegenerate = false

    func run() throws {
        let session = try root.open()
        if mode != .dryRun, [".tar.gz", ".tgz", ".tar"].contains(where: { root.root.hasSuffix($0) }) {
            throw CLIError("--root \(root.root): a snapshot is unpacked to a temporary directory; --apply/--revert need a real tree")
        }
        if mode == .revert {
            let writer = BootConfigWriter(files: session.files)
            let journal: String, commands: [String]
            do {
                let (j, paths, regenerate) = try writer.revert(allowedCommands: BootConfig.regenerateCommands)
                (journal, commands) = (j, regenerate)
                print("restored from \(journal):")
                for p in paths { print("  \(p)") }
            } catch { throw CLIError(error.description) }
            if commands.isEmpty {
                // A journal from before the commands were recorded.
                print("then regenerate the boot files again (the commands setup printed), and reboot.")
            } else if noRegenerate {
                print("now run:")
                for c in commands { print("  \(c)") }
                print("then reboot.")
            } else {
                try Regenerate.run(commands, files: session.files, writer: writer, journal: journal, undo: "vfioctl setup --apply SPEC")
                print("now reboot: the boot uses the original configuration again.")
            }
            return
        }
        guard let spec else { throw CLIError("setup: give the VM spec (vfioctl setup SPEC --dry-run)") }
        let vm = try SpecFile.load(spec)
        // Only the CPU vendor matters here (intel_iommu=on); a bare /etc tree (no sys/, proc/) is fine.
        // The host model also tells which devices the host keeps with the same ids (bound by address then).
        let facts = session.facts([.model, .boot])
        let host = facts.host
        let vendor: CPUInfo.Vendor = host?.cpu.vendor ?? (vm.cpu.topoext ? .amd : .intel)
        let plan: BootPlan
        do { plan = try BootConfig.plan(vm, cpuVendor: vendor, boot: facts.boot ?? BootFiles.load(session.files), host: host?.devices.isEmpty == false ? host : nil) } catch {
            throw CLIError(error.description)
        }
        if mode == .dryRun || plan.edits.isEmpty {
            Output.write(plan.dryRunText)
            return
        }
        do {
            let journal = try BootConfigWriter(files: session.files).apply(plan.edits, vm: vm.name, regenerate: plan.commands)
            print("wrote \(plan.edits.count) file\(plan.edits.count == 1 ? "" : "s") (journal and backups: \(journal)):")
            for e in plan.edits { print("  \(e.path)") }
            if noRegenerate {
                print("now run:")
                for c in plan.commands { print("  \(c)") }
                print("then reboot. Undo with: vfioctl setup --revert")
                return
            }
            try Regenerate.run(plan.commands, files: session.files, writer: BootConfigWriter(files: session.files), journal: journal,
                               undo: "vfioctl setup --revert")
            print("now reboot. Undo with: vfioctl setup --revert (it regenerates the boot files again)")
        } catch let error as CLIError { throw error } catch { throw CLIError("\(error)") }
    }
}

/// Runs the commands that regenerate the boot files after `setup --apply` (update-grub, kernelstub,
/// update-initramfs, mkinitcpio -P, dracut, booster), one after the other, through the host's command runner:
/// on any root but `/` they are recorded, not run. Each result goes into setup's journal.
enum Regenerate {
    /// update-initramfs -k all or mkinitcpio -P on a host with several kernels takes minutes; an hour is a hang.
    static let timeout = 3600.0

    static func run(_ commands: [String], files: RootedFileSystem, writer: BootConfigWriter, journal: String, undo: String) throws {
        // The commands are vfioctl's own fixed strings; some use the shell ($(uname -r), a trailing comment).
        let sequence = CommandSequence(runner: HostCommands.runner(for: files), writer: writer, journal: journal, timeout: timeout)
        do {
            try sequence.run(commands.map { (["/bin/sh", "-c", $0], $0) }, undo: undo) { print($0) }
        } catch { throw CLIError("the boot files are not regenerated: \(error.description)") }
    }
}
