import ArgumentParser
import FoundationEssentials
import Glibc
import VFIOCore
import VFIOHost

struct Bind: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hand PCI devices (and the rest of their IOMMU groups) to vfio-pci now, journaled under /run/vfioctl.",
        discussion: """
            Each named device and every other endpoint of its IOMMU group is moved to vfio-pci (driver_override, \
            unbind, drivers_probe), then vfioctl waits until the driver link shows vfio-pci and /dev/vfio/N exists. \
            Bridges keep their driver; devices already on vfio-pci are left alone. Every write is journaled first, so \
            'vfioctl restore' gives the original drivers back, even after a crash. A failure half-way rolls back.
            Refused unless --force: no IOMMU, no interrupt remapping, a bridge, a group holding what the host needs \
            (root filesystem, default route, ISA/LPC, SMBus, mounted storage or swap, a NIC that is up, the USB \
            controller of the keyboard or mouse; the same verdicts as doctor's device.group-isolation), and the display \
            unless --take-display, and a function some process holds open (its DRM, NVIDIA, sound, framebuffer or I2C \
            nodes: the unbind of nvidia or snd_hda_intel then hangs; 'vfioctl holders' names them). A step that fails \
            or times out names the holders found at that moment.
            --watchdog SECONDS (with --take-display): a detached watchdog restores the handoff unless 'vfioctl bind \
            --confirm' arrives in time (the libvirt hook confirms when the VM has started).
            Exit status: 0 bound, 2 refused, 3 failed (and rolled back), 64 usage error; --confirm: 0, 1 too late.
            """)

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("PCI addresses (0000:03:00.0 or 03:00.0).", valueName: "ADDR")) var addresses: [PCIAddress] = []
    @Flag(help: "Print the exact writes and commands, change nothing.") var dryRun = false
    @Flag(help: "Bind despite the refusals (they are printed as warnings).") var force = false
    @Flag(help: "Single-GPU handoff: stop the display manager, unbind vtconsoles and firmware framebuffers, unload the GPU's DRM driver, then bind.")
    var takeDisplay = false
    @Flag(help: "With --dry-run: print the plan as JSON ({\"steps\": [...], \"refusals\": [{\"device\", \"hostCritical\", \"reason\"}]}).")
    var json = false
    @Option(help: ArgumentHelp("With --take-display: restore the handoff after SECONDS unless 'vfioctl bind --confirm' comes first (1-3600).", valueName: "SECONDS"))
    var watchdog: Double?
    @Flag(help: "Confirm the last --take-display handoff: its watchdog stands down (the libvirt hook runs this when the VM has started).")
    var confirm = false
    @Option(help: .hidden) var watchdogRun: String?

    func validate() throws {
        if json && !dryRun { throw ValidationError("--json prints the plan only: add --dry-run") }
        if confirm || watchdogRun != nil {
            guard addresses.isEmpty, !dryRun, !force, !takeDisplay, watchdog == nil, !(confirm && watchdogRun != nil) else {
                throw ValidationError("--confirm takes no address and no other flag")
            }
            return
        }
        if addresses.isEmpty { throw ValidationError("Missing expected argument '<ADDR> ...'") }
        if let w = watchdog {
            guard takeDisplay else { throw ValidationError("--watchdog guards a display handoff: add --take-display") }
            guard w.isFinite, w >= 1, w <= 3600 else { throw ValidationError("--watchdog \(w): give 1 to 3600 seconds") }
        }
    }

    func run() throws {
        if confirm { return try confirmHandoff() }
        if let token = watchdogRun { return try runWatchdog(token) }
        let targets = addresses
        // Only what the plan needs: the inventory (no device details, no system facts) and, once the plan is
        // known, names for the functions the header prints (not the whole pci.ids; see PCIIDsExcerpt).
        let session = try root.open()
        try HostChange.refuseSnapshot(session, "bind", dryRun: dryRun)
        // Held from reading the host to the last journal record: a second bind or a shield plans on what this one
        // leaves.
        let lock = dryRun ? nil : try HostChange.lock(session, command: (["bind"] + addresses.map(\.description)).joined(separator: " "))
        defer { withExtendedLifetime(lock) {} }
        let loaded = session.facts(.bind, model: .inventory, groupsOf: targets, named: false)
        var host: HostModel
        do { host = try loaded.hostModel() } catch { throw CLIError("\(root.root): \(error)") }
        let facts = loaded.bind ?? BindFacts.load(session.files, host: host)
        var plan: BindPlan
        let options = BindOptions(force: force, takeDisplay: takeDisplay)
        do { plan = try BindPlanner.plan(targets, host: host, facts: facts, options: options) } catch {
            throw CLIError(error.description)
        }
        let scanner = HolderScanner(files: session.files)
        let checks = plan.holderChecks(host: host, facts: facts)
        var advice: [CompositorAdvice] = []
        if !checks.isEmpty {
            // The handoff stops the display manager first: what runs in its unit goes with it.
            let stopped = plan.takeDisplay ? facts.displayManagerUnit.flatMap { HostCommandNames.isUnit($0) ? $0 : nil } : nil
            let found = scanner.heldFunctions(checks.map { ($0.address, $0.driver) }, stoppedUnit: stopped)
            plan.judgeHolders(zip(found.held, checks).map { held, check in
                var h = held
                h.unloadedModule = check.module
                return h
            }, options: options)
            advice = found.advice
        }
        if json {
            Output.write(plan.json.serialized(pretty: true))
            if !plan.allowed { throw ExitCode(2) }
            return
        }
        let printed = BindText.printed(plan, host: host).compactMap { host.device($0) }
        if let ids = BindNames.database(session.files, naming: printed, override: environment("VFIOCTL_PCI_IDS")) {
            ids.name(&host.devices)
        }
        print(BindText.header(plan, host: host))
        if dryRun {
            print(BindText.dryRun(plan.steps, journal: Journal<BindRecord>.directory + "/bind.journal"))
        }
        // With --take-display the display refusals are what was asked for: said as what happens, not as a warning.
        let handedOver = plan.takeDisplay && plan.allowed ? plan.refusals.filter(\.liftedByTakeDisplay) : []
        for case .display(let a, let reason) in handedOver {
            writeStandardError("display handoff: \(a) is \(reason): its screen stays dark until 'vfioctl restore' gives it back\n")
        }
        let warned = plan.refusals.filter { r in !handedOver.contains(r) }
        if !warned.isEmpty {
            let title = plan.allowed ? "warning: binding despite" : "refusing to bind"
            var err = "\(title):\n" + warned.map { "  - \($0)" }.joined(separator: "\n")
            if !plan.allowed {
                err += warned.allSatisfy(\.liftedByTakeDisplay) ? "\n(--take-display hands the display over; --force overrides)" : "\n(--force overrides, at your own risk)"
            }
            writeStandardError((err + "\n"))
        }
        if !plan.holderWarnings.isEmpty {
            writeStandardError("warning: " + plan.holderWarnings.joined(separator: "\nwarning: ") + "\n")
        }
        if !advice.isEmpty {
            writeStandardError(advice.map { HoldersRenderer.adviceLines($0).joined(separator: "\n") }.joined(separator: "\n") + "\n")
        }
        if !plan.allowed { throw ExitCode(2) }
        if dryRun {
            if !facts.vfioPCIAvailable && !plan.isNoOp { print("# first: modprobe vfio-pci (it is not loaded)") }
            if let w = watchdog {
                print("# then: a watchdog restores this handoff after \(BindText.seconds(w)) unless 'vfioctl bind --confirm' comes first")
            }
            return
        }
        if plan.isNoOp {
            print("nothing to do: \(plan.alreadyBound.map(\.description).joined(separator: ", ")) already on vfio-pci")
            return
        }
        if !facts.vfioPCIAvailable { try Self.loadVFIOPCI(session) }
        var executor = HandoffExecutor(files: session.files, writer: RootedHostWriter(files: session.files))
        executor.effects = .fromEnvironment()
        let functions = plan.devices.compactMap { a in host.device(a).map { (address: a, driver: $0.driver ?? "no driver") } }
        executor.explainFailure = { _ in scanner.failureNotes(functions) }
        switch executor.bind(plan) {
        case .done(let outcome):
            for line in outcome.done { print("  \(line)") }
            HostChange.printWouldRun(outcome.wouldRun)
            let groups = plan.groups.map { "/dev/vfio/\($0)" }.joined(separator: ", ")
            print("bound \(plan.devices.count) device\(plan.devices.count == 1 ? "" : "s") to vfio-pci in \(BindText.seconds(outcome.seconds))"
                + (groups.isEmpty ? "" : "; \(groups) ready") + " (vfioctl restore gives them back)")
            if let seconds = watchdog { try armWatchdog(session, devices: plan.devices, seconds: seconds) }
        case .failed(let error, let done, let rolled, let rollbackError):
            for line in done.done { print("  \(line)") }
            HostChange.printWouldRun(done.wouldRun + rolled.wouldRun)
            var message = "bind failed: \(error)"
            for note in done.notes { message += "\n\(note)" }
            if !done.notes.isEmpty { message += "\n('vfioctl holders ADDR' shows who holds a device, and how to keep a compositor on another GPU)" }
            if let rollbackError {
                message += "\nrollback failed too: \(rollbackError)\nthe journal \(executor.journal.path) keeps the originals: run 'vfioctl restore'"
            } else {
                message += "\nrolled back (\(rolled.done.count) step\(rolled.done.count == 1 ? "" : "s")): the devices are as they were"
            }
            throw CLIError(message)
        }
    }
}

