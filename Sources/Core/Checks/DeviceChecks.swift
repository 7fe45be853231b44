/// Checks about the devices to pass (`--device`, or candidate GPUs): group, driver, display, reset, quirks
/// (DOMAIN §2.5–2.9).
enum DeviceChecks {
    /// Runs `body` for every focus device, or reports why there is nothing to check.
    static func perDevice(_ ctx: CheckContext, _ body: (PCIDevice) -> [Finding]) -> [Finding] {
        let devices = ctx.focusDevices
        guard !devices.isEmpty else {
            return [Finding(status: .skipped, title: "No device selected and no candidate GPU found (use --device ADDR)")]
        }
        return devices.flatMap(body)
    }

    /// The finding naming exactly the functions going with `d` that the host needs (`HostNeeds`), or nil.
    /// Doctor asks whether a device can be passed at all: a display can, through the single-GPU handoff, so it is
    /// weighed as `bind --take-display` weighs it, and `device.boot-display` warns with the handoff as the fix.
    static func hostNeeds(_ d: PCIDevice, _ ctx: CheckContext) -> Finding? {
        let critical = HostNeeds.critical(around: d.address, host: ctx.host, usage: ctx.usage, displayHandoff: true)
        guard !critical.isEmpty else { return nil }
        let gid = ctx.host.iommu.enabled ? d.iommuGroup : nil
        let onlyItself = critical.count == 1 && critical[0].device.address == d.address
        let title = onlyItself ? "\(d.address) is a device the host needs"
            : "\(d.address) shares IOMMU group \(gid.map(String.init) ?? "?") with devices the host needs"
        let evidence = gid.map { g in [Evidence("/sys/kernel/iommu_groups/\(g)/devices", ctx.host.iommu.group(g)?.devices.map(\.description).joined(separator: " ") ?? "")] } ?? []
        return Finding(status: .fail, title: title, subjects: critical.map(\.device.address), evidence: evidence,
                       explanation: (gid == nil ? "" : "Every endpoint of a group goes to the VM together. ")
                           + critical.map { "\($0.device.label) is \($0.reason)" }.joined(separator: "; ") + ".",
                       fix: onlyItself
                           ? "Pass another device: taking \(d.address) away stops the host from working (vfioctl bind refuses it too)."
                           : "Move the card to a slot with its own group (vfioctl list shows groups), or, knowing the risk, split groups with pcie_acs_override.")
    }

