/// Device descriptions exactly as `lspci -nn` prints them (pciutils `lib/names.c` rules).
public enum LspciFormat {
    /// "VGA compatible controller [0300]"; the class name alone when the subclass is unknown; "Class [xxxx]".
    /// An unreadable class file shows as "Class [????]": the device is listed, its class is not invented.
    public static func className(_ d: PCIDevice) -> String {
        guard d.classIsKnown else { return "Class [????]" }
        let code = d.pciClass.hex4
        if let sub = d.names.subclassName { return "\(sub) [\(code)]" }
        if let cls = d.names.className { return "\(cls) [\(code)]" }
        return "Class [\(code)]"
    }

    /// "NVIDIA Corporation TU116 [GeForce GTX 1660 SUPER] [10de:21c4]", with lspci's fallbacks for unknown ids.
    public static func vendorDevice(_ d: PCIDevice) -> String {
        let vendor = d.unparsed("vendor") == nil ? hex(d.vendorID, width: 4) : "????"
        let device = d.unparsed("device") == nil ? hex(d.deviceID, width: 4) : "????"
        let ids = "[\(vendor):\(device)]"
        switch (d.names.vendor, d.names.device) {
        case let (v?, dev?): return "\(v) \(dev) \(ids)"
        case let (v?, nil): return "\(v) Device \(ids)"
        default: return "Device \(ids)"
        }
    }

    /// One `lspci -nn -D` line. Names come from pci.ids and are printed through `escapingControls`.
    public static func line(_ d: PCIDevice) -> String {
        var s = "\(d.address) \(escapingControls(className(d))): \(escapingControls(vendorDevice(d)))"
        if d.unparsed("revision") != nil { s += " (rev ??)" } else if d.revision != 0 { s += " (rev \(hex(d.revision, width: 2)))" }
        return s
    }
}
