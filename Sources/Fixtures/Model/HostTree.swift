import Foundation

/// A fake Linux host, described in a few lines and rendered as the kernel lays out sysfs and procfs.
///
/// ```swift
/// var host = HostTree()                                   // 4-CPU Intel, VT-d with interrupt remapping, UEFI
/// let rp = host.addDevice("0000:00:01.0", vendor: 0x8086, device: 0x1901, classCode: 0x060400, driver: "pcieport")
/// host.addDevice("0000:01:00.0", parent: rp, vendor: 0x10de, device: 0x21c4, classCode: 0x030000, driver: "nvidia")
/// try host.write(to: URL(fileURLWithPath: "/tmp/host"))   // then: vfioctl list --root /tmp/host
/// ```
///
/// Anything left out gets a sensible default: IOMMU groups (one per device unless given), capabilities by class,
/// BARs, IRQs, reset methods, the modules the drivers need. The same host always renders byte-identical files.
public struct HostTree: Sendable {
    public var hostname = "vfio-host"
    /// `uname -r` (`proc/sys/kernel/osrelease`, `proc/version`). The default is a Debian 12 backports kernel,
    /// new enough for per-device MSI domains (`IR-PCI-MSI-0000:01:00.0` in `/proc/interrupts`, Linux ≥ 6.2).
    public var kernelRelease = "6.12.12+bpo-amd64"
    public var cpu = CPU()
    public var memory = Memory()
    public var iommu: IOMMU = .intel(interruptRemapping: true)
    /// `/proc/cmdline` without the trailing newline.
    public var cmdline = "BOOT_IMAGE=/boot/vmlinuz-6.12.12+bpo-amd64 root=UUID=2f6c3a5e-8d1b-4c9e-a7f0-3b5d9e1c4a27 ro quiet intel_iommu=on iommu=pt"
    public var firmware: Firmware = .uefi
    public var cgroup: CgroupLayout = .v2
    /// What `/proc/fb` lists; nil leaves it empty (no framebuffer console).
    public var framebuffer: Framebuffer? = .efifb
    /// Whether KVM is loaded (`kvm_intel`/`kvm_amd` module, `/dev/kvm`).
    public var kvm = KVM()
    /// Modules loaded besides the ones the bound drivers, KVM and the IOMMU imply.
    public var extraModules: [String] = []
    public var inputDevices: [InputDevice] = [.init(id: "usb-Logitech_USB_Receiver-event-kbd", event: 3),
                                              .init(id: "usb-Logitech_USB_Receiver-if01-event-mouse", event: 4)]
    /// The interface of the default route in `/proc/net/route`; nil means the first interface declared.
    public var defaultRouteInterface: String?
    /// Module parameter overrides (`["vfio_iommu_type1": ["allow_unsafe_interrupts": "Y"]]`).
    public var moduleParameters: [String: [String: String]] = [:]
    /// Where the boot configuration lives under `etc/` (compared with `/proc/cmdline` by doctors).
    public var bootloader: Bootloader = .grub
    /// Writes an empty `reset_method` for devices without reset methods instead of leaving it out.
    public var emptyResetMethodFile = false
    /// Extra files by root-relative path (`etc/modprobe.d/vfio.conf`), written last, so they may replace any.
    public var extraFiles: [String: String] = [:]

    public private(set) var devices: [Device] = []

    /// `BOOT_IMAGE=/boot/vmlinuz-<kernelRelease>`, the first word GRUB puts on the cmdline.
    public var bootImage: String { "BOOT_IMAGE=/boot/vmlinuz-\(kernelRelease)" }

    /// Pass as `group:` for a function the IOMMU does not translate (AMD's IOMMU itself, its root complex).
    public static let noGroup = -1

    public init() {}

