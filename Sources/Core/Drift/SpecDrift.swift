/// Whether the devices a spec names are still the devices it was written for. A BIOS update, a new card or a card
/// moved to another slot renumbers buses: the address in the spec then holds another device (passing it would hand
/// the VM the wrong hardware, perhaps the host's disk controller) or nothing at all.
public struct DriftFinding: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The address holds the recorded device, under the recorded bridges.
        case same
        /// The spec predates identity recording: only `vendor:device` can be compared.
        case notRecorded = "not-recorded"
        /// No PCI function at the address.
        case empty
        /// The address holds a device with other vendor:device ids.
        case otherDevice = "other-device"
        /// Same model, other board (subsystem ids differ): another card of the same kind sits there.
        case otherCard = "other-card"
        /// The address holds a matching device, but the recorded one sits under the recorded bridges elsewhere.
        case moved
        /// Matching ids, other bridges above it, and no device left under the recorded ones: buses were renumbered.
        case pathChanged = "path-changed"
    }

    /// The address the spec names.
    public var address: PCIAddress
    public var kind: Kind
    /// The recorded device: `vendor:device`, subsystem and slot path as far as recorded.
    public var recorded: String
    /// What the host has at the address now (nil when empty).
    public var found: String?
    /// Where the recorded device is now, when exactly one host device fits it.
    public var movedTo: PCIAddress?
    /// Every host device that fits the recorded identity (more than one: twins the ids cannot tell apart).
    public var candidates: [PCIAddress]

    /// The hook refuses to start the VM: it would get other hardware than the spec was written for.
    public var refuses: Bool { [.empty, .otherDevice, .otherCard, .moved].contains(kind) }

    public var description: String {
        switch kind {
        case .same: return "\(address) is still \(recorded)"
        case .notRecorded: return "\(address): the spec records only \(recorded) (no subsystem ids or slot path), so a swapped card of the same model goes unnoticed"
        case .empty: return "\(address): no device there now; the spec was written for \(recorded)" + whereabouts
        case .otherDevice: return "\(address) now holds \(found ?? "another device"), not \(recorded)" + whereabouts
        case .otherCard: return "\(address) now holds \(found ?? "another card"): same model, other board than \(recorded)" + whereabouts
        case .moved: return "\(address) holds \(found ?? "a matching device"), but the recorded \(recorded) sits under its recorded bridges at \(movedTo.map(\.description) ?? "another address")"
        case .pathChanged: return "\(address) is \(found ?? recorded) but sits under other bridges than recorded (\(recorded)): buses were renumbered"
        }
    }

    var whereabouts: String {
        if let movedTo { return "; it is now at \(movedTo)" }
        if candidates.isEmpty { return "; no device on this host matches it" }
        return "; \(candidates.count) devices match it: " + candidates.map(\.description).joined(separator: ", ")
    }

    /// What to do about it, ready to paste where possible.
    public var fix: String? {
        switch kind {
        case .same: return nil
        case .notRecorded: return nil
        case .empty, .otherDevice, .otherCard, .moved:
            if let movedTo { return "Change address = \"\(address)\" to address = \"\(movedTo)\" in the spec (and its slot-path), or run vfioctl init again" }
            return "Find the card (vfioctl list) and correct the spec's [[device]] address, or run vfioctl init again"
        case .pathChanged: return "Check with vfioctl list that \(address) is the card meant, then update slot-path in the spec (vfioctl init writes it)"
        }
    }
}

public enum SpecDrift {
    /// Compares every `[[device]]` of `spec` with the host. Pure: the hook calls it at prepare on the model it loaded.
    public static func check(spec: VMSpec, host: HostModel) -> [DriftFinding] {
        spec.devices.map { check($0, host: host) }
    }

    static func check(_ d: VMSpec.PassedDevice, host: HostModel) -> DriftFinding {
        let recorded = describe(vendor: d.vendorID, device: d.deviceID, identity: d.identity)
        var finding = DriftFinding(address: d.address, kind: .same, recorded: recorded, found: nil, movedTo: nil, candidates: [])
        let fits = host.devices.filter { fitsRecord($0, d) }
        func locate(excluding here: PCIAddress?) {
            finding.candidates = fits.map(\.address).filter { $0 != here }
            if finding.candidates.count == 1 {
                finding.movedTo = finding.candidates[0]
            } else if let path = d.identity?.slotPath {
                // Twins: the one under the recorded bridges is the recorded one.
                let underPath = fits.filter { $0.address != here && Array($0.upstreamBridges.reversed()) == path }
                if underPath.count == 1 { finding.movedTo = underPath[0].address }
            }
        }
        guard let h = host.device(d.address) else {
            finding.kind = .empty
            locate(excluding: nil)
            return finding
        }
        finding.found = describe(vendor: h.vendorID, device: h.deviceID, identity: VMSpec.DeviceIdentity(h))
        if h.vendorID != d.vendorID || h.deviceID != d.deviceID {
            finding.kind = .otherDevice
            locate(excluding: h.address)
            return finding
        }
        guard let identity = d.identity else {
            finding.kind = .notRecorded
            return finding
        }
        if let v = identity.subsystemVendorID, let s = identity.subsystemDeviceID,
           let hv = h.subsystemVendorID, let hs = h.subsystemDeviceID, (v, s) != (hv, hs) {
            finding.kind = .otherCard
            locate(excluding: h.address)
            return finding
        }
        let here = Array(h.upstreamBridges.reversed())
        if here != identity.slotPath {
            let underPath = fits.filter { $0.address != h.address && Array($0.upstreamBridges.reversed()) == identity.slotPath }
            if underPath.count == 1 {
                finding.kind = .moved
                finding.movedTo = underPath[0].address
                finding.candidates = fits.map(\.address).filter { $0 != h.address }
            } else {
                finding.kind = .pathChanged
            }
        }
        return finding
    }

    /// A host device that could be the recorded one: same vendor:device, and same subsystem when both are known.
    static func fitsRecord(_ h: PCIDevice, _ d: VMSpec.PassedDevice) -> Bool {
        guard h.vendorID == d.vendorID, h.deviceID == d.deviceID else { return false }
        if let v = d.identity?.subsystemVendorID, let s = d.identity?.subsystemDeviceID,
           let hv = h.subsystemVendorID, let hs = h.subsystemDeviceID {
            return v == hv && s == hs
        }
        return true
    }

    static func describe(vendor: UInt16, device: UInt16, identity: VMSpec.DeviceIdentity?) -> String {
        var s = hex(vendor, width: 4) + ":" + hex(device, width: 4)
        if let sub = identity?.subsystemPair { s += " (subsystem \(sub))" }
        if let path = identity?.slotPath { s += path.isEmpty ? " on a root bus" : " under " + path.map(\.description).joined(separator: " → ") }
        return s
    }

    /// The `[[device]]` lines that record `h`'s identity, for a spec written before identities were recorded.
    public static func identityLines(_ h: PCIDevice) -> [String] {
        let identity = VMSpec.DeviceIdentity(h)
        var lines: [String] = []
        if let sub = identity.subsystemPair { lines.append("subsystem = \"\(sub)\"") }
        lines.append("slot-path = [" + identity.slotPath.map { "\"\($0)\"" }.joined(separator: ", ") + "]")
        return lines
    }
}
