/// Capabilities read from configuration space (PCI Local Bus 3.0 §6.7, PCIe Base r4.0 §7.5 and §7.6).
public struct PCICapabilities: Sendable, Equatable {
    /// True when only the first 64 bytes were readable (non-root readers of sysfs `config`).
    public var truncated: Bool = false
    public var headerType: UInt8 = 0
    public var multifunction: Bool = false
    public var powerManagement: PowerManagement?
    public var msi: Bool = false
    public var msix: MSIX?
    public var express: Express?
    public var acs: ACS?
    public var ari: Bool = false
    public var sriov: Bool = false
    public var deviceSerialNumber: Bool = false
    public var vendorSpecific: Bool = false
    /// Memory and I/O BARs of a type 0 header (config 0x10–0x24) with the addresses the firmware or kernel
    /// assigned; readable by anyone (the first 64 bytes), so known even when `truncated`.
    public var bars: [BAR] = []
    /// PCIe r4.0 §7.8.6 Resizable BAR extended capability (id 0x15): nil when the function has none.
    public var resizableBARs: [ResizableBAR]?

    public init() {}

    /// One Base Address Register as config space holds it (PCI Local Bus 3.0 §6.2.5.1).
    public struct BAR: Sendable, Equatable {
        /// BAR number 0–5 (a 64-bit BAR takes two registers and is named by the first).
        public var index: Int
        /// The assigned bus address (0 when unassigned).
        public var address: UInt64
        public var isIO: Bool
        /// Memory BAR type 10b: may be placed anywhere in the 64-bit space.
        public var is64Bit: Bool
        public var prefetchable: Bool

        /// A 64-bit memory BAR the firmware placed at or above 4 GiB: "Above 4G decoding" is on.
        public var isAbove4G: Bool { !isIO && address >= BAR.fourGiB }
        public static let fourGiB: UInt64 = 1 << 32
    }

    /// One resizable BAR: the sizes the function supports and the size programmed now.
    public struct ResizableBAR: Sendable, Equatable {
        public var index: Int
        /// Supported sizes in bytes, ascending (capability register bits 4–31: bit n means 2^(n+16) bytes).
        public var supportedSizes: [UInt64]
        /// Control register bits 8–13: 2^(value+20) bytes.
        public var currentSize: UInt64

        public var largestSupported: UInt64 { supportedSizes.last ?? currentSize }
        /// The firmware left the BAR smaller than the card allows: Resizable BAR is off (or not offered) in firmware.
        public var isAtMaximum: Bool { currentSize >= largestSupported }
    }

    public struct PowerManagement: Sendable, Equatable {
        /// PMCSR No_Soft_Reset: D3hot→D0 keeps state, so a PM reset does nothing.
        public var noSoftReset: Bool
        public var supportsD3hot: Bool = true
    }

    public struct MSIX: Sendable, Equatable {
        public var tableSize: Int
    }

    public struct Express: Sendable, Equatable {
        public var portType: PortType
        /// Device Capabilities bit 28: Function Level Reset.
        public var functionLevelReset: Bool
        public var slotImplemented: Bool

        public enum PortType: UInt8, Sendable {
            case endpoint = 0, legacyEndpoint = 1, rootPort = 4, upstreamPort = 5, downstreamPort = 6,
                 pcieToPCIBridge = 7, pciToPCIeBridge = 8, integratedEndpoint = 9, rootComplexEventCollector = 10
            case unknown = 0xff

            public var label: String {
                switch self {
                case .endpoint: "Endpoint"
                case .legacyEndpoint: "Legacy Endpoint"
                case .rootPort: "Root Port"
                case .upstreamPort: "Upstream Port"
                case .downstreamPort: "Downstream Port"
                case .pcieToPCIBridge: "PCIe-to-PCI Bridge"
                case .pciToPCIeBridge: "PCI-to-PCIe Bridge"
                case .integratedEndpoint: "Root Complex Integrated Endpoint"
                case .rootComplexEventCollector: "Root Complex Event Collector"
                case .unknown: "Unknown"
                }
            }
        }
    }

    /// PCIe r4.0 §7.7.7 ACS capability register bits.
    public struct ACS: Sendable, Equatable {
        public var capabilities: UInt16
        public var control: UInt16
        public static let sourceValidation: UInt16 = 1 << 0
        public static let translationBlocking: UInt16 = 1 << 1
        public static let requestRedirect: UInt16 = 1 << 2
        public static let completionRedirect: UInt16 = 1 << 3
        public static let upstreamForwarding: UInt16 = 1 << 4
        /// The bits Linux requires for isolation (`REQ_ACS_FLAGS` in drivers/pci/pci.c).
        public static let requiredForIsolation: UInt16 = sourceValidation | requestRedirect | completionRedirect | upstreamForwarding
        public var isolates: Bool { control & ACS.requiredForIsolation == ACS.requiredForIsolation }
    }
}
