/// `vfioctl bind`'s plan: which functions go to vfio-pci (the named ones and every other endpoint of their IOMMU
/// groups; bridges keep their driver), what is refused and why, and the exact steps in order (DOMAIN §4, the
/// order driverctl uses: `driver_override`, unbind, `drivers_probe`, then confirm the `driver` link).
public struct BindPlan: Sendable, Equatable {
    public var targets: [PCIAddress] = []
    /// Endpoints to move to vfio-pci, in address order.
    public var devices: [PCIAddress] = []
    /// Endpoints already on vfio-pci: nothing to do.
    public var alreadyBound: [PCIAddress] = []
    /// Bridges in the groups: they keep their driver.
    public var bridgesKept: [PCIAddress] = []
    public var groups: [Int] = []
    /// Everything that stops the bind unless forced (kept when forced, to be printed as warnings).
    public var refusals: [BindRefusal] = []
    /// Whether the plan may run: no refusal, or all of them lifted by the flags.
    public var allowed = true
    public var steps: [HandoffStep] = []
    /// `--take-display` was given: the display refusals no longer count as the host's needs.
    public var takeDisplay = false
    /// Holders that do not stop the plan (display servers the handoff stops, or any with `--force`), as sentences.
    public var holderWarnings: [String] = []

    public var isNoOp: Bool { steps.isEmpty }

    /// `vfioctl bind --dry-run --json`: `{"steps": [...], "refusals": [{"device", "hostCritical", "reason"}]}`.
    /// A refusal of the whole host (no IOMMU) is listed once per named device.
    public var json: JSON {
        let refused: [JSON] = refusals.flatMap { r -> [JSON] in
            let devices = r.device.map { [$0] } ?? targets
            return devices.map { a in
                .object([("device", .string(a.description)), ("hostCritical", .bool(r.isHostCritical(displayHandoff: takeDisplay))),
                         ("reason", .string(r.description))])
            }
        }
        let listed: [JSON] = steps.map { s in
            let action: JSON
            switch s.action {
            case .write(let path, let value)?: action = .object([("write", .string(path)), ("value", .string(value))])
            case .run(let argv)?: action = .object([("run", .strings(argv))])
            case nil: action = .null
            }
            return .object([("summary", .string(s.summary)), ("action", action), ("onlyIf", .optional(s.onlyIf?.description)),
                            ("waitFor", .strings(s.waitFor.map(\.description))), ("notRun", .optional(s.refusal))])
        }
        return .object([("steps", .array(listed)), ("refusals", .array(refused))])
    }
}

public struct BindOptions: Sendable, Equatable {
    public var force = false
    public var takeDisplay = false
    public init(force: Bool = false, takeDisplay: Bool = false) {
        self.force = force
        self.takeDisplay = takeDisplay
    }
}

public struct BindPlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

