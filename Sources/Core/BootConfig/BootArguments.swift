/// The kernel arguments a spec needs (DOMAIN §2 items 2, 6, 7, 12).
public enum BootArguments {
    public static func wanted(_ spec: VMSpec, cpuVendor: CPUInfo.Vendor) -> [String] {
        var args: [String] = []
        // AMD-Vi is on by default when the firmware enables it; Intel VT-d needs the argument on most kernels.
        if cpuVendor != .amd { args.append("intel_iommu=on") }
        args.append("iommu=pt")
        if !spec.vfioIDs.isEmpty { args.append("vfio-pci.ids=" + spec.vfioIDs.joined(separator: ",")) }
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

    /// Merges wanted arguments into an existing list: same keys are replaced in place, new ones appended.
    public static func merge(_ existing: [String], _ wanted: [String]) -> [String] {
        var out = existing
        for w in wanted {
            let k = key(w)
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