    static let groupIsolation = Check(id: "device.group-isolation", title: "The device's IOMMU group can be given away",
                                      reference: "https://docs.kernel.org/driver-api/vfio.html#groups-devices-and-iommus") { ctx in
        guard ctx.host.iommu.enabled else {
            // No groups to weigh, but a device the host needs stays needed.
            return ctx.focusDevices.compactMap { hostNeeds($0, ctx) }
                .nonEmptyOr(Finding(status: .skipped, title: "No IOMMU: groups not evaluated"))
        }
        return perDevice(ctx) { d in
            let needs = hostNeeds(d, ctx).map { [$0] } ?? []
            if d.iommuGroup == nil, let bad = d.unparsed("iommu_group") {
                return [Finding(status: .warn, title: "The IOMMU group of \(d.address) cannot be read", subjects: [d.address],
                                evidence: [Evidence(bad.path, bad.seen)],
                                explanation: "Its group, and so what must go along with it, is unknown.",
                                fix: "ls -l \(bad.path)   # attach a snapshot (vfioctl snapshot -o host.tar.gz) if it looks wrong")] + needs
            }
            guard let gid = d.iommuGroup else {
                return [Finding(status: .fail, title: "\(d.address) is in no IOMMU group", subjects: [d.address],
                                evidence: [Evidence(d.sysfs("iommu_group"), "missing")],
                                explanation: "The IOMMU does not cover this device, so VFIO cannot use it.",
                                fix: "Check dmesg for IOMMU errors about \(d.address).")] + needs
            }
            if !needs.isEmpty { return needs }
            let others = ctx.groupEndpoints(of: d).filter { $0.address != d.address && !ctx.targets.contains($0.address) }
            let ev = Evidence("/sys/kernel/iommu_groups/\(gid)/devices", ctx.host.iommu.group(gid)?.devices.map(\.description).joined(separator: " ") ?? "")
            // A member whose class or ids cannot be read may be anything, a chipset function included.
            let unknown = others.filter { !$0.classIsKnown || $0.unparsed("vendor") != nil }
            if !unknown.isEmpty {
                return [Finding(status: .warn, title: "\(d.address) shares IOMMU group \(gid) with devices vfioctl cannot identify",
                                subjects: [d.address] + unknown.map(\.address),
                                evidence: [ev] + unknown.flatMap { o in o.unparsedAttributes.filter { ["vendor", "device", "class"].contains($0.name) }
                                    .map { Evidence($0.path, $0.seen) } },
                                explanation: "Every endpoint of a group goes to the VM together; whether the host needs these cannot be told from their sysfs files.",
                                fix: "lspci -nn -s " + unknown.map(\.address.description).joined(separator: ",") + "   # identify them from config space")]
            }
            let sameSlot = others.filter { $0.address.slot == d.address.slot }
            let otherSlots = others.filter { $0.address.slot != d.address.slot }
            if !otherSlots.isEmpty {
                return [Finding(status: .warn, title: "\(d.address) shares IOMMU group \(gid) with other cards",
                                subjects: [d.address] + otherSlots.map(\.address), evidence: [ev],
                                explanation: "These must be passed to the same VM (or left unbound): " + otherSlots.map(\.label).joined(separator: "; ") + ".",
                                fix: "Pass them too: vfioctl doctor " + (([d] + others).map { "--device \($0.address)" }.joined(separator: " ")))]
            }
            if !sameSlot.isEmpty {
                return [Finding(status: .info, title: "\(d.address) goes with its other functions: \(sameSlot.map(\.address.description).joined(separator: ", "))",
                                subjects: [d.address] + sameSlot.map(\.address), evidence: [ev],
                                explanation: "Functions of one card (GPU audio, USB-C) share the group; vfioctl passes them together.")]
            }
            return [Finding(status: .pass, title: "\(d.address) is alone in IOMMU group \(gid)", subjects: [d.address], evidence: [ev])]
        }
    }

    static let notBridge = Check(id: "device.not-bridge", title: "Bridges are never passed") { ctx in
        perDevice(ctx) { d in
            if let bad = d.unparsed("class") {
                return [Finding(status: .warn, title: "Cannot tell whether \(d.address) is a bridge: its class is unreadable", subjects: [d.address],
                                evidence: [Evidence(bad.path, bad.seen)],
                                explanation: "Bridges stay with the host; this device's class code is not known.",
                                fix: "lspci -nn -s \(d.address)   # the class from config space")]
            }
            guard d.isBridge else { return [] }
            return [Finding(status: .fail, title: "\(d.address) is a bridge, not a passable device", subjects: [d.address],
                            evidence: [Evidence(d.sysfs("class"), "0x\(hex(d.pciClass.base, width: 2))\(hex(d.pciClass.sub, width: 2))\(hex(d.pciClass.progIf, width: 2))")],
                            explanation: "Bridges and root ports stay with the host (vfio-pci does not bind them); pass the endpoints behind them.",
                            fix: "Pick the device behind it: vfioctl list")]
        }.nonEmptyOr(Finding(status: .pass, title: "No bridge among the selected devices"))
    }

