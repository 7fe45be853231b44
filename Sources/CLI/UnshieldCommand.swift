import ArgumentParser
import VFIOCore
import VFIOHost

struct Unshield: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore every value vfioctl shield changed, from its journal (also after a crash); safe to run again.")

    @OptionGroup var root: RootOptions

    func run() throws {
        let files = try root.open().files
        let executor = ShieldExecutor(files: files, writer: RootedHostWriter(files: files), kernel: LiveShieldKernel(files: files))
        let out: ShieldExecutor.Restored
        do { out = try executor.restore() } catch { throw CLIError(error.description) }
        guard out.wasShielded else {
            print("not shielded: nothing to restore")
            return
        }
        print("restored \(out.restored) values from \(executor.journal.path)")
        if !out.problems.isEmpty {
            print("could not restore (the journal stays; run vfioctl unshield again):")
            for p in out.problems { print("  \(p)") }
            throw ExitCode(1)
        }
    }
}
