import ArgumentParser
import VFIOCore
import VFIOHost

/// The bodies of `shield`, `unshield` and `restore` on an opened host, shared by those commands and by
/// `hook run` (which runs them in its own process at each libvirt event). Each takes the runtime lock itself and
/// reports through `say` (the commands print; the hook keeps only what libvirt's log needs). Failures are thrown:
/// `CLIError` with the message, or `ExitCode(1)` after `say` has named what could not be done.
enum HostActions {
    /// `shield --cpus LIST [--vm NAME]`: shields the CPUs for `vm` (with the other VMs' shields, their union).
    static func shield(_ session: HostSession, cpus list: CPUSet, vm: String?, say: (String) -> Void) throws {
        // Held for the whole shield, from reading the host to the last journal record: two VMs starting at once
        // shield one after the other, the second planning on what the first left.
        let lock = try HostChange.lock(session, command: "shield" + (vm.map { " --vm \($0)" } ?? ""))
        defer { withExtendedLifetime(lock) {} }
        let files = session.files
        var executor = ShieldExecutor(files: files, writer: RootedHostWriter(files: files), kernel: LiveShieldKernel(files: files))
        executor.effects = .fromEnvironment()
        do {
            let union = try executor.cpusToShield(owner: vm, cpus: list)
            let state = try session.facts(.shield, affinity: LiveShieldKernel(files: files).affinityReader).shieldState()
            let plan = try ShieldPlanner.plan(state, vmCPUs: union)
            let out = try executor.apply(plan, owner: vm, cpus: list)
            say("shielded CPUs \(plan.vmCPUs) (host on \(plan.housekeeping), \(plan.hierarchy)): \(out.changed) changes, journal \(executor.journal.path)")
            if let vm, plan.vmCPUs != list {
                say("VM \(vm) holds CPUs \(list); the rest belong to the other VMs' shields (vfioctl shield --status)")
            }
            if !out.refused.isEmpty {
                say("refused by the kernel (left as they were)")
                for r in out.refused { say("  \(r.subject): \(r.reason)") }
            }
            for s in plan.stays { say("stays on \(plan.vmCPUs): \(s.subject): \(s.reason)") }
            say("VM threads: vfioctl shield --move PID (to \(plan.vmCgroup)); undo: vfioctl unshield")
            if out.failedHard { throw ExitCode(1) }
        } catch let error as ShieldError {
            throw CLIError(error.description)
        }
    }

    /// `shield --move PID...`: the processes go to the VM side (cgroup and CPUs).
    static func move(_ session: HostSession, pids: [Int], say: (String) -> Void) throws {
        let lock = try HostChange.lock(session, command: "shield")
        defer { withExtendedLifetime(lock) {} }
        let files = session.files
        let executor = ShieldExecutor(files: files, writer: RootedHostWriter(files: files), kernel: LiveShieldKernel(files: files))
        do {
            let out = try executor.move(pids, hierarchy: try ShieldLoader(files).hierarchy())
            say("moved \(out.changed) of \(pids.count - out.stayed.count) process\(pids.count == 1 ? "" : "es") to the VM side")
            for r in out.refused { say("  could not move \(r.subject): \(r.reason)") }
            for s in out.stayed { say("  left \(s.subject): \(s.reason)") }
            if !out.refused.isEmpty { throw ExitCode(1) }
        } catch let error as ShieldError {
            throw CLIError(error.description)
        }
    }

    /// `unshield [--vm NAME] [--drop-corrupt]`.
    static func unshield(_ session: HostSession, vm: String?, dropCorrupt: Bool, say: (String) -> Void) throws {
        let lock = try HostChange.lock(session, command: "unshield" + (vm.map { " --vm \($0)" } ?? ""))
        defer { withExtendedLifetime(lock) {} }
        let files = session.files
        let executor = ShieldExecutor(files: files, writer: RootedHostWriter(files: files), kernel: LiveShieldKernel(files: files))
        do {
            if dropCorrupt {
                for line in try executor.dropCorrupt() { say("dropped \(line)") }
            }
            guard let vm else {
                try report(try executor.restore(), executor, say: say)
                return
            }
            let state = try session.facts(.shield, affinity: LiveShieldKernel(files: files).affinityReader).shieldState()
            switch try executor.release(owner: vm, state: state) {
            case .notOwner(let active):
                say("VM \(vm) holds no shield: nothing to restore"
                    + (active.isEmpty ? "" : " (shielded for \(active.map(ShieldOwners.describe).joined(separator: ", ")))"))
            case .restored(let out):
                try report(out, executor, say: say)
            case .shrunk(let out, let cpus, let remaining):
                say("VM \(vm) left the shield: \(out.changed) changes; CPUs \(cpus) stay shielded for "
                    + remaining.map(ShieldOwners.describe).joined(separator: ", "))
                if !out.refused.isEmpty {
                    say("refused by the kernel (left as they were)")
                    for r in out.refused { say("  \(r.subject): \(r.reason)") }
                }
                if out.failedHard {
                    say("VM \(vm) still holds its shield in \(executor.journal.path): run vfioctl unshield --vm \(vm) again")
                    throw ExitCode(1)
                }
            }
        } catch let error as ShieldError {
            throw CLIError(error.description)
        }
    }

