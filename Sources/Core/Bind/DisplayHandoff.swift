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
        if let unit = facts.displayManagerUnit {
            steps.append(HandoffStep(record: record("stop-unit", path: nil, value: nil, original: unit),
                                     action: .run(["systemctl", "stop", unit]),
                                     onlyIf: .succeeds(["systemctl", "is-active", "--quiet", unit]),
                                     summary: "stop the display manager \(unit)"))
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
        if let drv = display.driver, let module = facts.driverModules[drv] {
            // Unload only when every device the driver holds (its sysfs folder, the whole host's truth) is being
            // handed over: another GPU on the same driver keeps it loaded, and our device is then simply unbound like
            // any other. A listing that could not be read, or that lacks the display itself, keeps the module.
            if let holds = facts.driverDevices[drv], holds.contains(display.address), holds.allSatisfy(devices.contains) {
                steps.append(HandoffStep(record: record("module-unload", path: nil, value: nil, original: module),
                                         action: .run(["modprobe", "-r", module]),
                                         waitFor: [.absent("/sys/module/\(module)")] + holds.map { .driver($0, nil) },
                                         summary: "unload \(module), the DRM driver holding \(display.address)"))
                unloaded.insert(module)
            }
        }
        return (steps, unloaded)
    }

    /// The step that undoes a display record.
    static func undo(_ r: BindRecord) -> HandoffStep? {
        let closes = [BindRecord(kind: .restored, step: r.key)]
        switch r.step {
        case "stop-unit":
            guard let unit = r.original else { return nil }
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
            return HandoffStep(action: .run(["modprobe", module]), waitFor: [.exists("/sys/module/\(module)")], closes: closes,
                               summary: "load \(module) again")
        default:
            return nil
        }
    }
}
