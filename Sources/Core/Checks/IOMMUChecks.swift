/// IOMMU presence, interrupt remapping, unsafe interrupts and ACS override (DOMAIN §2.2–2.4).
enum IOMMUChecks {
    static let enabled = Check(id: "iommu.enabled", title: "IOMMU enabled",
                               reference: "https://docs.kernel.org/driver-api/vfio.html") { ctx in
        let host = ctx.host
        let iommu = host.iommu
        if iommu.enabled {
            let vendor = iommu.vendor == .intel ? "Intel VT-d" : iommu.vendor == .amd ? "AMD-Vi" : "IOMMU"
            return [Finding(status: .pass, title: "\(vendor) is on: \(iommu.groups.count) IOMMU groups",
                            evidence: [Evidence("/sys/kernel/iommu_groups", "\(iommu.groups.count) groups")]
                                + (iommu.units.isEmpty ? [] : [Evidence("/sys/class/iommu", iommu.units.joined(separator: " "))]))]
        }
        var ev = [Evidence("/sys/kernel/iommu_groups", "empty or missing")]
        ev.append(Evidence("/sys/firmware/acpi/tables", iommu.firmwareTable == .intel ? "DMAR present" : iommu.firmwareTable == .amd ? "IVRS present" : "no DMAR or IVRS table"))
        let cmdline = host.cmdline
        let isIntel = host.cpu.vendor == .intel || iommu.firmwareTable == .intel
        var fix: String
        var why: String
        if let off = cmdline.arguments.first(where: { $0 == "intel_iommu=off" || $0 == "amd_iommu=off" || $0 == "iommu=off" }) {
            ev.append(Evidence("/proc/cmdline", off))
            why = "The kernel was booted with \(off)."
            fix = "Remove \(off) from the kernel command line\(isIntel ? " and add intel_iommu=on" : ""), then reboot (vfioctl setup does this)."
        } else if iommu.firmwareTable == nil {
            why = "The firmware describes no IOMMU: VT-d/AMD-Vi is disabled in the firmware setup or absent\(host.cpu.isVirtualMachine ? " (this host is a VM without a virtual IOMMU)" : "")."
            fix = host.cpu.isVirtualMachine
                ? "Give the VM a virtual IOMMU (QEMU: -machine q35,kernel-irqchip=split -device intel-iommu,intremap=on) or run on bare metal."
                : "Enable \(isIntel ? "VT-d (Intel Virtualization Technology for Directed I/O)" : "IOMMU / AMD-Vi (often under NBIO or AMD CBS)") in the firmware setup, then reboot."
        } else if isIntel && cmdline.value("intel_iommu") != "on" {
            ev.append(Evidence("/proc/cmdline", "no intel_iommu=on"))
            why = "The firmware has VT-d, but this kernel does not turn the Intel IOMMU on by default."
            fix = "Add intel_iommu=on iommu=pt to the kernel command line (vfioctl setup SPEC --apply), then reboot."
        } else {
            why = "The firmware table exists but the kernel built no groups; check dmesg for DMAR/AMD-Vi errors."
            fix = "dmesg | grep -i -e DMAR -e AMD-Vi -e IOMMU"
        }
        return [Finding(status: .fail, title: "No IOMMU: the kernel cannot isolate any device, passthrough is impossible",
                        evidence: ev, explanation: why + " Without IOMMU groups vfio-pci refuses devices.", fix: fix)]
    }

    static let kernelArguments = Check(id: "iommu.kernel-args", title: "IOMMU kernel arguments") { ctx in
        let host = ctx.host
        guard host.iommu.enabled else { return [Finding(status: .skipped, title: "No IOMMU: kernel IOMMU arguments not evaluated")] }
        let cmd = host.cmdline
        if cmd.value("iommu") == "pt" || cmd.value("amd_iommu") == "pt" {
            return [Finding(status: .pass, title: "iommu=pt is set: host devices skip DMA translation",
                            evidence: [Evidence("/proc/cmdline", cmd.arguments.filter { $0.contains("iommu") }.joined(separator: " "))])]
        }
        return [Finding(status: .info, title: "iommu=pt is not set",
                        evidence: [Evidence("/proc/cmdline", cmd.arguments.filter { $0.contains("iommu") }.joined(separator: " ").nonEmpty ?? "no iommu arguments")],
                        explanation: "Passthrough mode keeps host-owned devices out of DMA translation; VFIO devices are still translated.",
                        fix: "Add iommu=pt to the kernel command line (vfioctl setup SPEC --apply).")]
    }

