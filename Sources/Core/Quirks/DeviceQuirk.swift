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
        /// A data-center GPU (class 0302, no display engine): no consumer-card countermeasures apply.
        case dataCenter = "data-center"
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
    /// The vendor-reset module handles this device, so `device_specific` with vendor_reset loaded answers the
    /// quirk. False for reset reports vendor-reset has no code for.
    public var vendorResetHelps: Bool = true

    public func matches(_ d: PCIDevice) -> Bool {
        if kind == .dataCenter { return DataCenterGPU.matches(d) }
        guard d.vendorID == vendor else { return false }
        if let devices, !devices.contains(d.deviceID) { return false }
        if let classBase, d.pciClass.base != classBase { return false }
        // The Code 43 check is in GeForce drivers only; data-center cards run the datacenter driver.
        if kind == .error43, DataCenterGPU.matches(d) { return false }
        return true
    }

    public static func matching(_ d: PCIDevice, in table: [DeviceQuirk] = table) -> [DeviceQuirk] {
        table.filter { $0.matches(d) }
    }
}

/// NVIDIA data-center GPUs (Tesla/A/H/L/B series): 3D controllers (class 0302) without a display engine, whose
/// guest driver never refused VMs. Laptop GeForce chips are class 0302 too, so the class alone does not decide:
/// a known device id, or a pci.ids name of a data-center chip.
public enum DataCenterGPU {
    /// pci.ids: V100, T4, A100/A800/A30, A40/A10/A16, L40/L40S/L4, H100/H800, and H200 (10de:2335, seen on a real
    /// host with class 0302).
    public static let nvidiaDevices: Set<UInt16> = [
        0x1db1, 0x1db2, 0x1db3, 0x1db4, 0x1db5, 0x1db6, 0x1db7, 0x1db8,
        0x1eb8,
        0x20b0, 0x20b1, 0x20b2, 0x20b3, 0x20b5, 0x20b6, 0x20b7, 0x20b8, 0x20b9, 0x20f0, 0x20f1, 0x20f2, 0x20f3, 0x20f5, 0x20f6,
        0x2235, 0x2236, 0x25b6,
        0x26b5, 0x26b8, 0x26b9, 0x27b8,
        0x2321, 0x2322, 0x2324, 0x2330, 0x2331, 0x2339, 0x2335,
    ]
    /// Chip names of data-center parts in pci.ids ("GH100 [H100 PCIe]", "GA100 [A100 PCIe 80GB]").
    static let chipPrefixes = ["GV100", "GA100", "GH100", "GH200", "GB100", "GB200"]

    public static func matches(_ d: PCIDevice) -> Bool {
        guard d.vendorID == PCIVendor.nvidia.id, d.pciClass.base == 0x03 else { return false }
        if nvidiaDevices.contains(d.deviceID) { return true }
        guard d.pciClass.sub == 0x02, let name = d.names.device else { return false }
        return chipPrefixes.contains { name.hasPrefix($0) } || name.contains("Tesla")
    }
}
