import ArgumentParser
import VFIOCore
import VFIOHost

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give devices bound by 'vfioctl bind' back to the drivers (and overrides) they had, newest first.",
        discussion: """
            Driven by the journal under /run/vfioctl (written before every bind step, so it also works after a crash). \
            Without ADDR, restores everything the journal holds; with ADDR, those devices and the rest of their groups, \
            and the display steps taken for them. Idempotent: running it again does nothing.
            """)

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("PCI addresses; none: everything vfioctl holds.", valueName: "ADDR")) var addresses: [String] = []
    @Flag(help: "Print the writes and commands, change nothing.") var dryRun = false

    func run() throws {
        let targets = try addresses.map { text throws -> PCIAddress in
            guard let a = PCIAddress(text) else { throw CLIError("'\(text)' is not a PCI address (0000:03:00.0)") }
            return a
        }
        let session = try root.open()
        let executor = HandoffExecutor(files: session.files, writer: RootedHostWriter(files: session.files))
        let held: HeldState
        do { held = try executor.held() } catch { throw CLIError(error.description) }
        let items = held.selecting(targets)
        if items.isEmpty {
            print(targets.isEmpty ? "nothing to restore: the journal holds no device" : "nothing to restore for \(addresses.joined(separator: " "))")
            return
        }
        if dryRun {
            print(BindText.dryRun(executor.restoreSteps(items), journal: executor.journal.path))
            return
        }
        do {
            let outcome = try executor.restore(targets)
            for line in outcome.done { print("  \(line)") }
            let devices = items.filter { if case .device = $0 { true } else { false } }.count
            print("restored \(devices) device\(devices == 1 ? "" : "s") in \(BindText.seconds(outcome.seconds))")
        } catch {
            throw CLIError("restore failed: \(error)\nthe journal \(executor.journal.path) still holds what is left: run 'vfioctl restore' again")
        }
    }
}