    private static func report(_ out: ShieldExecutor.Restored, _ executor: ShieldExecutor, say: (String) -> Void) throws {
        guard out.wasShielded else {
            say("not shielded: nothing to restore")
            return
        }
        say("restored \(out.restored) values from \(executor.journal.path)")
        for c in out.corrupt { say("skipped \(c)") }
        if !out.problems.isEmpty {
            say("could not restore (the journal stays; run vfioctl unshield again):")
            for p in out.problems { say("  \(p)") }
        }
        if !out.corrupt.isEmpty {
            say("the journal stays: vfioctl cannot tell what a skipped line held; check it, then run 'vfioctl unshield --drop-corrupt' to remove it")
        }
        if !out.problems.isEmpty || !out.corrupt.isEmpty { throw ExitCode(1) }
    }

    /// `restore [ADDR...] [--dry-run] [--drop-corrupt]`: the journal's devices (or those of `targets`' groups) go
    /// back to their drivers, newest first.
    static func restore(_ session: HostSession, _ targets: [PCIAddress], dryRun: Bool = false, dropCorrupt: Bool = false,
                        say: (String) -> Void) throws {
        let lock = dryRun ? nil : try HostChange.lock(session, command: (["restore"] + targets.map(\.description)).joined(separator: " "))
        defer { withExtendedLifetime(lock) {} }
        let executor = HandoffExecutor(files: session.files, writer: RootedHostWriter(files: session.files))
        if dropCorrupt && !dryRun {
            do {
                for line in try executor.dropCorrupt() { say("dropped \(line)") }
            } catch { throw CLIError(error.description) }
        }
        let contents: Journal<BindRecord>.Contents
        do { contents = try executor.journal.read() } catch { throw CLIError(error.description) }
        let items = HeldState(records: contents.records).selecting(targets)
        if items.isEmpty && contents.corrupt.isEmpty {
            // A journal whose items are all closed goes (as after any restore).
            if !dryRun && targets.isEmpty { _ = try? executor.restore([]) }
            say(targets.isEmpty ? "nothing to restore: the journal holds no device" : "nothing to restore for \(targets.map(\.description).joined(separator: " "))")
            return
        }
        if dryRun {
            say(BindText.dryRun(executor.restoreSteps(items), journal: executor.journal.path))
            for line in contents.corrupt { say("# skipped \(line)") }
            return
        }
        let devices = items.filter { if case .device = $0 { true } else { false } }.count
        do {
            let outcome = try executor.restore(targets)
            for line in outcome.done { say("  \(line)") }
            HostChange.printWouldRun(outcome.wouldRun)
            say("restored \(devices) device\(devices == 1 ? "" : "s") in \(BindText.seconds(outcome.seconds))")
        } catch HandoffError.incomplete(let done, let corrupt) {
            for line in done.done { say("  \(line)") }
            HostChange.printWouldRun(done.wouldRun)
            var message = "restore incomplete: everything else the journal holds is restored"
            for r in done.refused { message += "\n  not run: \(r)" }
            for c in corrupt { message += "\n  skipped \(c)" }
            message += "\nthe journal \(executor.journal.path) stays."
            if !corrupt.isEmpty {
                message += " vfioctl cannot tell what a skipped line held: check it (and the device it may name), then run "
                    + "'vfioctl restore --drop-corrupt' to remove it"
            }
            throw CLIError(message)
        } catch {
            throw CLIError("restore failed: \(error)\nthe journal \(executor.journal.path) still holds what is left: run 'vfioctl restore' again")
        }
    }
}
