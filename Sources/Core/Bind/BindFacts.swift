/// What a bind needs to know about the host beyond `HostModel`'s inventory: which PCI functions hold the root
/// filesystem and the default route, and what shows the console (vtconsoles, firmware framebuffers, the display
/// manager, the DRM driver's module). Read through `HostFileReader`, so it is testable on any tree.
public struct BindFacts: Sendable, Equatable {
    /// Function → why the host needs it ("the root filesystem (/ on /dev/nvme0n1p2)").
    public var rootFilesystem: [PCIAddress: String] = [:]
    /// Function → "the default route (eth0)".
    public var defaultRoute: [PCIAddress: String] = [:]
    /// Functions the host uses now, with why: a mounted, swapped-on or stacked block device, an interface that is
    /// up, a keyboard behind a USB controller.
    public var inUse: [PCIAddress: String] = [:]
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
    public var framebuffers: [String] = []
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
        let mounts = ((try? files.readOptionalText("/proc/mounts")) ?? nil) ?? ""
        facts.rootFilesystem = rootFilesystemDevices(files, mounts: mounts)
        facts.defaultRoute = defaultRouteDevices(files)
        facts.inUse = devicesInUse(files, mounts: mounts)
        facts.framebuffers = ((((try? files.readOptionalText("/proc/fb")) ?? nil) ?? "")).split(separator: "\n")
            .map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
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

    /// The PCI functions under the block devices mounted at `/` (partitions, and device-mapper/md slaves), from
    /// the text of `/proc/mounts`.
    static func rootFilesystemDevices(_ files: any HostFileReader, mounts: String) -> [PCIAddress: String] {
        var out: [PCIAddress: String] = [:]
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 2, f[1] == "/", f[0].hasPrefix("/dev/") else { continue }
            var name = HostPath.lastComponent(String(f[0]))
            if f[0].hasPrefix("/dev/mapper/"), let target = try? files.readLink(String(f[0])) { name = HostPath.lastComponent(target) }
            for a in blockAddresses(name, files, depth: 0) { out[a] = "the root filesystem (/ on \(f[0]))" }
        }
        return out
    }

    /// A block device's PCI function, or its slaves' (LVM, dm-crypt, md RAID).
    static func blockAddresses(_ name: String, _ files: any HostFileReader, depth: Int) -> [PCIAddress] {
        let link = "/sys/class/block/\(name)"
        if let a = files.pciFunction(behind: link) { return [a] }
        guard depth < 4 else { return [] }
        let slaves = (try? files.listOptionalDirectory("\(link)/slaves")) ?? []
        return slaves.flatMap { blockAddresses($0, files, depth: depth + 1) }
    }

    static func devicesInUse(_ files: any HostFileReader, mounts: String) -> [PCIAddress: String] {
        var out: [PCIAddress: String] = [:]
        func note(_ a: PCIAddress?, _ why: String) { if let a, out[a] == nil { out[a] = why } }
        // Block devices: mounted (any mount point), swap, or held by device-mapper/md (LVM, LUKS, RAID).
        var mounted: [String: String] = [:]
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count >= 2, f[0].hasPrefix("/dev/"), mounted[HostPath.lastComponent(String(f[0]))] == nil {
                mounted[HostPath.lastComponent(String(f[0]))] = String(f[1])
            }
        }
        let swaps = ((((try? files.readOptionalText("/proc/swaps")) ?? nil) ?? "")).split(separator: "\n").dropFirst()
            .compactMap { $0.split(separator: " ").first.map { HostPath.lastComponent(String($0)) } }
        // Each class device's PCI function first: virtual ones (loop, ram, lo, bridges, PS/2) are done with one
        // readlink and never looked at further.
        for name in (try? files.listOptionalDirectory("/sys/class/block")) ?? [] {
            let link = "/sys/class/block/\(name)"
            guard let a = files.pciFunction(behind: link) else { continue }
            if let at = mounted[name] { note(a, "storage in use (/dev/\(name) mounted at \(at))") }
            if swaps.contains(name) { note(a, "storage in use (/dev/\(name) is swap)") }
            if let holders = try? files.listOptionalDirectory("\(link)/holders"), let h = holders.first {
                note(a, "storage in use (/dev/\(name) is held by \(h))")
            }
        }
        for name in (try? files.listOptionalDirectory("/sys/class/net")) ?? [] {
            guard let a = files.pciFunction(behind: "/sys/class/net/\(name)") else { continue }
            let state = ((try? files.readOptionalText("/sys/class/net/\(name)/operstate")) ?? nil) ?? ""
            if state == "up" { note(a, "a network controller in use (\(name) is up)") }
        }
        // Keyboards: input devices reporting key repeat (EV_KEY and EV_REP, include/uapi/linux/input-event-codes.h).
        for name in (try? files.listOptionalDirectory("/sys/class/input")) ?? [] where name.hasPrefix("input") {
            guard let a = files.pciFunction(behind: "/sys/class/input/\(name)") else { continue }
            let ev = ((try? files.readOptionalText("/sys/class/input/\(name)/capabilities/ev")) ?? nil).flatMap { UInt64($0, radix: 16) } ?? 0
            guard ev & (1 << 1) != 0, ev & (1 << 20) != 0 else { continue }
            let title = ((try? files.readOptionalText("/sys/class/input/\(name)/name")) ?? nil) ?? name
            note(a, "the controller of the host's keyboard (\(title))")
        }
        return out
    }

    static func defaultRouteDevices(_ files: any HostFileReader) -> [PCIAddress: String] {
        let route = ((try? files.readOptionalText("/proc/net/route")) ?? nil) ?? ""
        var out: [PCIAddress: String] = [:]
        for name in ProcParsers.defaultRouteInterfaces(route) {
            let link = "/sys/class/net/\(name)"
            guard let target = try? files.readLink(link) else { continue }
            let resolved = HostPath.resolveLink(at: link, target: target)
            if let a = resolved.split(separator: "/").compactMap({ PCIAddress(String($0)) }).last {
                out[a] = "the default route (\(name))"
            }
        }
        return out
    }
}
