import ArgumentParser
import FoundationEssentials
import Glibc
import VFIOCore
import VFIOHost

struct Define: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Define the VM in libvirt: disk image, domain, the spec for the hook, and the host plumbing its devices need.",
        discussion: """
            Creates the system disk (qemu-img create) when it is missing, writes the domain XML to \
            /etc/vfioctl/vms/NAME.xml and runs virsh define on it, copies the spec to /etc/vfioctl/vms/NAME.toml and \
            installs the libvirt hook when missing: the hook binds the devices at prepare and restores them at release, \
            so the domain says managed='no' (libvirt does not bind them too). For the VM's own devices it adds evdev \
            keyboards and mice to qemu.conf's cgroup_device_acl, writes the libvirt AppArmor local abstraction where \
            AppArmor is active, and a tmpfiles.d entry for Looking Glass' /dev/shm/looking-glass. Every file is written \
            with a journal and backups under /var/lib/vfioctl/define; --undo restores them byte for byte and undefines \
            the domain (the disk image and the hook stay). Under --root other than / nothing is run, only recorded.
            """)

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("The VM spec (TOML); not needed with --undo.", valueName: "SPEC")) var spec: String?
    @Flag(name: .customLong("dry-run"), help: "Print every edit as a unified diff and every command; change nothing.") var dryRun = false
    @Flag(help: "Undo the last define: restore its files byte for byte and undefine its domain.") var undo = false
    @Option(help: ArgumentHelp("Owner of Looking Glass' /dev/shm/looking-glass (default: $SUDO_USER).", valueName: "NAME")) var user: String?
    @Option(help: ArgumentHelp("The vfioctl the hook runs (default: this binary).", valueName: "PATH")) var binary: String?

    func run() throws {
        let session = try root.open()
        if (!dryRun || undo), session.isSnapshot {
            throw CLIError("--root \(root.root): a snapshot is a record of a host; define changes a real one (--dry-run shows what it would do)")
        }
        let files = session.files
        let runner = HostCommands.runner(for: files)
        let writer = BootConfigWriter(files: files, journalRoot: DefinePlanner.journalRoot)
        if undo {
            guard spec == nil else { throw CLIError("define --undo takes no SPEC: it undoes the last define") }
            try Self.undo(writer: writer, runner: runner)
            return
        }
        guard let spec else { throw CLIError("define: give the VM spec (vfioctl define SPEC --dry-run)") }
        let (vm, text) = try SpecFile.loadText(spec)
        let plan: DefinePlan
        do {
            plan = try DefinePlanner.plan(vm, specText: text, files: files, user: user ?? Self.sudoUser())
        } catch { throw CLIError("\(spec): \(error)") }
        let script = HookScript.render(vfioctl: binary ?? Hook.Install.thisBinary())
        // libvirt defines a type='kvm' domain only where QEMU can open /dev/kvm ("does not support virt type
        // 'kvm'"): say so before writing anything. A bare /etc tree (no host model) is not checked.
        // Read once: the KVM check and what is left to do both use the model and the boot files.
        let facts = session.facts([.model, .boot], named: false)
        let noKVM: String? = facts.host.flatMap { host in
            host.devices.isEmpty || host.kvm.deviceNode ? nil
                : "/dev/kvm does not exist on this host: libvirt refuses a KVM domain (type='kvm') here; vfioctl doctor (kvm.available) says how to enable KVM"
        }

        if dryRun {
            print("vfioctl define \(vm.name)\(files.isRealRoot ? "" : " (root \(root.root))"): dry run, nothing changed")
            if let noKVM { print("warning: \(noKVM); define without --dry-run refuses") }
            if plan.edits.isEmpty { print("\nfiles: all already as define writes them") }
            for e in plan.edits {
                print("\n# \(e.path): \(e.why)")
                Output.write(e.diff)
            }
            print("\nthen run:")
            for c in plan.commands { print("  " + Self.shellLine(c)) }
            if plan.hookMissing { print("and install the libvirt hook \(HookScript.path) (as vfioctl hook install does)") }
            try Self.whatIsLeft(vm, specPath: spec, plan: plan, facts: facts, files: files)
            return
        }

        if let noKVM { throw CLIError("define \(vm.name): \(noKVM). Nothing was written (vfioctl render libvirt \(Self.shellLine([spec])) prints the domain)") }
        var journal: String?
        if !plan.edits.isEmpty {
            do { journal = try writer.apply(plan.edits, vm: vm.name) } catch { throw CLIError(error.description) }
            print("wrote \(plan.edits.count) file\(plan.edits.count == 1 ? "" : "s") (journal and backups: \(journal!)):")
            for e in plan.edits { print("  \(e.path)") }
        }
        // qemu-img preallocates nothing (sparse); virsh define answers at once.
        let sequence = CommandSequence(runner: runner, writer: writer, journal: journal, timeout: 120)
        do {
            try sequence.run(plan.commands.map { ($0, Self.shellLine($0)) }, undo: "vfioctl define --undo") { print($0) }
        } catch { throw CLIError(error.description) }
        if plan.hookMissing {
            do {
                _ = try HookInstaller(files: files).install(script: script)
                print("installed the libvirt hook \(HookScript.path)")
            } catch { throw CLIError(error.description) }
        }
        print("defined \(vm.name). Undo with: vfioctl define --undo")
        try Self.whatIsLeft(vm, specPath: spec, plan: plan, facts: facts, files: files)
    }

    /// What the user still does: setup and reboot when pending, restarts, notes, then the install itself.
    static func whatIsLeft(_ vm: VMSpec, specPath: String, plan: DefinePlan, facts: HostFacts, files: RootedFileSystem) throws {
        var left: [String] = []
        let host = facts.host
        let vendor: CPUInfo.Vendor = host?.cpu.vendor ?? (vm.cpu.topoext ? .amd : .intel)
        if let boot = try? BootConfig.plan(vm, cpuVendor: vendor, boot: facts.boot ?? BootFiles.load(files), host: host?.devices.isEmpty == false ? host : nil) {
            if !boot.edits.isEmpty {
                left.append("vfioctl setup \(Self.shellLine([specPath])) --apply (boot configuration is not done yet), then reboot")
            } else if let host, !BootArguments.wanted(vm, cpuVendor: vendor, binding: boot.binding).allSatisfy({ $0 == "vfio-pci.ids=" || host.cmdline.arguments.contains($0) }) {
                left.append("reboot: setup's kernel arguments are written but not booted yet")
            }
        }
        if plan.hookMissing || plan.edits.contains(where: { $0.path == DefinePlanner.qemuConf }) {
            left.append("systemctl restart libvirtd (it reads qemu.conf and finds a new hook only at start)")
        }
        if plan.edits.contains(where: { $0.path == DefinePlanner.lookingGlassTmpfiles }) {
            left.append("systemd-tmpfiles --create \(DefinePlanner.lookingGlassTmpfiles)")
        }
        left += plan.notes
        left.append("virsh start \(vm.name)" + (vm.install.iso != nil ? ", then press a key when the installer asks to boot from CD" : ""))
        if vm.install.iso == nil { left.append("no installer: add [install] iso = \"/path/to/installer.iso\" to the spec (or boot an installed disk), then define again") }
        if vm.os?.isWindows == true {
            if vm.install.virtioISO == nil {
                left.append("Windows drivers: download virtio-win.iso (fedorapeople.org virtio-win), add [install] virtio-iso = \"/path/virtio-win.iso\", define again")
            }
            if vm.disks.first?.bus == .virtio { left.append("in Windows setup: Load driver → the virtio-win CD, viostor\\w11 (or w10)\\amd64") }
            left.append("in Windows: install virtio-win-guest-tools from the virtio-win CD (network driver), then the GPU driver")
        }
        if vm.lookingGlass != nil { left.append("in the guest: install the Looking Glass host application; on the host: run looking-glass-client") }
        print("\nleft to do:")
        for (i, l) in left.enumerated() { print("  \(i + 1). \(l)") }
    }

    static func undo(writer: BootConfigWriter, runner: any CommandRunner) throws {
        guard let (journal, vm) = writer.newestApplied() else {
            throw CLIError("no applied vfioctl define to undo (\(DefinePlanner.journalRoot) has none)")
        }
        let c = ["virsh", "undefine", "--nvram", vm]
        print("run: \(shellLine(c))")
        let result = runner.run(c, timeout: 120)
        if result.simulated { print("  not run: --root is not / (recorded)") }
        else if !result.succeeded { print("  failed (the domain may be gone already): \(result.output.trimmingASCIIWhitespace())") }
        do {
            let (_, paths, _) = try writer.revert()
            print("restored from \(journal):")
            for p in paths { print("  \(p)") }
        } catch { throw CLIError(error.description) }
        print("kept: the disk image and the libvirt hook \(HookScript.path) (it leaves VMs without a spec in \(HookScript.specDirectory) alone)")
    }

    static func shellLine(_ argv: [String]) -> String {
        argv.map { a in a.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_=.,/:+@%".contains($0)) }) ? a : "'" + a.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }
            .joined(separator: " ")
    }

    static func sudoUser() -> String? {
        guard let p = getenv("SUDO_USER") else { return nil }
        let s = String(cString: p)
        return s.isEmpty || s == "root" ? nil : s
    }
}