extension Bind {
    /// A stock distribution loads vfio-pci only when something asks for it (libvirt does for managed='yes'
    /// hostdevs; the specs vfioctl renders are managed='no'), so bind asks: the module's own load binds nothing,
    /// and restore leaves it loaded (an idle vfio-pci holds no device). Under any root but `/` the command is only
    /// printed, and the tree's missing driver directory still stops the bind.
    static func loadVFIOPCI(_ session: HostSession) throws {
        let result = HostCommands.runner(for: session.files).run(["modprobe", "vfio-pci"], timeout: 60)
        if result.simulated { print("  would run: modprobe vfio-pci") }
        guard session.files.kind(of: "/sys/bus/pci/drivers/vfio-pci") == .directory else {
            let why = result.simulated ? "" : result.timedOut ? ": modprobe vfio-pci did not finish in 60 s"
                : result.succeeded ? "" : ": modprobe vfio-pci failed" + (result.output.isEmpty ? "" : " (\(result.output.split(whereSeparator: \.isNewline).joined(separator: "; ")))")
            throw CLIError("vfio-pci is not loaded (/sys/bus/pci/drivers/vfio-pci missing)\(why)")
        }
        if !result.simulated { print("  loaded vfio-pci (modprobe vfio-pci)") }
    }

    /// Starts the watchdog for the handoff just done: this binary, `bind --watchdog-run TOKEN` on the same root.
    func armWatchdog(_ session: HostSession, devices: [PCIAddress], seconds: Double) throws {
        let watchdog = DisplayWatchdog(files: session.files)
        let executable = DisplayWatchdog.ownExecutable() ?? CommandLine.arguments[0]
        do {
            let (_, pid) = try watchdog.arm(addresses: devices, seconds: seconds, executable: executable,
                                            arguments: ["bind", "--root", DisplayWatchdog.absolute(session.rootArgument), "--watchdog-run"])
            print("watchdog (PID \(pid)): the display comes back in \(BindText.seconds(seconds)) unless 'vfioctl bind --confirm' (log: \(watchdog.logPath))")
        } catch {
            throw CLIError("bound, but the watchdog did not start: \(error)\n'vfioctl restore' gives the display back")
        }
    }

