extension HostTree {
    /// One PCI function. Fields left nil are filled in by class when the host is rendered.
    public struct Device: Sendable {
        public var address: Address
        /// The bridge this function sits behind; nil puts it on its domain's root bus (`pci0000:00`).
        public var parent: Address?
        public var vendor: UInt16
        public var device: UInt16
        /// Subsystem vendor and device; nil gives `(0, 0)` for bridges and `(vendor, device)` otherwise.
        public var subsystem: (UInt16, UInt16)?
        /// Base class, subclass, prog-if: `0x030000` is a VGA controller, `0x060400` a PCI bridge.
        public var classCode: UInt32
        public var revision: UInt8 = 0
        /// The bound driver's name as in `sys/bus/pci/drivers/` (`vfio-pci`, `nvidia`, `pcieport`); nil for none.
        public var driver: String?
        /// sysfs: `driver_override`; nil reads `(null)`.
        public var driverOverride: String?
        /// IOMMU group; nil gets a group of its own, ``HostTree/noGroup`` none (ignored when the host has no IOMMU).
        public var group: Int?
        /// sysfs: `boot_vga` (VGA class only); nil is `0`.
        public var bootVGA: Bool?
        /// sysfs: `reset_method`; nil derives it (`flr` when PCIe FLR, `pm` when PM without No_Soft_Reset, `bus`
        /// behind a bridge); an empty list leaves the file out, as the kernel does.
        public var resetMethod: [String]?
        /// Capabilities in chain order; nil picks them by class and position (PCIe behind bridges, ports, ACS on ports).
        public var caps: [Capability]?
        /// PCIe link (current and maximum); nil is 8.0 GT/s, x1 (x16 for display controllers).
        public var link: Link?
        /// BARs; nil picks a typical set by class. Addresses are assigned when rendering.
        public var bars: [BAR]?
        /// sysfs: `numa_node`; nil is `-1` on one-node hosts, else node 0.
        public var numaNode: Int?
        /// sysfs: `power_state`; nil is `D3hot` for an idle device on vfio-pci, else `D0`.
        public var powerState: String?
        /// MSI/MSI-X vectors the bound driver holds; nil picks a typical number by driver (0 for vfio-pci).
        public var irqCount: Int?
        /// Action names in `/proc/interrupts`, one per vector (cycled); nil derives them from the driver.
        public var irqNames: [String]?
        /// Managed IRQs (NVMe queues): each vector is pinned to one CPU and refuses affinity writes.
        public var managedIRQs = false
        /// Network interfaces (`sys/class/net/NAME` under this device).
        public var netInterfaces: [String] = []
        /// Block devices (`nvme0n1`, `sda`) under this device, each with two partitions.
        public var blockDevices: [String] = []

        public init(address: Address, vendor: UInt16, device: UInt16, classCode: UInt32) {
            self.address = address
            self.vendor = vendor
            self.device = device
            self.classCode = classCode
        }

        public var isBridge: Bool { classCode >> 8 == 0x0604 || classCode >> 8 == 0x0609 }
        public var isVGA: Bool { classCode >> 8 == 0x0300 }
    }

    /// A PCI or PCIe capability in config space (PCI Local Bus 3.0 ch. 6.7, PCIe r4.0 ch. 7).
    public struct Capability: Hashable, Sendable {
        enum Kind: Hashable, Sendable {
            case pm(noSoftReset: Bool)
            case msi(vectors: Int)
            case msix(tableSize: Int)
            case pcie(PortType, flr: Bool)
            case subsystemID
            case vendorSpecific
            case aer
            case acs(capability: UInt16, control: UInt16)
            case ari
            case sriov(totalVFs: Int, vfDevice: UInt16)
        }

        let kind: Kind

