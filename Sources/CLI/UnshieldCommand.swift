import ArgumentParser
import VFIOCore
import VFIOHost

struct Unshield: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore every value vfioctl shield changed, from its journal (also after a crash); safe to run again.",
        discussion: """
            With --vm NAME, only that VM's shield ends: when other VMs still hold shields, the shield shrinks to their \
            CPUs (what only NAME needed goes back to the host) and the originals stay journaled until the last VM \
            leaves. A journal line that is not a record is named (file:line) and skipped, everything else is \
            restored, and the journal stays until --drop-corrupt removes such lines.
            """)

    @OptionGroup var root: RootOptions
    @Option(help: ArgumentHelp("End only this VM's shield (shield --vm NAME).", valueName: "NAME")) var vm: String?
    @Flag(help: "First remove the journal lines that are not records (named by an earlier unshield), then restore.")
    var dropCorrupt = false

    func validate() throws {
        if let vm, !Shield.isVMName(vm) {
            throw ValidationError("--vm '\(escapingControls(vm))': not a VM name (libvirt's domain name: printable, up to 256 bytes)")
        }
    }

    func run() throws {
        let session = try root.open()
        try HostChange.refuseSnapshot(session, "unshield", dryRun: false)
        let lock = try HostChange.lock(session, command: "unshield" + (vm.map { " --vm \($0)" } ?? ""))
        defer { withExtendedLifetime(lock) {} }
        let files = session.files
        let executor = ShieldExecutor(files: files, writer: RootedHostWriter(files: files), kernel: LiveShieldKernel(files: files))
        do {
            if dropCorrupt {
                for line in try executor.dropCorrupt() { print("dropped \(line)") }
            }
            guard let vm else {
                try report(try executor.restore(), executor)
                return
            }
            let state = try ShieldLoader(files, affinity: LiveShieldKernel(files: files).affinityReader).load(forStatus: false)
            switch try executor.release(owner: vm, state: state) {
            case .notOwner(let active):
                print("VM \(vm) holds no shield: nothing to restore"
                    + (active.isEmpty ? "" : " (shielded for \(active.map(ShieldOwners.describe).joined(separator: ", ")))"))
            case .restored(let out):
                try report(out, executor)
            case .shrunk(let out, let cpus, let remaining):
                print("VM \(vm) left the shield: \(out.changed) changes; CPUs \(cpus) stay shielded for "
                    + remaining.map(ShieldOwners.describe).joined(separator: ", "))
                if !out.refused.isEmpty {
                    print("refused by the kernel (left as they were)")
                    for r in out.refused { print("  \(r.subject): \(r.reason)") }
                }
                if out.failedHard {
                    print("VM \(vm) still holds its shield in \(executor.journal.path): run vfioctl unshield --vm \(vm) again")
                    throw ExitCode(1)
                }
            }
        } catch let error as ShieldError {
            throw CLIError(error.description)
        }
    }

    private func report(_ out: ShieldExecutor.Restored, _ executor: ShieldExecutor) throws {
        guard out.wasShielded else {
            print("not shielded: nothing to restore")
            return
        }
        print("restored \(out.restored) values from \(executor.journal.path)")
        for c in out.corrupt { print("skipped \(c)") }
        if !out.problems.isEmpty {
            print("could not restore (the journal stays; run vfioctl unshield again):")
            for p in out.problems { print("  \(p)") }
        }
        if !out.corrupt.isEmpty {
            print("the journal stays: vfioctl cannot tell what a skipped line held; check it, then run 'vfioctl unshield --drop-corrupt' to remove it")
        }
        if !out.problems.isEmpty || !out.corrupt.isEmpty { throw ExitCode(1) }
    }
}
