/// One file change of `vfioctl setup`: the whole old and new content, so it can be shown as a diff, checked
/// before writing (the file must still hold `old`), and reverted byte for byte.
public struct FileEdit: Sendable, Equatable {
    public var path: String
    /// nil: the file does not exist yet.
    public var old: String?
    public var new: String
    public var why: String
    /// Mode of a file vfioctl creates (a script must be executable); an existing file keeps its own mode.
    public var mode: Int?

    public init(path: String, old: String?, new: String, why: String, mode: Int? = nil) {
        self.path = path
        self.old = old
        self.new = new
        self.why = why
        self.mode = mode
    }

    public var diff: String {
        UnifiedDiff.render(old: old ?? "", new: new, oldName: old == nil ? "/dev/null" : "a" + path, newName: "b" + path)
    }
}

public enum Bootloader: String, Sendable, CaseIterable {
    case grub = "GRUB (/etc/default/grub)"
    case kernelCmdline = "systemd-boot / proxmox-boot-tool (/etc/kernel/cmdline)"
    case kernelstub = "kernelstub (/etc/kernelstub/configuration)"
    case grubbyBLS = "GRUB with BLS entries, grubby (/boot/loader/entries)"
    case systemdBoot = "systemd-boot (loader/entries on the ESP)"
}

public enum InitramfsTool: String, Sendable, CaseIterable {
    case mkinitcpio, dracut, booster
    case initramfsTools = "initramfs-tools"
}

/// What `vfioctl setup` would change on a host: edits and the commands that regenerate boot files afterwards.
public struct BootPlan: Sendable {
    public var bootloader: Bootloader
    public var initramfs: InitramfsTool?
    public var edits: [FileEdit]
    public var commands: [String]
    public var notes: [String]
    /// How vfio-pci gets the devices at boot: by id, or by address where the host keeps a device with the same id.
    public var binding: BootBinding
}

/// A configuration file vfioctl does not understand well enough to edit safely: it names the file and line.
public struct BootConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ path: String, line: Int? = nil, _ message: String) {
        description = "\(path)\(line.map { ":\($0)" } ?? ""): \(message)"
    }
}

public enum BootConfig {
    static let modprobeFile = "/etc/modprobe.d/vfioctl.conf"

    /// Detects the bootloader and initramfs tool under `files` and computes every edit for `spec`. With the host's
    /// model, devices whose vendor:device id the host also keeps are bound by address instead of by id
    /// (``BootBinding``); without it (a bare /etc tree) every id is used and a note says so.
    public static func plan(_ spec: VMSpec, cpuVendor: CPUInfo.Vendor, files: any HostFileReader,
                            host: HostModel? = nil) throws(BootConfigError) -> BootPlan {
        try plan(spec, cpuVendor: cpuVendor, boot: BootFiles.load(files), host: host)
    }

    /// The plan as a pure function of the boot configuration read by `BootFiles.load`.
    public static func plan(_ spec: VMSpec, cpuVendor: CPUInfo.Vendor, boot: BootFiles,
                            host: HostModel? = nil) throws(BootConfigError) -> BootPlan {
        // Module names and ids go into modprobe.d and the kernel command line: only a valid spec may.
        do { try spec.validate() } catch { throw BootConfigError("VM spec", error.message) }
        let binding = BootBinding.of(spec, host: host)
        var edits: [FileEdit] = []
        var commands: [String] = []
        var notes: [String] = []
        if !binding.checked && !spec.devices.isEmpty {
            notes.append("no host model under this root (sys/, proc/): could not check whether the host keeps devices with the same ids, so every id goes to vfio-pci.ids=")
        }
        notes += binding.explanations
        var hugepages1G: Int?
        if spec.hugepages == .size1G {
            let pages = spec.memoryMiB / 1024
            let current = configuredArguments(boot) ?? []
            let sizes = Set(current.filter { $0.hasPrefix("hugepagesz=") })
            if sizes.isEmpty || sizes == ["hugepagesz=1G"] {
                // Another VM may need more: never lower a count that is already configured.
                let have = current.filter { $0.hasPrefix("hugepages=") }.compactMap { Int($0.dropFirst("hugepages=".count)) }.max() ?? 0
                hugepages1G = max(pages, have)
            } else {
                notes.append("the kernel arguments already reserve hugepages of other sizes (\(sizes.sorted().joined(separator: " "))): add hugepagesz=1G hugepages=\(pages) by hand, next to them")
            }
        }
        let args = BootArguments.wanted(spec, cpuVendor: cpuVendor, binding: binding, hugepages1G: hugepages1G)

        // Kernel command line.
        let loader = try bootloaderBackend(boot)
        let kernelLine = try loader.plan(args: args, boot: boot)
        edits += kernelLine.edits
        commands += kernelLine.commands
        notes += kernelLine.notes

        // modprobe.d
        edits += try Modprobe.edits(spec, binding: binding, boot: boot)
        let byAddress = !binding.addresses.isEmpty
        if byAddress {
            let path = AddressBindingFiles.script
            edits.append(FileEdit(path: path, old: try boot.read(path), new: AddressBindingFiles.scriptText(owner: "VM \"\(spec.name)\"", binding: binding),
                                  why: "driver_override for \(binding.addresses.map(\.description).joined(separator: " ")) before vfio-pci loads (run by modprobe's install line)",
                                  mode: 0o755))
        }

        // initramfs
        let kernel = boot.kernel
        var modules = ["vfio_pci", "vfio", "vfio_iommu_type1"]
        if let kernel, kernel < KernelVersion(6, 2) { modules.append("vfio_virqfd") }
        if kernel == nil { notes.append("kernel version unknown (/proc/sys/kernel/osrelease, /lib/modules): assuming ≥ 6.2, so no vfio_virqfd") }
        let tool = initramfsBackend(boot)
        if let tool {
            let request = InitramfsRequest(modules: modules, addresses: binding.addresses, vmName: spec.name, softdeps: !spec.softdepDrivers.isEmpty)
            let image = try tool.plan(request, boot: boot)
            edits += image.edits
            commands += image.commands
            notes += image.notes
        } else {
            notes.append("no initramfs tool found (mkinitcpio, dracut, booster, initramfs-tools): vfio-pci.ids= and the softdeps still bind at boot if the GPU driver is not in the initramfs")
        }
        edits = edits.filter { $0.old != $0.new }
        if edits.isEmpty { commands = [] }
        return BootPlan(bootloader: loader.kind, initramfs: tool?.kind, edits: edits, commands: commands, notes: notes, binding: binding)
    }

