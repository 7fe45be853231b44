/// What the host uses its PCI functions for right now, read from procfs/sysfs: the facts `HostNeeds` judges by.
/// Use, not class, decides: an idle SATA controller or a USB controller with nothing plugged in can go to a VM; the
/// one holding `/`, the host's keyboard or the default route cannot.
public struct HostUsage: Sendable, Equatable {
    /// Function → "the root filesystem (/ on /dev/nvme0n1p2)".
    public var rootFilesystem: [PCIAddress: String] = [:]
    /// Function → "the default route (eth0)".
    public var defaultRoute: [PCIAddress: String] = [:]
    /// Functions the host uses now, with why: a mounted, swapped-on or stacked block device, an interface that is
    /// up, a keyboard or mouse behind a USB controller.
    public var inUse: [PCIAddress: String] = [:]
    /// `/proc/fb` lines ("0 EFI VGA", "0 bochs-drmdrmfb").
    public var framebuffers: [String] = []

    public init() {}

    /// What the inventory alone tells (no `/proc/mounts`, no input devices): the default route and the interfaces
    /// that are up, and the framebuffers. For callers given a model but no file reader.
    public init(model host: HostModel) {
        for n in host.network {
            guard let a = n.device else { continue }
            if n.hasDefaultRoute, defaultRoute[a] == nil { defaultRoute[a] = "the default route (\(n.name))" }
            if n.operstate == "up", inUse[a] == nil { inUse[a] = "a network controller in use (\(n.name) is up)" }
        }
        framebuffers = host.framebuffers
    }
}

/// The one answer to "may this function leave the host?", given to doctor, bind, init and plan alike, so they
/// refuse the same devices in the same words.
public enum HostNeedsVerdict: Sendable, Equatable {
    /// Nothing the host uses: it can go to a VM.
    case free
    /// A bridge or root port: it stays with the host and keeps its driver; it is never bound, never refused.
    case bridge
    /// The host needs it. `reason` completes "ADDR is …"; `display` says the single-GPU handoff
    /// (`bind --take-display`) can take it anyway.
    case needed(reason: String, display: Bool)

    /// Whether taking the function away hurts the host. A display stops counting once its handoff is asked for.
    public func isHostCritical(displayHandoff: Bool = false) -> Bool {
        if case .needed(_, let display) = self { return !(display && displayHandoff) }
        return false
    }

    public var reason: String? {
        switch self {
        case .free: nil
        case .bridge: "a bridge (bridges stay with the host; never bound)"
        case .needed(let reason, _): reason
        }
    }
}

public enum HostNeeds {
    /// The verdict on one function. Pure: a function of the inventory and the usage facts.
    ///
    /// Decided by use, not by class: storage counts when it holds a mounted filesystem, swap or a stacked device;
    /// a NIC when it carries the default route or is up; a USB controller when the host's keyboard, mouse or a
    /// mounted disk hangs off it. The platform's own functions (ISA/LPC bridge, SMBus) always count, bound or not.
    /// A function already on vfio-pci is already away from the host.
    public static func verdict(_ d: PCIDevice, host: HostModel, usage: HostUsage) -> HostNeedsVerdict {
        if d.isBridge { return .bridge }
        if d.isBoundToVFIO { return .free }
        if let why = usage.rootFilesystem[d.address] { return .needed(reason: "the controller of \(why)", display: false) }
        if let why = usage.defaultRoute[d.address] { return .needed(reason: "the network controller carrying \(why)", display: false) }
        if d.pciClass.isISABridge { return .needed(reason: "the ISA/LPC bridge (the platform's firmware interface)", display: false) }
        if d.pciClass.isSMBus { return .needed(reason: "the SMBus controller (sensors, memory SPD)", display: false) }
        if d.bootVGA == true { return .needed(reason: "the host's boot display", display: true) }
        if showsConsole(d, framebuffers: usage.framebuffers) { return .needed(reason: "showing the host's console (/proc/fb)", display: true) }
        if let why = usage.inUse[d.address] { return .needed(reason: why, display: false) }
        return .free
    }

    /// A display function whose driver has a framebuffer in `/proc/fb` ("0 bochs-drmdrmfb", "0 amdgpudrmfb").
    public static func showsConsole(_ d: PCIDevice, framebuffers: [String]) -> Bool {
        guard d.pciClass.isDisplay, !d.isBoundToVFIO else { return false }
        if d.bootVGA == true { return true }
        guard let drv = d.driver else { return false }
        return framebuffers.contains { $0.contains(drv) || $0.contains(drv.replacingHyphens()) }
    }

    /// The functions that go with `address` to a VM: its IOMMU group's endpoints, or the function alone when
    /// there is no IOMMU or it is in no group.
    public static func members(of address: PCIAddress, host: HostModel) -> [PCIDevice] {
        guard let d = host.device(address) else { return [] }
        guard host.iommu.enabled, d.iommuGroup != nil else { return d.isBridge ? [] : [d] }
        return host.groupMembers(of: address).filter { !$0.isBridge }
    }

    /// The members of `address`'s group the host needs, with why, in address order.
    public static func critical(around address: PCIAddress, host: HostModel, usage: HostUsage,
                                displayHandoff: Bool = false) -> [(device: PCIDevice, reason: String)] {
        members(of: address, host: host).compactMap { m in
            let v = verdict(m, host: host, usage: usage)
            guard v.isHostCritical(displayHandoff: displayHandoff), let why = v.reason else { return nil }
            return (m, why)
        }
    }
}
