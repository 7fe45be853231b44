/// What `vfioctl init` was asked for.
public struct InitRequest: Sendable {
    public var name: String
    public var devices: [PCIAddress]
    public var vcpus: Int
    public var memoryMiB: Int
    public var hugepages = false
    public var lookingGlass: VMSpec.LookingGlass?
    public var inputByID = false
    public var rom: String?
    /// The guest OS; nil: Windows 11 (what a gaming GPU is passed to most), with its TPM and Secure Boot.
    public var os: VMSpec.GuestOS?
    /// System disk size (MiB) and path; the path defaults to /var/lib/libvirt/images/NAME.qcow2.
    public var diskMiB: Int = InitRequest.defaultDiskMiB
    public var diskPath: String?
    public var diskBus: VMSpec.Disk.Bus = .virtio
    public var iso: String?
    public var virtioISO: String?
    public var network: VMSpec.Network.Source = .network("default")

    /// 128 GiB: Windows 11 needs 64 GB, and a game or two more.
    public static let defaultDiskMiB = 128 * 1024

    public init(name: String, devices: [PCIAddress], vcpus: Int, memoryMiB: Int) {
        self.name = name
        self.devices = devices
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
    }

    /// The request against the rules the spec parser applies (`SpecRules`): `vfioctl init` never writes a spec
    /// that `vfioctl render` would refuse, and says so in the parser's words.
    public func validate() throws(SpecError) {
        if let problem = SpecRules.name(name) { throw SpecError(line: 0, problem) }
        if !SpecRules.vcpus.contains(vcpus) {
            throw SpecError(line: 0, "key 'vcpus': \(vcpus) is outside \(SpecRules.vcpus.lowerBound)…\(SpecRules.vcpus.upperBound)")
        }
        if let problem = SpecRules.memoryMiB(memoryMiB) { throw SpecError(line: 0, problem) }
        if let rom {
            if let problem = SpecRules.text("rom", rom, in: "device") { throw SpecError(line: 0, problem) }
            if !rom.hasPrefix("/") { throw SpecError(line: 0, "key 'rom' in [device]: '\(rom)' must be an absolute path") }
        }
        for (key, table, value) in [("path", "disk", diskPath), ("iso", "install", iso), ("virtio-iso", "install", virtioISO)] {
            if let value, let problem = SpecRules.path(key, value, in: table) { throw SpecError(line: 0, problem) }
        }
        if virtioISO != nil && os == .linux { throw SpecError(line: 0, "key 'virtio-iso' in [install]: the virtio-win ISO holds Windows drivers; a Linux guest has virtio built in") }
        if !(1...SpecRules.maxMemoryMiB).contains(diskMiB) { throw SpecError(line: 0, "key 'size' in [disk]: \(diskMiB) MiB is outside 1 MiB…64 TiB") }
        switch network {
        case .network(let n): if let problem = SpecRules.networkName("network", n, bridge: false) { throw SpecError(line: 0, problem) }
        case .bridge(let b): if let problem = SpecRules.networkName("bridge", b, bridge: true) { throw SpecError(line: 0, problem) }
        }
        if devices.count > SpecRules.maxDevices { throw SpecError(line: 0, "[[device]]: \(devices.count) devices, at most \(SpecRules.maxDevices)") }
        if let lg = lookingGlass {
            if !SpecRules.lookingGlassWidth.contains(lg.width) || !SpecRules.lookingGlassHeight.contains(lg.height) {
                throw SpecError(line: 0, "[looking-glass]: \(lg.width)x\(lg.height) is outside \(SpecRules.lookingGlassWidth.lowerBound)x\(SpecRules.lookingGlassHeight.lowerBound)…\(SpecRules.lookingGlassWidth.upperBound)x\(SpecRules.lookingGlassHeight.upperBound)")
            }
        }
    }
}

