/// Where a card could go: for each GPU (or `--device`), the other root ports and switch downstream ports of the
/// board and whether a card there would get an IOMMU group of its own, from the topology (which port each device
/// hangs off), the port's current group and its ACS capability (PCIe r4.0 §7.7.7).
public struct SlotAdvice: Sendable {
    /// One root port or switch downstream port, and what a card plugged in below it would get.
    public struct Port: Sendable {
        public var port: PCIAddress
        public var portKind: String
        public var isolated: Bool
        /// Why (isolated or not), in words.
        public var reason: String
        /// The port's ACS capability in words.
        public var acs: String
        /// Endpoints below the port today (a card moved there replaces them).
        public var occupants: [PCIAddress]
        public var link: String?
    }

    public var device: PCIAddress
    public var verdict: PassVerdict
    /// The port the card's slot hangs off, nil for devices on the root complex itself (integrated).
    public var currentPort: PCIAddress?
    public var group: Int?
    /// Ports elsewhere on the board (not above this device) where it would be isolated.
    public var isolatedElsewhere: [PCIAddress]
    /// What `pcie_acs_override` would cost for this card, in words.
    public var acsOverride: String

    /// Every target: `--device` addresses, or one display function per GPU card.
    public static func targets(_ input: ReportInput) -> [PCIAddress] {
        if !input.focus.isEmpty { return input.focus }
        var slots = Set<PCIAddress>()
        return input.host.devices.filter { $0.pciClass.isDisplay && !$0.isBridge && slots.insert($0.address.slot).inserted }.map(\.address)
    }

    static func portType(_ d: PCIDevice) -> PCICapabilities.Express.PortType? { d.capabilities?.express?.portType }

    /// Ports that are slots: every root port and switch downstream port that declares one (PCIe Capabilities
    /// "Slot Implemented"; all of them when none declares it, as when configuration space is not readable),
    /// except the lone downstream port of a one-port switch (the bridge on a card: Navi GPUs carry one) and
    /// ports with slots below them (a root port leading to a switch on the board).
    static func slotPorts(_ host: HostModel) -> [PCIDevice] {
        let ports = host.devices.filter { portType($0) == .rootPort || portType($0) == .downstreamPort }
        var downstreamPerSwitch: [PCIAddress: Int] = [:]
        for p in ports where portType(p) == .downstreamPort {
            if let up = p.upstreamBridges.first { downstreamPerSwitch[up, default: 0] += 1 }
        }
        let boardPorts = ports.filter { p in
            guard portType(p) == .downstreamPort, let up = p.upstreamBridges.first else { return true }
            return (downstreamPerSwitch[up] ?? 0) > 1
        }
        let declared = boardPorts.filter { $0.capabilities?.express?.slotImplemented == true }
        let slots = declared.isEmpty ? boardPorts : declared
        // A port leading to a switch on the board is not a slot itself: the switch's ports are.
        let hasSlotBelow = Set(slots.flatMap(\.upstreamBridges))
        return slots.filter { !hasSlotBelow.contains($0.address) }
    }

    /// Every slot port of the board with what a card there would get.
    public static func ports(_ host: HostModel) -> [Port] {
        let ports = slotPorts(host)
        let portSet = Set(ports.map(\.address))
        var below: [PCIAddress: [PCIDevice]] = [:]
        for d in host.devices {
            for b in d.upstreamBridges where portSet.contains(b) { below[b, default: []].append(d) }
        }
        var groupOf: [Int: [PCIDevice]] = [:]
        for d in host.devices { if let g = d.iommuGroup { groupOf[g, default: []].append(d) } }
        return ports.map { candidate($0, below: below[$0.address] ?? [], groupOf: groupOf, host: host) }
    }

    public static func advise(_ input: ReportInput, ports: [Port]) -> [SlotAdvice] {
        let host = input.host
        let portSet = Set(ports.map(\.port))
        return targets(input).compactMap { address in
            guard let d = host.device(address) else { return nil }
            let verdict = input.verdicts[address]?.verdict ?? .none
            let current = d.upstreamBridges.last { portSet.contains($0) } ?? d.upstreamBridges.last
            let chain = Set(d.upstreamBridges)
            let elsewhere = current == nil ? [] : ports.filter { $0.isolated && !chain.contains($0.port) }.map(\.port)
            return SlotAdvice(device: address, verdict: verdict, currentPort: current, group: d.iommuGroup,
                              isolatedElsewhere: elsewhere, acsOverride: acsCost(d, verdict: verdict, host: host))
        }
    }

