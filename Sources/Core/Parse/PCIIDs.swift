/// Names from a `pci.ids` database (the file lspci uses: `/usr/share/misc/pci.ids`).
/// Only the vendors asked for are kept, so a 1.3 MB file is scanned once and mostly skipped.
public struct PCIIDDatabase: Sendable {
    public private(set) var vendors: [UInt16: String] = [:]
    public private(set) var devices: [UInt32: String] = [:]
    public private(set) var subsystems: [UInt64: String] = [:]
    public private(set) var classes: [UInt8: String] = [:]
    public private(set) var subclasses: [UInt16: String] = [:]
    public private(set) var progIfs: [UInt32: String] = [:]

    public init() {}

    /// Parses `bytes`; when `vendorsOfInterest` is given, device and subsystem names of other vendors are skipped.
    public init(bytes: [UInt8], vendorsOfInterest: Set<UInt16>? = nil) {
        var currentVendor: UInt16?
        var keepVendor = false
        var currentDevice: UInt16?
        var currentClass: UInt8?
        var currentSubclass: UInt8?
        var inClasses = false

        bytes.withUnsafeBufferPointer { buf in
            var start = 0
            let n = buf.count
            while start < n {
                var end = start
                while end < n, buf[end] != 0x0A { end += 1 }
                defer { start = end + 1 }
                if end == start || buf[start] == 0x23 /* # */ { continue }
                var tabs = 0
                while start + tabs < end, buf[start + tabs] == 0x09 { tabs += 1 }
                let body = start + tabs
                if tabs == 0 {
                    currentDevice = nil
                    currentSubclass = nil
                    if buf[body] == 0x43 /* C */, body + 1 < end, buf[body + 1] == 0x20 {
                        inClasses = true
                        currentVendor = nil
                        keepVendor = false
                        if let c = Self.hexValue(buf, body + 2, 2) {
                            currentClass = UInt8(c)
                            classes[UInt8(c)] = Self.name(buf, body + 4, end)
                        }
                    } else if let v = Self.hexValue(buf, body, 4), body + 4 < end, buf[body + 4] == 0x20 {
                        inClasses = false
                        currentClass = nil
                        currentVendor = UInt16(v)
                        keepVendor = vendorsOfInterest?.contains(UInt16(v)) ?? true
                        vendors[UInt16(v)] = Self.name(buf, body + 4, end)
                    } else {
                        // Other sections (device types, ...) end the vendor list.
                        currentVendor = nil
                        keepVendor = false
                        inClasses = false
                        currentClass = nil
                    }
                } else if inClasses, let cls = currentClass {
                    if tabs == 1, let s = Self.hexValue(buf, body, 2) {
                        currentSubclass = UInt8(s)
                        subclasses[UInt16(cls) << 8 | UInt16(s)] = Self.name(buf, body + 2, end)
                    } else if tabs == 2, let sub = currentSubclass, let p = Self.hexValue(buf, body, 2) {
                        progIfs[UInt32(cls) << 16 | UInt32(sub) << 8 | UInt32(p)] = Self.name(buf, body + 2, end)
                    }
                } else if keepVendor, let vendor = currentVendor {
                    if tabs == 1, let d = Self.hexValue(buf, body, 4) {
                        currentDevice = UInt16(d)
                        devices[UInt32(vendor) << 16 | UInt32(d)] = Self.name(buf, body + 4, end)
                    } else if tabs == 2, let device = currentDevice, body + 9 <= end,
                              let sv = Self.hexValue(buf, body, 4), let sd = Self.hexValue(buf, body + 5, 4) {
                        let key = UInt64(vendor) << 48 | UInt64(device) << 32 | UInt64(sv) << 16 | UInt64(sd)
                        subsystems[key] = Self.name(buf, body + 9, end)
                    }
                }
            }
        }
    }

    public func vendorName(_ vendor: UInt16) -> String? { vendors[vendor] }
    public func deviceName(_ vendor: UInt16, _ device: UInt16) -> String? { devices[UInt32(vendor) << 16 | UInt32(device)] }
    public func subsystemName(_ vendor: UInt16, _ device: UInt16, _ sv: UInt16, _ sd: UInt16) -> String? {
        subsystems[UInt64(vendor) << 48 | UInt64(device) << 32 | UInt64(sv) << 16 | UInt64(sd)]
    }
    public func className(_ c: PCIClass) -> String? { classes[c.base] }
    public func subclassName(_ c: PCIClass) -> String? { subclasses[UInt16(c.base) << 8 | UInt16(c.sub)] }
    public func progIfName(_ c: PCIClass) -> String? { progIfs[UInt32(c.base) << 16 | UInt32(c.sub) << 8 | UInt32(c.progIf)] }

    /// Fills every device's `names`. An id or class that could not be read is not named: its placeholder (0)
    /// would otherwise pick up a real name ("Non-VGA unclassified device").
    public func name(_ devices: inout [PCIDevice]) {
        for i in devices.indices {
            let d = devices[i]
            var names = PCINames()
            let vendorKnown = d.unparsed("vendor") == nil
            let deviceKnown = vendorKnown && d.unparsed("device") == nil
            if vendorKnown { names.vendor = vendorName(d.vendorID) }
            if deviceKnown {
                names.device = deviceName(d.vendorID, d.deviceID)
                if let sv = d.subsystemVendorID, let sd = d.subsystemDeviceID {
                    names.subsystem = subsystemName(d.vendorID, d.deviceID, sv, sd)
                }
            }
            if d.classIsKnown {
                names.className = className(d.pciClass)
                names.subclassName = subclassName(d.pciClass)
                names.progIfName = progIfName(d.pciClass)
            }
            devices[i].names = names
        }
    }

    /// `count` hex digits at `at`, or nil (shared with `PCIIDsExcerpt`, which pre-filters the file for bind).
    @inline(__always)
    static func hexValue(_ buf: UnsafeBufferPointer<UInt8>, _ at: Int, _ count: Int) -> UInt32? {
        guard at + count <= buf.count else { return nil }
        var v: UInt32 = 0
        for i in at..<(at + count) {
            let c = buf[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x61...0x66: d = c - 0x61 + 10
            case 0x41...0x46: d = c - 0x41 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private static func name(_ buf: UnsafeBufferPointer<UInt8>, _ from: Int, _ end: Int) -> String {
        guard from < end else { return "" }
        var s = from
        while s < end, buf[s] == 0x20 { s += 1 }
        var e = end
        while e > s, buf[e - 1] == 0x20 || buf[e - 1] == 0x0D { e -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: buf[s..<e]), as: UTF8.self)
    }
}