        /// Power Management (ID 0x01), No_Soft_Reset clear: a D3hot→D0 transition resets the function.
        public static let pm = Capability(kind: .pm(noSoftReset: false))
        public static func pm(noSoftReset: Bool) -> Capability { .init(kind: .pm(noSoftReset: noSoftReset)) }
        /// MSI (ID 0x05), 64-bit, one vector.
        public static let msi = Capability(kind: .msi(vectors: 1))
        public static func msi(vectors: Int) -> Capability { .init(kind: .msi(vectors: vectors)) }
        /// MSI-X (ID 0x11).
        public static let msix = Capability(kind: .msix(tableSize: 8))
        public static func msix(tableSize: Int) -> Capability { .init(kind: .msix(tableSize: tableSize)) }
        /// PCI Express (ID 0x10) with the device/port type; `flr` sets Device Capabilities bit 28.
        public static func pcie(_ type: PortType = .endpoint, flr: Bool = false) -> Capability {
            .init(kind: .pcie(type, flr: flr))
        }
        /// Bridge subsystem vendor/device IDs (ID 0x0d).
        public static let subsystemID = Capability(kind: .subsystemID)
        /// Vendor specific (ID 0x09), as host bridges carry.
        public static let vendorSpecific = Capability(kind: .vendorSpecific)
        /// Advanced Error Reporting (extended 0x0001).
        public static let aer = Capability(kind: .aer)
        /// ACS (extended 0x000d) with SV, TB, RR, CR, UF supported and SV, RR, CR, UF enabled, as Linux sets it.
        public static let acs = Capability(kind: .acs(capability: 0x001f, control: 0x001d))
        /// ACS with explicit capability and control registers (PCIe r4.0 7.7.7).
        public static func acs(capability: UInt16, control: UInt16) -> Capability {
            .init(kind: .acs(capability: capability, control: control))
        }
        /// Alternative Routing-ID Interpretation (extended 0x000e).
        public static let ari = Capability(kind: .ari)
        /// SR-IOV (extended 0x0010) with no VFs enabled.
        public static func sriov(totalVFs: Int, vfDevice: UInt16) -> Capability {
            .init(kind: .sriov(totalVFs: totalVFs, vfDevice: vfDevice))
        }

        var isExtended: Bool {
            switch kind {
            case .aer, .acs, .ari, .sriov: true
            default: false
            }
        }
    }

    /// PCIe Capabilities register bits 7:4 (PCIe r4.0 7.5.3.2).
    public enum PortType: UInt8, Sendable {
        case endpoint = 0, legacyEndpoint = 1, rootPort = 4, upstreamPort = 5, downstreamPort = 6
        case pcieToPCIBridge = 7, pciToPCIeBridge = 8, rootComplexIntegratedEndpoint = 9, rootComplexEventCollector = 10
    }

    /// A PCIe link as `current_link_speed`/`width` and `max_link_speed`/`width` show it.
    public struct Link: Sendable, Equatable {
        public var speed: Speed
        public var width: Int
        public var maxSpeed: Speed
        public var maxWidth: Int

        public init(speed: Speed = .gen3, width: Int = 1, maxSpeed: Speed? = nil, maxWidth: Int? = nil) {
            self.speed = speed
            self.width = width
            self.maxSpeed = maxSpeed ?? speed
            self.maxWidth = maxWidth ?? width
        }

        public static func x(_ width: Int, _ speed: Speed = .gen3) -> Link { Link(speed: speed, width: width) }

        public enum Speed: Int, Sendable, Comparable {
            case gen1 = 1, gen2, gen3, gen4, gen5

            /// sysfs text: `8.0 GT/s PCIe`.
            var sysfs: String {
                switch self {
                case .gen1: "2.5 GT/s PCIe"
                case .gen2: "5.0 GT/s PCIe"
                case .gen3: "8.0 GT/s PCIe"
                case .gen4: "16.0 GT/s PCIe"
                case .gen5: "32.0 GT/s PCIe"
                }
            }

            public static func < (a: Speed, b: Speed) -> Bool { a.rawValue < b.rawValue }
        }
    }

    /// A base address register; the address is assigned when the host is rendered.
    public struct BAR: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case memory32, memory64, io }
        public var index: Int
        public var kind: Kind
        public var size: UInt64
        public var prefetchable: Bool

        public init(_ index: Int, _ kind: Kind, size: UInt64, prefetchable: Bool = false) {
            self.index = index
            self.kind = kind
            self.size = size
            self.prefetchable = prefetchable
        }

        public static func mem32(_ index: Int, size: UInt64) -> BAR { BAR(index, .memory32, size: size) }
        public static func mem64(_ index: Int, size: UInt64, prefetchable: Bool = false) -> BAR {
            BAR(index, .memory64, size: size, prefetchable: prefetchable)
        }
        public static func io(_ index: Int, size: UInt64) -> BAR { BAR(index, .io, size: size) }
    }
}

extension UInt64 {
    static let KiB: UInt64 = 1024
    static let MiB: UInt64 = 1024 * 1024
    static let GiB: UInt64 = 1024 * 1024 * 1024
}
