import ArgumentParser
import FoundationEssentials
import Glibc
import VFIOCore
import VFIOHost

struct Hook: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The libvirt hook: bind and shield VMs that have a spec in /etc/vfioctl/vms, restore them at release.",
        subcommands: [Install.self, Run.self])

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install /etc/libvirt/hooks/qemu.d/vfioctl (safe to run again; VMs without a spec are never touched).",
            discussion: """
                For a VM NAME with a spec /etc/vfioctl/vms/NAME.toml, the hook runs vfioctl hook run at each libvirt event: \
                prepare binds its devices (the VM does not start if that fails) and shields its pinned CPUs for NAME; started \
                moves QEMU onto them; release ends NAME's shield (other VMs keep theirs) and restores the devices. VMs without \
                a spec exit in the script without starting vfioctl. Installing replaces an older vfioctl hook. Restart \
                libvirtd once after the first install.
                """)

        @OptionGroup var root: RootOptions
        @Flag(help: "Print the hook and where it would go, change nothing.") var dryRun = false
        @Option(help: ArgumentHelp("The vfioctl the hook runs (default: this binary).", valueName: "PATH")) var binary: String?

        func run() throws {
            let exe = binary ?? Self.thisBinary()
            let script = HookScript.render(vfioctl: exe)
            if dryRun {
                print("would write \(HookScript.path) (mode 0755), for VMs with a spec in \(HookScript.specDirectory)/NAME.toml:\n")
                Output.write(script)
                return
            }
            let session = try root.open()
            try HostChange.refuseSnapshot(session, "install the hook", dryRun: false)
            let files = session.files
            do {
                switch try HookInstaller(files: files).install(script: script) {
                case .unchanged: print("\(HookScript.path) is already installed and current")
                case .updated: print("updated \(HookScript.path)")
                case .installed:
                    print("installed \(HookScript.path); specs go in \(HookScript.specDirectory)/NAME.toml")
                    print("restart libvirtd once so it sees the hook: systemctl restart libvirtd")
                }
            } catch { throw CLIError(error.description) }
        }

        static func thisBinary() -> String {
            let path = CommandLine.arguments[0]
            if path.hasPrefix("/") { return path }
            return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/usr/local/bin/vfioctl"
        }
    }
}

extension Hook {
    /// One libvirt event for one VM, in this one process: what the installed hook script execs.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Act on one libvirt event for a VM with a spec (the installed hook runs this).",
            discussion: """
                prepare/begin binds the spec's devices (exit 1, so libvirt does not start the VM, when that fails) and \
                shields its pinned CPUs for VM; started/begin moves QEMU (/run/libvirt/qemu/VM.pid) onto them; \
                release/end ends VM's shield and restores the devices. Other events, and VMs without a spec, change nothing.
                """,
            shouldDisplay: false)

        @OptionGroup var root: RootOptions
        @Option(help: ArgumentHelp("Where the specs are (default: $VFIOCTL_HOOK_SPECS or /etc/vfioctl/vms).", valueName: "DIR"))
        var specs: String?
        @Argument(help: ArgumentHelp("The libvirt domain name.", valueName: "VM")) var vm: String
        @Argument(help: ArgumentHelp("libvirt's operation (prepare, started, release, ...).", valueName: "OPERATION")) var operation: String
        @Argument(help: ArgumentHelp("libvirt's sub-operation (begin, end, ...).", valueName: "SUB-OPERATION")) var subOperation: String
        @Argument(help: ArgumentHelp("libvirt's extra argument (unused).", valueName: "EXTRA")) var extra: [String] = []

        func validate() throws {
            if !Shield.isVMName(vm) {
                throw ValidationError("'\(escapingControls(vm))': not a VM name (libvirt's domain name: printable, up to 256 bytes)")
            }
        }

        func run() throws {
            HookEvent.drainStandardInput()
            let event = HookEvent(operation: operation, subOperation: subOperation)
            let spec = (specs ?? environment("VFIOCTL_HOOK_SPECS") ?? HookScript.specDirectory) + "/\(vm).toml"
            guard event != .other, access(spec, F_OK) == 0 else { return }
            let steps = HookSteps(vm: vm, event: "\(operation)/\(subOperation)", root: root, specPath: spec)
            switch event {
            case .prepare: try steps.prepare()
            case .started: steps.started()
            case .release: steps.release()
            case .other: return
            }
        }
    }
}

