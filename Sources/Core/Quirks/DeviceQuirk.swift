/// A known device problem for passthrough, with the ids it matches and where it is documented.
public struct DeviceQuirk: Sendable {
    public enum Kind: String, Sendable {
        /// The device does not come back after a VM run (needs vendor-reset / a host reboot).
        case resetBug = "reset-bug"
        /// Guest driver refuses to run in a VM ("Code 43") unless the hypervisor is hidden.
        case error43 = "error-43"
        /// The kernel disables FLR for this device because FLR hangs or breaks it.
        case brokenFLR = "broken-flr"
        /// Needs a ROM file or a reset delay to initialise in the guest.
        case needsROM = "needs-rom"
    }

    public let id: String
    public let vendor: UInt16
    /// Device ids matched; nil matches every device of the vendor within `classBase`.
    public let devices: Set<UInt16>?
    public let classBase: UInt8?
    public let product: String
    public let kind: Kind
    public let note: String
    public let fix: String
    public let reference: String

    public func matches(_ d: PCIDevice) -> Bool {
        guard d.vendorID == vendor else { return false }
        if let devices, !devices.contains(d.deviceID) { return false }
        if let classBase, d.pciClass.base != classBase { return false }
        return true
    }

    public static func matching(_ d: PCIDevice, in table: [DeviceQuirk] = table) -> [DeviceQuirk] {
        table.filter { $0.matches(d) }
    }
}
