/// What a bind needs to know about the host beyond `HostModel`'s inventory: which PCI functions hold the root
/// filesystem and the default route, and what shows the console (vtconsoles, firmware framebuffers, the display
/// manager, the DRM driver's module). Read by the fact layer (`HostFacts`, scope `.bind`).
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
}
