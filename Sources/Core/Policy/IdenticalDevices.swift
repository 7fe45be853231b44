/// A PCI vendor:device id pair, as `lspci -nn`, `vfio-pci.ids=` and the engines' vendor selectors write it
/// (`10de:2504`). sysfs: `vendor`, `device`.
public struct PCIID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let vendor: UInt16
    public let device: UInt16

    public init(vendor: UInt16, device: UInt16) {
        self.vendor = vendor
        self.device = device
    }

    /// The ids of `device`, or nil when its `vendor` or `device` file could not be read (the fields then hold
    /// placeholders that must never reach a selector).
    public init?(_ device: PCIDevice) {
        guard device.unparsed("vendor") == nil, device.unparsed("device") == nil else { return nil }
        self.init(vendor: device.vendorID, device: device.deviceID)
    }

    /// Accepts `VVVV:DDDD` (hex, either case).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 4,
              let v = UInt16(parts[0], radix: 16), let d = UInt16(parts[1], radix: 16) else { return nil }
        self.init(vendor: v, device: d)
    }

    /// Lower case, as the kernel and `vfio-pci.ids=` write it: `10de:2504`.
    public var description: String { "\(hex(vendor, width: 4)):\(hex(device, width: 4))" }

    public static func < (a: PCIID, b: PCIID) -> Bool { (a.vendor, a.device) < (b.vendor, b.device) }
}

/// Where a selection by vendor:device id would take more than the devices meant for VMs.
///
/// `vfio-pci.ids=`, `options vfio-pci ids=`, KubeVirt's `pciVendorSelector` and Nova's `device_spec` without an
/// `address` all claim every function with the id: the host's twin GPU, the other ports of a multi-port NIC.
/// When an id has such a twin on the host, the passed devices must be named by address instead (DOMAIN §6,
/// "Identical devices": `driver_override` per address before the GPU/NIC drivers load).
public enum IdenticalDevices {
    /// For each vendor:device id of a device in `passed`, the devices the host keeps (present on the host, not in
    /// `passed`) with the same id, in address order. Ids without such a twin are absent, so an empty result means
    /// binding by id is safe. Devices whose ids could not be read are left out on both sides; addresses in
    /// `passed` that the host does not have are ignored.
    public static func conflicts(host: HostModel, passed: Set<PCIAddress>) -> [PCIID: [PCIAddress]] {
        let passedIDs = Set(passed.compactMap { host.device($0).flatMap(PCIID.init) })
        guard !passedIDs.isEmpty else { return [:] }
        var out: [PCIID: [PCIAddress]] = [:]
        // host.devices is in address order, so each list is too.
        for d in host.devices where !passed.contains(d.address) {
            guard let id = PCIID(d), passedIDs.contains(id) else { continue }
            out[id, default: []].append(d.address)
        }
        return out
    }
}
