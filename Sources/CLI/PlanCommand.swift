import ArgumentParser
import VFIOCore
import VFIOHost

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a VM spec against this host: CPU pinning and why, memory per NUMA node, devices and their groups, host changes.",
        discussion: "Exit status: 0 the spec fits the host, 1 something must be fixed (listed under 'To fix'), 3 vfioctl itself failed.")

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("The VM spec (TOML).", valueName: "SPEC")) var spec: String

    func run() throws {
        let vm = try SpecFile.load(spec)
        let (_, facts, host) = try root.facts([.usage, .specFiles], spec: vm)
        let (text, problems) = PlanExplainer.report(vm, host: host, usage: facts.hostUsage, specFiles: facts.specFiles ?? SpecFiles())
        Output.write(text)
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