/// The steps of each event `hook run` acts on, in order, with the same bodies as the bind, shield, unshield and
/// restore commands. Only prepare can fail the event (libvirt then does not start the VM); at started and release
/// the VM runs or is gone whatever vfioctl does, so a failure is logged with the command that finishes the job.
struct HookSteps {
    let vm: String
    /// `OPERATION/SUB-OPERATION`, as the messages name it.
    let event: String
    let root: RootOptions
    let specPath: String

    /// prepare/begin: the host is made ready before QEMU opens /dev/vfio.
    /// In this order: checks that must pass before anything changes (the spec's devices have not drifted), then
    /// reservations the VM needs (hugepages), then the devices and the CPUs; a step that fails says why with
    /// `refuse(_:)` and what came before it is given back.
    func prepare() throws {
        let spec = try loadSpec()
        try refuseDrift(spec)
        let reserved = try reserveHugepages(spec)
        do { try bindDevices(spec) } catch {
            if reserved { releaseHugepages() }
            throw error
        }
        shieldCPUs(spec)
    }

    /// started/begin: QEMU runs: its threads move to the VM's CPUs and an armed display watchdog stands down.
    func started() {
        guard let session = openSession(), let pid = HookEvent.qemuPID(vm: vm, files: session.files) else { return }
        moveQEMU(pid, session)
        confirmHandoff(session)
    }

    /// release/end: QEMU is gone: the shield, the devices and the hugepages prepare reserved are given back.
    func release() {
        unshieldCPUs()
        if let spec = try? loadSpec() { restoreDevices(spec) }
        releaseHugepages()
    }

    func log(_ message: String) { writeStandardError("vfioctl hook: \(vm) \(event): \(message)\n") }

    /// Stops the event: libvirt does not start the VM.
    func refuse(_ message: String) -> ExitCode {
        log(message)
        return ExitCode(1)
    }

    func loadSpec() throws -> VMSpec {
        do { return try SpecFile.load(specPath) } catch { throw refuse("cannot read \(specPath): \(error)") }
    }

    private func openSession() -> HostSession? {
        do {
            let session = try root.open()
            try HostChange.refuseSnapshot(session, "run the hook", dryRun: false)
            return session
        } catch {
            log("\(error)")
            return nil
        }
    }

    /// bind's own body (BindCommand.run) with the spec's devices: a refusal or a failure stops the VM.
    func bindDevices(_ spec: VMSpec) throws {
        let addresses = spec.devices.map(\.address)
        guard !addresses.isEmpty else { return }
        let list = addresses.map(\.description).joined(separator: " ")
        var bind = Bind()
        bind.root = root
        bind.addresses = addresses
        bind.dryRun = false
        bind.force = false
        bind.takeDisplay = false
        bind.json = false
        bind.watchdog = nil
        bind.confirm = false
        bind.watchdogRun = nil
        do { try bind.run() } catch let error as CLIError { throw refuse("bind \(list) failed: \(error)") } catch {
            // bind has said why on standard error (its refusals).
            throw refuse("bind \(list) failed")
        }
    }

    /// The spec's devices must still be the hardware it was written for (a BIOS update renumbers buses, a new card
    /// takes the slot): otherwise the VM would get another device, or the host would lose one it needs.
    func refuseDrift(_ spec: VMSpec) throws {
        guard !spec.devices.isEmpty, let session = openSession() else { return }
        let host: HostModel
        do { host = try session.load(scope: .deviceDetails) } catch { throw refuse("cannot read the host's PCI devices: \(error)") }
        let drifted = SpecDrift.check(spec: spec, host: host).filter(\.refuses)
        guard !drifted.isEmpty else { return }
        let lines = drifted.map { d in "\(d)" + (d.fix.map { "\n    \($0)" } ?? "") }
        throw refuse((["\(specPath) no longer matches the host; nothing was changed:"] + lines).joined(separator: "\n  "))
    }

