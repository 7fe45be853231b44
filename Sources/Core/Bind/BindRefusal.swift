/// Why `vfioctl bind` will not touch a device unless `--force` (or `--take-display`) says so. Each case is a
/// sentence naming the device and the evidence.
public enum BindRefusal: Sendable, Equatable, CustomStringConvertible {
    /// No IOMMU groups: vfio-pci refuses the device and leaves it with no driver.
    case noIOMMU
    /// Interrupt remapping is off and `allow_unsafe_interrupts` is not set: type1 refuses every group.
    case noInterruptRemapping
    case bridge(PCIAddress)
    case noGroup(PCIAddress)
    /// A group member the host needs: the named device (maybe the target itself) and why.
    case hostCritical(target: PCIAddress, member: PCIAddress, reason: String)
    /// The boot display or a device showing the console: needs `--take-display`.
    case display(PCIAddress, reason: String)
    /// A process holds the function's device nodes and the unbind would hang or pull the device from under it.
    case held(HeldFunction)

    /// `--take-display` lifts display refusals; `--force` lifts everything.
    public var liftedByTakeDisplay: Bool {
        if case .display = self { return true }
        return false
    }

    /// The function refused; nil for what refuses every device (no IOMMU, no interrupt remapping).
    public var device: PCIAddress? {
        switch self {
        case .noIOMMU, .noInterruptRemapping: nil
        case .bridge(let a), .noGroup(let a), .display(let a, _): a
        case .hostCritical(_, let member, _): member
        case .held(let h): h.address
        }
    }

    /// Whether the refusal protects something the host needs (`HostNeeds`' verdict), as opposed to a device or
    /// host VFIO cannot use. A display stops counting once its handoff is asked for.
    public func isHostCritical(displayHandoff: Bool) -> Bool {
        switch self {
        case .hostCritical: true
        case .display: !displayHandoff
        case .held: false
        case .noIOMMU, .noInterruptRemapping, .bridge, .noGroup: false
        }
    }

    public var description: String {
        switch self {
        case .noIOMMU:
            "the host has no IOMMU (no /sys/kernel/iommu_groups): vfio-pci would refuse the device and leave it without a driver; enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (vfioctl doctor)"
        case .noInterruptRemapping:
            "interrupt remapping is off and vfio_iommu_type1 allow_unsafe_interrupts is not set: VFIO's type1 IOMMU would refuse the group, so no VM could use the device"
        case .bridge(let a):
            "\(a) is a bridge: bridges stay with the host; bind the endpoints behind it (vfioctl list)"
        case .noGroup(let a):
            "\(a) is in no IOMMU group (/sys/bus/pci/devices/\(a)/iommu_group missing): VFIO cannot use it"
        case .hostCritical(let target, let member, let reason):
            member == target
                ? "\(member) is \(reason): the host needs it"
                : "\(target)'s IOMMU group also holds \(member), \(reason): binding the group would take it from the host"
        case .display(let a, let reason):
            "\(a) is \(reason): binding it blanks the host's screen; use --take-display for the single-GPU handoff (restore gives it back)"
        case .held(let h):
            h.sentence
        }
    }
}
