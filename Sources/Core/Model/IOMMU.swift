/// What the host shows about its IOMMU (sysfs `/sys/class/iommu`, `/sys/kernel/iommu_groups`, ACPI tables).
public struct IOMMUState: Sendable {
    public enum Vendor: String, Sendable { case intel, amd }

    /// Groups exist: the kernel runs an IOMMU driver that can isolate devices.
    public var enabled: Bool { !groups.isEmpty }
    public var vendor: Vendor?
    /// IOMMU units (`dmar0`, `ivhd0`).
    public var units: [String] = []
    /// ACPI table present (`/sys/firmware/acpi/tables/DMAR` or `IVRS`): firmware describes an IOMMU.
    public var firmwareTable: Vendor?
    public var groups: [IOMMUGroup] = []
    public var interruptRemapping: Fact<Bool> = .unknown(how: "")
    /// sysfs: `/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts`.
    public var unsafeInterruptsAllowed: Bool?

    public init() {}

    public func group(_ id: Int) -> IOMMUGroup? { groups.first { $0.id == id } }
}

public struct IOMMUGroup: Sendable, Identifiable, Equatable {
    public let id: Int
    public var devices: [PCIAddress]
    /// sysfs: `type` (`DMA`, `DMA-FQ`, `identity`, `blocked`).
    public var type: String?

    public init(id: Int, devices: [PCIAddress], type: String? = nil) {
        self.id = id
        self.devices = devices
        self.type = type
    }
}

/// A fact the host may or may not show. `unknown` says how a user can confirm it.
public enum Fact<Value: Sendable>: Sendable {
    case known(Value, evidence: Evidence)
    case unknown(how: String)

    public var value: Value? {
        if case .known(let v, _) = self { return v }
        return nil
    }
}

extension Fact: Equatable where Value: Equatable {}

/// What was seen where: a file (or command) and the value read from it.
public struct Evidence: Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var value: String

    public init(_ source: String, _ value: String) {
        self.source = source
        self.value = value
    }

    public var description: String { "\(source): \(value)" }
}