/// OVMF builds without Secure Boot, per distribution (code, NVRAM template).
public enum OVMFPaths {
    public static let candidates: [(code: String, vars: String)] = [
        ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),                 // Debian 12, Ubuntu ≥ 22.04
        ("/usr/share/pve-edk2-firmware/OVMF_CODE_4M.fd", "/usr/share/pve-edk2-firmware/OVMF_VARS_4M.fd"), // Proxmox
        ("/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"),         // Arch edk2-ovmf ≥ 202311
        ("/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd"),     // older Arch
        ("/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"),             // Fedora
        ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),                       // Ubuntu ≤ 20.04
        ("/usr/share/qemu/ovmf-x86_64-code.bin", "/usr/share/qemu/ovmf-x86_64-vars.bin"),       // openSUSE
    ]

    /// Secure Boot builds with Microsoft's keys enrolled in the NVRAM template (Windows 11 boots with Secure Boot on).
    public static let secureBootCandidates: [(code: String, vars: String)] = [
        ("/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"),             // Debian 12, Ubuntu ≥ 22.04
        ("/usr/share/pve-edk2-firmware/OVMF_CODE_4M.secboot.fd", "/usr/share/pve-edk2-firmware/OVMF_VARS_4M.ms.fd"), // Proxmox
        ("/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"), // Fedora
    ]

    public static func find(_ files: any HostFileReader, secureBoot: Bool = false) -> (code: String, vars: String)? {
        find(FirmwareFiles.load(files), secureBoot: secureBoot)
    }

    public static func find(_ firmware: FirmwareFiles, secureBoot: Bool = false) -> (code: String, vars: String)? {
        (secureBoot ? secureBootCandidates : candidates).first { firmware.present.contains($0.code) && firmware.present.contains($0.vars) }
    }
}

public enum SpecBuilder {
    /// A default Hyper-V vendor id: any 12 characters do; this one is what the quirk table's fix suggests.
    public static let defaultVendorID = "0123456789ab"

    /// Builds a starting spec for `host`: devices expanded to their groups' endpoints, a CPU plan, firmware found
    /// on this host, vendor countermeasures. Returns the spec and notes explaining the choices.
    public static func build(_ request: InitRequest, host: HostModel, files: any HostFileReader) throws(PlanError) -> (VMSpec, [String]) {
        try build(request, host: host, usage: HostUsage.load(files), firmware: FirmwareFiles.load(files))
    }

