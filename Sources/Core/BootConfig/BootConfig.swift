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

public enum Bootloader: String, Sendable {
    case grub = "GRUB (/etc/default/grub)"
    case kernelCmdline = "systemd-boot / proxmox-boot-tool (/etc/kernel/cmdline)"
    case kernelstub = "kernelstub (/etc/kernelstub/configuration)"
    case grubbyBLS = "GRUB with BLS entries, grubby (/boot/loader/entries)"
    case systemdBoot = "systemd-boot (loader/entries on the ESP)"
}

public enum InitramfsTool: String, Sendable {
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
        let os = boot.osRelease
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
        let loader = try detectBootloader(boot)
        switch loader {
        case .grub:
            let old = try readExisting(boot, "/etc/default/grub")
            let new = try GrubDefault.merge(old, args: args, path: "/etc/default/grub")
            edits.append(FileEdit(path: "/etc/default/grub", old: old, new: new, why: "kernel arguments for the next boot"))
            if os.isFedoraLike { commands.append("grub2-mkconfig -o /boot/grub2/grub.cfg") }
            else if os.isDebianLike || boot.kind(of: "/usr/sbin/update-grub") == .regular { commands.append("update-grub") }
            else { commands.append("grub-mkconfig -o /boot/grub/grub.cfg") }
        case .kernelCmdline:
            let old = try readExisting(boot, "/etc/kernel/cmdline")
            edits.append(FileEdit(path: "/etc/kernel/cmdline", old: old, new: try KernelCmdlineFile.merge(old, args: args, path: "/etc/kernel/cmdline"), why: "kernel arguments for the next boot"))
            if os.id == "proxmox" || boot.kind(of: "/usr/sbin/proxmox-boot-tool") == .regular || boot.kind(of: "/etc/kernel/proxmox-boot-uuids") == .regular {
                commands.append("proxmox-boot-tool refresh")
            } else {
                commands.append("kernel-install add $(uname -r) /usr/lib/modules/$(uname -r)/vmlinuz")
            }
        case .kernelstub:
            let old = try readExisting(boot, "/etc/kernelstub/configuration")
            edits.append(FileEdit(path: "/etc/kernelstub/configuration", old: old, new: try Kernelstub.merge(old, args: args), why: "kernel arguments for the next boot"))
            commands.append("kernelstub -v")
        case .systemdBoot:
            for path in blsEntries(boot) {
                let old = try readExisting(boot, path)
                edits.append(FileEdit(path: path, old: old, new: try BLSEntry.merge(old, args: args, path: path), why: "kernel arguments of a boot entry (read directly by systemd-boot)"))
            }
            if let old = try boot.read("/etc/kernel/cmdline") {
                edits.append(FileEdit(path: "/etc/kernel/cmdline", old: old, new: try KernelCmdlineFile.merge(old, args: args, path: "/etc/kernel/cmdline"), why: "kernel arguments for entries kernel-install adds later"))
            } else {
                notes.append("systemd-boot reads the entries directly; a kernel package that writes new entries may not carry these arguments (write them to /etc/kernel/cmdline too)")
            }
        case .grubbyBLS:
            for path in blsEntries(boot) {
                let old = try readExisting(boot, path)
                edits.append(FileEdit(path: path, old: old, new: try BLSEntry.merge(old, args: args, path: path), why: "kernel arguments of an installed kernel"))
            }
            if let old = try boot.read("/etc/default/grub") {
                edits.append(FileEdit(path: "/etc/default/grub", old: old, new: try GrubDefault.merge(old, args: args, path: "/etc/default/grub"), why: "kernel arguments for kernels installed later"))
            }
            if let old = try boot.read("/etc/kernel/cmdline") {
                edits.append(FileEdit(path: "/etc/kernel/cmdline", old: old, new: try KernelCmdlineFile.merge(old, args: args, path: "/etc/kernel/cmdline"), why: "kernel arguments for kernels installed later"))
            }
            commands.append("grubby --info=ALL   # check: every entry lists the new arguments")
        }

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
        let tool = detectInitramfs(boot)
        switch tool {
        case .mkinitcpio:
            let old = try readExisting(boot, "/etc/mkinitcpio.conf")
            // The modconf hook copies /etc/modprobe.d into the image: without it the softdeps (and the install
            // line of address binding) are not seen while the initramfs loads the GPU driver.
            if !Mkinitcpio.hasHook(old, "modconf") {
                if byAddress || !spec.softdepDrivers.isEmpty {
                    throw BootConfigError(Mkinitcpio.path, "HOOKS has no modconf: the initramfs would not see /etc/modprobe.d (softdeps\(byAddress ? ", the install line of address binding" : "")); add modconf to HOOKS (after autodetect) and run setup again")
                }
                notes.append("\(Mkinitcpio.path): HOOKS has no modconf, so /etc/modprobe.d is not in the initramfs")
            }
            var new = try Mkinitcpio.merge(old, modules: modules)
            if byAddress { new = try Mkinitcpio.addFiles(new, [AddressBindingFiles.script]) }
            edits.append(FileEdit(path: "/etc/mkinitcpio.conf", old: old, new: new,
                                  why: byAddress ? "vfio modules load before the GPU drivers; the driver_override script goes into the image" : "vfio modules load before the GPU drivers"))
            commands.append("mkinitcpio -P")
        case .dracut:
            let path = "/etc/dracut.conf.d/10-vfioctl.conf"
            let old = try boot.read(path)
            var lines = ["# Written by vfioctl setup: vfio-pci must claim the passed devices before their drivers load.",
                         "force_drivers+=\" \(modules.joined(separator: " ")) \""]
            if byAddress { lines.append("install_items+=\" \(AddressBindingFiles.script) \"") }
            edits.append(FileEdit(path: path, old: old, new: joinLines(lines, like: old ?? ""),
                                  why: byAddress ? "vfio modules in the initramfs, loaded first; the driver_override script in the image" : "vfio modules in the initramfs, loaded first"))
            commands.append("dracut -f --regenerate-all")
        case .booster:
            let old = try readExisting(boot, "/etc/booster.yaml")
            if byAddress {
                // booster loads modules itself, not through modprobe, so the install line never runs in its image.
                throw BootConfigError(Booster.path, "booster does not run modprobe's install commands, which binding \(binding.addresses.map(\.description).joined(separator: ", ")) by address needs: use mkinitcpio, dracut or initramfs-tools on this host, or pass the host's twin devices too")
            }
            edits.append(FileEdit(path: "/etc/booster.yaml", old: old, new: try Booster.merge(old, modules: modules), why: "vfio modules loaded first"))
            commands.append("/usr/lib/booster/regenerate_images")
        case .initramfsTools:
            let old = try boot.read("/etc/initramfs-tools/modules") ?? ""
            edits.append(FileEdit(path: "/etc/initramfs-tools/modules", old: try boot.read("/etc/initramfs-tools/modules"), new: InitramfsToolsModules.merge(old, modules: modules), why: "vfio modules in the initramfs, before the GPU drivers"))
            if byAddress {
                let hook = AddressBindingFiles.initramfsToolsHook
                edits.append(FileEdit(path: hook, old: try boot.read(hook), new: AddressBindingFiles.initramfsToolsHookText(vm: spec.name),
                                      why: "copies the driver_override script into the initramfs", mode: 0o755))
            }
            commands.append("update-initramfs -u -k all")
        case nil:
            notes.append("no initramfs tool found (mkinitcpio, dracut, booster, initramfs-tools): vfio-pci.ids= and the softdeps still bind at boot if the GPU driver is not in the initramfs")
        }
        edits = edits.filter { $0.old != $0.new }
        if edits.isEmpty { commands = [] }
        return BootPlan(bootloader: loader, initramfs: tool, edits: edits, commands: commands, notes: notes, binding: binding)
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
        if boot.kind(of: "/etc/kernelstub/configuration") == .regular { return .kernelstub }
        let bls = !blsEntries(boot).isEmpty
        if boot.kind(of: "/etc/kernel/cmdline") == .regular && !bls { return .kernelCmdline }
        if bls, let grub = try boot.read("/etc/default/grub"), grub.contains("GRUB_ENABLE_BLSCFG=true") { return .grubbyBLS }
        if bls && boot.kind(of: "/etc/default/grub") != .regular { return .systemdBoot }
        if boot.kind(of: "/etc/default/grub") == .regular { return .grub }
        throw BootConfigError("/etc", "no bootloader configuration found (looked for /etc/default/grub, /etc/kernel/cmdline, /etc/kernelstub/configuration, /boot/loader/entries)")
    }

    public static func detectInitramfs(_ files: any HostFileReader) -> InitramfsTool? {
        detectInitramfs(BootFiles.load(files))
    }

    public static func detectInitramfs(_ boot: BootFiles) -> InitramfsTool? {
        if boot.kind(of: "/etc/mkinitcpio.conf") == .regular { return .mkinitcpio }
        if boot.kind(of: "/etc/booster.yaml") == .regular { return .booster }
        if boot.kind(of: "/etc/dracut.conf") == .regular || boot.kind(of: "/etc/dracut.conf.d") == .directory { return .dracut }
        if boot.kind(of: "/etc/initramfs-tools") == .directory { return .initramfsTools }
        return nil
    }

    /// The kernel arguments the bootloader configuration will boot next (for doctor's "configured but not booted").
    public static func configuredArguments(_ files: any HostFileReader) -> [String]? {
        configuredArguments(BootFiles.load(files))
    }

    public static func configuredArguments(_ boot: BootFiles) -> [String]? {
        guard let loader = try? detectBootloader(boot) else { return nil }
        switch loader {
        case .grub:
            guard let text = try? boot.read("/etc/default/grub") else { return nil }
            return (try? GrubDefault.arguments(text, path: "/etc/default/grub")) ?? nil
        case .kernelCmdline:
            return (try? boot.read("/etc/kernel/cmdline")).flatMap { $0.map { KernelCommandLine(splitLines($0).joined(separator: " ")).arguments } }
        case .kernelstub:
            return (try? boot.read("/etc/kernelstub/configuration")).flatMap { $0.flatMap { try? Kernelstub.options($0).options } }
        case .grubbyBLS, .systemdBoot:
            guard let path = blsEntries(boot).last, let text = try? boot.read(path) else { return nil }
            return splitLines(text).first { $0.hasPrefix("options ") }.map { KernelCommandLine(String($0.dropFirst(8))).arguments }
        }
    }

    /// A file detection found: its disappearance (or a BLS name that is a dangling link) is an error, not a trap.
    static func readExisting(_ boot: BootFiles, _ path: String) throws(BootConfigError) -> String {
        guard let text = try boot.read(path) else { throw BootConfigError(path, "disappeared while reading the boot configuration") }
        return text
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
