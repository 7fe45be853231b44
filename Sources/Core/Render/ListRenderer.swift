/// `vfioctl list`: IOMMU groups and their devices, as text or as the stable JSON contract.
public enum ListRenderer {
    public static func text(_ host: HostModel) -> String {
        var out = iommuSummary(host) + "\n"
        if host.iommu.enabled {
            for group in host.iommu.groups {
                out += "\nIOMMU group \(group.id):\n"
                for address in group.devices {
                    if let d = host.device(address) { out += deviceBlock(d) }
                }
            }
            let ungrouped = host.devices.filter { $0.iommuGroup == nil }
            if !ungrouped.isEmpty {
                out += "\nNot in any IOMMU group:\n"
                for d in ungrouped { out += deviceBlock(d) }
            }
        } else {
            out += "\nPCI devices (no IOMMU groups: the kernel cannot isolate any of them):\n"
            for d in host.devices { out += deviceBlock(d) }
        }
        for problem in host.readProblems.prefix(20) { out += "\nwarning: \(escapingControls(problem.description))" }
        if host.readProblems.count > 20 { out += "\nwarning: \(host.readProblems.count - 20) more unreadable files (see vfioctl doctor)" }
        return out.hasSuffix("\n") ? out : out + "\n"
    }

    static func deviceBlock(_ d: PCIDevice) -> String {
        var s = "\t" + LspciFormat.line(d) + "\n"
        if let driver = d.driver { s += "\t\tKernel driver in use: \(escapingControls(driver))\n" }
        if let override = d.driverOverride { s += "\t\tdriver_override: \(escapingControls(override))\n" }
        // What could not be read stays visible under the device, with the file and the value seen.
        for bad in d.unparsedAttributes { s += "\t\tunreadable \(bad.name): '\(escapingControls(bad.seen))' (\(escapingControls(bad.path)))\n" }
        return s
    }

    public static func iommuSummary(_ host: HostModel) -> String {
        let iommu = host.iommu
        guard iommu.enabled else {
            let firmware = iommu.firmwareTable.map { " (firmware describes an \($0 == .intel ? "Intel VT-d" : "AMD-Vi") IOMMU, but the kernel does not use it)" } ?? ""
            return "IOMMU: off\(firmware), \(host.devices.count) PCI devices"
        }
        let vendor = iommu.vendor.map { $0 == .intel ? "Intel VT-d" : "AMD-Vi" } ?? "enabled"
        let remap: String
        switch iommu.interruptRemapping {
        case .known(true, _): remap = "interrupt remapping on"
        case .known(false, _): remap = "interrupt remapping OFF"
        case .unknown: remap = "interrupt remapping unknown"
        }
        return "IOMMU: \(vendor), \(iommu.groups.count) groups, \(host.devices.count) PCI devices, \(remap)"
    }

    public static func json(_ host: HostModel) -> JSON {
        .object([
            ("iommu", iommuJSON(host)),
            ("devices", .array(host.devices.map(deviceJSON))),
            ("groups", .array(host.iommu.groups.map { g in
                .object([("id", .int(g.id)), ("type", .optional(g.type)), ("devices", .strings(g.devices.map(\.description)))])
            })),
        ])
    }

    static func iommuJSON(_ host: HostModel) -> JSON {
        let iommu = host.iommu
        let remap: String
        var evidence: JSON = .null
        switch iommu.interruptRemapping {
        case .known(let on, let ev): remap = on ? "enabled" : "disabled"; evidence = .string(ev.description)
        case .unknown(let how): remap = "unknown"; evidence = .string(how)
        }
        return .object([
            ("enabled", .bool(iommu.enabled)),
            ("vendor", .optional(iommu.vendor?.rawValue)),
            ("units", .strings(iommu.units)),
            ("firmwareTable", .optional(iommu.firmwareTable?.rawValue)),
            ("interruptRemapping", .string(remap)),
            ("interruptRemappingEvidence", evidence),
            ("unsafeInterruptsAllowed", .optional(iommu.unsafeInterruptsAllowed)),
            ("acsOverride", .optional(host.cmdline.value("pcie_acs_override"))),
            ("groupCount", .int(iommu.groups.count)),
        ])
    }

    public static func deviceJSON(_ d: PCIDevice) -> JSON {
        var fields: [(String, JSON)] = [
            ("address", .string(d.address.description)),
            ("vendor", d.unparsed("vendor") == nil ? .string(hex(d.vendorID, width: 4)) : .null),
            ("device", d.unparsed("device") == nil ? .string(hex(d.deviceID, width: 4)) : .null),
            ("subsystemVendor", .optional(d.subsystemVendorID.map { hex($0, width: 4) })),
            ("subsystemDevice", .optional(d.subsystemDeviceID.map { hex($0, width: 4) })),
            ("class", d.classIsKnown ? .string(d.pciClass.hex4) : .null),
            ("progIf", d.classIsKnown ? .string(hex(d.pciClass.progIf, width: 2)) : .null),
            ("revision", d.unparsed("revision") == nil ? .string(hex(d.revision, width: 2)) : .null),
            ("driver", .optional(d.driver)),
            ("driverOverride", .optional(d.driverOverride)),
            ("iommuGroup", .optional(d.iommuGroup)),
            ("vendorName", .optional(d.names.vendor)),
            ("deviceName", .optional(d.names.device)),
            ("subsystemName", .optional(d.names.subsystem)),
            ("className", .optional(d.names.subclassName ?? d.names.className)),
            ("isBridge", .bool(d.isBridge)),
            ("upstreamBridges", .strings(d.upstreamBridges.map(\.description))),
            ("bootVGA", .optional(d.bootVGA)),
            ("resetMethods", d.resetMethods.map { JSON.strings($0) } ?? .null),
            ("powerState", .optional(d.powerState)),
            ("numaNode", .optional(d.numaNode)),
        ]
        if let link = d.link {
            fields.append(("link", .object([
                ("currentSpeed", .optional(link.currentSpeed)), ("currentWidth", .optional(link.currentWidth)),
                ("maxSpeed", .optional(link.maxSpeed)), ("maxWidth", .optional(link.maxWidth)),
            ])))
        } else {
            fields.append(("link", .null))
        }
        if let caps = d.capabilities {
            fields.append(("capabilities", .object([
                ("truncated", .bool(caps.truncated)),
                ("powerManagement", .bool(caps.powerManagement != nil)),
                ("pmNoSoftReset", .optional(caps.powerManagement?.noSoftReset)),
                ("msi", .bool(caps.msi)),
                ("msix", .bool(caps.msix != nil)),
                ("pcie", .optional(caps.express?.portType.label)),
                ("flr", .optional(caps.express?.functionLevelReset)),
                ("acs", .bool(caps.acs != nil)),
                ("ari", .bool(caps.ari)),
                ("sriov", .bool(caps.sriov)),
            ])))
        } else {
            fields.append(("capabilities", .null))
        }
        fields.append(("unparsedAttributes", .array(d.unparsedAttributes.map {
            .object([("attribute", .string($0.name)), ("path", .string($0.path)), ("seen", .string($0.seen))])
        })))
        return .object(fields)
    }
}