    /// The spec as a pure function of the inventory, what the host uses (`HostNeeds`) and the OVMF builds present.
    public static func build(_ request: InitRequest, host: HostModel, usage: HostUsage, firmware: FirmwareFiles) throws(PlanError) -> (VMSpec, [String]) {
        var notes: [String] = []
        do { try request.validate() } catch { throw PlanError(error.message) }
        guard host.iommu.enabled else {
            throw PlanError("this host has no IOMMU groups (/sys/kernel/iommu_groups is empty): enable VT-d/AMD-Vi and the IOMMU first (vfioctl doctor explains)")
        }
        guard !request.devices.isEmpty else { throw PlanError("--device: give at least one PCI address to pass (vfioctl list shows them)") }
        var spec = VMSpec(name: request.name, vcpus: request.vcpus, memoryMiB: request.memoryMiB)

        var seen = Set<PCIAddress>()
        for address in request.devices {
            guard let device = host.device(address) else {
                throw PlanError("--device \(address): no such PCI device on this host (vfioctl list shows them)")
            }
            guard let group = device.iommuGroup else {
                throw PlanError("--device \(address): not in any IOMMU group")
            }
            guard !device.isBridge else {
                throw PlanError("--device \(address): a PCI bridge is never passed to a VM; pass the devices behind it")
            }
            let members = host.groupMembers(of: address)
            for m in members where m.isBridge { notes.append("group \(group): bridge \(m.address) stays with the host (bridges are never passed)") }
            for m in members where !m.isBridge && seen.insert(m.address).inserted {
                if m.address != address && !request.devices.contains(m.address) {
                    notes.append("group \(group): \(m.address) [\(hex(m.vendorID, width: 4)):\(hex(m.deviceID, width: 4))] comes along with \(address) (a group is passed whole)")
                }
                // The one policy (HostNeeds); a spec hands the display over, so the boot display alone is no warning.
                let verdict = HostNeeds.verdict(m, host: host, usage: usage)
                if verdict.isHostCritical(displayHandoff: true), let why = verdict.reason {
                    notes.append("warning: group \(group) holds \(m.address), \(why): the host needs it; this group cannot be passed safely (vfioctl doctor --device \(address))")
                }
                spec.devices.append(passed(m, rom: address == request.devices.first && m.pciClass.isDisplay ? request.rom : nil))
            }
        }

        let gpus = spec.devices.filter { $0.kind == .gpu }.compactMap { host.device($0.address) }
        let node = gpus.first?.numaNode ?? spec.devices.compactMap { host.device($0.address)?.numaNode }.first
        if host.cpu.numaNodes.count > 1, let node { spec.numaNode = node }

        let plan = try CPUPlanner.plan(cpu: host.cpu, vcpus: request.vcpus, node: spec.numaNode)
        spec.cpu.pin = plan.pin
        spec.cpu.emulator = plan.emulator
        spec.cpu.iothreads = 1
        spec.cpu.threads = plan.threads
        spec.cpu.cores = request.vcpus / plan.threads
        spec.cpu.sockets = 1
        spec.cpu.topoext = host.cpu.vendor == .amd
        notes += plan.reasons
        notes += plan.tradeOffs.map { "trade-off: " + $0 }

        if request.hugepages {
            spec.hugepages = .size2M
            // The pool size comes from the host (nr_hugepages): compared by division, so no value of it overflows.
            let pages1G = (request.memoryMiB + 1023) / 1024
            let has1G = host.memory.hugepages.contains { $0.sizeKiB == 1_048_576 && $0.total >= pages1G }
            if has1G && request.memoryMiB % 1024 == 0 { spec.hugepages = .size1G }
            if let hp = spec.hugepages, spec.memoryMiB % hp.mib != 0 {
                throw PlanError("--memory: \(MemorySize.format(mib: spec.memoryMiB)) is not a whole number of \(hp.rawValue) hugepages")
            }
        }

        let os = request.os ?? .windows11
        spec.os = os
        // Windows 11 setup checks for TPM 2.0 and Secure Boot; Windows 10 and Linux need neither.
        let secure = os == .windows11
        spec.firmware.secureBoot = secure
        spec.tpm = secure
        if let fw = OVMFPaths.find(firmware, secureBoot: secure) {
            spec.firmware.code = fw.code
            spec.firmware.vars = fw.vars
        } else if secure {
            spec.firmware.code = OVMFPaths.secureBootCandidates[0].code
            spec.firmware.vars = OVMFPaths.secureBootCandidates[0].vars
            notes.append("OVMF with Secure Boot not found on this host (install ovmf / edk2-ovmf); using Debian's paths")
        } else {
            notes.append("OVMF not found on this host (install ovmf / edk2-ovmf); using Debian's paths")
        }
        if secure { notes.append("Windows 11: TPM 2.0 (swtpm) and Secure Boot with Microsoft keys enrolled") }
        let diskPath = request.diskPath ?? "/var/lib/libvirt/images/\(request.name).qcow2"
        let format = diskPath.hasSuffix(".qcow2") ? "qcow2" : "raw"
        spec.disks = [VMSpec.Disk(path: diskPath, format: format, sizeMiB: diskPath.hasPrefix("/dev/") ? nil : request.diskMiB, bus: request.diskBus)]
        spec.install = VMSpec.InstallMedia(iso: request.iso, virtioISO: request.virtioISO)
        if os.isWindows && request.diskBus == .virtio && request.virtioISO == nil {
            notes.append("virtio system disk: Windows setup needs the viostor driver from the virtio-win ISO (--virtio-iso), or use --disk-bus sata")
        }
        if request.iso == nil { notes.append("no --iso: add [install] iso = \"/path/to/installer.iso\" to boot an installer") }
        spec.network = VMSpec.Network(source: request.network)
        spec.usbTablet = true
        spec.sound = .ich9
        spec.hyperv.enlightenments = os.isWindows
        spec.firmware.nvram = "/var/lib/libvirt/qemu/nvram/\(request.name)_VARS.fd"

        if gpus.contains(where: { $0.vendor == .nvidia && DataCenterGPU.matches($0) }) && !gpus.contains(where: { $0.vendor == .nvidia && !DataCenterGPU.matches($0) }) {
            notes.append("NVIDIA data-center GPU: KVM stays visible (its driver never refused VMs); it needs a large 64-bit MMIO window (see vfioctl doctor)")
        } else if gpus.contains(where: { $0.vendor == .nvidia }) {
            spec.hyperv.kvmHidden = true
            spec.hyperv.vendorID = defaultVendorID
            notes.append("NVIDIA GPU: KVM hidden and a Hyper-V vendor_id set (guest drivers before 465 stop with Code 43 otherwise)")
        } else if gpus.contains(where: { $0.vendor == .amd }) {
            spec.hyperv.vendorID = defaultVendorID
            notes.append("AMD GPU: Hyper-V vendor_id set (some AMD drivers refuse the default Microsoft Hv id)")
        }
        for g in gpus {
            for q in DeviceQuirk.matching(g) where q.kind != .error43 {
                notes.append("\(g.address): \(q.product): \(q.note) (\(q.id))")
            }
            if g.bootVGA == true {
                spec.boot.videoEfifbOff = true
                notes.append("\(g.address) is the boot display: video=efifb:off keeps the firmware framebuffer off it")
            }
        }

        if let lg = request.lookingGlass {
            spec.lookingGlass = lg
            notes.append("Looking Glass \(lg.width)x\(lg.height): \(lg.sizeMiB) MiB shared memory (w×h×4×2 + 10 MiB, next power of two)")
        }
        if request.inputByID {
            // Names from /dev/input/by-id become spec strings: one the rules refuse is left out, not written.
            let events = host.inputDevices.filter { ($0.hasSuffix("-event-kbd") || $0.hasSuffix("-event-mouse")) && SpecRules.text("evdev", $0) == nil && !$0.contains("/") }
            spec.input = events.sorted { a, b in a.hasSuffix("-event-kbd") != b.hasSuffix("-event-kbd") ? a.hasSuffix("-event-kbd") : a < b }
                .map { "/dev/input/by-id/" + $0 }
            if spec.input.isEmpty { notes.append("--input-by-id: no *-event-kbd or *-event-mouse in /dev/input/by-id") }
        }
        // Host-derived values (driver names, /dev/input names) meet the same rules as a spec file's.
        do { try spec.validate() } catch { throw PlanError("the spec built for this host is not valid: \(error.message)") }
        return (spec, notes)
    }

