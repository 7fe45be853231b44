/// The kernel arguments a spec needs (DOMAIN §2 items 2, 6, 7, 12).
public enum BootArguments {
    /// `binding` says which ids are safe for `vfio-pci.ids=` (see ``BootBinding``); without it every id of the spec
    /// is used. When the spec has devices but no safe id is left, `vfio-pci.ids=` (empty) is wanted: merging it
    /// removes an old `vfio-pci.ids=` that would still capture the host's twin devices.
    public static func wanted(_ spec: VMSpec, cpuVendor: CPUInfo.Vendor, binding: BootBinding? = nil,
                              hugepages1G: Int? = nil) -> [String] {
        var args: [String] = []
        // AMD-Vi is on by default when the firmware enables it; Intel VT-d needs the argument on most kernels.
        if cpuVendor != .amd { args.append("intel_iommu=on") }
        args.append("iommu=pt")
        let ids = binding?.ids ?? spec.vfioIDs
        if !ids.isEmpty { args.append("vfio-pci.ids=" + ids.joined(separator: ",")) }
        else if !spec.devices.isEmpty { args.append("vfio-pci.ids=") }
        // 1 GiB pages can only be reserved reliably at boot, before memory fragments.
        if let pages = hugepages1G { args += ["hugepagesz=1G", "hugepages=\(pages)"] }
        if spec.boot.videoEfifbOff { args.append("video=efifb:off") }
        if spec.boot.isolateCPUs && !spec.cpu.pin.isEmpty {
            let cpus = spec.vmCPUs.description
            args += ["isolcpus=managed_irq,domain,\(cpus)", "nohz_full=\(cpus)", "rcu_nocbs=\(cpus)"]
        }
        return args
    }

    /// Keys whose old values vfioctl replaces rather than duplicates.
    static func key(_ arg: String) -> String {
        if let eq = arg.firstIndex(of: "=") {
            let k = String(arg[..<eq])
            // video= may legitimately repeat for different outputs; only efifb is ours.
            if k == "video" { return arg.hasPrefix("video=efifb") ? "video=efifb" : arg }
            return k
        }
        return arg
    }

    /// Merges wanted arguments into an existing list: same keys are replaced in place, new ones appended. A wanted
    /// `vfio-pci.ids=` with no value removes the key (an empty id list means nothing to the kernel).
    public static func merge(_ existing: [String], _ wanted: [String]) -> [String] {
        var out = existing
        for w in wanted {
            let k = key(w)
            if w == "vfio-pci.ids=" {
                out.removeAll { key($0) == k }
                continue
            }
            if let i = out.firstIndex(where: { key($0) == k }) {
                out[i] = w
                out = out.enumerated().filter { $0.offset == i || key($0.element) != k }.map(\.element)
            } else {
                out.append(w)
            }
        }
        return out
    }
}
