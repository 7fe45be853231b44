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
        let session = try root.open()
        try HostChange.refuseSnapshot(session, "restore", dryRun: dryRun)
        try HostActions.restore(session, addresses, dryRun: dryRun, dropCorrupt: dropCorrupt) { print($0) }
    }
}