    /// Adds a PCI function and returns its address, to pass as `parent:` of the devices behind it (when it is a
    /// bridge). Unset arguments get defaults by class; see ``Device`` for each field.
    @discardableResult
    public mutating func addDevice(
        _ address: String, parent: Address? = nil,
        vendor: UInt16, device: UInt16, subsystem: (vendor: UInt16, device: UInt16)? = nil,
        classCode: UInt32, revision: UInt8 = 0,
        driver: String? = nil, driverOverride: String? = nil, group: Int? = nil,
        bootVGA: Bool? = nil, resetMethod: [String]? = nil, caps: [Capability]? = nil, link: Link? = nil,
        bars: [BAR]? = nil, numaNode: Int? = nil, powerState: String? = nil,
        irqs: Int? = nil, irqNames: [String]? = nil, managedIRQs: Bool = false,
        net: [String] = [], block: [String] = []
    ) -> Address {
        guard let addr = Address(address) else { preconditionFailure(FixtureError.invalidAddress(address).description) }
        precondition(!devices.contains { $0.address == addr }, "\(address) was added twice")
        if let parent { precondition(devices.contains { $0.address == parent }, "parent \(parent) of \(address) was not added before it") }
        var d = Device(address: addr, vendor: vendor, device: device, classCode: classCode)
        d.parent = parent
        d.subsystem = subsystem.map { ($0.vendor, $0.device) }
        d.revision = revision
        d.driver = driver
        d.driverOverride = driverOverride
        d.group = group
        d.bootVGA = bootVGA
        d.resetMethod = resetMethod
        d.caps = caps
        d.link = link
        d.bars = bars
        d.numaNode = numaNode
        d.powerState = powerState
        d.irqCount = irqs
        d.irqNames = irqNames
        d.managedIRQs = managedIRQs
        d.netInterfaces = net
        d.blockDevices = block
        devices.append(d)
        return addr
    }

    /// Adds a fully described device (for callers that build ``Device`` values themselves).
    @discardableResult
    public mutating func add(_ device: Device) -> Address {
        precondition(!devices.contains { $0.address == device.address }, "\(device.address) was added twice")
        devices.append(device)
        return device.address
    }

    /// Changes a device already added (driver, group, ...).
    public mutating func update(_ address: Address, _ change: (inout Device) -> Void) {
        guard let i = devices.firstIndex(where: { $0.address == address }) else {
            preconditionFailure("no device \(address)")
        }
        change(&devices[i])
    }

    /// Renders the host into memory.
    public func render() throws -> FileTree {
        try Renderer(host: self).render()
    }

    /// Renders the host and writes it under `root` (`root/sys`, `root/proc`, `root/dev`, `root/etc`).
    public func write(to root: URL) throws {
        try render().write(to: root)
    }
}

extension HostTree {
    /// `DDDD:BB:DD.F`, sysfs: `/sys/bus/pci/devices/<address>`.
    public struct Address: Hashable, Comparable, Sendable, CustomStringConvertible {
        public var domain: UInt16
        public var bus: UInt8
        public var device: UInt8
        public var function: UInt8

        public init(domain: UInt16 = 0, bus: UInt8, device: UInt8, function: UInt8) {
            precondition(device < 32 && function < 8, "device must be < 32 and function < 8")
            self.domain = domain
            self.bus = bus
            self.device = device
            self.function = function
        }

        /// Parses `0000:01:00.0` (the domain may be left out: `01:00.0`).
        public init?(_ text: String) {
            var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 2 { parts.insert("0000", at: 0) }
            guard parts.count == 3 else { return nil }
            let df = parts[2].split(separator: ".", omittingEmptySubsequences: false)
            guard df.count == 2, parts[0].count == 4, parts[1].count == 2, df[0].count == 2, df[1].count == 1,
                  let domain = UInt16(parts[0], radix: 16), let bus = UInt8(parts[1], radix: 16),
                  let device = UInt8(df[0], radix: 16), let function = UInt8(df[1], radix: 16),
                  device < 32, function < 8
            else { return nil }
            self.init(domain: domain, bus: bus, device: device, function: function)
        }

        public var description: String {
            "\(Format.hex(domain, digits: 4, prefix: false)):\(Format.hex(bus, digits: 2, prefix: false)):"
                + "\(Format.hex(device, digits: 2, prefix: false)).\(function)"
        }

        /// `0000:01`, the name of the bus in `/sys/class/pci_bus`.
        var busName: String { "\(Format.hex(domain, digits: 4, prefix: false)):\(Format.hex(bus, digits: 2, prefix: false))" }

        public static func < (a: Address, b: Address) -> Bool {
            (a.domain, a.bus, a.device, a.function) < (b.domain, b.bus, b.device, b.function)
        }
    }

