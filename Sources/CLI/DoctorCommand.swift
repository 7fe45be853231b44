import ArgumentParser
import VFIOCore
import VFIOHost

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every passthrough check and print findings with evidence and fixes.",
        discussion: "Exit status: 0 nothing worse than info, 1 warnings, 2 at least one failure (passthrough blocked), 3 vfioctl itself failed.")

    @OptionGroup var root: RootOptions
    @Option(name: .customLong("device"), help: ArgumentHelp("Focus on passing this device (and its group) to a VM.", valueName: "ADDR"))
    var devices: [PCIAddress] = []
    @Option(name: .customLong("spec"), help: ArgumentHelp("Also check this VM spec against the host: its devices are still the recorded ones, its ROM files suit them. Without --device, its devices are the ones examined.", valueName: "SPEC"))
    var specPath: String?
    @Flag(help: "Print findings as JSON.") var json = false
    @Flag(name: .shortAndLong, help: "Show evidence for passing checks too.") var verbose = false

    func run() throws {
        let (session, facts, host) = try root.facts(.usage)
        for address in devices where host.device(address) == nil {
            throw CLIError("--device \(address): no such PCI device on this host (vfioctl list shows them)")
        }
        // What the host uses its devices for (mounts, default route, keyboards): HostNeeds judges groups by it.
        let usage = facts.hostUsage
        var targets = devices
        var specContext: SpecContext?
        if let specPath {
            let spec = try SpecFile.load(specPath)
            let named = session.facts(.specFiles, spec: spec).specFiles ?? SpecFiles()
            specContext = SpecContext(path: specPath, spec: spec, roms: named.roms)
            // A device missing from the host is spec.device-identity's finding, not a usage error.
            if targets.isEmpty { targets = spec.devices.map(\.address).filter { host.device($0) != nil } }
        }
        let report = VFIOCore.Doctor.run(CheckContext(host: host, targets: targets, usage: usage, spec: specContext))
        if json {
            Output.write(DoctorRenderer.json(report).serialized(pretty: true))
        } else {
            Output.write(DoctorRenderer.text(report, host: host, verbose: verbose))
        }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}
