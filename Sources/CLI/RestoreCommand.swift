import ArgumentParser
import VFIOCore
import VFIOHost

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give devices bound by 'vfioctl bind' back to the drivers (and overrides) they had, newest first.",
        discussion: """
            Driven by the journal under /run/vfioctl (written before every bind step, so it also works after a crash). \
            Without ADDR, restores everything the journal holds; with ADDR, those devices and the rest of their groups, \
            and the display steps taken for them. Idempotent: running it again does nothing. A journal line that is \
            not a record is named (file:line) and skipped, everything else is restored, and the journal stays until \
            --drop-corrupt removes such lines.
            """)

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("PCI addresses; none: everything vfioctl holds.", valueName: "ADDR")) var addresses: [PCIAddress] = []
    @Flag(help: "Print the writes and commands, change nothing.") var dryRun = false
    @Flag(help: "First remove the journal lines that are not records (named by an earlier restore), then restore.")
    var dropCorrupt = false

    func run() throws {
        let targets = addresses
        let session = try root.open()
        try HostChange.refuseSnapshot(session, "restore", dryRun: dryRun)
        let lock = dryRun ? nil : try HostChange.lock(session, command: (["restore"] + addresses.map(\.description)).joined(separator: " "))
        defer { withExtendedLifetime(lock) {} }
        let executor = HandoffExecutor(files: session.files, writer: RootedHostWriter(files: session.files))
        if dropCorrupt && !dryRun {
            do {
                for line in try executor.dropCorrupt() { print("dropped \(line)") }
            } catch { throw CLIError(error.description) }
        }
        let contents: Journal<BindRecord>.Contents
        do { contents = try executor.journal.read() } catch { throw CLIError(error.description) }
        let items = HeldState(records: contents.records).selecting(targets)
        if items.isEmpty && contents.corrupt.isEmpty {
            // A journal whose items are all closed goes (as after any restore).
            if !dryRun && targets.isEmpty { _ = try? executor.restore([]) }
            print(targets.isEmpty ? "nothing to restore: the journal holds no device" : "nothing to restore for \(addresses.map(\.description).joined(separator: " "))")
            return
        }
        if dryRun {
            print(BindText.dryRun(executor.restoreSteps(items), journal: executor.journal.path))
            for line in contents.corrupt { print("# skipped \(line)") }
            return
        }
        let devices = items.filter { if case .device = $0 { true } else { false } }.count
        do {
            let outcome = try executor.restore(targets)
            for line in outcome.done { print("  \(line)") }
            HostChange.printWouldRun(outcome.wouldRun)
            print("restored \(devices) device\(devices == 1 ? "" : "s") in \(BindText.seconds(outcome.seconds))")
        } catch HandoffError.incomplete(let done, let corrupt) {
            for line in done.done { print("  \(line)") }
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
