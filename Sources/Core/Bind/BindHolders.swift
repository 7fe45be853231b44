/// Who holds a function that a bind is about to unbind, and what that unbind then does: several drivers wait in
/// their remove callback until every open file is closed, so the write to `unbind` never returns (the single-GPU
/// "black screen, bind hangs" of nvidia and snd_hda_intel); the others pull the device from under the holders.
public struct HeldFunction: Sendable, Equatable {
    public var address: PCIAddress
    /// The driver the unbind step takes it from.
    public var driver: String
    /// "kwin_wayland (PID 1200): /dev/dri/card1, /dev/nvidia0": only the function's own nodes.
    public var holders: [String]
    /// True when every holder is a display server or runs in the display manager's unit: `--take-display` stops
    /// the display manager before the unbind.
    public var onlyDisplayServers: Bool
    /// The module the display handoff unloads instead of unbinding this function.
    public var unloadedModule: String?

    public init(address: PCIAddress, driver: String, holders: [String], onlyDisplayServers: Bool, unloadedModule: String? = nil) {
        self.unloadedModule = unloadedModule
        self.address = address
        self.driver = driver
        self.holders = holders
        self.onlyDisplayServers = onlyDisplayServers
    }

    /// What the unbind does while the holders keep their files open (drivers' remove paths:
    /// nvidia `nv_pci_remove` waits for the usage count, ALSA `snd_card_disconnect_sync` waits for the files,
    /// DRM drivers unplug the device under the open file).
    public static func consequence(driver: String) -> String {
        switch driver {
        case "nvidia":
            "the nvidia driver's unbind waits until every handle is closed: the write to unbind hangs and the GPU stays half-removed"
        case let d where d.hasPrefix("snd_") || d.hasPrefix("snd-"):
            "\(d)'s unbind waits until every open sound file is closed: the write to unbind hangs"
        case "amdgpu", "radeon", "nouveau", "i915", "xe":
            "\(driver)'s unbind with open card or render nodes hangs or leaves them on a dead device (a compositor freezes or crashes)"
        default:
            "unbinding it from \(driver) pulls the device from under them (a compositor loses its screen)"
        }
    }

    /// Whether the driver's unbind blocks until the holders close their files (rather than only surprising them).
    public static func blocks(driver: String) -> Bool {
        driver == "nvidia" || driver.hasPrefix("snd_") || driver.hasPrefix("snd-") || ["amdgpu", "radeon", "nouveau", "i915", "xe"].contains(driver)
    }

    public var sentence: String {
        "\(address) is held by " + holders.joined(separator: "; ") + ": "
            + (unloadedModule.map { "the display handoff unloads \($0), which fails while they keep it open" } ?? Self.consequence(driver: driver))
            + "; close them first ('vfioctl holders \(address)' shows them, and how to keep a compositor on another GPU)"
    }
}

extension BindPlan {
    /// The functions whose holders matter, with their driver: those this plan unbinds from a driver that stays
    /// loaded (a `device` unbind step: the unbind hangs or pulls the device from under the holders), and those whose
    /// module the display handoff unloads, with that module (`modprobe -r` fails while a node is open, after the
    /// console was handed over).
    public func holderChecks(host: HostModel, facts: BindFacts) -> [(address: PCIAddress, driver: String, module: String?)] {
        var out: [(address: PCIAddress, driver: String, module: String?)] = []
        for step in steps {
            guard let r = step.record else { continue }
            if r.kind == .device, r.step == "unbind", let text = r.address, let a = PCIAddress(text),
               let driver = r.originalDriver ?? host.device(a)?.driver {
                out.append((a, driver, nil))
            } else if r.kind == .display, r.step == "module-unload", let module = r.original {
                for (driver, m) in facts.driverModules.sorted(by: { $0.key < $1.key }) where m == module {
                    for a in facts.driverDevices[driver] ?? [] where !out.contains(where: { $0.address == a }) {
                        out.append((a, driver, module))
                    }
                }
            }
        }
        return out
    }

    /// Adds a refusal for each function a process holds (its own nodes; the shared NVIDIA nodes do not pin one GPU).
    /// With `--take-display`, display servers alone are only a warning: the handoff stops the display manager, and
    /// with it the session, before any unbind. `--force` turns the refusals into warnings.
    public mutating func judgeHolders(_ held: [HeldFunction], options: BindOptions) {
        for h in held where !h.holders.isEmpty {
            if takeDisplay && h.onlyDisplayServers {
                holderWarnings.append(h.sentence + " (the display manager is stopped first, which should close them)")
            } else {
                refusals.append(.held(h))
            }
        }
        allowed = options.force || refusals.allSatisfy { options.takeDisplay && $0.liftedByTakeDisplay }
    }
}

extension HeldFunction {
    /// The holders of `address`'s own nodes in a report of its slot.
    /// `stoppedUnit`: the display manager's unit the handoff stops first; its processes count as display servers.
    public static func from(_ report: HolderReport, address: PCIAddress, driver: String, stoppedUnit: String? = nil) -> HeldFunction {
        let own = report.holders.compactMap { h -> (line: String, display: Bool)? in
            let nodes = h.nodes.filter { $0.address == address && !$0.isShared }
            guard !nodes.isEmpty else { return nil }
            let stopped = h.unit.flatMap { $0 == stoppedUnit ? $0 : nil }
            return ("\(h.command) (PID \(h.pid)\(stopped.map { ", \($0)" } ?? "")): " + nodes.map(\.path).joined(separator: ", "), h.compositor != nil || stopped != nil)
        }
        return HeldFunction(address: address, driver: driver, holders: own.map(\.line),
                            onlyDisplayServers: !own.isEmpty && own.allSatisfy(\.display))
    }
}
