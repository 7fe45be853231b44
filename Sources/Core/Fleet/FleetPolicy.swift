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
        // One policy (HostNeeds, as doctor and bind use it): the card's own functions first, then the rest of its
        // IOMMU group, which must go to the same VM.
        let usage = facts.usage
        var own: [String] = []
        for a in functions {
            guard let f = host.device(a) else { continue }
            let verdict = HostNeeds.verdict(f, host: host, usage: usage)
            if verdict.isHostCritical(), let reason = verdict.reason { own.append(a == d.address ? reason : "\(a) is \(reason)") }
        }
        if !own.isEmpty {
            device.verdict = .blocked(reason: "the host needs it: " + own.joined(separator: "; "))
            return device
        }
        guard host.iommu.enabled else { return device }
        guard let gid = d.iommuGroup else {
            device.verdict = .blocked(reason: "in no IOMMU group")
            return device
        }
        let members = host.groupMembers(of: d.address).filter { !$0.isBridge && !functions.contains($0.address) }
        if members.contains(where: { !$0.classIsKnown || $0.unparsed("vendor") != nil }) {
            device.verdict = .blocked(reason: "IOMMU group \(gid) holds devices that cannot be identified")
            return device
        }
        let needed = members.filter { HostNeeds.verdict($0, host: host, usage: usage).isHostCritical() }
        if !needed.isEmpty {
            device.verdict = .blocked(reason: "IOMMU group \(gid) also holds devices the host needs: " + needed.map(\.address.description).joined(separator: ", "))
            return device
        }
        if !members.isEmpty { device.verdict = .passableWithGroup(others: members.map(\.address)) }
        return device
    }
}
