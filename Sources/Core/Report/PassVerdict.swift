/// Whether a device can go to a VM, as doctor decides it: the `device.group-isolation` check run for that device
/// alone (doctor --device ADDR), so the report and doctor can never disagree.
public enum PassVerdict: String, Sendable, CaseIterable {
    /// Alone in its group, or only with the other functions of its own card.
    case alone
    /// Passable together with other cards of its group.
    case group
    /// The group holds devices the host needs (or the device is in no group).
    case blocked
    /// Bridges and root ports stay with the host.
    case bridge
    /// No IOMMU (nothing can be passed), or doctor could not decide.
    case none

    public var label: String {
        switch self {
        case .alone: "passable alone"
        case .group: "passable with its group"
        case .blocked: "blocked by host-critical members"
        case .bridge: "bridge (stays with the host)"
        case .none: "no verdict (no IOMMU)"
        }
    }

    /// The verdict doctor's group-isolation finding stands for.
    public init(_ status: FindingStatus) {
        switch status {
        case .pass, .info: self = .alone
        case .warn: self = .group
        case .fail: self = .blocked
        case .skipped, .crashed: self = .none
        }
    }
}

public struct DeviceVerdict: Sendable, Equatable {
    public var verdict: PassVerdict
    /// Doctor's finding title behind the verdict (nil for bridges).
    public var reason: String?
    /// Why the host itself needs this device (the one host-needs policy, `HostNeeds`), shown beside the verdict.
    public var hostNeeds: String?
}

public enum PassVerdicts {
    static let checkID = "device.group-isolation"

    /// One verdict per device. Bridges are bridges (doctor's `device.not-bridge`); every endpoint gets the
    /// group-isolation check with itself as the only target.
    /// `usage`: what the host uses each device for (`HostUsage.load`), as doctor is given it; without it, what
    /// the inventory alone tells.
    public static func compute(_ host: HostModel, quirks: [DeviceQuirk] = DeviceQuirk.table, usage: HostUsage? = nil) -> [PCIAddress: DeviceVerdict] {
        let usage = usage ?? HostUsage(model: host)
        var out: [PCIAddress: DeviceVerdict] = [:]
        out.reserveCapacity(host.devices.count)
        let check = CheckRegistry.check(checkID)
        for d in host.devices {
            let needs = HostNeeds.verdict(d, host: host, usage: usage).isHostCritical() ? HostNeeds.verdict(d, host: host, usage: usage).reason : nil
            if d.isBridge {
                out[d.address] = DeviceVerdict(verdict: .bridge, reason: nil, hostNeeds: needs)
                continue
            }
            guard let check else {
                out[d.address] = DeviceVerdict(verdict: .none, reason: "doctor has no \(checkID) check", hostNeeds: needs)
                continue
            }
            let findings = check.run(CheckContext(host: host, targets: [d.address], quirks: quirks, usage: usage))
            let mine = findings.first { $0.subjects.first == d.address } ?? findings.first
            let verdict = mine.map { PassVerdict($0.status) } ?? .none
            out[d.address] = DeviceVerdict(verdict: verdict, reason: mine?.title, hostNeeds: needs)
        }
        return out
    }
}
