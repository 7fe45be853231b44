/// Everything vfioctl knows about one host, read once through a `HostFileReader`.
public struct HostModel: Sendable {
    public var devices: [PCIDevice] = []
    public var iommu = IOMMUState()
    public var cpu = CPUInfo()
    public var kvm = KVMState()
    /// `/proc/cmdline`: what actually booted.
    public var cmdline = KernelCommandLine("")
    /// `/proc/sys/kernel/hostname`, else `/etc/hostname` (first line); nil when neither names the host.
    public var hostname: String?
    /// `/proc/modules` names (also modules built in show under `/sys/module`, see `builtinOrLoaded`).
    public var loadedModules: Set<String> = []
    /// `/sys/module/*` names: loaded modules plus built-in ones that have parameters.
    public var sysModules: Set<String> = []
    /// The kernel arguments the bootloader configuration will boot next, and which bootloader holds them
    /// (nil when no configuration is found under /etc).
    public var configuredBoot: ConfiguredBoot?
    /// `/etc/modprobe.d/*.conf` directives (vfio-pci ids, softdeps, blacklists).
    public var modprobe: [ModprobeDirective] = []
    public var memory = MemoryState()
    public var irqs: [IRQ] = []
    public var defaultIRQAffinity: CPUSet?
    public var cgroup: CgroupLayout = .none
    /// `/sys/firmware/efi` exists: booted through UEFI.
    public var uefiBoot = false
    /// `/dev/input/by-id` names (keyboard/mouse event devices for evdev passthrough).
    public var inputDevices: [String] = []
    /// `/proc/fb` entries ("0 EFI VGA", "0 simpledrmdrmfb").
    public var framebuffers: [String] = []
    public var network: [NetworkInterface] = []
    public var blockDevices: [BlockDevice] = []
    /// Files that could not be read or parsed. Reported by `doctor`, never silently dropped.
    public var readProblems: [ReadProblem] = []

    public init() {}

    public func device(_ address: PCIAddress) -> PCIDevice? {
        // Devices are sorted by address.
        var lo = 0, hi = devices.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if devices[mid].address == address { return devices[mid] }
            if devices[mid].address < address { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }

    public func groupMembers(of address: PCIAddress) -> [PCIDevice] {
        guard let id = device(address)?.iommuGroup, let group = iommu.group(id) else { return [] }
        return group.devices.compactMap { device($0) }
    }

    public func isModuleLoaded(_ name: String) -> Bool {
        let normalized = name.replacingHyphens()
        return loadedModules.contains(normalized) || sysModules.contains(normalized)
    }
}

public struct ConfiguredBoot: Sendable, Equatable {
    public var bootloader: Bootloader
    public var arguments: [String]
    public init(bootloader: Bootloader, arguments: [String]) {
        self.bootloader = bootloader
        self.arguments = arguments
    }
}

/// A file vfioctl could not read or understand, with what was wrong.
public struct ReadProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

extension String {
    func replacingHyphens() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}
