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

    public init() {}

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