    public enum Firmware: Sendable { case uefi, bios }

    /// `etc/default/grub` (`GRUB_CMDLINE_LINUX_DEFAULT`), `etc/kernel/cmdline` (systemd-boot, Proxmox), or none.
    /// `bootArgs` nil means the arguments of ``HostTree/cmdline`` (booted as configured).
    public enum Bootloader: Sendable, Equatable {
        case grub(bootArgs: String? = nil)
        case systemdBoot(bootArgs: String? = nil)
        case none

        public static var grub: Bootloader { .grub() }
        public static var systemdBoot: Bootloader { .systemdBoot() }
    }

    /// How cgroups are mounted (`/proc/mounts`, `/sys/fs/cgroup`).
    public enum CgroupLayout: Sendable { case v2, v1, hybrid }

    /// The first line of `/proc/fb`: `0 EFI VGA`, `0 simpledrmdrmfb`, `0 VESA VGA`, or a DRM driver's `0 i915drmfb`.
    public enum Framebuffer: Sendable, Equatable {
        case efifb, simpledrm, vesafb
        case drm(String)

        var procLine: String {
            switch self {
            case .efifb: "0 EFI VGA"
            case .simpledrm: "0 simpledrmdrmfb"
            case .vesafb: "0 VESA VGA"
            case .drm(let driver): "0 \(driver)drmfb"
            }
        }
    }

    /// An evdev node with its `/dev/input/by-id` name (`usb-Logitech_USB_Receiver-event-kbd` → `../event3`).
    public struct InputDevice: Sendable, Equatable {
        public var id: String
        public var event: Int
        public init(id: String, event: Int) {
            self.id = id
            self.event = event
        }
    }

    /// KVM module state: `sys/module/kvm_intel/parameters/{enable_apicv,nested}` or `kvm_amd/parameters/{avic,nested}`.
    public struct KVM: Sendable, Equatable {
        public var loaded = true
        /// APICv (Intel) or AVIC (AMD).
        public var apicv = true
        public var nested = true
        public init(loaded: Bool = true, apicv: Bool = true, nested: Bool = true) {
            self.loaded = loaded
            self.apicv = apicv
            self.nested = nested
        }
    }

    /// Memory: `/proc/meminfo`, hugepage pools, transparent hugepages.
    public struct Memory: Sendable, Equatable {
        public var totalKiB: Int
        /// Reserved 2 MiB pages, spread evenly over the NUMA nodes.
        public var hugepages2M: Int
        public var hugepages1G: Int
        /// `sys/kernel/mm/transparent_hugepage/enabled` and `defrag`.
        public var thpEnabled: String
        public var thpDefrag: String

        public init(totalGiB: Int = 32, hugepages2M: Int = 0, hugepages1G: Int = 0,
                    thpEnabled: String = "always [madvise] never",
                    thpDefrag: String = "always defer defer+madvise [madvise] never") {
            self.totalKiB = totalGiB * 1024 * 1024 - 163_840 // firmware and kernel keep some
            self.hugepages2M = hugepages2M
            self.hugepages1G = hugepages1G
            self.thpEnabled = thpEnabled
            self.thpDefrag = thpDefrag
        }
    }

    /// The IOMMU as the kernel shows it: `sys/class/iommu/*`, ACPI DMAR/IVRS tables, `iommu_group` links.
    public enum IOMMU: Sendable, Equatable {
        /// VT-d: `units` DRHD units `dmar0…`; interrupt remapping is ecap bit 3 and the DMAR table's INTR_REMAP flag.
        case intel(interruptRemapping: Bool = true, units: Int = 2)
        /// AMD-Vi: `ivhd0` under the IOMMU's own PCI function (00:00.2 when added) and the IVRS table.
        case amd(interruptRemapping: Bool = true)
        /// Firmware has the IOMMU off (or the kernel found none): no groups, no tables, no class entries.
        case off

        public static var intel: IOMMU { .intel() }
        public static var amd: IOMMU { .amd() }

        var isOn: Bool { self != .off }
        var interruptRemapping: Bool {
            switch self {
            case .intel(let ir, _), .amd(let ir): ir
            case .off: false
            }
        }
    }
}