    static func passed(_ d: PCIDevice, rom: String?) -> VMSpec.PassedDevice {
        let kind: VMSpec.PassedDevice.Kind
        let c = d.pciClass
        if c.isDisplay { kind = .gpu } else if c.isAudio { kind = .audio } else if c.isUSB { kind = .usb }
        else if c.isStorage { kind = .storage } else if c.isNetwork { kind = .network } else { kind = .other }
        var drivers: [String] = []
        // The bound driver's name comes from a sysfs link; only a real module name may reach modprobe.d.
        if let current = d.driver, current != "vfio-pci", SpecRules.moduleName("host-drivers", current, in: "device") == nil {
            drivers.append(current.replacingHyphens())
        }
        if kind == .gpu {
            switch d.vendor {
            case .nvidia: drivers += ["nouveau", "nvidia"]
            case .amd: drivers += ["amdgpu", "radeon"]
            case .intel: drivers += ["i915"]
            default: break
            }
        } else if kind == .audio {
            drivers.append("snd_hda_intel")
        }
        var seen = Set<String>()
        let keep = kind == .gpu || kind == .audio
        var passed = VMSpec.PassedDevice(address: d.address, vendorID: d.vendorID, deviceID: d.deviceID, kind: kind, rom: rom,
                                         hostDrivers: keep ? drivers.filter { seen.insert($0).inserted } : [])
        passed.identity = VMSpec.DeviceIdentity(d)
        return passed
    }
}
