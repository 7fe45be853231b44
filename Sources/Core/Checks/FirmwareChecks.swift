/// What the host firmware did with the devices' BARs, as config space shows it: Resizable BAR (PCIe r4.0 §7.8.6)
/// and 64-bit BARs above 4 GiB ("Above 4G decoding"), and what a guest needs for them. QEMU hides the ReBAR
/// capability from the guest (vfio-pci's config emulation), so the guest sees each BAR at the size the host set.
enum FirmwareChecks {
    /// The largest BAR a q35 guest's 32-bit PCI window can hold: below 4 GiB QEMU leaves about 1.75 GiB between
    /// guest RAM (up to 2 GiB), MMCONFIG (0xB0000000, 256 MiB) and the IOAPIC/LAPIC at 0xFEC00000, and a BAR must
    /// be aligned to its size, so 512 MiB is the largest that always fits.
    static let guest32BitLimit: UInt64 = 512 << 20
    /// OVMF builds before edk2-stable202211 open a fixed 32 GiB 64-bit aperture (PcdPciMmio64Size) unless told more.
    static let ovmfDefaultAperture: UInt64 = 32 << 30

    static func size(_ bytes: UInt64) -> String {
        if bytes >= 1 << 40, bytes % (1 << 40) == 0 { return "\(bytes >> 40) TiB" }
        if bytes >= 1 << 30, bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20 { return "\(bytes >> 20) MiB" }
        return "\(bytes) bytes"
    }

    /// The `X-PciMmio64Mb` value that holds `total` bytes of BARs with room for alignment: twice the total, rounded
    /// up to a power of two, at least 64 GiB.
    static func apertureMiB(_ total: UInt64) -> UInt64 {
        var mib: UInt64 = 65536
        let want = total / (1 << 20) * 2
        while mib < want && mib < 1 << 26 { mib <<= 1 }
        return mib
    }

    static func mmioFix(_ total: UInt64) -> String {
        let mib = apertureMiB(total)
        return "Give the guest a 64-bit MMIO window of \(size(mib << 20)): QEMU -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=\(mib) "
            + "(libvirt: <qemu:commandline><qemu:arg value='-fw_cfg'/><qemu:arg value='name=opt/ovmf/X-PciMmio64Mb,string=\(mib)'/></qemu:commandline>)"
    }

    static let resizableBAR = Check(id: "device.resizable-bar", title: "Resizable BAR state and the guest's MMIO window",
                                    reference: "https://gist.github.com/yvesh/0432879310831a1a9d95c74062b7c27e") { ctx in
        DeviceChecks.perDevice(ctx) { d in
            guard let rebars = d.capabilities?.resizableBARs, !rebars.isEmpty else { return [] }
            let ev = Evidence(d.sysfs("config"), rebars.map { r in
                "ReBAR BAR\(r.index): current \(size(r.currentSize)), supported " + (r.supportedSizes.isEmpty ? "none listed"
                    : "\(size(r.supportedSizes[0]))–\(size(r.largestSupported))")
            }.joined(separator: "; "))
            var out: [Finding] = []
            let small = rebars.filter { !$0.isAtMaximum }
            if !small.isEmpty {
                out.append(Finding(status: .info, title: "\(d.address): Resizable BAR is not in use (" + small.map { "BAR\($0.index) \(size($0.currentSize)) of up to \(size($0.largestSupported))" }.joined(separator: ", ") + ")",
                                   subjects: [d.address], evidence: [ev],
                                   explanation: "The firmware left the BAR at its small size, so the guest sees the small BAR too (QEMU hides the capability; the guest cannot resize). Games and drivers work, without the Resizable BAR gain.",
                                   fix: "Enable 'Above 4G Decoding' and 'Re-Size BAR Support' in the firmware setup and reboot; then check this again"))
            }
            let large = rebars.filter { $0.currentSize > guest32BitLimit }
            if !large.isEmpty {
                let total = large.reduce(UInt64(0)) { $0 &+ $1.currentSize }
                let beyondDefault = total > ovmfDefaultAperture / 2
                out.append(Finding(status: beyondDefault ? .warn : .info,
                                   title: "\(d.address): the guest sees BAR" + large.map { "\($0.index) as \(size($0.currentSize))" }.joined(separator: ", BAR") + ": it needs a 64-bit MMIO window",
                                   subjects: [d.address], evidence: [ev],
                                   explanation: "A BAR larger than \(size(guest32BitLimit)) cannot fit the guest's 32-bit PCI window; OVMF must place it above 4 GiB in its 64-bit aperture"
                                       + (beyondDefault ? ", and older OVMF builds open only \(size(ovmfDefaultAperture)): the guest then shows no picture or Code 12 (not enough resources)." : "."),
                                   fix: mmioFix(total)))
            }
            if out.isEmpty {
                out.append(Finding(status: .pass, title: "\(d.address): Resizable BAR in use at its largest size, small enough for the guest's 32-bit window",
                                   subjects: [d.address], evidence: [ev]))
            }
            return out
        }.nonEmptyOr(Finding(status: .skipped, title: "No selected device has a Resizable BAR capability"))
    }

    /// Above 4G decoding is one firmware switch for the whole machine, and firmware keeps small 64-bit BARs below
    /// 4 GiB even with it on: one BAR anywhere above 4 GiB shows it on; none shows it off.
    static let above4G = Check(id: "firmware.above-4g", title: "64-bit BARs can be placed above 4 GiB (Above 4G decoding)") { ctx in
        let wide = ctx.host.devices.flatMap { d in (d.capabilities?.bars ?? []).filter { $0.is64Bit && !$0.isIO && $0.address != 0 }.map { (d, $0) } }
        guard !wide.isEmpty else { return [Finding(status: .skipped, title: "No device shows an assigned 64-bit BAR (config space not readable?)")] }
        if let (d, bar) = wide.first(where: { $0.1.isAbove4G }) {
            return [Finding(status: .pass, title: "Above 4G decoding is on: \(d.address) BAR\(bar.index) is at 0x\(hex(bar.address, width: 1))",
                            subjects: [d.address], evidence: [Evidence(d.sysfs("config"), "BAR\(bar.index) 64-bit\(bar.prefetchable ? " prefetchable" : "") at 0x\(hex(bar.address, width: 1))")])]
        }
        let ev = wide.prefix(4).map { d, bar in Evidence(d.sysfs("config"), "BAR\(bar.index) 64-bit at 0x\(hex(bar.address, width: 1))") }
        let fix = "Enable 'Above 4G Decoding' (sometimes 'Above 4GB MMIO' or 'Memory Mapped I/O above 4GB') in the firmware setup"
        let needy = ctx.focusDevices.filter { d in d.capabilities?.resizableBARs?.contains { !$0.isAtMaximum } == true || DataCenterGPU.matches(d) }
        if !needy.isEmpty {
            return [Finding(status: .warn, title: "No BAR on this host is above 4 GiB: Above 4G decoding looks off, and " + needy.map(\.address.description).joined(separator: ", ") + " needs it",
                            subjects: needy.map(\.address), evidence: ev,
                            explanation: "Without it the firmware fits every BAR under 4 GiB: a Resizable BAR card stays at its small BAR, and a data-center GPU's BAR1 of tens of GiB cannot be mapped at all.",
                            fix: fix)]
        }
        return [Finding(status: .info, title: "No BAR on this host is above 4 GiB: Above 4G decoding looks off", evidence: ev,
                        explanation: "Harmless for small BARs; cards with large or resizable BARs need it. The guest gets its own layout from OVMF either way.",
                        fix: fix)]
    }
}
