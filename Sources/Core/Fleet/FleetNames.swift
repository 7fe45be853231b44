/// Names the engines need for a device model, derived from its ids and pci.ids names, stable across runs.
public enum FleetNames {
    /// DNS domains of the vendors whose device plugins and docs name resources after them.
    static let vendorDomains: [UInt16: (domain: String, short: String)] = [
        0x10de: ("nvidia.com", "nvidia"), 0x1002: ("amd.com", "amd"), 0x1022: ("amd.com", "amd"),
        0x8086: ("intel.com", "intel"), 0x15b3: ("nvidia.com", "mellanox"), 0x14e4: ("broadcom.com", "broadcom"),
        0x144d: ("samsung.com", "samsung"), 0x1af4: ("redhat.com", "redhat"), 0x1b21: ("asmedia.com.tw", "asmedia"),
        0x10ec: ("realtek.com", "realtek"),
    ]

    /// The model's name in upper snake case, as NVIDIA's KubeVirt device plugin writes resource names
    /// ("GA106 [GeForce RTX 3060 Lite Hash Rate]" → "GA106_GEFORCE_RTX_3060_LITE_HASH_RATE"), at most 63
    /// characters (a Kubernetes qualified name); `PCI_VVVV_DDDD` without a pci.ids name.
    static func upperName(_ m: FleetModel) -> String {
        var out = ""
        var gap = false
        for ch in (m.deviceName ?? "").unicodeScalars {
            if ch.isASCIIAlphanumeric {
                if gap && !out.isEmpty { out += "_" }
                gap = false
                out.unicodeScalars.append(ch.properties.uppercaseMapping.unicodeScalars.first ?? ch)
            } else {
                gap = true
            }
        }
        if out.isEmpty { out = "PCI_\(hex(m.id.vendor, width: 4))_\(hex(m.id.device, width: 4))".uppercased() }
        if out.count > 63 { out = String(out.prefix(63)) }
        while out.hasSuffix("_") { out.removeLast() }
        return out
    }

    /// KubeVirt `resourceName`: `vendor-domain/NAME` (`nvidia.com/GA106_GEFORCE_RTX_3060_LITE_HASH_RATE`); vendors
    /// without a known domain get `vfioctl.io/`.
    public static func resourceNames(_ models: [FleetModel]) -> [PCIID: String] {
        unique(models) { m in "\(vendorDomains[m.id.vendor]?.domain ?? "vfioctl.io")/\(upperName(m))" }
            suffix: { m in "_\(hex(m.id.device, width: 4).uppercased())" }
    }

    /// A lower-case identifier usable as a Proxmox mapping id (`^[a-z][a-z0-9_]+$`) and a Nova alias name:
    /// `nvidia_ga106_geforce_rtx_3060_lite_hash_rate`.
    public static func slugs(_ models: [FleetModel]) -> [PCIID: String] {
        unique(models) { m in
            guard m.deviceName != nil else { return upperName(m).lowercased() }
            let vendor = vendorDomains[m.id.vendor]?.short ?? "pci_\(hex(m.id.vendor, width: 4))"
            return "\(vendor)_\(upperName(m).lowercased())"
        } suffix: { m in "_\(hex(m.id.device, width: 4))" }
    }

    /// Names from `make`, with `suffix` appended to every model whose name another model also has.
    static func unique(_ models: [FleetModel], _ make: (FleetModel) -> String, suffix: (FleetModel) -> String) -> [PCIID: String] {
        let names = models.map { ($0, make($0)) }
        var count: [String: Int] = [:]
        for (_, n) in names { count[n, default: 0] += 1 }
        var out: [PCIID: String] = [:]
        for (m, n) in names { out[m.id] = (count[n] ?? 0) > 1 ? n + suffix(m) : n }
        return out
    }

    /// "NVIDIA Corporation GA106 [GeForce RTX 3060 Lite Hash Rate]", or the ids alone.
    public static func display(_ m: FleetModel) -> String {
        let name = [m.vendorName, m.deviceName].compactMap { $0 }.joined(separator: " ")
        return name.isEmpty ? "[\(m.id)]" : name
    }
}

extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self) }
}
