/// Which functions of a host are candidates for passthrough, and their verdicts, from the existing checks.
enum FleetPolicy {
    static let hostCheckIDs = ["iommu.enabled", "iommu.interrupt-remapping", "iommu.acs-override"]

    /// Endpoints a VM would be given: displays, network, storage, USB, audio and accelerators, and anything
    /// already on vfio-pci. The other functions of a graphics card (audio, USB-C) are not rows of their own:
    /// they go with the card.
    static func isCandidate(_ d: PCIDevice, in host: HostModel) -> Bool {
        guard !d.isBridge, d.classIsKnown, PCIID(d) != nil else { return false }
        if d.isBoundToVFIO { return true }
        let c = d.pciClass
        if c.isDisplay { return true }
        let onGraphicsCard = host.devices.contains { $0.address.slot == d.address.slot && $0.pciClass.isDisplay }
        if onGraphicsCard { return false }
        // 0x12: processing accelerators (PCI Code and ID Assignment r1.x).
        return c.isNetwork || c.isStorage || c.isUSB || c.isAudio || c.base == 0x12
    }

    static func evaluate(_ node: FleetNode) -> FleetNodeReport {
        let host = node.host
        let hostContext = CheckContext(host: host, targets: [])
        let blockers = hostCheckIDs.compactMap { CheckRegistry.check($0) }.flatMap { $0.run(hostContext) }
            .filter { $0.status == .fail || $0.status == .warn }
        let hostFailure = blockers.first { $0.status == .fail }
        var devices: [FleetDevice] = []
        var covered = Set<PCIAddress>()
        for d in host.devices where isCandidate(d, in: host) && !covered.contains(d.address) {
            guard let id = PCIID(d) else { continue }
            let device = evaluateDevice(d, id: id, host: host, facts: node.facts, hostFailure: hostFailure)
            // One row per card: a vfio-bound audio function already listed with its GPU is not listed again.
            device.functions.forEach { covered.insert($0) }
            devices.append(device)
        }
        return FleetNodeReport(name: node.name, hostBlockers: blockers, devices: devices, host: host, facts: node.facts)
    }

    static func evaluateDevice(_ d: PCIDevice, id: PCIID, host: HostModel, facts: BindFacts, hostFailure: Finding?) -> FleetDevice {
        let sameSlot = host.iommu.enabled
            ? host.groupMembers(of: d.address).filter { !$0.isBridge && $0.address.slot == d.address.slot }
            : host.devices.filter { !$0.isBridge && $0.address.slot == d.address.slot }
        let functions = Set(sameSlot.map(\.address) + [d.address]).sorted()
        var drivers: [PCIAddress: String] = [:]
        for a in functions { if let f = host.device(a), let drv = f.driver, !f.isBoundToVFIO { drivers[a] = drv } }
        let subsystem: PCIID? = d.subsystemVendorID.flatMap { v in d.subsystemDeviceID.map { PCIID(vendor: v, device: $0) } }
        var device = FleetDevice(address: d.address, id: id, subsystem: subsystem, group: d.iommuGroup, numaNode: d.numaNode,
                                 functions: functions, verdict: .passable, groupFinding: nil, bindRefusals: [], drivers: drivers)
        if let hostFailure {
            device.verdict = .blocked(reason: hostFailure.check == "iommu.enabled" ? "no IOMMU on this node" : "no interrupt remapping on this node")
            return device
        }
        // The group: DeviceChecks' device.group-isolation decides.
        let finding = CheckRegistry.check("device.group-isolation")?.run(CheckContext(host: host, targets: [d.address]))
            .first { $0.subjects.first == d.address || $0.status == .skipped }
        device.groupFinding = finding
        var others: [PCIAddress] = []
        switch finding?.status {
        case .fail?:
            let members = (finding?.subjects.dropFirst()).map(Array.init) ?? []
            device.verdict = .blocked(reason: d.iommuGroup == nil
                ? "in no IOMMU group"
                : "IOMMU group \(d.iommuGroup ?? -1) also holds devices the host needs: " + members.map(\.description).joined(separator: ", "))
            return device
        case .warn?:
            guard let gid = d.iommuGroup, let finding else {
                device.verdict = .blocked(reason: "its IOMMU group cannot be read")
                return device
            }
            let members = finding.subjects.dropFirst().compactMap { host.device($0) }
            if members.contains(where: { !$0.classIsKnown || $0.unparsed("vendor") != nil }) {
                device.verdict = .blocked(reason: "IOMMU group \(gid) holds devices that cannot be identified")
                return device
            }
            others = members.map(\.address)
            device.verdict = .passableWithGroup(others: others)
        case .crashed?, nil:
            device.verdict = .blocked(reason: "the group check could not run")
            return device
        default:
            break
        }
        // The device and its own functions: BindPlanner knows what the host uses (display, root, route, in use).
        if let plan = try? BindPlanner.plan([d.address] + others, host: host, facts: facts) {
            var own: [String] = []
            for r in plan.refusals {
                switch r {
                case .display(let a, let reason) where functions.contains(a):
                    own.append(a == d.address ? reason : "\(a) is \(reason)")
                case .hostCritical(_, let member, let reason) where functions.contains(member):
                    own.append(member == d.address ? reason : "\(member) is \(reason)")
                case .noIOMMU, .noInterruptRemapping:
                    continue
                default:
                    device.bindRefusals.append(r.description)
                }
            }
            if !own.isEmpty {
                device.verdict = .blocked(reason: "the host needs it: " + own.joined(separator: "; "))
            }
        }
        return device
    }
}