    func confirmHandoff() throws {
        let session = try root.open()
        try HostChange.refuseSnapshot(session, "confirm", dryRun: false)
        do {
            switch try DisplayWatchdog(files: session.files).confirm(by: "pid \(getpid())") {
            case .confirmed(_, let remaining):
                print("confirmed: the watchdog stands down (\(BindText.seconds(remaining)) were left); the handoff stays")
            case .nothingArmed:
                print("no display watchdog is armed: nothing to confirm")
            case .tooLate(let record):
                writeStandardError("vfioctl: too late: the watchdog has \(record.kind == .restored ? "restored the display" : "acted (\(record.kind.rawValue)\(record.detail.map { ": \($0)" } ?? ""))"); bind again to hand it over\n")
                throw ExitCode(1)
            }
        } catch let error as HostWriteError {
            throw CLIError("cannot confirm: \(error)")
        }
    }

    func runWatchdog(_ token: String) throws {
        let session = try root.open()
        let watchdog = DisplayWatchdog(files: session.files)
        let executor = HandoffExecutor(files: session.files, writer: RootedHostWriter(files: session.files))
        let decision = watchdog.run(token: token, executor: executor, lock: {
            try HostChange.lock(session, command: "bind --watchdog-run \(token)")
        }, log: { line in writeStandardError(line + "\n") })
        if decision != .fire && decision != .confirmed && decision != .handoffGone { throw ExitCode(1) }
    }
}

