import ArgumentParser
import FoundationEssentials
import VFIOCore
import VFIOHost

struct Rom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rom",
        abstract: "Inspect a GPU option ROM from a file or from the device: images, checksums, UEFI (GOP) support.",
        discussion: """
            Walks every image of the ROM (55 AA header, PCIR structure: vendor, device, class, code type, length, \
            last-image bit; EFI header: subsystem, machine type, compression), checks x86 image checksums and says \
            whether an EFI driver image is present (OVMF/UEFI guests need one to show a picture before the guest's own \
            driver loads). Flash-tool dumps with a vendor header in front are recognised: the header's size is \
            reported and --dump writes the ROM without it, as a VM's <rom file=.../> needs it.
            With an address, the device's sysfs 'rom' is enabled, read and disabled again; the enable is journaled in \
            /run/vfioctl/rom.journal first, and a later run disables a ROM that a crash left enabled. Reading needs root.
            Exit status: 0 a sound ROM, 1 the ROM has problems (printed), 3 it could not be read.
            """)

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("A ROM file, or a PCI address (0000:03:00.0) to read the device's ROM.", valueName: "FILE|ADDR"))
    var source: String
    @Flag(help: "Print the stable JSON contract.") var json = false
    @Option(help: ArgumentHelp("Write the ROM without vendor header or trailing padding to PATH.", valueName: "PATH"))
    var dump: String?

    func run() throws {
        let (bytes, fromDevice) = try read()
        let rom = ROMParser.parse(bytes)
        if json {
            print(ROMRenderer.json(rom, source: source).serialized(pretty: true))
        } else {
            Output.write(ROMRenderer.text(rom, source: source))
            if fromDevice && rom.images.isEmpty {
                print("hint: a device that is powered down (power_state D3cold) or bound to vfio-pci can read back a blank ROM; "
                    + "some cards hide theirs entirely: use a ROM file (vendor download or flash-tool dump)")
            }
        }
        if let dump {
            let stripped = rom.stripped(bytes)
            guard !stripped.isEmpty else { throw CLIError("--dump \(dump): no ROM image found, nothing written") }
            do { try ROMFiles.write(stripped, to: dump) } catch { throw CLIError(error.description) }
            let note = "wrote \(stripped.count) bytes to \(dump)"
                + (rom.headerOffset > 0 ? " (\(rom.headerOffset)-byte vendor header removed)" : "")
            if json { writeStandardError(note + "\n") } else { print(note) }
        }
        if !rom.problems.isEmpty { throw ExitCode(1) }
    }

    /// A file when one exists by that name, otherwise a device address.
    private func read() throws -> (bytes: [UInt8], fromDevice: Bool) {
        if FileManager.default.fileExists(atPath: source) {
            do { return (try ROMFiles.read(source), false) } catch { throw CLIError(error.description) }
        }
        guard let address = PCIAddress(source) else {
            throw CLIError("'\(source)': no such file, and not a PCI address (0000:03:00.0)")
        }
        let session = try root.open()
        let reader = DeviceROMReader(files: session.files, writer: RootedHostWriter(files: session.files))
        do { return (try reader.read(address), true) } catch { throw CLIError(error.description) }
    }
}
