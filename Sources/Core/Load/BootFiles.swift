/// The boot configuration as `vfioctl setup` and doctor see it: which bootloader and initramfs files exist, their
/// text, the BLS entries and modprobe.d files, the distribution and the kernel version. Read once by `load`, so
/// detection and `BootConfig.plan` are pure functions of these facts and a snapshot carries all of them.
public struct BootFiles: Sendable {
    /// The kind of every probed path; a path missing here is absent.
    var kinds: [String: FileKind] = [:]
    /// The text of each configuration file read: nil when absent, or why it cannot be edited.
    var texts: [String: Result<String?, BootConfigError>] = [:]
    /// Directory listings (sorted names; empty when the directory is missing or unreadable).
    var listings: [String: [String]] = [:]
    var osRelease = OSRelease()
    var kernel: KernelVersion?

    public init() {}

    /// Paths whose existence decides the bootloader, the initramfs tool and the regenerate commands.
    static let probed = [
        "/etc/kernelstub/configuration", "/etc/kernel/cmdline", "/etc/default/grub", "/usr/sbin/update-grub",
        "/usr/sbin/proxmox-boot-tool", "/etc/kernel/proxmox-boot-uuids", "/etc/mkinitcpio.conf", "/etc/booster.yaml",
        "/etc/dracut.conf", "/etc/dracut.conf.d", "/etc/initramfs-tools",
    ]
    /// Files setup may edit (or must find unwritten), besides BLS entries and modprobe.d.
    static let edited = [
        "/etc/default/grub", "/etc/kernel/cmdline", "/etc/kernelstub/configuration", BootConfig.modprobeFile,
        AddressBindingFiles.script, AddressBindingFiles.initramfsToolsHook, "/etc/mkinitcpio.conf",
        "/etc/dracut.conf.d/10-vfioctl.conf", "/etc/booster.yaml", "/etc/initramfs-tools/modules",
    ]
    static let blsDirectories = ["/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries"]
    static let modprobeDirectory = "/etc/modprobe.d"

    public static func load(_ files: any HostFileReader) -> BootFiles {
        var boot = BootFiles()
        for path in probed { boot.kinds[path] = files.kind(of: path) }
        for dir in blsDirectories + [modprobeDirectory] { boot.listings[dir] = (try? files.listDirectory(dir)) ?? [] }
        let modprobe = boot.list(modprobeDirectory).filter { $0.hasSuffix(".conf") }.map { modprobeDirectory + "/" + $0 }
        for path in edited + BootConfig.blsEntries(boot) + modprobe where boot.texts[path] == nil {
            boot.texts[path] = Result { () throws(BootConfigError) in try read(files, path) }
        }
        boot.osRelease = OSRelease(files)
        boot.kernel = KernelVersion.installed(files)
        return boot
    }

    func kind(of path: String) -> FileKind? { kinds[path] }

    func list(_ dir: String) -> [String] { listings[dir] ?? [] }

    /// A configuration file's text, nil when absent; what `load` found unreadable is thrown here, where the
    /// planner needs the file.
    func read(_ path: String) throws(BootConfigError) -> String? {
        guard let text = texts[path] else { return nil }
        return try text.get()
    }

    /// Configuration files are small; anything larger is not one vfioctl should rewrite whole.
    static let maxConfigBytes = 1 << 20

    static func read(_ files: any HostFileReader, _ path: String) throws(BootConfigError) -> String? {
        guard files.kind(of: path) != nil else { return nil }
        do {
            let bytes = try files.readBytes(path)
            guard bytes.count <= maxConfigBytes else { throw BootConfigError(path, "larger than \(maxConfigBytes) bytes: not a configuration file vfioctl edits") }
            guard let text = String(validating: bytes, as: UTF8.self) else { throw BootConfigError(path, "not UTF-8 text: refusing to edit") }
            return text
        } catch let e as FileReadError {
            throw BootConfigError(path, "cannot read: \(e)")
        } catch let e as BootConfigError {
            throw e
        } catch {
            throw BootConfigError(path, "cannot read")
        }
    }
}

extension OSRelease {
    /// `/etc/os-release` as read from `files`; empty when missing.
    init(_ files: any HostFileReader) {
        guard let bytes = try? files.readBytes("/etc/os-release") else {
            self.init()
            return
        }
        self.init(text: String(decoding: bytes, as: UTF8.self))
    }
}

extension KernelVersion {
    /// The running kernel (`/proc/sys/kernel/osrelease`), else the newest under `/lib/modules`.
    static func installed(_ files: any HostFileReader) -> KernelVersion? {
        if let bytes = try? files.readBytes(SysfsPaths.kernelRelease), let v = KernelVersion(String(decoding: bytes, as: UTF8.self)) { return v }
        let dirs = ((try? files.listDirectory("/lib/modules")) ?? []) + ((try? files.listDirectory("/usr/lib/modules")) ?? [])
        return dirs.compactMap(KernelVersion.init).max()
    }
}
