/// The loaded modules: what bound drivers, KVM and vfio imply, plus ``HostTree/extraModules``. Renders
/// `/proc/modules` (kernel/module/procfs.c) and `sys/module/NAME/`.
struct ModuleSet {
    struct Module {
        var name: String
        var size: Int
        var uses: [String]
    }

    private(set) var modules: [String: Module] = [:]
    let host: HostTree

    /// Module holding a PCI driver (`xhci_hcd` lives in `xhci_pci`); nil for built-in drivers.
    static func module(ofDriver driver: String) -> String? {
        switch driver {
        case "pcieport", "shpchp": nil
        case "vfio-pci": "vfio_pci"
        case "xhci_hcd": "xhci_pci"
        case "nvidia-gpu": "i2c_nvidia_gpu"
        case "i801_smbus": "i2c_i801"
        case "piix4_smbus": "i2c_piix4"
        case "intel-spi": "spi_intel_pci"
        case "ehci-pci": "ehci_pci"
        default: driver.replacingOccurrences(of: "-", with: "_")
        }
    }

    /// What each known module uses (its dependencies), enough for realistic `/proc/modules` lines.
    static let dependencies: [String: [String]] = [
        "vfio_pci": ["vfio_pci_core", "vfio"], "vfio_pci_core": ["vfio", "irqbypass"],
        "vfio_iommu_type1": ["vfio"], "vfio": ["iommufd"],
        "kvm_intel": ["kvm"], "kvm_amd": ["kvm", "ccp"], "kvm": ["irqbypass"],
        "nvidia_drm": ["nvidia_modeset", "drm_kms_helper", "drm"], "nvidia_modeset": ["nvidia"], "nvidia": [],
        "amdgpu": ["drm_ttm_helper", "ttm", "drm_kms_helper", "drm_display_helper", "gpu_sched", "i2c_algo_bit", "drm"],
        "i915": ["drm_buddy", "drm_display_helper", "drm_kms_helper", "ttm", "i2c_algo_bit", "video", "drm"],
        "drm_kms_helper": ["drm"], "drm_ttm_helper": ["ttm", "drm"], "ttm": ["drm"], "drm_display_helper": ["drm"],
        "snd_hda_intel": ["snd_intel_dspcfg", "snd_hda_codec", "snd_hda_core", "snd"],
        "snd_hda_codec": ["snd_hda_core", "snd"], "snd_hda_core": ["snd"],
        "xhci_pci": ["xhci_hcd"], "i2c_nvidia_gpu": ["ucsi_ccg"], "ucsi_ccg": ["typec_ucsi"],
        "igb": ["dca", "i2c_algo_bit"], "nvme": ["nvme_core"], "ahci": ["libahci", "libata"], "libahci": ["libata"],
        "mei_me": ["mei"], "i2c_i801": ["i2c_smbus"], "i2c_piix4": [], "vendor_reset": [],
    ]

    init(host: HostTree, layout: Layout) {
        self.host = host
        var wanted: [String] = []
        for d in layout.devices {
            if let driver = d.spec.driver, let m = Self.module(ofDriver: driver) { wanted.append(m) }
        }
        if wanted.contains("nvidia") { wanted += ["nvidia_modeset", "nvidia_drm"] }
        let vfioWanted = wanted.contains("vfio_pci") || host.cmdline.contains("vfio-pci.ids=")
            || host.cmdline.contains("vfio_pci.ids=") || host.extraModules.contains("vfio_pci")
        if vfioWanted { wanted += ["vfio_pci", "vfio_iommu_type1"] }
        if host.kvm.loaded { wanted.append(host.cpu.vendor == .intel ? "kvm_intel" : "kvm_amd") }
        wanted += host.extraModules
        var pending = wanted
        while let name = pending.popLast() {
            guard modules[name] == nil else { continue }
            let uses = Self.dependencies[name] ?? []
            let size = 16384 + Int(Format.stableHash(name) % 400) * 4096
            modules[name] = Module(name: name, size: size, uses: uses)
            pending += uses
        }
    }

    func isLoaded(_ name: String) -> Bool { modules[name] != nil }

    private func users(of name: String) -> [String] {
        modules.values.filter { $0.uses.contains(name) }.map(\.name).sorted()
    }

    func render(into t: inout FileTree) {
        // Newest first, as /proc/modules lists them: a module always comes before the ones it uses.
        var ordered: [String] = []
        var placed = Set<String>()
        var remaining = modules.keys.sorted()
        while !remaining.isEmpty {
            let ready = remaining.filter { name in users(of: name).allSatisfy(placed.contains) }
            let batch = ready.isEmpty ? [remaining[0]] : ready
            ordered += batch
            placed.formUnion(batch)
            remaining.removeAll { batch.contains($0) }
        }
        var lines: [String] = []
        for name in ordered {
            let m = modules[name]!
            let users = users(of: name)
            let bound = host.devices.filter { $0.driver.flatMap(Self.module(ofDriver:)) == name }.count
            let refcount = users.count + bound
            let deps = users.isEmpty ? "-" : users.map { $0 + "," }.joined()
            lines.append("\(name) \(m.size) \(refcount) \(deps) Live 0x0000000000000000")
            let dir = "sys/module/\(name)"
            t.file("\(dir)/refcnt", "\(refcount)\n")
            t.file("\(dir)/initstate", "live\n")
            t.file("\(dir)/coresize", "\(m.size)\n")
            t.directory("\(dir)/holders")
            for u in users { t.link("\(dir)/holders/\(u)", to: "sys/module/\(u)") }
            for (key, value) in parameters(of: name).sorted(by: { $0.key < $1.key }) {
                t.file("\(dir)/parameters/\(key)", value + "\n")
            }
            for d in host.devices where d.driver.flatMap(Self.module(ofDriver:)) == name {
                t.link("\(dir)/drivers/pci:\(d.driver!)", to: "sys/bus/pci/drivers/\(d.driver!)")
            }
        }
        t.file("proc/modules", lines.map { $0 + "\n" }.joined())
    }

    /// Module parameters as sysfs prints them: bools `Y`/`N`, ints in decimal. Overridable by
    /// ``HostTree/moduleParameters``.
    func parameters(of name: String) -> [String: String] {
        func yn(_ b: Bool) -> String { b ? "Y" : "N" }
        var p: [String: String]
        switch name {
        case "kvm_intel":
            p = ["enable_apicv": yn(host.kvm.apicv), "nested": yn(host.kvm.nested), "ept": "Y", "vpid": "Y",
                 "enable_shadow_vmcs": "Y", "pml": "Y"]
        case "kvm_amd":
            p = ["avic": yn(host.kvm.apicv), "nested": host.kvm.nested ? "1" : "0", "npt": "Y", "sev": "N"]
        case "kvm":
            p = ["halt_poll_ns": "200000", "ignore_msrs": "N", "report_ignored_msrs": "Y", "tdp_mmu": "Y"]
        case "vfio_iommu_type1":
            p = ["allow_unsafe_interrupts": "N", "dma_entry_limit": "65535"]
        case "vfio_pci":
            p = ["disable_vga": "N", "disable_idle_d3": "N", "nointxmask": "N", "disable_denylist": "N"]
        case "vfio":
            p = ["enable_unsafe_noiommu_mode": "N"]
        default:
            p = [:]
        }
        for (k, v) in host.moduleParameters[name] ?? [:] { p[k] = v }
        return p
    }
}