    static let driver = Check(id: "device.driver", title: "Driver binding") { ctx in
        perDevice(ctx) { d in
            let members = ctx.host.iommu.enabled ? ctx.groupEndpoints(of: d) : [d]
            return members.filter { $0.address == d.address || $0.address.slot == d.address.slot }.map { m in
                if let bad = m.unparsed("driver") {
                    return Finding(status: .warn, title: "The driver of \(m.address) cannot be read", subjects: [m.address],
                                   evidence: [Evidence(bad.path, bad.seen)],
                                   explanation: "Whether a host driver holds it is unknown.", fix: "ls -l \(bad.path)")
                }
                let ev = Evidence(m.sysfs("driver"), m.driver ?? "none")
                if m.isBoundToVFIO {
                    return Finding(status: .pass, title: "\(m.address) is bound to vfio-pci", subjects: [m.address], evidence: [ev])
                }
                guard let drv = m.driver else {
                    return Finding(status: .info, title: "\(m.address) has no driver: vfio-pci can claim it", subjects: [m.address], evidence: [ev],
                                   fix: "vfioctl bind \(m.address)")
                }
                let gpuDriver = ["nvidia", "nouveau", "amdgpu", "radeon", "i915", "xe"].contains(drv)
                return Finding(status: .warn, title: "\(m.address) is held by the host driver \(drv)", subjects: [m.address], evidence: [ev],
                               explanation: gpuDriver
                                ? "The host GPU driver grabbed the card first; vfio-pci must win at boot (vfio-pci.ids and a softdep), or the card is handed over at runtime."
                                : "The device must be moved to vfio-pci before the VM starts.",
                               fix: "vfioctl bind \(m.address)   # now; at boot: vfio-pci.ids=\(m.idPair) and softdep \(drv) pre: vfio-pci (vfioctl setup)")
            }
        }
    }

    static let bootDisplay = Check(id: "device.boot-display", title: "Boot display and framebuffer") { ctx in
        perDevice(ctx) { d in
            guard d.pciClass.isDisplay else { return [] }
            if let bad = d.unparsed("boot_vga") {
                return [Finding(status: .warn, title: "Cannot tell whether \(d.address) is the host's boot display", subjects: [d.address],
                                evidence: [Evidence(bad.path, bad.seen)],
                                explanation: "boot_vga should read 0 or 1.", fix: "cat /proc/fb   # a framebuffer on this GPU means it shows the console")]
            }
            guard d.bootVGA == true else {
                return [Finding(status: .pass, title: "\(d.address) is not the host's boot display", subjects: [d.address],
                                evidence: [Evidence(d.sysfs("boot_vga"), d.bootVGA == nil ? "absent" : "0")])]
            }
            var ev = [Evidence(d.sysfs("boot_vga"), "1")]
            if !ctx.host.framebuffers.isEmpty { ev.append(Evidence("/proc/fb", ctx.host.framebuffers.joined(separator: "; "))) }
            return [Finding(status: .warn, title: "\(d.address) is the host's boot display", subjects: [d.address], evidence: ev,
                            explanation: "The firmware console and a framebuffer (efifb/simpledrm/vesafb) hold this GPU; vfio-pci then fails with \"BAR n: cannot reserve\" or the guest gets a black screen.",
                            fix: "Single-GPU handoff at runtime: vfioctl bind --take-display \(d.address); or free it at boot with video=efifb:off (and make another GPU primary in the firmware).")]
        }.nonEmptyOr(Finding(status: .skipped, title: "No display controller selected"))
    }

    static let reset = Check(id: "device.reset", title: "The device can be reset between VM runs",
                             reference: "https://docs.kernel.org/ABI/testing/sysfs-bus-pci (reset_method)") { ctx in
        perDevice(ctx) { d in
            let caps = d.capabilities
            if d.resetMethods == nil, let bad = d.unparsed("reset_method") {
                return [Finding(status: .warn, title: "The reset methods of \(d.address) cannot be read", subjects: [d.address],
                                evidence: [Evidence(bad.path, bad.seen)],
                                explanation: "Whether the kernel can reset it between VM runs is unknown.", fix: "cat \(bad.path)   # as root")]
            }
            if let methods = d.resetMethods {
                let ev = Evidence(d.sysfs("reset_method"), methods.isEmpty ? "(empty)" : methods.joined(separator: " "))
                if methods.isEmpty {
                    return [Finding(status: .warn, title: "\(d.address) has no reset method", subjects: [d.address], evidence: [ev],
                                    explanation: "The kernel cannot reset it; after a VM stops, the device keeps its state and may not work in the next run.",
                                    fix: "Reboot the host between VM runs, or check the quirk table (vfioctl doctor --device \(d.address)) for a vendor reset.")]
                }
                if methods.contains("flr") || methods.contains("device_specific") || methods.contains("acpi") {
                    return [Finding(status: .pass, title: "\(d.address) resets with \(methods[0])", subjects: [d.address], evidence: [ev])]
                }
                return [Finding(status: .info, title: "\(d.address) resets only with \(methods.joined(separator: "/"))", subjects: [d.address], evidence: [ev],
                                explanation: methods.contains("bus")
                                    ? "A secondary bus reset resets every function behind the same bridge: all of them must be assigned to the same VM."
                                    : "A PM (D3hot) reset is weaker than FLR; some devices keep state.")]
            }
            // Kernels before 5.15 do not show reset_method: read the capabilities instead.
            if let express = caps?.express, express.functionLevelReset {
                return [Finding(status: .pass, title: "\(d.address) supports FLR", subjects: [d.address],
                                evidence: [Evidence(d.sysfs("config"), "PCIe DevCap FLR+")])]
            }
            if d.hasResetAttribute {
                return [Finding(status: .info, title: "\(d.address) has a reset, not FLR (kernel shows no reset_method)", subjects: [d.address],
                                evidence: [Evidence(d.sysfs("reset"), "present")])]
            }
            return [Finding(status: .warn, title: "\(d.address) shows no reset support", subjects: [d.address],
                            evidence: [Evidence(d.sysfs("reset_method"), "absent"), Evidence(d.sysfs("reset"), "absent")],
                            explanation: "Neither FLR nor a kernel reset is available.", fix: "Reboot the host between VM runs.")]
        }
    }

