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

    enum Mode: String, EnumerableFlag { case dryRun, apply, revert }

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("The VM spec (TOML); not needed with --revert.", valueName: "SPEC")) var spec: String?
    @Flag(exclusivity: .exclusive) var mode: Mode = .dryRun

    func run() throws {
        let session = try root.open()
        if mode == .revert {
            do {
                let (journal, paths) = try BootConfigWriter(files: session.files).revert()
                print("restored from \(journal):")
                for p in paths { print("  \(p)") }
                print("then regenerate the boot files again (the commands setup printed), and reboot.")
            } catch { throw CLIError(error.description) }
            return
        }
        guard let spec else { throw CLIError("setup: give the VM spec (vfioctl setup SPEC --dry-run)") }
        let vm = try SpecFile.load(spec)
        let host: HostModel
        do { host = try session.load() } catch { throw CLIError("\(root.root): \(error)") }
        let plan: BootPlan
        do { plan = try BootConfig.plan(vm, cpuVendor: host.cpu.vendor, files: session.files) } catch {
            throw CLIError(error.description)
        }
        print("bootloader: \(plan.bootloader.rawValue)")
        print("initramfs: \(plan.initramfs?.rawValue ?? "none found")")
        for n in plan.notes { print("note: \(n)") }
        if plan.edits.isEmpty {
            print("nothing to change: the boot configuration already matches \(spec)")
            return
        }
        if mode == .dryRun {
            for e in plan.edits {
                print("")
                print("# \(e.path): \(e.why)")
                print(e.diff, terminator: "")
            }
            print("")
            print("after --apply, run:")
            for c in plan.commands { print("  \(c)") }
            print("then reboot. (dry run: nothing was written; use --apply)")
            return
        }
        do {
            let journal = try BootConfigWriter(files: session.files).apply(plan.edits, vm: vm.name)
            print("wrote \(plan.edits.count) file\(plan.edits.count == 1 ? "" : "s") (journal and backups: \(journal)):")
            for e in plan.edits { print("  \(e.path)") }
            print("now run:")
            for c in plan.commands { print("  \(c)") }
            print("then reboot. Undo with: vfioctl setup --revert")
        } catch { throw CLIError(error.description) }
    }
}
