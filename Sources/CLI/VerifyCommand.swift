import ArgumentParser
import VFIOCore
import VFIOHost

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove a device is usable for passthrough through the VFIO API itself (container, group, IOMMU, device fd, config space, reset).",
        discussion: """
            --deep then drives the device from user space: BAR mmap, a config-space round trip, MSI-X, reset; for an \
            NVMe controller, Identify by DMA and one read of LBA 0 completed by an MSI-X interrupt.
            Exit status: 0 when every step works, 1 when one fails (printed with the reason), 3 when vfioctl could not run.
            """)

    @OptionGroup var root: RootOptions
    @Flag(help: "Also drive the device from user space (DMA, interrupts; Identify and a read for NVMe).") var deep = false
    @Flag(help: "Print the result as JSON.") var json = false
    @Argument(help: ArgumentHelp("The PCI address (0000:03:00.0).", valueName: "ADDR")) var address: PCIAddress
    @Option(name: .customLong("reset-cycles"), help: ArgumentHelp("Instead, reset the bound device N times through VFIO and check config space after each (1-\(ResetCycler.maxCycles)).", valueName: "N"))
    var resetCycles: Int?

    func validate() throws {
        if let n = resetCycles, !(1...ResetCycler.maxCycles).contains(n) {
            throw ValidationError("--reset-cycles \(n): give 1 to \(ResetCycler.maxCycles)")
        }
    }

    func run() throws {
        let a = address
        // Decided on the resolved root, not the spelling ("/.", "//" are the real root; a link to / is too).
        let session = try root.open()
        guard session.isRealRoot else { throw CLIError("verify talks to the running kernel's /dev/vfio: --root is not supported") }
        let host: HostModel
        do { host = try session.load(scope: .inventory) } catch { throw CLIError("\(root.root): \(error)") }
        guard host.device(a) != nil else { throw CLIError("no PCI device \(a) (vfioctl list shows the devices)") }
        if let n = resetCycles {
            let cycles = ResetCycler().run(a, host: host, cycles: n, files: session.files)
            for line in cycles.lines { print(line) }
            if !cycles.passed { throw ExitCode(1) }
            return
        }
        let report = VFIOVerifier().verify(a, host: host)
        let deepReport = deep && report.passed ? VFIODeepVerifier().verify(a, host: host) : nil
        let passed = report.passed && (deepReport?.passed ?? true)
        if json {
            print((deepReport ?? VFIODeepVerifier.Report()).json(address: a, plain: report, deep: deep).serialized(pretty: true))
        } else {
            for s in report.steps + (deepReport?.steps ?? []) { print("[\(s.ok ? "ok" : "FAIL")] \(s.name): \(s.detail)") }
            for n in deepReport?.notChecked ?? [] { print("[not checked] \(n)") }
            print(passed ? "\(a) is usable through VFIO" : "\(a) is not usable through VFIO")
        }
        if !passed { throw ExitCode(1) }
    }
}
