/// Reads IOMMU facts: `/sys/kernel/iommu_groups`, `/sys/class/iommu`, ACPI DMAR/IVRS, vfio_iommu_type1 parameters.
struct IOMMULoader {
    let files: any HostFileReader
    static let groupsDir = "/sys/kernel/iommu_groups"

    func load(problems: inout Problems) -> IOMMUState {
        let loader = HostLoader(files)
        var state = IOMMUState()
        for name in loader.list(Self.groupsDir, &problems) {
            guard let id = Int(name) else {
                problems.add("\(Self.groupsDir)/\(name)", "not a group number")
                continue
            }
            let dir = "\(Self.groupsDir)/\(name)"
            var members: [PCIAddress] = []
            for entry in loader.list("\(dir)/devices", &problems) {
                // Non-PCI members (platform devices) exist on some hosts; they cannot be passed and are skipped.
                if let address = PCIAddress(entry) { members.append(address) }
            }
            state.groups.append(IOMMUGroup(id: id, devices: members.sorted(), type: loader.optionalText("\(dir)/type", &problems)))
        }
        state.groups.sort { $0.id < $1.id }

        for unit in loader.list("/sys/class/iommu", &problems) {
            state.units.append(unit)
            if unit.hasPrefix("dmar") {
                state.vendor = .intel
                if let ecapText = loader.optionalText("/sys/class/iommu/\(unit)/intel-iommu/ecap", &problems) {
                    if let ecap = parseHex(ecapText) { problems.ecaps.append((unit, ecap)) } else {
                        problems.add("/sys/class/iommu/\(unit)/intel-iommu/ecap", "expected a hex register value, read '\(ecapText)'")
                    }
                }
            } else if unit.hasPrefix("ivhd") {
                state.vendor = .amd
            }
        }
        if files.exists("/sys/firmware/acpi/tables/DMAR") { state.firmwareTable = .intel }
        else if files.exists("/sys/firmware/acpi/tables/IVRS") { state.firmwareTable = .amd }
        state.unsafeInterruptsAllowed = loader.parameterBool("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", &problems)
        return state
    }

    static let confirmRemapping = "run `dmesg | grep -i -e 'DMAR-IR' -e 'AMD-Vi.*remapping'`: 'Enabled IRQ remapping' or 'Interrupt remapping enabled' means it is on"

    /// Interrupt remapping, from the strongest evidence the host shows: the kernel command line, the IRQ chip
    /// names in `/proc/interrupts` (`IR-PCI-MSI`, `IR-IO-APIC` only exist with remapping on), then the Intel
    /// VT-d extended capability register (ECAP bit 3, IR: the hardware supports it).
    static func interruptRemapping(iommu: IOMMUState, irqs: [IRQ], cmdline: KernelCommandLine,
                                   ecaps: [(unit: String, ecap: UInt64)]) -> Fact<Bool> {
        guard iommu.enabled else {
            return .known(false, evidence: Evidence(groupsDir, "no IOMMU groups (no IOMMU, no remapping)"))
        }
        if cmdline.value("intremap") == "off" {
            return .known(false, evidence: Evidence("/proc/cmdline", "intremap=off"))
        }
        if let remapped = irqs.first(where: { $0.chip.hasPrefix("IR-") }) {
            return .known(true, evidence: Evidence("/proc/interrupts", "IRQ \(remapped.name) chip \(remapped.chip)"))
        }
        if let plain = irqs.first(where: { $0.chip.contains("PCI-MSI") || $0.chip.contains("IO-APIC") }) {
            return .known(false, evidence: Evidence("/proc/interrupts", "IRQ \(plain.name) chip \(plain.chip) (no IR- chips)"))
        }
        if !ecaps.isEmpty {
            if let unsupported = ecaps.first(where: { $0.ecap & 0x8 == 0 }) {
                return .known(false, evidence: Evidence("/sys/class/iommu/\(unsupported.unit)/intel-iommu/ecap",
                                                        "0x\(hex(unsupported.ecap, width: 1)) (IR bit 3 clear: no interrupt remapping)"))
            }
        }
        return .unknown(how: confirmRemapping)
    }
}