enum BindText {
    /// The functions `header` names: every member of the plan's groups, or the devices without groups.
    static func printed(_ plan: BindPlan, host: HostModel) -> [PCIAddress] {
        plan.groups.isEmpty ? plan.devices : plan.groups.flatMap { host.iommu.group($0)?.devices ?? [] }
    }

    static func header(_ plan: BindPlan, host: HostModel) -> String {
        var lines: [String] = []
        for g in plan.groups {
            let members = (host.iommu.group(g)?.devices ?? []).compactMap { host.device($0) }
            lines.append("IOMMU group \(g):")
            for d in members {
                let what: String
                if plan.bridgesKept.contains(d.address) { what = "bridge, keeps \(d.driver ?? "no driver")" }
                else if plan.alreadyBound.contains(d.address) { what = "already on vfio-pci" }
                else { what = "\(d.driver ?? "no driver") → vfio-pci" }
                lines.append("  \(d.address) \(LspciName.short(d)): \(what)")
            }
        }
        if plan.groups.isEmpty {
            for a in plan.devices { lines.append("  \(a): \(host.device(a)?.driver ?? "no driver") → vfio-pci") }
        }
        return lines.joined(separator: "\n")
    }

    static func dryRun(_ steps: [HandoffStep], journal: String) -> String {
        guard !steps.isEmpty else { return "dry run: nothing to do" }
        var lines = ["dry run: each step is journaled in \(journal) before it runs"]
        for s in steps {
            if let r = s.refusal {
                lines.append("# not run: \(s.summary): \(r)")
                continue
            }
            if let c = s.onlyIf { lines.append("# if \(c):") }
            if let a = s.action { lines.append(a.description) }
            if !s.waitFor.isEmpty { lines.append("#   wait until " + s.waitFor.map(\.description).joined(separator: ", ")) }
        }
        return lines.joined(separator: "\n")
    }

    static func seconds(_ s: Double) -> String {
        let ms = Int((s * 1000).rounded())
        return "\(ms / 1000).\(String(ms % 1000).leftPadded(3)) s"
    }
}

/// What every command that changes the running host (bind, restore, shield, unshield, hook install) does first.
enum HostChange {
    /// A snapshot is a record of some host, unpacked into a temporary directory: changing it changes nothing real.
    /// Refused (exit 2, like bind's other refusals) unless the command only prints.
    static func refuseSnapshot(_ session: HostSession, _ command: String, dryRun: Bool) throws {
        guard session.isSnapshot, !dryRun else { return }
        writeStandardError("vfioctl: refusing to \(command): --root \(session.rootArgument) is a snapshot (a record of a host, not a running one); "
            + "\(command) changes a running host. --dry-run shows what it would do\n")
        throw ExitCode(2)
    }

    /// The one runtime lock (`RuntimeLock`), waited for up to `VFIOCTL_LOCK_TIMEOUT` seconds (default 120).
    static func lock(_ session: HostSession, command: String) throws -> RuntimeLock {
        let timeout = environment("VFIOCTL_LOCK_TIMEOUT").flatMap(Double.init) ?? RuntimeLock.defaultTimeout
        do {
            return try RuntimeLock.acquire(session.files, command: command, timeout: timeout) { message in
                writeStandardError("vfioctl: \(message)\n")
            }
        } catch {
            throw CLIError("cannot take the runtime lock: \(error)")
        }
    }

    /// Commands recorded instead of run (any root but `/`).
    static func printWouldRun(_ commands: [[String]]) {
        guard !commands.isEmpty else { return }
        print("not run (the root is not /; on the host they would run):")
        for argv in commands { print("  would run: \(argv.joined(separator: " "))") }
    }
}

enum LspciName {
    static func short(_ d: PCIDevice) -> String {
        let name = [d.names.vendor, d.names.device].compactMap { $0 }.joined(separator: " ")
        return name.isEmpty ? "[\(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4))]" : name
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
