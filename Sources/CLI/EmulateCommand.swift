import ArgumentParser
import Glibc
import VFIOCore
import VFIOHost

struct Emulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Emulate a plain device on top of a device bound to vfio-pci, driven from user space.",
        subcommands: [EmulateNBD.self])
}

struct EmulateNBD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbd",
        abstract: "Serve an NVMe namespace as an NBD export on a Unix socket, through vfioctl's user-space NVMe driver.",
        discussion: """
            Runs until SIGTERM or SIGINT, then deletes the I/O queues, disables the controller, releases every DMA \
            mapping and the device, and removes the socket. A VM attaches the export as any disk, e.g. \
            -drive file=nbd+unix:///?socket=PATH,format=raw,if=ide.
            Exit status: 0 after a stop signal, 3 when the device could not be driven or the socket not created.
            """)

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("The NVMe controller's PCI address, bound to vfio-pci.", valueName: "ADDR")) var address: PCIAddress
    @Option(help: ArgumentHelp("The Unix socket to listen on.", valueName: "PATH")) var socket: String

    func run() throws {
        let a = address
        let session = try root.open()
        guard session.isRealRoot else { throw CLIError("emulate drives the device through the running kernel's /dev/vfio: --root is not supported") }
        let host: HostModel
        do { host = try session.load(scope: .inventory) } catch { throw CLIError("\(root.root): \(error)") }
        guard let device = host.device(a) else { throw CLIError("no PCI device \(a) (vfioctl list shows the devices)") }
        guard device.pciClass.base == 0x01, device.pciClass.sub == 0x08, device.pciClass.progIf == 0x02 else {
            throw CLIError("\(a) is not an NVMe controller (class \(device.pciClass.hex4)); emulate nbd drives only NVMe")
        }
        guard device.isBoundToVFIO else { throw CLIError("\(a) is on \(device.driver ?? "no driver"), not vfio-pci (vfioctl bind \(a))") }
        guard let group = device.iommuGroup else { throw CLIError("\(a) is in no IOMMU group") }
        do {
            // The stop signal is blocked before the device is taken, so it can never kill the process midway.
            let stop = try NBDEmulator.stopSignalFD()
            defer { Glibc.close(stop) }
            let vfio = try VFIOSession(address: a, group: group)
            let driver = try NVMeDriver(session: vfio)
            defer { driver.shutdown() }
            let emulator = NBDEmulator(socketPath: socket, stopFD: stop)
            let listener = try emulator.listen()
            var backend = NVMeNBDBackend(driver: driver)
            let c = driver.controller
            print("serving \(a) (\(c?.model ?? "NVMe"), serial \(c?.serial ?? "?"), \(driver.capacityBytes) bytes) as NBD export 'nvme' on \(socket)")
            fflush(nil)
            emulator.serve(listener: listener, backend: &backend) { line in print(line); fflush(nil) }
            for f in backend.failures.suffix(5) { writeStandardError("vfioctl: device error: \(f)\n") }
        } catch {
            throw CLIError(error.description)
        }
    }
}
