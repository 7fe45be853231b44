/// One host of a fleet as a snapshot shows it: its node name (the snapshot's hostname), its model, and what a
/// bind needs to know beyond the model (root filesystem, default route, console).
public struct FleetNode: Sendable {
    public var name: String
    public var host: HostModel
    public var facts: BindFacts

    public init(name: String, host: HostModel, facts: BindFacts = BindFacts()) {
        self.name = name
        self.host = host
        self.facts = facts
    }
}

/// Whether one PCI function of one node can go to a VM.
public enum FleetVerdict: Sendable, Equatable {
    /// Alone in its IOMMU group, or with the other functions of its own card.
    case passable
    /// Its group also holds other cards: they must go to the same VM (DeviceChecks' `device.group-isolation` warn).
    case passableWithGroup(others: [PCIAddress])
    case blocked(reason: String)

    public var label: String {
        switch self {
        case .passable: "passable"
        case .passableWithGroup: "passable with its group"
        case .blocked: "blocked"
        }
    }
}

/// A candidate function on one node and its verdict.
public struct FleetDevice: Sendable {
    public var address: PCIAddress
    public var id: PCIID
    /// sysfs: `subsystem_vendor`, `subsystem_device`.
    public var subsystem: PCIID?
    public var group: Int?
    public var numaNode: Int?
    /// The device and the other functions of its card in its group: what moves to vfio-pci with it.
    public var functions: [PCIAddress]
    public var verdict: FleetVerdict
    /// The finding of `device.group-isolation` the verdict came from (nil when the host level decided).
    public var groupFinding: Finding?
    /// `vfioctl bind`'s refusals for the same functions (BindPlanner); where they concern members of other cards
    /// the group check did not object to, they are kept here and the group check decides.
    public var bindRefusals: [String]
    /// Host driver of each function now (nil: none or vfio-pci).
    public var drivers: [PCIAddress: String]

    public var isPassable: Bool { verdict == .passable }
}

/// The verdicts of one node.
public struct FleetNodeReport: Sendable {
    public var name: String
    /// Failing or warning findings of `iommu.enabled`, `iommu.interrupt-remapping`, `iommu.acs-override`.
    public var hostBlockers: [Finding]
    public var devices: [FleetDevice]
    public var host: HostModel
    public var facts: BindFacts

    /// A host-level failure: nothing on this node can be passed.
    public var hostFails: Bool { hostBlockers.contains { $0.status == .fail } }

    public func devices(_ id: PCIID) -> [FleetDevice] { devices.filter { $0.id == id } }
}

/// A device model (vendor:device) seen on at least one node, with its names from pci.ids.
public struct FleetModel: Sendable, Equatable {
    public var id: PCIID
    public var vendorName: String?
    public var deviceName: String?
    public var className: String?
    public var pciClass: PCIClass

    public init(id: PCIID, vendorName: String?, deviceName: String?, className: String?, pciClass: PCIClass) {
        self.id = id
        self.vendorName = vendorName
        self.deviceName = deviceName
        self.className = className
        self.pciClass = pciClass
    }
}

/// The fleet: every node's verdicts and every device model, in a stable order (models by id, nodes as given).
public struct FleetReport: Sendable {
    public var nodes: [FleetNodeReport]
    public var models: [FleetModel]

    /// Evaluates every node with the project's policy: the host-level IOMMU checks, `device.group-isolation` for
    /// the group, and `BindPlanner`'s refusals for the device and its own functions (boot display, root
    /// filesystem, default route, devices in use).
    public static func evaluate(_ nodes: [FleetNode]) -> FleetReport {
        var models: [PCIID: FleetModel] = [:]
        var reports: [FleetNodeReport] = []
        for node in nodes {
            let report = FleetPolicy.evaluate(node)
            for d in report.devices where models[d.id] == nil {
                guard let pci = node.host.device(d.address) else { continue }
                models[d.id] = FleetModel(id: d.id, vendorName: pci.names.vendor, deviceName: pci.names.device,
                                          className: pci.names.subclassName ?? pci.names.className, pciClass: pci.pciClass)
            }
            reports.append(report)
        }
        return FleetReport(nodes: reports, models: models.values.sorted { $0.id < $1.id })
    }

    /// The same report about `ids` only (an export of the GPUs, not of every passable NIC and USB controller).
    public func restricted(to ids: Set<PCIID>) -> FleetReport {
        var copy = self
        copy.models = models.filter { ids.contains($0.id) }
        for i in copy.nodes.indices { copy.nodes[i].devices = copy.nodes[i].devices.filter { ids.contains($0.id) } }
        return copy
    }

    /// Models with a passable function on at least one node.
    public var exportable: [FleetModel] {
        models.filter { m in nodes.contains { n in n.devices(m.id).contains(where: \.isPassable) } }
    }
}
