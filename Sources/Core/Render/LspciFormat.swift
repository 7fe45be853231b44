/// Device descriptions exactly as `lspci -nn` prints them (pciutils `lib/names.c` rules).
public enum LspciFormat {
    /// "VGA compatible controller [0300]"; the class name alone when the subclass is unknown; "Class [xxxx]".
    public static func className(_ d: PCIDevice) -> String {
        let code = d.pciClass.hex4
        if let sub = d.names.subclassName { return "\(sub) [\(code)]" }
        if let cls = d.names.className { return "\(cls) [\(code)]" }
        return "Class [\(code)]"
    }

    /// "NVIDIA Corporation TU116 [GeForce GTX 1660 SUPER] [10de:21c4]", with lspci's fallbacks for unknown ids.
    public static func vendorDevice(_ d: PCIDevice) -> String {
        let ids = "[\(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4))]"
        switch (d.names.vendor, d.names.device) {
        case let (v?, dev?): return "\(v) \(dev) \(ids)"
        case let (v?, nil): return "\(v) Device \(ids)"
        default: return "Device \(ids)"
        }
    }

    /// One `lspci -nn -D` line.
    public static func line(_ d: PCIDevice) -> String {
        var s = "\(d.address) \(className(d)): \(vendorDevice(d))"
        if d.revision != 0 { s += " (rev \(hex(d.revision, width: 2)))" }
        return s
    }
}