    static let quirks = Check(id: "device.quirks", title: "Known device issues") { ctx in
        perDevice(ctx) { d in
            let members = ctx.host.iommu.enabled ? ctx.groupEndpoints(of: d).filter { $0.address.slot == d.address.slot } : [d]
            return (members.isEmpty ? [d] : members).flatMap { m in
                DeviceQuirk.matching(m, in: ctx.quirks).compactMap { q -> Finding? in
                    let ev = Evidence(m.sysfs("vendor") + ", device", m.idPair)
                    switch q.kind {
                    case .resetBug:
                        if q.vendorResetHelps, ctx.host.isModuleLoaded("vendor_reset"), let methods = m.resetMethods, methods.first == "device_specific" {
                            return Finding(status: .pass, title: "\(m.address) (\(q.product)): vendor-reset is active", subjects: [m.address],
                                           evidence: [ev, Evidence(m.sysfs("reset_method"), methods.joined(separator: " "))], reference: q.reference)
                        }
                        return Finding(status: .warn, title: "\(m.address) is an \(q.product): reset bug", subjects: [m.address], evidence: [ev],
                                       explanation: q.note, fix: q.fix.replacingAddress(m.address), reference: q.reference)
                    case .error43:
                        return Finding(status: .info, title: "\(m.address) is an \(q.product): Error 43 countermeasures", subjects: [m.address],
                                       evidence: [ev], explanation: q.note, fix: q.fix, reference: q.reference)
                    case .brokenFLR:
                        return Finding(status: .info, title: "\(m.address) is an \(q.product): FLR disabled by the kernel", subjects: [m.address],
                                       evidence: [ev], explanation: q.note, fix: q.fix, reference: q.reference)
                    case .dataCenter:
                        return Finding(status: .info, title: "\(m.address) is an \(q.product): no GeForce countermeasures, a large 64-bit MMIO window",
                                       subjects: [m.address], evidence: [ev, Evidence(m.sysfs("class"), "0x" + m.pciClass.hex4 + hex(m.pciClass.progIf, width: 2))],
                                       explanation: q.note, fix: q.fix, reference: q.reference)
                    case .needsROM:
                        guard m.bootVGA == true else { return nil }
                        return Finding(status: .info, title: "\(m.address) is the boot GPU: pass a ROM file", subjects: [m.address],
                                       evidence: [ev], explanation: q.note, fix: q.fix.replacingAddress(m.address), reference: q.reference)
                    }
                }
            }
        }.nonEmptyOr(Finding(status: .pass, title: "No known issues for the selected devices"))
    }

