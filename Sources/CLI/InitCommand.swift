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
    @Option(help: ArgumentHelp("Guest OS: windows11 (default: TPM 2.0 and Secure Boot), windows10 or linux.", valueName: "OS"))
    var os: String?
    @Option(help: ArgumentHelp("System disk size and image path (default 128G,/var/lib/libvirt/images/NAME.qcow2; .qcow2 or raw; vfioctl define creates it).", valueName: "SIZE[,PATH]"))
    var disk: String?
    @Option(name: .customLong("disk-bus"), help: ArgumentHelp("virtio (default, fast; Windows setup loads viostor from --virtio-iso) or sata (no driver needed to install).", valueName: "BUS"))
    var diskBus: String?
    @Option(help: ArgumentHelp("Installer ISO (absolute path); boots after the system disk, so an empty disk boots it.", valueName: "PATH"))
    var iso: String?
    @Option(name: .customLong("virtio-iso"), help: ArgumentHelp("virtio-win driver ISO for Windows guests (absolute path).", valueName: "PATH"))
    var virtioISO: String?
    @Option(help: ArgumentHelp("default (libvirt's NAT network), NAME (another libvirt network) or bridge:NAME (a host bridge).", valueName: "NET"))
    var network: String = "default"

    func run() throws {
        // The parser's own rule and message: a name init accepts is one every other command reads back.
        if let problem = SpecRules.name(name) { throw CLIError("--name: \(problem)") }
        var addresses: [PCIAddress] = []
        for text in devices {
            guard let a = PCIAddress(text) else { throw CLIError("--device \(text): not a PCI address (expected DDDD:BB:DD.F, e.g. 0000:01:00.0)") }
            addresses.append(a)
        }
        let mib: Int
        switch SpecRules.memory(memory) {
        case .success(let m): mib = m
        case .failure(let e): throw CLIError("--memory: \(e.message)")
        }
        guard SpecRules.vcpus.contains(vcpus) else {
            throw CLIError("--vcpus \(vcpus): must be \(SpecRules.vcpus.lowerBound)…\(SpecRules.vcpus.upperBound)")
        }
        var request = InitRequest(name: name, devices: addresses, vcpus: vcpus, memoryMiB: mib)
        request.hugepages = hugepages
        request.inputByID = inputByID
        if let lookingGlass {
            let parts = lookingGlass.lowercased().split(separator: "x")
            guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]),
                  SpecRules.lookingGlassWidth.contains(w), SpecRules.lookingGlassHeight.contains(h) else {
                throw CLIError("--looking-glass \(lookingGlass): expected WIDTHxHEIGHT from \(SpecRules.lookingGlassWidth.lowerBound)x\(SpecRules.lookingGlassHeight.lowerBound) to \(SpecRules.lookingGlassWidth.upperBound)x\(SpecRules.lookingGlassHeight.upperBound), e.g. 1920x1080")
            }
            request.lookingGlass = VMSpec.LookingGlass(width: w, height: h)
        }
        if let rom {
            guard rom.hasPrefix("/") else { throw CLIError("--rom \(rom): give an absolute path (libvirt resolves it on the host)") }
            request.rom = rom
        }
        try guestOptions(&request)
        do { try request.validate() } catch { throw CLIError(error.message) }
        let (_, facts, host) = try root.facts([.usage, .firmware])
        do {
            let (spec, notes) = try SpecBuilder.build(request, host: host, usage: facts.hostUsage, firmware: facts.firmware ?? FirmwareFiles())
            Output.write(spec.toml(notes: notes))
        } catch {
            throw CLIError(error.description)
        }
    }
}

extension Init {
    /// --os, --disk, --disk-bus, --iso, --virtio-iso and --network, each refused with the flag's name.
    func guestOptions(_ request: inout InitRequest) throws {
        if let os {
            guard let kind = VMSpec.GuestOS(rawValue: os.lowercased()) else {
                throw CLIError("--os \(SpecRules.visible(os)): expected one of \(VMSpec.GuestOS.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            request.os = kind
        }
        if let disk {
            let parts = disk.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            switch MemorySize.mib(parts[0]) {
            case .success(let mib): request.diskMiB = mib
            case .failure(.notASize): throw CLIError("--disk \(SpecRules.visible(disk)): '\(SpecRules.visible(parts[0]))' is not a size (e.g. 128G or 128G,/var/lib/libvirt/images/win11.qcow2)")
            case .failure(.tooLarge): throw CLIError("--disk \(SpecRules.visible(disk)): '\(SpecRules.visible(parts[0]))' is more than 64T")
            }
            if parts.count == 2 {
                if let problem = SpecRules.path("path", parts[1], in: "disk") { throw CLIError("--disk: \(problem)") }
                request.diskPath = parts[1]
            }
        }
        if let diskBus {
            guard let bus = VMSpec.Disk.Bus(rawValue: diskBus) else { throw CLIError("--disk-bus \(SpecRules.visible(diskBus)): expected virtio or sata") }
            request.diskBus = bus
        }
        if let iso {
            if let problem = SpecRules.path("iso", iso, in: "install") { throw CLIError("--iso: \(problem)") }
            request.iso = iso
        }
        if let virtioISO {
            if let problem = SpecRules.path("virtio-iso", virtioISO, in: "install") { throw CLIError("--virtio-iso: \(problem)") }
            if request.os == .linux { throw CLIError("--virtio-iso: the virtio-win ISO holds Windows drivers; a Linux guest (--os linux) has virtio built in") }
            request.virtioISO = virtioISO
        }
        if network.hasPrefix("bridge:") {
            let name = String(network.dropFirst("bridge:".count))
            if name.isEmpty { throw CLIError("--network bridge:: give the host bridge's name, e.g. bridge:br0") }
            if let problem = SpecRules.networkName("bridge", name, bridge: true) { throw CLIError("--network: \(problem)") }
            request.network = .bridge(name)
        } else {
            if let problem = SpecRules.networkName("network", network, bridge: false) { throw CLIError("--network: \(problem) (or bridge:NAME)") }
            request.network = .network(network)
        }
    }
}

/// Reads a spec file and turns parse errors into `FILE: line N: ...`.
enum SpecFile {
    /// A spec is a page of TOML; a larger file (or /dev/zero) is refused before it is read whole.
    static let maxBytes = 1 << 20

    static func load(_ path: String) throws -> VMSpec { try loadText(path).spec }

    /// The spec and its text (`vfioctl define` copies the text as it is, comments included).
    static func loadText(_ path: String) throws -> (spec: VMSpec, text: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError("\(path): cannot read the spec") }
        defer { close(fd) }
        // At most maxBytes + 1 bytes are read, so a huge file or a device costs no more than that.
        var bytes = [UInt8](repeating: 0, count: maxBytes + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buf in read(fd, buf.baseAddress! + count, buf.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CLIError("\(path): cannot read the spec") }
            if n == 0 { break }
            count += n
        }
        guard count <= maxBytes else { throw CLIError("\(path): larger than \(maxBytes) bytes: not a VM spec") }
        guard let text = String(validating: bytes[..<count], as: UTF8.self) else { throw CLIError("\(path): not UTF-8 text") }
        do { return (try VMSpec.parse(text), text) } catch { throw CLIError("\(path): \(error)") }
    }

    /// Renders or refuses, naming the spec file.
    static func render(_ path: String, _ body: (VMSpec) throws(SpecError) -> String) throws -> String {
        let vm = try load(path)
        do { return try body(vm) } catch { throw CLIError("\(path): \(error)") }
    }
}