    static let interruptRemapping = Check(id: "iommu.interrupt-remapping", title: "Interrupt remapping",
                                          reference: "https://docs.kernel.org/driver-api/vfio.html") { ctx in
        let iommu = ctx.host.iommu
        guard iommu.enabled else { return [Finding(status: .skipped, title: "No IOMMU: interrupt remapping not evaluated")] }
        switch iommu.interruptRemapping {
        case .known(true, let ev):
            return [Finding(status: .pass, title: "Interrupt remapping is enabled", evidence: [ev])]
        case .known(false, let ev):
            if iommu.unsafeInterruptsAllowed == true {
                return [Finding(status: .warn, title: "Interrupt remapping is off; VFIO runs only because unsafe interrupts are allowed",
                                evidence: [ev, Evidence("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y")],
                                explanation: "A guest can then inject arbitrary interrupts (MSI) into the host.",
                                fix: "Enable interrupt remapping (x2APIC / interrupt remapping in the firmware setup, no intremap=off) and drop allow_unsafe_interrupts.")]
            }
            return [Finding(status: .fail, title: "Interrupt remapping is off: VFIO type1 will refuse to attach devices",
                            evidence: [ev],
                            explanation: "Without interrupt remapping, vfio_iommu_type1 rejects groups (\"No interrupt remapping support\") unless unsafe interrupts are allowed.",
                            fix: "Enable interrupt remapping in the firmware setup (often tied to x2APIC) and remove intremap=off; only as a last resort: echo 'options vfio_iommu_type1 allow_unsafe_interrupts=1' > /etc/modprobe.d/vfio-unsafe.conf (a security trade-off).")]
        case .unknown(let how):
            return [Finding(status: .info, title: "Interrupt remapping: unknown (the host shows no evidence)",
                            explanation: "Neither /proc/interrupts chip names nor IOMMU capability registers tell whether remapping is on.",
                            fix: how)]
        }
    }

    static let unsafeInterrupts = Check(id: "iommu.unsafe-interrupts", title: "Unsafe interrupts not allowed") { ctx in
        let host = ctx.host
        let onCmdline = host.cmdline.value("vfio_iommu_type1.allow_unsafe_interrupts").flatMap(ProcParsers.parameterBool) == true
        let inModule = host.iommu.unsafeInterruptsAllowed == true
        guard onCmdline || inModule else {
            return [Finding(status: .pass, title: "vfio_iommu_type1 does not allow unsafe interrupts")]
        }
        var ev: [Evidence] = []
        if inModule { ev.append(Evidence("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y")) }
        if onCmdline { ev.append(Evidence("/proc/cmdline", "vfio_iommu_type1.allow_unsafe_interrupts=1")) }
        return [Finding(status: .warn, title: "Unsafe interrupts are allowed (allow_unsafe_interrupts=1)", evidence: ev,
                        explanation: "A malicious or buggy guest device can raise arbitrary host interrupts (MSI attack). Needed only when the platform lacks interrupt remapping.",
                        fix: "Remove allow_unsafe_interrupts from /etc/modprobe.d and the kernel command line if interrupt remapping works on this host.")]
    }

    static let acsOverride = Check(id: "iommu.acs-override", title: "No ACS override",
                                   reference: "https://vfio.blogspot.com/2014/08/iommu-groups-inside-and-out.html") { ctx in
        guard let value = ctx.host.cmdline.value("pcie_acs_override") else {
            return [Finding(status: .pass, title: "IOMMU groups are the hardware's own (no pcie_acs_override)")]
        }
        return [Finding(status: .warn, title: "pcie_acs_override=\(value): groups do not reflect real isolation",
                        evidence: [Evidence("/proc/cmdline", "pcie_acs_override=\(value)")],
                        explanation: "The ACS override patch splits groups the hardware does not isolate; devices in the same real group can still reach each other's memory (peer-to-peer DMA).",
                        fix: "Prefer a slot whose root port has ACS (see vfioctl list), or accept the risk knowingly.")]
    }

    /// Groups holding endpoints of more than one slot: the board (or a bridge without ACS) merged them.
    static let sharedGroups = Check(id: "iommu.shared-groups", title: "Endpoints of different slots share a group") { ctx in
        let host = ctx.host
        guard host.iommu.enabled else { return [Finding(status: .skipped, title: "No IOMMU groups")] }
        var findings: [Finding] = []
        for group in host.iommu.groups {
            let endpoints = group.devices.compactMap { host.device($0) }.filter { !$0.isBridge }
            let slots = Set(endpoints.map { $0.address.slot })
            guard slots.count > 1 else { continue }
            let why: String
            if let bridge = endpoints.lazy.flatMap({ $0.upstreamBridges }).first(where: { host.device($0)?.pciClass.sub == 0x04 && host.device($0)?.capabilities?.express?.portType == .pcieToPCIBridge }) {
                why = "They sit behind the PCIe-to-PCI bridge \(bridge): conventional PCI cannot isolate its devices."
            } else {
                why = "Their upstream ports lack ACS (or the board merges them), so the IOMMU cannot tell their DMA apart."
            }
            findings.append(Finding(status: .info, title: "IOMMU group \(group.id) merges \(slots.count) slots: \(endpoints.map(\.address.description).joined(separator: ", "))",
                                    subjects: endpoints.map(\.address),
                                    evidence: [Evidence("/sys/kernel/iommu_groups/\(group.id)/devices", group.devices.map(\.description).joined(separator: " "))],
                                    explanation: why + " Any of them can only be passed together with all the others.",
                                    fix: "Use a slot with its own group (vfioctl list), or pass the whole group."))
        }
        if findings.isEmpty { findings.append(Finding(status: .pass, title: "Every IOMMU group holds a single slot")) }
        return findings
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