public enum BindPlanner {
    public static func plan(_ targets: [PCIAddress], host: HostModel, facts: BindFacts,
                            options: BindOptions = BindOptions()) throws(BindPlanError) -> BindPlan {
        var plan = BindPlan()
        plan.targets = targets
        for a in targets where host.device(a) == nil {
            throw BindPlanError(description: "no PCI device \(a) (/sys/bus/pci/devices/\(a) missing; vfioctl list shows the devices)")
        }
        if !host.iommu.enabled { plan.refusals.append(.noIOMMU) }
        if host.iommu.enabled, host.iommu.interruptRemapping.value == false, host.iommu.unsafeInterruptsAllowed != true {
            plan.refusals.append(.noInterruptRemapping)
        }

        // The members: each target's whole group (or the target alone without IOMMU).
        var members: [PCIAddress: PCIAddress] = [:]   // member → the target that brought it
        var judged: [PCIAddress: PCIAddress] = [:]    // members and group-less targets: what HostNeeds is asked about
        for a in targets {
            guard let d = host.device(a) else { continue }
            if d.isBridge { plan.refusals.append(.bridge(a)); continue }
            guard host.iommu.enabled else { members[a] = members[a] ?? a; continue }
            guard let g = d.iommuGroup else {
                plan.refusals.append(.noGroup(a))
                judged[a] = judged[a] ?? a
                continue
            }
            if !plan.groups.contains(g) { plan.groups.append(g) }
            members[a] = a
            for m in host.groupMembers(of: a) where members[m.address] == nil { members[m.address] = a }
        }
        plan.groups.sort()
        judged.merge(members) { kept, _ in kept }

        for address in judged.keys.sorted() {
            guard let d = host.device(address), let target = judged[address] else { continue }
            if d.isBridge { plan.bridgesKept.append(address); continue }
            if case .needed(let reason, let display) = HostNeeds.verdict(d, host: host, usage: facts.usage) {
                plan.refusals.append(display ? .display(address, reason: reason)
                                             : .hostCritical(target: target, member: address, reason: reason))
            }
            guard members[address] != nil else { continue }
            if d.isBoundToVFIO { plan.alreadyBound.append(address) } else { plan.devices.append(address) }
        }
        plan.takeDisplay = options.takeDisplay
        plan.allowed = options.force || plan.refusals.allSatisfy { options.takeDisplay && $0.liftedByTakeDisplay }

        let displays = plan.devices.compactMap { host.device($0) }.filter { showsConsole($0, facts: facts) }
        var unloaded: Set<String> = []
        if options.takeDisplay, let display = displays.first {
            let (steps, modules) = DisplayHandoff.steps(for: display, devices: plan.devices, host: host, facts: facts)
            plan.steps += steps
            unloaded = modules
        }
        for address in plan.devices {
            guard let d = host.device(address) else { continue }
            let driverGone = d.driver.map { facts.driverModules[$0].map(unloaded.contains) ?? false } ?? false
            plan.steps += deviceSteps(d, driverAtBind: driverGone ? nil : d.driver)
        }
        for g in plan.groups where !plan.devices.isEmpty {
            plan.steps.append(HandoffStep(waitFor: [.exists(PCIDriverPaths.vfioGroup(g))], summary: "group \(g): \(PCIDriverPaths.vfioGroup(g)) ready"))
        }
        return plan
    }

    /// The three writes of one device, each journaled first with the device's originals.
    static func deviceSteps(_ d: PCIDevice, driverAtBind: String?) -> [HandoffStep] {
        let a = d.address
        func record(_ step: String, _ path: String, _ value: String) -> BindRecord {
            BindRecord(kind: .device, step: step, address: a.description, group: d.iommuGroup, originalDriver: d.driver,
                       originalOverride: d.driverOverride, path: path, value: value)
        }
        var steps: [HandoffStep] = []
        if d.driverOverride != PCIDriverPaths.vfioPCI {
            let p = PCIDriverPaths.driverOverride(a)
            steps.append(HandoffStep(record: record("driver_override", p, PCIDriverPaths.vfioPCI),
                                     action: .write(path: p, value: PCIDriverPaths.vfioPCI),
                                     summary: "\(a): driver_override ← vfio-pci"))
        }
        if let drv = driverAtBind {
            let p = PCIDriverPaths.unbind(a)
            steps.append(HandoffStep(record: record("unbind", p, a.description), action: .write(path: p, value: a.description),
                                     waitFor: [.driver(a, nil)], summary: "\(a): unbind from \(drv)"))
        }
        let p = PCIDriverPaths.driversProbe
        steps.append(HandoffStep(record: record("drivers_probe", p, a.description), action: .write(path: p, value: a.description),
                                 waitFor: [.driver(a, PCIDriverPaths.vfioPCI)], summary: "\(a): probe → vfio-pci"))
        return steps
    }

    /// A display function showing the console (HostNeeds' test, on the facts bind read).
    static func showsConsole(_ d: PCIDevice, facts: BindFacts) -> Bool {
        HostNeeds.showsConsole(d, framebuffers: facts.framebuffers)
    }
}