    static let bootBinding = Check(id: "boot.vfio-ids", title: "vfio-pci claims the devices at boot") { ctx in
        let cmdlineIDs = Set(ctx.host.cmdline.values("vfio-pci.ids").flatMap { $0.split(separator: ",").map(String.init) })
        let modprobeIDs = ctx.host.modprobe.vfioPCIIDs
        let ids = cmdlineIDs.union(modprobeIDs.map(\.id))
        var ev = [Evidence("/proc/cmdline", cmdlineIDs.isEmpty ? "no vfio-pci.ids" : "vfio-pci.ids=" + cmdlineIDs.sorted().joined(separator: ","))]
        for file in Set(modprobeIDs.map(\.directive.file)).sorted() {
            ev.append(Evidence(file, "options vfio-pci ids=" + modprobeIDs.filter { $0.directive.file == file }.map(\.id).joined(separator: ",")))
        }
        let addressBinding = ctx.host.modprobe.vfioPCIAddressBinding
        if let addressBinding, case .install(let command) = addressBinding.kind {
            ev.append(Evidence(addressBinding.file, "install vfio-pci \(command)"))
        }
        func functions(_ d: PCIDevice) -> [PCIDevice] {
            let members = ctx.host.iommu.enabled ? ctx.groupEndpoints(of: d).filter { $0.address.slot == d.address.slot } : [d]
            return members.isEmpty ? [d] : members
        }
        // Every function the focus devices bring along: an id is safe for vfio-pci.ids= only when none of the
        // devices the host keeps has it (identical GPUs, the other ports of a multi-port NIC).
        let passed = ctx.focusDevices.flatMap(functions)
        let binding = BootBinding.of(passed: passed.map { ($0.address, $0.idPair) }, host: ctx.host)
        return perDevice(ctx) { d in
            var findings: [Finding] = []
            let fns = functions(d)
            let captured = fns.filter { ids.contains($0.idPair) && binding.sharedWith[$0.idPair] != nil }
            if !captured.isEmpty {
                let twins = Set(captured.flatMap { binding.sharedWith[$0.idPair] ?? [] }).sorted()
                findings.append(Finding(status: .warn, title: "vfio-pci.ids also takes \(twins.map(\.description).joined(separator: ", ")) at boot, which the host keeps",
                                        subjects: twins, evidence: ev,
                                        explanation: binding.explanations.joined(separator: "; ") + ".",
                                        fix: "vfioctl setup SPEC --apply: drops the shared ids and binds \(binding.addresses.map(\.description).joined(separator: " ")) by address (driver_override before the drivers load)"))
            }
            let missing = fns.filter { f in
                binding.sharedWith[f.idPair] != nil ? addressBinding == nil : !ids.contains(f.idPair)
            }
            if missing.isEmpty && captured.isEmpty {
                return [Finding(status: .pass, title: "\(d.address): vfio-pci claims its functions at boot", subjects: [d.address], evidence: ev)]
            }
            if !missing.isEmpty {
                let byAddress = missing.filter { binding.sharedWith[$0.idPair] != nil }
                let byID = Set(fns.map(\.idPair).filter { binding.sharedWith[$0] == nil }).union(ids.filter { binding.sharedWith[$0] == nil }).sorted().joined(separator: ",")
                var fix = byID.isEmpty ? "" : "Add vfio-pci.ids=\(byID) to the kernel command line or 'options vfio-pci ids=\(byID)' to /etc/modprobe.d/vfio.conf. "
                if !byAddress.isEmpty {
                    fix += "Bind \(byAddress.map(\.address.description).joined(separator: " ")) by address, not by id: \(binding.explanations.joined(separator: "; ")). "
                }
                fix += "vfioctl setup SPEC --apply writes all of it."
                findings.append(Finding(status: .info, title: "\(d.address): vfio-pci does not claim \(missing.map(\.address.description).joined(separator: ", ")) at boot",
                                        subjects: missing.map(\.address), evidence: ev,
                                        explanation: "Without early binding the host driver takes the card at boot and it must be handed over at runtime.",
                                        fix: fix))
            }
            return findings
        }
    }
}

extension Array where Element == Finding {
    func nonEmptyOr(_ fallback: Finding) -> [Finding] { isEmpty ? [fallback] : self }
}

extension String {
    func replacingAddress(_ address: PCIAddress) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: "ADDR") {
            out += rest[..<r.lowerBound] + address.description
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
