/// What a bind needs to know about the host beyond `HostModel`'s inventory: which PCI functions hold the root
/// filesystem and the default route, and what shows the console (vtconsoles, firmware framebuffers, the display
/// manager, the DRM driver's module). Read through `HostFileReader`, so it is testable on any tree.
public struct BindFacts: Sendable, Equatable {
    /// What the host uses its functions for (root filesystem, default route, mounts, keyboards, /proc/fb): the facts
    /// `HostNeeds` judges the group by.
    public var usage = HostUsage()
    /// sysfs: `/sys/class/vtconsole/vtconN` bound to a framebuffer (bind reads 1, name says "frame buffer").
    public var boundFramebufferConsoles: [String] = []
    /// Firmware framebuffers still bound: (platform driver, device) such as ("efi-framebuffer", "efi-framebuffer.0").
    public var firmwareFramebuffers: [PlatformBinding] = []
    /// The display manager's systemd unit (`/etc/systemd/system/display-manager.service` link), when systemd runs.
    public var displayManagerUnit: String?
    /// PCI driver → loadable module (`/sys/bus/pci/drivers/D/module`); built-in drivers are absent.
    public var driverModules: [String: String] = [:]
    /// PCI driver → the functions bound to it now (`/sys/bus/pci/drivers/D/`), for the drivers of the loaded devices
    /// (absent when the folder cannot be listed).
    public var driverDevices: [String: [PCIAddress]] = [:]
    /// `/proc/modules`: module → the modules using it (its "used by" column), for unloading a GPU's whole stack.
    public var moduleHolders: [String: [String]] = [:]
    /// `/proc/fb` lines ("0 EFI VGA", "0 bochs-drmdrmfb").
    public var framebuffers: [String] {
        get { usage.framebuffers }
        set { usage.framebuffers = newValue }
    }
    /// Whether `/sys/bus/pci/drivers/vfio-pci` exists (vfio-pci loaded or built in).
    public var vfioPCIAvailable = false

    public init() {}

    public struct PlatformBinding: Sendable, Equatable {
        public var driver: String
        public var device: String
        public init(driver: String, device: String) {
            self.driver = driver
            self.device = device
        }
    }

    /// Platform drivers of firmware framebuffers: efifb, vesafb, simplefb/simpledrm (drivers/video/fbdev,
    /// drivers/gpu/drm/tiny/simpledrm.c).
    public static let firmwareFramebufferDrivers = ["efi-framebuffer", "vesa-framebuffer", "simple-framebuffer"]

    public static func load(_ files: any HostFileReader, host: HostModel) -> BindFacts {
        var facts = BindFacts()
        facts.usage = HostUsage.load(files)
        for name in (try? files.listOptionalDirectory("/sys/class/vtconsole")) ?? [] {
            let dir = "/sys/class/vtconsole/\(name)"
            let bound = (try? files.readOptionalText("\(dir)/bind")) ?? nil
            let title = ((try? files.readOptionalText("\(dir)/name")) ?? nil) ?? ""
            if bound == "1", title.contains("frame buffer") { facts.boundFramebufferConsoles.append(name) }
        }
        for driver in firmwareFramebufferDrivers {
            for entry in (try? files.listOptionalDirectory("/sys/bus/platform/drivers/\(driver)")) ?? []
            where entry.contains(".") && files.kind(of: "/sys/bus/platform/devices/\(entry)") != nil {
                facts.firmwareFramebuffers.append(PlatformBinding(driver: driver, device: entry))
            }
        }
        if files.exists("/run/systemd/system"),
           let target = try? files.readLink("/etc/systemd/system/display-manager.service") {
            facts.displayManagerUnit = HostPath.lastComponent(target)
        }
        for driver in Set(host.devices.compactMap(\.driver)) {
            if let module = try? files.readLinkName("\(PCIDriverPaths.driver(driver))/module"), files.exists("/sys/module/\(module)/initstate") {
                facts.driverModules[driver] = module
            }
            if let bound = try? files.listDirectory(PCIDriverPaths.driver(driver)) {
                facts.driverDevices[driver] = bound.compactMap { PCIAddress($0) }.sorted()
            }
        }
        facts.moduleHolders = ProcParsers.moduleHolders(((try? files.readOptionalText("/proc/modules")) ?? nil) ?? "")
        facts.vfioPCIAvailable = files.kind(of: PCIDriverPaths.driver(PCIDriverPaths.vfioPCI)) == .directory
            || files.exists("/sys/module/vfio_pci")
        return facts
    }
}
