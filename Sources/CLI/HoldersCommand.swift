import ArgumentParser
import VFIOCore
import VFIOHost

struct Holders: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holders",
        abstract: "Which processes hold a device now: its DRM, NVIDIA, sound, framebuffer and I2C nodes.",
        discussion: """
            Scans every process's open files (/proc/PID/fd) for the device nodes of ADDR and of the other functions \
            of its slot (a GPU's HDMI audio): /dev/dri/cardN and renderDN, /dev/nvidiaN (with /dev/nvidiactl, \
            /dev/nvidia-modeset and /dev/nvidia-uvm, which every NVIDIA user holds), the sound card's /dev/snd nodes, \
            /dev/fbN and /dev/i2c-N. On the real host open files are matched by device number, so a node reached \
            through another path (a container) is found too. For display servers holding the device (KWin, Mutter, \
            Hyprland, sway and other wlroots compositors, Xorg) it says how to pin them to another GPU.
            Run as root to see every process. Exit status: 0 nothing holds the device, 1 held, 3 failed.
            """)

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("PCI address (0000:03:00.0 or 03:00.0).", valueName: "ADDR")) var address: HoldersAddress
    @Flag(help: "Print the stable JSON contract.") var json = false

    func run() throws {
        let target = address.value
        let session = try root.open()
        guard session.files.exists("/sys/bus/pci/devices/\(target)") else {
            throw CLIError("\(target): no such PCI device (/sys/bus/pci/devices/\(target) does not exist)")
        }
        let report = HolderScanner(files: session.files).report(for: target)
        if json {
            print(HoldersRenderer.json(report).serialized(pretty: true))
        } else {
            Output.write(HoldersRenderer.text(report))
        }
        if report.isHeld { throw ExitCode(1) }
    }
}

/// The ADDR argument, parsed at the edge: a malformed address is a usage error (exit 64).
struct HoldersAddress: ExpressibleByArgument {
    let value: PCIAddress
    init?(argument: String) {
        guard let value = PCIAddress(argument) else { return nil }
        self.value = value
    }
}
