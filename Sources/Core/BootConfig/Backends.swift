/// A bootloader as `vfioctl setup` and doctor handle it: how it is recognised, what arguments it boots next, and
/// the edits and commands that add arguments. One file per bootloader (Bootloaders/); adding one is that file and
/// its line in `BootConfig.bootloaders`.
protocol BootloaderBackend: Sendable {
    var kind: Bootloader { get }
    /// Every command its plans can ask for (setup --revert runs only these from a journal).
    var commands: [String] { get }
    /// Whether this host boots with it. Backends are asked in `BootConfig.bootloaders` order; the first wins.
    func recognises(_ boot: BootFiles) throws(BootConfigError) -> Bool
    /// The arguments the configuration boots next (doctor's `boot.args-applied`); nil when unreadable.
    func configuredArguments(_ boot: BootFiles) -> [String]?
    /// The edits that add `args`, the commands that make the next boot use them, and notes.
    func plan(args: [String], boot: BootFiles) throws(BootConfigError) -> BackendPlan
}

/// An initramfs generator: how it is recognised, and the edits and command that put the vfio modules (and, for
/// binding by address, the driver_override script) into the image. One file per tool (Initramfs/).
protocol InitramfsBackend: Sendable {
    var kind: InitramfsTool { get }
    /// Every command its plans can ask for (setup --revert runs only these from a journal).
    var commands: [String] { get }
    func recognises(_ boot: BootFiles) -> Bool
    func plan(_ request: InitramfsRequest, boot: BootFiles) throws(BootConfigError) -> BackendPlan
}

/// What the initramfs must carry for a VM.
struct InitramfsRequest: Sendable {
    /// vfio modules, in load order.
    var modules: [String]
    /// Devices bound by address (modprobe's install line runs the driver_override script).
    var addresses: [PCIAddress]
    var vmName: String
    /// The spec asks for softdeps, which the image sees only with /etc/modprobe.d inside it.
    var softdeps: Bool
    var byAddress: Bool { !addresses.isEmpty }
}

/// One backend's part of a boot plan.
struct BackendPlan: Sendable {
    var edits: [FileEdit] = []
    var commands: [String] = []
    var notes: [String] = []
}

extension BootConfig {
    /// In the order they are asked: kernelstub's own file first, then a lone /etc/kernel/cmdline, BLS entries with
    /// GRUB (grubby) or without (systemd-boot), and /etc/default/grub last.
    static let bootloaders: [any BootloaderBackend] = [
        KernelstubBackend(), KernelCmdlineBackend(), GrubbyBLSBackend(), SystemdBootBackend(), GrubBackend(),
    ]
    static let initramfsTools: [any InitramfsBackend] = [
        MkinitcpioBackend(), BoosterBackend(), DracutBackend(), InitramfsToolsBackend(),
    ]

    /// The commands any backend's plan can ask for: a journal's `regenerate` list must be drawn from these, as
    /// `setup --revert` runs them through the shell.
    public static var regenerateCommands: Set<String> {
        Set(bootloaders.flatMap(\.commands) + initramfsTools.flatMap(\.commands))
    }

    static func backend(_ kind: Bootloader) -> (any BootloaderBackend)? { bootloaders.first { $0.kind == kind } }
}

extension BootFiles {
    /// Boot Loader Specification entries: `/boot`, `/efi` or `/boot/efi` + `/loader/entries/*.conf`.
    var blsEntries: [String] { BootConfig.blsEntries(self) }

    /// A file detection found: its disappearance (or a BLS name that is a dangling link) is an error, not a trap.
    func readExisting(_ path: String) throws(BootConfigError) -> String {
        guard let text = try read(path) else { throw BootConfigError(path, "disappeared while reading the boot configuration") }
        return text
    }
}
