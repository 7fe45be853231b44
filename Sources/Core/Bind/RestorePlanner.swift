/// `vfioctl restore`'s plan, from the journal's originals (not by replaying writes backwards): for each device,
/// newest first, put `driver_override` back *before* anything re-probes, unbind from vfio-pci, bind the original
/// driver; then undo the display steps. Idempotent: a device already as it was gets no write, only its close.
public enum RestorePlanner {
    /// What the device looks like now (read just before planning).
    public struct Current: Sendable, Equatable {
        public var driver: String?
        public var driverOverride: String?
        public init(driver: String?, driverOverride: String?) {
            self.driver = driver
            self.driverOverride = driverOverride
        }
    }

    /// - Parameters:
    ///   - items: held items in the order they were taken (`HeldState.selecting`).
    ///   - current: each held device's driver and override now; a device missing here has gone (hot-unplug)
    ///     and is only closed.
    ///   - driverAvailable: whether `/sys/bus/pci/drivers/NAME` exists now.
    public static func plan(_ items: [HeldState.Item], current: [PCIAddress: Current],
                            driverAvailable: (String) -> Bool) -> [HandoffStep] {
        var steps: [HandoffStep] = []
        var deferredWaits: [HandoffCondition] = []
        var deferredCloses: [BindRecord] = []
        for item in items.reversed() {
            switch item {
            case .display(let r):
                if let undo = DisplayHandoff.undo(r) { steps.append(undo) }
            case .device(let d):
                let a = d.address
                let close = BindRecord(kind: .restored, step: a.description, address: a.description, group: d.group)
                guard let now = current[a] else {
                    steps.append(HandoffStep(closes: [close], summary: "\(a): gone from the bus, nothing to restore"))
                    continue
                }
                var deviceSteps: [HandoffStep] = []
                var deferred = false
                if now.driverOverride != d.originalOverride {
                    let p = PCIDriverPaths.driverOverride(a)
                    // An empty line clears the override (a zero-length write never reaches the kernel).
                    deviceSteps.append(HandoffStep(action: .write(path: p, value: d.originalOverride ?? "\n"),
                                                   summary: "\(a): driver_override ← \(d.originalOverride ?? "(null)")"))
                }
                if let drv = now.driver, drv != d.originalDriver {
                    deviceSteps.append(HandoffStep(action: .write(path: PCIDriverPaths.unbind(a), value: a.description),
                                                   waitFor: [.driver(a, nil)], summary: "\(a): unbind from \(drv)"))
                }
                if let orig = d.originalDriver, now.driver != orig {
                    if driverAvailable(orig) {
                        deviceSteps.append(HandoffStep(action: .write(path: PCIDriverPaths.bind(orig), value: a.description),
                                                       waitFor: [.driver(a, orig)], summary: "\(a): bind to \(orig)"))
                    } else {
                        // Its module was unloaded by the display handoff; loading it again binds the device.
                        deferredWaits.append(.driver(a, orig))
                        deferredCloses.append(close)
                        deferred = true
                    }
                }
                if deviceSteps.isEmpty && !deferred {
                    steps.append(HandoffStep(closes: [close], summary: "\(a): already on \(d.originalDriver ?? "no driver")"))
                } else {
                    if !deferred { deviceSteps[deviceSteps.count - 1].closes = [close] }
                    steps += deviceSteps
                }
            }
        }
        if !deferredWaits.isEmpty {
            steps.append(HandoffStep(waitFor: deferredWaits, closes: deferredCloses, summary: "original drivers bound again"))
        }
        return steps
    }
}
