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
        try HostActions.unshield(session, vm: vm, dropCorrupt: dropCorrupt) { print($0) }
    }
}
