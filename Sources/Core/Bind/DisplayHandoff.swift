/// The single-GPU handoff (`vfioctl bind --take-display`): free the console's GPU before vfio-pci takes it.
/// In order: stop the display manager, unbind the framebuffer vtconsoles (fbcon), release the firmware
/// framebuffers (efifb, vesafb, simplefb/simpledrm), unload the GPU's DRM driver when it holds nothing else.
/// Each step is journaled with what undoes it; `restore` runs them backwards.
public enum DisplayHandoff {
    /// The steps, and the modules they unload (their devices need no unbind afterwards).
    static func steps(for display: PCIDevice, devices: [PCIAddress], host: HostModel, facts: BindFacts)
        -> (steps: [HandoffStep], unloadedModules: Set<String>) {
        let owner = display.address.description
        func record(_ step: String, path: String?, value: String?, original: String) -> BindRecord {
            BindRecord(kind: .display, step: step, address: owner, path: path, value: value, original: original)
        }
        var steps: [HandoffStep] = []
        // Unload only when every device the driver holds (its sysfs folder, the whole host's truth) is being
        // handed over: another GPU on the same driver keeps it loaded, and our device is then simply unbound like
        // any other. A listing that could not be read, or that lacks the display itself, keeps the module.
        var unload: (module: String, holds: [PCIAddress])?
        if let drv = display.driver, let module = facts.driverModules[drv], HostCommandNames.isModule(module),
           let holds = facts.driverDevices[drv], holds.contains(display.address), holds.allSatisfy(devices.contains) {
            unload = (module, holds)
        }
        // A tree's link could name anything; only a unit name reaches systemctl.
        if let unit = facts.displayManagerUnit, HostCommandNames.isUnit(unit) {
            steps.append(HandoffStep(record: record("stop-unit", path: nil, value: nil, original: unit),
                                     action: .run(["systemctl", "stop", unit]),
                                     onlyIf: .succeeds(["systemctl", "is-active", "--quiet", unit]),
                                     summary: "stop the display manager \(unit)"))
        }
        if let unload {
            // `modprobe -r` fails while any process keeps a node of the driver's devices open, and by then the
            // console is already gone (a framebuffer console unbound while its driver stays loaded may not bind
            // again: the kernel rebinds fbcon only from a system console driver, and some hosts have none). So
            // once the display manager is down, nothing may hold them before the console is touched.
            steps.append(HandoffStep(waitFor: [.unheld(unload.holds)],
                                     summary: "nothing holds \(unload.holds.map(\.description).joined(separator: ", ")) open (else 'modprobe -r \(unload.module)' fails)"))
        }
        for vtcon in facts.boundFramebufferConsoles {
            let p = "/sys/class/vtconsole/\(vtcon)/bind"
            steps.append(HandoffStep(record: record("vtcon-unbind", path: p, value: "0", original: "1"),
                                     action: .write(path: p, value: "0"), waitFor: [.reads(p, "0")],
                                     summary: "unbind the framebuffer console \(vtcon)"))
        }
        for fb in facts.firmwareFramebuffers {
            let p = "/sys/bus/platform/drivers/\(fb.driver)/unbind"
            steps.append(HandoffStep(record: record("fb-unbind", path: p, value: fb.device, original: fb.device),
                                     action: .write(path: p, value: fb.device),
                                     waitFor: [.absent("/sys/bus/platform/devices/\(fb.device)/driver")],
                                     summary: "release the firmware framebuffer \(fb.device) (\(fb.driver))"))
        }
        var unloaded: Set<String> = []
        if let (module, holds) = unload {
            // The modules holding it go first (NVIDIA: nvidia_drm, nvidia_modeset, nvidia_uvm, then nvidia):
            // `modprobe -r nvidia` alone fails while they use it. Each only if still loaded, since
            // `modprobe -r` also takes out dependencies nothing uses any more.
            let stack = moduleStack(module, holders: facts.moduleHolders)
            for m in stack {
                steps.append(HandoffStep(record: record("module-unload", path: nil, value: nil, original: m),
                                         action: .run(["modprobe", "-r", m]), onlyIf: .exists("/sys/module/\(m)"),
                                         waitFor: [.absent("/sys/module/\(m)")],
                                         summary: m == module ? "unload \(module), the DRM driver holding \(display.address)"
                                             : "unload \(m), which holds \(module)"))
            }
            steps.append(HandoffStep(waitFor: [.absent("/sys/module/\(module)")] + holds.map { .driver($0, nil) },
                                     summary: "\(module) unloaded: \(holds.map(\.description).joined(separator: ", ")) free"))
            unloaded.formUnion(stack)
        }
        return (steps, unloaded)
    }

    /// `module` and every module holding it (`/proc/modules` "used by", transitively), each after all of its
    /// holders: the order `modprobe -r` accepts them in. Restore loads them in reverse.
    static func moduleStack(_ module: String, holders: [String: [String]]) -> [String] {
        var order: [String] = []
        var seen: Set<String> = []
        func visit(_ m: String, depth: Int) {
            guard depth < 16, HostCommandNames.isModule(m), seen.insert(m).inserted else { return }
            for h in (holders[m] ?? []).sorted() { visit(h, depth: depth + 1) }
            order.append(m)
        }
        visit(module, depth: 0)
        return order
    }

    /// The step that undoes a display record.
    static func undo(_ r: BindRecord) -> HandoffStep? {
        let closes = [BindRecord(kind: .restored, step: r.key)]
        switch r.step {
        case "stop-unit":
            guard let unit = r.original else { return nil }
            guard HostCommandNames.isUnit(unit) else {
                return HandoffStep(summary: "start the display manager",
                                   refusal: "the journal names '\(unit)' as the display manager's unit, which is not a systemd unit name; nothing was run (start it by hand)")
            }
            return HandoffStep(action: .run(["systemctl", "start", unit]), closes: closes, summary: "start the display manager \(unit)")
        case "vtcon-unbind":
            guard let p = r.path, let v = r.original else { return nil }
            return HandoffStep(action: .write(path: p, value: v), waitFor: [.reads(p, v)], closes: closes,
                               summary: "bind the framebuffer console again (\(p))")
        case "fb-unbind":
            guard let p = r.path, let dev = r.original else { return nil }
            let bind = HostPath.parent(p) + "/bind"
            return HandoffStep(action: .write(path: bind, value: dev), waitFor: [.exists("/sys/bus/platform/devices/\(dev)/driver")],
                               closes: closes, summary: "give the firmware framebuffer \(dev) back")
        case "module-unload":
            guard let module = r.original else { return nil }
            guard HostCommandNames.isModule(module) else {
                return HandoffStep(summary: "load the unloaded module again",
                                   refusal: "the journal names '\(module)' as an unloaded module, which is not a module name; nothing was run (modprobe it by hand)")
            }
            return HandoffStep(action: .run(["modprobe", module]), waitFor: [.exists("/sys/module/\(module)")], closes: closes,
                               summary: "load \(module) again")
        default:
            return nil
        }
    }
}
