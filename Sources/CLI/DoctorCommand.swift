import ArgumentParser
import VFIOCore
import VFIOHost

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every passthrough check and print findings with evidence and fixes.",
        discussion: "Exit status: 0 nothing worse than info, 1 warnings, 2 at least one failure, 3 vfioctl itself failed.")

    @OptionGroup var root: RootOptions
    @Option(name: .customLong("device"), help: ArgumentHelp("Focus on passing this device (and its group) to a VM.", valueName: "ADDR"))
    var devices: [String] = []
    @Flag(help: "Print findings as JSON.") var json = false

    func run() throws {
        let (_, host) = try root.load()
        _ = host
        throw CLIError("doctor: not built yet")
    }
}
