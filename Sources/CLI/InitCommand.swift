import ArgumentParser
import FoundationEssentials
import Glibc
import VFIOCore
import VFIOHost

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a starting VM spec (TOML) for this host to stdout.",
        discussion: "Devices are expanded to every endpoint of their IOMMU group; vCPUs are pinned to whole SMT sibling sets on the GPU's NUMA node, off the first core. The spec format is described in examples/specs/README.md.")

    @OptionGroup var root: RootOptions
    @Option(help: "VM name.") var name: String
    @Option(name: .customLong("device"), help: ArgumentHelp("PCI device to pass (its whole group comes along).", valueName: "ADDR"))
    var devices: [String]
    @Option(help: "Number of vCPUs.") var vcpus: Int
    @Option(help: ArgumentHelp("Guest memory, e.g. 16G or 8192M.", valueName: "SIZE")) var memory: String
    @Flag(help: "Back guest memory with hugepages (1G pages when reserved, else 2M).") var hugepages = false
    @Option(name: .customLong("looking-glass"), help: ArgumentHelp("Add Looking Glass shared memory for this resolution.", valueName: "WxH"))
    var lookingGlass: String?
    @Flag(name: .customLong("input-by-id"), help: "Relay the keyboards and mice in /dev/input/by-id with evdev.") var inputByID = false
    @Option(help: ArgumentHelp("ROM file for the GPU (absolute path).", valueName: "FILE")) var rom: String?

    func run() throws {
        var addresses: [PCIAddress] = []
        for text in devices {
            guard let a = PCIAddress(text) else { throw CLIError("--device \(text): not a PCI address (expected DDDD:BB:DD.F, e.g. 0000:01:00.0)") }
            addresses.append(a)
        }
        guard let mib = MemorySize.parseMiB(memory) else { throw CLIError("--memory \(memory): not a size (e.g. 16G or 8192M)") }
        guard vcpus > 0 else { throw CLIError("--vcpus \(vcpus): must be at least 1") }
        var request = InitRequest(name: name, devices: addresses, vcpus: vcpus, memoryMiB: mib)
        request.hugepages = hugepages
        request.inputByID = inputByID
        if let lookingGlass {
            let parts = lookingGlass.lowercased().split(separator: "x")
            guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w >= 320, h >= 200 else {
                throw CLIError("--looking-glass \(lookingGlass): expected WIDTHxHEIGHT, e.g. 1920x1080")
            }
            request.lookingGlass = VMSpec.LookingGlass(width: w, height: h)
        }
        if let rom {
            guard rom.hasPrefix("/") else { throw CLIError("--rom \(rom): give an absolute path (libvirt resolves it on the host)") }
            request.rom = rom
        }
        let (session, host) = try root.load()
        do {
            let (spec, notes) = try SpecBuilder.build(request, host: host, files: session.files)
            Output.write(spec.toml(notes: notes))
        } catch {
            throw CLIError(error.description)
        }
    }
}

/// Reads a spec file and turns parse errors into `FILE: line N: ...`.
enum SpecFile {
    static func load(_ path: String) throws -> VMSpec {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIError("\(path): cannot read the spec")
        }
        do { return try VMSpec.parse(text) } catch { throw CLIError("\(path): \(error)") }
    }
}
