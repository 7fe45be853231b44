/// Checks of a VM spec against the host (`doctor --spec SPEC`): are its devices still the ones it was written for,
/// and do the ROM files it names suit them.
enum SpecChecks {
    static let identity = Check(id: "spec.device-identity", title: "The spec's devices are still at their addresses") { ctx in
        guard let spec = ctx.spec else { return [Finding(status: .skipped, title: "No spec given (doctor --spec SPEC)")] }
        let findings = SpecDrift.check(spec: spec.spec, host: ctx.host).map { drift -> Finding in
            let ev = Evidence(spec.path, "address = \"\(drift.address)\", " + drift.recorded)
            let seen = Evidence("/sys/bus/pci/devices/\(drift.address)", drift.found ?? "absent")
            switch drift.kind {
            case .same:
                return Finding(status: .pass, title: drift.description, subjects: [drift.address], evidence: [ev, seen])
            case .notRecorded:
                let lines = ctx.host.device(drift.address).map(SpecDrift.identityLines) ?? []
                return Finding(status: .info, title: "\(drift.address): the spec does not record which card it is", subjects: [drift.address],
                               evidence: [ev, seen], explanation: drift.description + ".",
                               fix: "Add under its [[device]] in \(spec.path): " + lines.joined(separator: "; ") + "   (vfioctl init writes them)")
            case .pathChanged:
                return Finding(status: .warn, title: drift.description, subjects: [drift.address], evidence: [ev, seen],
                               explanation: "A BIOS update or a card added elsewhere renumbers buses; the ids still match, so this is probably the same card.",
                               fix: drift.fix)
            case .empty, .otherDevice, .otherCard, .moved:
                return Finding(status: .fail, title: drift.description, subjects: [drift.address] + (drift.movedTo.map { [$0] } ?? []),
                               evidence: [ev, seen] + drift.candidates.map { Evidence("/sys/bus/pci/devices/\($0)", "fits the recorded device") },
                               explanation: "Starting the VM would hand it other hardware than the spec was written for (the libvirt hook refuses it at prepare).",
                               fix: drift.fix)
            }
        }
        return findings.nonEmptyOr(Finding(status: .skipped, title: "The spec passes no PCI device"))
    }

    static let rom = Check(id: "spec.rom", title: "The ROM files the spec names suit their devices") { ctx in
        guard let spec = ctx.spec else { return [Finding(status: .skipped, title: "No spec given (doctor --spec SPEC)")] }
        var findings: [Finding] = []
        for d in spec.spec.devices {
            guard let path = d.rom else { continue }
            let ev = Evidence(spec.path, "rom = \"\(path)\" for \(d.address) [\(d.idPair)]")
            guard let read = spec.roms[path] else { continue }
            let rom: OptionROM
            switch read {
            case .failure(let error):
                findings.append(Finding(status: .fail, title: "\(d.address): ROM file \(path) cannot be read", subjects: [d.address],
                                        evidence: [ev, Evidence(path, "\(error)")],
                                        explanation: "libvirt and QEMU refuse to start a VM whose ROM file is missing.",
                                        fix: "Dump the card's ROM (vfioctl rom \(d.address) --dump \(path)) or remove rom = from the spec"))
                continue
            case .success(let parsed): rom = parsed
            }
            let summary = Evidence(path, rom.images.isEmpty ? "no image" : rom.images.map { ROMRenderer.describe($0) }.joined(separator: "; "))
            // Every spec boots OVMF (the renderers write no SeaBIOS machine), so the guest is a UEFI guest.
            let issues = rom.issues(vendor: d.vendorID, device: d.deviceID, uefiGuest: true)
            if issues.isEmpty {
                findings.append(Finding(status: .pass, title: "\(d.address): \(path) is a sound ROM for \(d.idPair) with an x86-64 EFI image",
                                        subjects: [d.address], evidence: [ev, summary]))
            }
            for issue in issues {
                let status: FindingStatus
                let fix: String
                switch issue {
                case .damaged:
                    status = .fail
                    fix = "Dump the ROM again (vfioctl rom \(d.address) --dump \(path)) or use the vendor's file"
                case .otherDevice:
                    status = .fail
                    fix = "Use a ROM for \(d.idPair) (vfioctl rom \(d.address) --dump \(path) reads the card's own)"
                case .vendorHeader:
                    status = .warn
                    fix = "vfioctl rom \(path) --dump \(path).clean && point rom = at \(path).clean"
                case .noUEFIImage:
                    status = .warn
                    fix = "Use a ROM with an EFI (GOP) image: the card's own (vfioctl rom \(d.address) --dump FILE) or the vendor's UEFI-capable firmware"
                }
                findings.append(Finding(status: status, title: "\(d.address): ROM \(path): \(issue)", subjects: [d.address],
                                        evidence: [ev, summary], explanation: "\(issue).", fix: fix))
            }
        }
        return findings.nonEmptyOr(Finding(status: .pass, title: "The spec names no ROM file (the cards' own ROMs are used)"))
    }
}