    /// Boot Loader Specification entries: `/boot`, `/efi` or `/boot/efi` + `/loader/entries/*.conf`.
    static func blsEntries(_ boot: BootFiles) -> [String] {
        for dir in BootFiles.blsDirectories {
            let names = boot.list(dir).filter { $0.hasSuffix(".conf") }.sorted()
            if !names.isEmpty { return names.map { dir + "/" + $0 } }
        }
        return []
    }

    public static func detectBootloader(_ files: any HostFileReader) throws(BootConfigError) -> Bootloader {
        try detectBootloader(BootFiles.load(files))
    }

    public static func detectBootloader(_ boot: BootFiles) throws(BootConfigError) -> Bootloader {
        try bootloaderBackend(boot).kind
    }

    static func bootloaderBackend(_ boot: BootFiles) throws(BootConfigError) -> any BootloaderBackend {
        for backend in bootloaders where try backend.recognises(boot) { return backend }
        throw BootConfigError("/etc", "no bootloader configuration found (looked for /etc/default/grub, /etc/kernel/cmdline, /etc/kernelstub/configuration, /boot/loader/entries)")
    }

    public static func detectInitramfs(_ files: any HostFileReader) -> InitramfsTool? {
        detectInitramfs(BootFiles.load(files))
    }

    public static func detectInitramfs(_ boot: BootFiles) -> InitramfsTool? {
        initramfsBackend(boot)?.kind
    }

    static func initramfsBackend(_ boot: BootFiles) -> (any InitramfsBackend)? {
        initramfsTools.first { $0.recognises(boot) }
    }

    /// The kernel arguments the bootloader configuration will boot next (for doctor's "configured but not booted").
    public static func configuredArguments(_ files: any HostFileReader) -> [String]? {
        configuredArguments(BootFiles.load(files))
    }

    public static func configuredArguments(_ boot: BootFiles) -> [String]? {
        (try? bootloaderBackend(boot))?.configuredArguments(boot)
    }
}

/// `/etc/os-release` ID and ID_LIKE.
struct OSRelease: Sendable {
    var id = ""
    var like: [String] = []
    init() {}
    init(text: String) {
        for line in splitLines(text) {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let value = parts[1].filter { $0 != "\"" && $0 != "'" }
            if parts[0] == "ID" { id = String(value) }
            if parts[0] == "ID_LIKE" { like = value.split(separator: " ").map(String.init) }
        }
    }
    var isDebianLike: Bool { ["debian", "ubuntu", "pop", "proxmox"].contains(id) || like.contains("debian") || like.contains("ubuntu") }
    var isFedoraLike: Bool { ["fedora", "rhel", "centos"].contains(id) || like.contains("fedora") || like.contains("rhel") }
}

public struct KernelVersion: Comparable, Sendable {
    public var major: Int
    public var minor: Int
    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    public init?(_ text: String) {
        // The first two numbers, or nothing: a number too long for Int must not let the third one slide in.
        let parts = text.split(whereSeparator: { !($0.isASCII && $0.isNumber) }).prefix(2).map { Int($0) }
        guard parts.count == 2, let major = parts[0], let minor = parts[1] else { return nil }
        self.init(major, minor)
    }

    public static func < (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
}

extension BootPlan {
    /// What `setup --dry-run` prints: detection, notes, one unified diff per file, then the commands to run.
    public var dryRunText: String {
        var out = ["bootloader: \(bootloader.rawValue)", "initramfs: \(initramfs?.rawValue ?? "none found")"]
        out += notes.map { "note: " + $0 }
        if edits.isEmpty {
            out.append("nothing to change: the boot configuration already has everything")
            return out.joined(separator: "\n") + "\n"
        }
        for e in edits {
            out.append("")
            out.append("# \(e.path): \(e.why)")
            out.append(e.diff.hasSuffix("\n") ? String(e.diff.dropLast()) : e.diff)
        }
        out.append("")
        out.append("after --apply, run:")
        out += commands.map { "  " + $0 }
        out.append("then reboot. (dry run: nothing was written; use --apply)")
        return out.joined(separator: "\n") + "\n"
    }
}