    /// The pages a spec with `hugepages` needs, reserved on its NUMA node before QEMU allocates its memory: only
    /// what the pool's free pages (for example those reserved at boot by `vfioctl setup`) do not already cover. A
    /// short reservation is given back and stops the VM (QEMU would fail to allocate its memory anyway), naming
    /// the boot-time fix. Returns whether pages were reserved for this VM.
    func reserveHugepages(_ spec: VMSpec) throws -> Bool {
        guard let wanted = HugepageRequest.forVM(spec), let session = openSession() else { return false }
        let allocator = HugepageAllocator(files: session.files, writer: RootedHostWriter(files: session.files))
        let freePath = HugepagePaths.free(node: wanted.node, pageSize: wanted.pageSize)
        let free = session.files.exists(freePath) ? ((try? allocator.count(freePath)) ?? 0) : 0
        let missing = wanted.pages - min(max(free, 0), wanted.pages)
        guard missing > 0 else { return false }
        let request = HugepageRequest(sizeMiB: missing * wanted.pageSize.mib, pageSize: wanted.pageSize, node: wanted.node)
        let lock: RuntimeLock
        do { lock = try HostChange.lock(session, command: "hook \(vm) prepare: hugepages") } catch { throw refuse("\(error)") }
        defer { withExtendedLifetime(lock) {} }
        let done: HugepageAllocator.Allocation
        do { done = try allocator.allocate(request, label: vm) } catch { throw refuse("hugepages: \(error)") }
        if let short = done.shortfall {
            _ = try? allocator.release(label: vm)
            throw refuse("hugepages: \(short)")
        }
        log("reserved \(done.got) pages of \(wanted.pageSize.rawValue) (\(done.plan.path))")
        return true
    }

    /// Gives back the pages `reserveHugepages` took for this VM (none when the pool already had them).
    func releaseHugepages() {
        guard let session = openSession() else { return }
        let allocator = HugepageAllocator(files: session.files, writer: RootedHostWriter(files: session.files))
        guard let held = try? allocator.held(), held.allocations.contains(where: { $0.label == vm }) else { return }
        do {
            let lock = try HostChange.lock(session, command: "hook \(vm) release: hugepages")
            defer { withExtendedLifetime(lock) {} }
            _ = try allocator.release(label: vm)
        } catch {
            log("hugepages release failed: run vfioctl hugepages --release --for \(vm)\n  \(error)")
        }
    }

    /// A display handoff armed with `bind --take-display --watchdog` is confirmed once QEMU runs.
    func confirmHandoff(_ session: HostSession) {
        do {
            if case .tooLate = try DisplayWatchdog(files: session.files).confirm(by: "hook \(vm) started") {
                log("the display watchdog had already restored the handoff")
            }
        } catch { log("could not confirm the display handoff: \(error)") }
    }

    func shieldCPUs(_ spec: VMSpec) {
        guard !spec.vmCPUs.isEmpty else {
            log("the spec pins no vCPUs ([cpu] pin): the VM runs unshielded")
            return
        }
        guard let session = openSession() else { return }
        var said: [String] = []
        do { try HostActions.shield(session, cpus: spec.vmCPUs, vm: vm) { said.append($0) } } catch {
            log((["shield failed: the VM runs unshielded"] + detail(error, said)).joined(separator: "\n  "))
        }
    }

    func moveQEMU(_ pid: Int, _ session: HostSession) {
        var said: [String] = []
        do { try HostActions.move(session, pids: [pid]) { said.append($0) } } catch {
            log((["could not move QEMU (\(pid)) to the VM CPUs"] + detail(error, said)).joined(separator: "\n  "))
        }
    }

    func unshieldCPUs() {
        guard let session = openSession() else { return }
        var said: [String] = []
        do { try HostActions.unshield(session, vm: vm, dropCorrupt: false) { said.append($0) } } catch {
            log((["unshield failed: run vfioctl unshield --vm \(vm)"] + detail(error, said)).joined(separator: "\n  "))
        }
    }

    func restoreDevices(_ spec: VMSpec) {
        let addresses = spec.devices.map(\.address)
        guard !addresses.isEmpty, let session = openSession() else { return }
        do { try HostActions.restore(session, addresses) { print($0) } } catch {
            log("restore \(addresses.map(\.description).joined(separator: " ")) failed: run vfioctl restore"
                + ((error as? CLIError).map { "\n  \($0)" } ?? ""))
        }
    }

    /// What a quiet step said, when it failed: its error and the lines naming what could not be done.
    private func detail(_ error: Error, _ said: [String]) -> [String] {
        (error as? CLIError).map { [$0.description] } ?? said.filter { $0.hasPrefix("  ") || $0.contains("refused") || $0.contains("could not") }
    }
}