    static func candidate(_ p: PCIDevice, below: [PCIDevice], groupOf: [Int: [PCIDevice]], host: HostModel) -> Port {
        let inside = Set(below.map(\.address)).union([p.address])
        let occupants = below.filter { !$0.isBridge }.map(\.address)
        // Endpoints outside this port that share a group with the port or with anything below it: a card in
        // this slot would have to go to the VM with them.
        var sharers: [PCIDevice] = []
        var seen = Set<PCIAddress>()
        let groups = Set(([p] + below).compactMap(\.iommuGroup))
        for g in groups.sorted() {
            for m in groupOf[g] ?? [] where !inside.contains(m.address) && !m.isBridge && seen.insert(m.address).inserted {
                sharers.append(m)
            }
        }
        let acs = p.capabilities?.acs
        let kind = p.capabilities?.express?.portType.label ?? "port"
        let acsWords: String
        if let acs {
            acsWords = acs.isolates ? "on" : "present, isolation bits off (control 0x\(hex(acs.control, width: 4)))"
        } else if p.capabilities == nil || p.capabilities?.truncated == true {
            acsWords = "unknown (configuration space not readable: run as root)"
        } else {
            acsWords = "none"
        }
        let link = p.link.flatMap { l -> String? in
            guard let w = l.maxWidth else { return l.maxSpeed }
            return "x\(w)" + (l.maxSpeed.map { " \($0)" } ?? "")
        }
        let isolated: Bool
        var reason: String
        if p.iommuGroup == nil && below.allSatisfy({ $0.iommuGroup == nil }) {
            isolated = false
            reason = "not covered by an IOMMU group"
        } else if sharers.isEmpty {
            isolated = true
            reason = "own group"
        } else {
            isolated = false
            let critical = sharers.compactMap { s in hostNeeds(s, host).map { "\(s.address) (\($0))" } }
            let list = cards(sharers)
            reason = "shares group \(groups.sorted().map(String.init).joined(separator: ", ")) with \(list)"
            if !critical.isEmpty { reason += ". The host needs " + critical.joined(separator: ", ") + ": blocked" }
        }
        return Port(port: p.address, portKind: kind, isolated: isolated, reason: reason, acs: acsWords, occupants: occupants, link: link)
    }

    /// Why the host needs `d` (the one policy, `HostNeeds`), judged from the inventory: the ports' words do not
    /// depend on mounts, and the devices' own verdicts (`PassVerdicts`) are computed with the full usage.
    static func hostNeeds(_ d: PCIDevice, _ host: HostModel) -> String? {
        let verdict = HostNeeds.verdict(d, host: host, usage: HostUsage(model: host))
        return verdict.isHostCritical() ? verdict.reason : nil
    }

    /// Devices as cards: one entry per slot (its first function's name), at most six.
    static func cards(_ devices: [PCIDevice]) -> String {
        var order: [PCIAddress] = []
        var bySlot: [PCIAddress: [PCIDevice]] = [:]
        for d in devices {
            if bySlot[d.address.slot] == nil { order.append(d.address.slot) }
            bySlot[d.address.slot, default: []].append(d)
        }
        let shown = order.prefix(6).compactMap { slot -> String? in
            guard let fns = bySlot[slot], let first = fns.first else { return nil }
            return "\(first.address) \(PCITreeSVG.displayName(first))" + (fns.count > 1 ? " (\(fns.count) functions)" : "")
        }
        return shown.joined(separator: "; ") + (order.count > 6 ? "; and \(order.count - 6) more cards" : "")
    }

    /// The price of `pcie_acs_override=downstream,multifunction` for this card, in words.
    static func acsCost(_ d: PCIDevice, verdict: PassVerdict, host: HostModel) -> String {
        let inUse = host.cmdline.values("pcie_acs_override")
        let already = inUse.isEmpty ? "" : " This host already boots with pcie_acs_override=\(inUse.joined(separator: ",")): its groups are not real isolation."
        guard host.iommu.enabled else { return "No IOMMU: the override cannot help until the IOMMU is on." + already }
        guard let g = d.iommuGroup else { return "The device is in no IOMMU group; the override does not change that." + already }
        let others = host.groupMembers(of: d.address).filter { !$0.isBridge && $0.address.slot != d.address.slot }
        if others.isEmpty {
            return "Not needed: group \(g) holds only this card's functions." + already
        }
        let critical = others.compactMap { o in hostNeeds(o, host).map { "\(o.address) (\($0))" } }
        var words = "pcie_acs_override=downstream,multifunction would split group \(g) on paper so that \(d.address) goes alone. "
        words += "The cost: the ports above it still do not isolate, so \(others.count == 1 ? "this device" : "these \(others.count) devices") — "
        words += cards(others)
        words += " — can still exchange DMA with the card peer to peer, unseen by the IOMMU: a guest could read or corrupt their traffic. "
        if !critical.isEmpty { words += "Among them the host needs " + critical.joined(separator: ", ") + ". " }
        words += "It also needs a kernel carrying the out-of-tree ACS override patch (Proxmox VE, linux-zen; not the mainline Debian, Fedora or Ubuntu kernels), and doctor then warns (iommu.acs-override)."
        return words + already
    }
}
