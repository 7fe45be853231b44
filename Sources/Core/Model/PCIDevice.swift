/// One PCI function as sysfs shows it under `/sys/bus/pci/devices/ADDR`.
public struct PCIDevice: Sendable, Identifiable {
    public var id: PCIAddress { address }

    public var address: PCIAddress
    /// sysfs: `vendor`, `device`, `subsystem_vendor`, `subsystem_device`.
    public var vendorID: UInt16
    public var deviceID: UInt16
    public var subsystemVendorID: UInt16?
    public var subsystemDeviceID: UInt16?
    /// sysfs: `class`.
    public var pciClass: PCIClass
    /// sysfs: `revision`.
    public var revision: UInt8
    /// The driver bound now (`driver` link name), nil when unbound.
    public var driver: String?
    /// sysfs: `driver_override`; nil when it reads `(null)` or is absent.
    public var driverOverride: String?
    /// Number of `/sys/kernel/iommu_groups/N` the `iommu_group` link points to.
    public var iommuGroup: Int?
    /// Bridges above this function, nearest first, from the sysfs path nesting.
    public var upstreamBridges: [PCIAddress]
    /// The canonical sysfs directory (`/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0`).
    public var sysfsPath: String
    /// sysfs: `boot_vga` (VGA devices only): the firmware's console display.
    public var bootVGA: Bool?
    /// sysfs: `reset_method` (kernel ≥ 5.15); nil when the file is absent, empty when no method exists.
    public var resetMethods: [String]?
    /// Whether a `reset` attribute exists (the kernel found some way to reset the function).
    public var hasResetAttribute: Bool
    public var powerState: String?
    public var numaNode: Int?
    public var link: PCILink?
    public var irq: Int?
    /// Parsed from the `config` file; nil when it was not readable (non-root beyond 64 bytes is still parsed).
    public var capabilities: PCICapabilities?
    /// Names from pci.ids, filled by the name database when one is available.
    public var names: PCINames = PCINames()
    /// Attributes that exist but could not be read or understood, with what was seen. The typed field each one
    /// feeds holds a placeholder (vendor 0, class 0, no driver) that renderers and checks must not present as
    /// a fact: they ask `unparsed(_:)` first.
    public var unparsedAttributes: [UnparsedAttribute] = []

    public init(address: PCIAddress, vendorID: UInt16, deviceID: UInt16, pciClass: PCIClass, revision: UInt8 = 0,
                sysfsPath: String = "") {
        self.address = address
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.pciClass = pciClass
        self.revision = revision
        self.upstreamBridges = []
        self.sysfsPath = sysfsPath
        self.hasResetAttribute = false
    }

    public var isBridge: Bool { pciClass.isPCIBridge || pciClass.isHostBridge }
    /// What was seen in attribute `name` ("class", "driver") when it could not be used; nil when it was fine.
    public func unparsed(_ name: String) -> UnparsedAttribute? { unparsedAttributes.first { $0.name == name } }
    /// The class code is known: the class file parsed.
    public var classIsKnown: Bool { unparsed("class") == nil }
    public var isBoundToVFIO: Bool { driver == "vfio-pci" }
    public var vendor: PCIVendor { PCIVendor(id: vendorID) }
}

public struct PCILink: Sendable, Equatable {
    public var currentSpeed: String?
    public var currentWidth: Int?
    public var maxSpeed: String?
    public var maxWidth: Int?
}

public struct PCINames: Sendable, Equatable {
    public var vendor: String?
    public var device: String?
    public var subsystem: String?
    public var className: String?
    public var subclassName: String?
    public var progIfName: String?
    public init() {}
}

/// Well-known PCI vendor ids (PCI-SIG assigned).
public struct PCIVendor: Hashable, Sendable {
    public let id: UInt16
    public static let nvidia = PCIVendor(id: 0x10de)
    public static let amd = PCIVendor(id: 0x1002)
    public static let intel = PCIVendor(id: 0x8086)
    public static let redhatQumranet = PCIVendor(id: 0x1af4)
}

/// One sysfs attribute of a PCI function that was there but not usable: its name (`class`), its path, and the
/// value seen (or why it could not be read).
public struct UnparsedAttribute: Sendable, Equatable {
    public var name: String
    public var path: String
    public var seen: String

    public init(name: String, path: String, seen: String) {
        self.name = name
        self.path = path
        self.seen = seen
    }
}
