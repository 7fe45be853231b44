/// A spec that could not be read, naming the line and key ("line 7: key 'vcpus': expected an integer, found a string").
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { line > 0 ? "line \(line): \(message)" : message }
}

extension VMSpec {
    /// Reads a spec from TOML text. Unknown keys and tables are errors (a typo never silently does nothing).
    public static func parse(_ text: String) throws(SpecError) -> VMSpec {
        let doc: TOMLDocument
        do { doc = try TOML.parse(text) } catch { throw SpecError(line: error.line, error.message) }

        let knownTables: Set<String> = ["cpu", "firmware", "device", "hyperv", "looking-glass", "input", "disk", "boot", "proxmox", "os", "install", "network"]
        for t in doc.tables where !knownTables.contains(t.name) {
            throw SpecError(line: t.line, "unknown table '[\(t.name)]' (known: \(knownTables.sorted().joined(separator: ", ")))")
        }
        for t in doc.tables where ["cpu", "firmware", "hyperv", "looking-glass", "input", "boot", "proxmox", "os", "install", "network"].contains(t.name) {
            if doc.tables.filter({ $0.name == t.name }).count > 1 { throw SpecError(line: t.line, "'[[\(t.name)]]' must be a single table '[\(t.name)]'") }
        }

        var r = Keys(doc.root)
        let name = try r.string("name")
        if let problem = SpecRules.name(name) { throw SpecError(line: r.line("name"), problem) }
        let vcpus = try r.int("vcpus", range: SpecRules.vcpus)
        let memText = try r.string("memory")
        let mib: Int
        switch SpecRules.memory(memText) {
        case .success(let m): mib = m
        case .failure(let e): throw SpecError(line: r.line("memory"), e.message)
        }
        var spec = VMSpec(name: name, vcpus: vcpus, memoryMiB: mib)
        if let hp = try r.optionalString("hugepages") {
            guard let size = HugepageSize(rawValue: hp.uppercased()) else {
                throw SpecError(line: r.line("hugepages"), "key 'hugepages': '\(hp)' must be \"2M\" or \"1G\" (leave it out for none)")
            }
            guard mib % size.mib == 0 else {
                throw SpecError(line: r.line("hugepages"), "key 'hugepages': memory \(memText) is not a multiple of \(size.rawValue) pages")
            }
            spec.hugepages = size
        }
        spec.numaNode = try r.optionalInt("numa-node", range: 0...1023)
        try r.finish()

        if let t = doc.table("cpu") {
            var c = Keys(t)
            spec.cpu.pin = try c.intArray("pin")
            guard spec.cpu.pin.count == vcpus else {
                throw SpecError(line: c.line("pin"), "key 'pin' in [cpu]: \(spec.cpu.pin.count) host CPUs for \(vcpus) vCPUs (one per vCPU)")
            }
            if let shared = PinningRules.conflicts(pin: spec.cpu.pin, emulator: .empty).first {
                throw SpecError(line: c.line("pin"), "key 'pin' in [cpu]: \(shared)")
            }
            spec.cpu.emulator = try c.cpuSet("emulator")
            if let shared = PinningRules.conflicts(pin: spec.cpu.pin, emulator: spec.cpu.emulator).first {
                throw SpecError(line: c.line("emulator"), "key 'emulator' in [cpu]: \(shared)")
            }
            spec.cpu.iothreads = try c.optionalInt("iothreads", range: 0...16) ?? 1
            spec.cpu.sockets = try c.optionalInt("sockets", range: 1...16) ?? 1
            spec.cpu.threads = try c.optionalInt("threads", range: 1...4) ?? 1
            spec.cpu.cores = try c.optionalInt("cores", range: 1...512) ?? vcpus / (spec.cpu.sockets * spec.cpu.threads)
            guard spec.cpu.sockets * spec.cpu.cores * spec.cpu.threads == vcpus else {
                throw SpecError(line: t.line, "[cpu]: sockets × cores × threads = \(spec.cpu.sockets)×\(spec.cpu.cores)×\(spec.cpu.threads) ≠ vcpus \(vcpus)")
            }
            spec.cpu.topoext = try c.optionalBool("topoext") ?? false
            try c.finish()
        } else {
            throw SpecError(line: 0, "missing table [cpu] (pin = [...] and emulator = \"...\"; vfioctl init writes one)")
        }

        if let t = doc.table("firmware") {
            var f = Keys(t)
            spec.firmware.code = try f.path("code")
            spec.firmware.vars = try f.path("vars")
            spec.firmware.nvram = try f.optionalPath("nvram") ?? "/var/lib/libvirt/qemu/nvram/\(name)_VARS.fd"
            spec.firmware.secureBoot = try f.optionalBool("secure-boot") ?? false
            try f.finish()
        } else {
            spec.firmware.nvram = "/var/lib/libvirt/qemu/nvram/\(name)_VARS.fd"
        }

        for t in doc.array("device") {
            var d = Keys(t)
            let text = try d.string("address")
            guard let address = PCIAddress(text) else {
                throw SpecError(line: d.line("address"), "key 'address' in [device]: '\(text)' is not a PCI address (DDDD:BB:DD.F)")
            }
            let idText = try d.string("id")
            let ids = idText.split(separator: ":")
            guard ids.count == 2, ids.allSatisfy({ $0.count == 4 }), let v = UInt16(ids[0], radix: 16), let p = UInt16(ids[1], radix: 16) else {
                throw SpecError(line: d.line("id"), "key 'id' in [device]: '\(idText)' is not vendor:device (e.g. \"10de:2204\")")
            }
            let kindText = try d.optionalString("kind") ?? "other"
            guard let kind = PassedDevice.Kind(rawValue: kindText) else {
                throw SpecError(line: d.line("kind"), "key 'kind' in [device]: '\(kindText)' is not one of \(PassedDevice.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var dev = PassedDevice(address: address, vendorID: v, deviceID: p, kind: kind)
            dev.rom = try d.optionalPath("rom")
            dev.hostDrivers = try d.moduleNames("host-drivers")
            dev.identity = try d.identity()
            if spec.devices.contains(where: { $0.address == address }) {
                throw SpecError(line: d.line("address"), "key 'address' in [device]: \(address) is listed twice")
            }
            spec.devices.append(dev)
            if spec.devices.count > SpecRules.maxDevices {
                throw SpecError(line: t.line, "[[device]]: more than \(SpecRules.maxDevices) devices")
            }
            try d.finish()
        }

        if let t = doc.table("hyperv") {
            var h = Keys(t)
            spec.hyperv.enlightenments = try h.optionalBool("enlightenments") ?? true
            if let id = try h.optionalString("vendor-id") {
                if let problem = SpecRules.vendorID(id) { throw SpecError(line: h.line("vendor-id"), problem) }
                spec.hyperv.vendorID = id
            }
            spec.hyperv.kvmHidden = try h.optionalBool("kvm-hidden") ?? false
            try h.finish()
        }

        if let t = doc.table("looking-glass") {
            var l = Keys(t)
            spec.lookingGlass = LookingGlass(width: try l.int("width", range: SpecRules.lookingGlassWidth), height: try l.int("height", range: SpecRules.lookingGlassHeight))
            try l.finish()
        }

        if let t = doc.table("input") {
            var i = Keys(t)
            spec.input = try i.optionalStringArray("evdev") ?? []
            for p in spec.input where !p.hasPrefix("/dev/input/") {
                throw SpecError(line: i.line("evdev"), "key 'evdev' in [input]: '\(p)' is not under /dev/input/")
            }
            try i.finish()
        }

        for t in doc.array("disk") {
            var d = Keys(t)
            let path = try d.path("path")
            let format = try d.optionalString("format") ?? "raw"
            guard ["raw", "qcow2"].contains(format) else {
                throw SpecError(line: d.line("format"), "key 'format' in [disk]: '\(format)' must be \"raw\" or \"qcow2\"")
            }
            var disk = Disk(path: path, format: format)
            if let size = try d.optionalString("size") {
                switch MemorySize.mib(size) {
                case .success(let mib): disk.sizeMiB = mib
                case .failure(.notASize): throw SpecError(line: d.line("size"), "key 'size' in [disk]: '\(SpecRules.visible(size))' is not a size (e.g. \"128G\")")
                case .failure(.tooLarge): throw SpecError(line: d.line("size"), "key 'size' in [disk]: '\(SpecRules.visible(size))' is more than 64T")
                }
            }
            if let bus = try d.optionalString("bus") {
                guard let b = Disk.Bus(rawValue: bus) else {
                    throw SpecError(line: d.line("bus"), "key 'bus' in [disk]: '\(SpecRules.visible(bus))' must be \"virtio\" or \"sata\"")
                }
                disk.bus = b
            }
            spec.disks.append(disk)
            if spec.disks.count > SpecRules.maxDisks { throw SpecError(line: t.line, "[[disk]]: more than \(SpecRules.maxDisks) disks") }
            try d.finish()
        }

        if let t = doc.table("os") {
            var o = Keys(t)
            let type = try o.string("type")
            guard let os = GuestOS(rawValue: type) else {
                throw SpecError(line: o.line("type"), "key 'type' in [os]: '\(SpecRules.visible(type))' must be one of \(GuestOS.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.os = os
            spec.tpm = try o.optionalBool("tpm") ?? (os == .windows11)
            spec.usbTablet = try o.optionalBool("tablet") ?? true
            let sound = try o.optionalString("sound") ?? Sound.ich9.rawValue
            if sound != "none" {
                guard let s = Sound(rawValue: sound) else {
                    throw SpecError(line: o.line("sound"), "key 'sound' in [os]: '\(SpecRules.visible(sound))' must be \"ich9\", \"ich6\" or \"none\"")
                }
                spec.sound = s
            }
            try o.finish()
        }

        if let t = doc.table("install") {
            var i = Keys(t)
            spec.install.iso = try i.optionalPath("iso")
            spec.install.virtioISO = try i.optionalPath("virtio-iso")
            try i.finish()
        }

        if let t = doc.table("network") {
            var n = Keys(t)
            let network = try n.optionalString("network")
            let bridge = try n.optionalString("bridge")
            let source: Network.Source
            switch (network, bridge) {
            case (let name?, nil):
                if let problem = SpecRules.networkName("network", name, bridge: false) { throw SpecError(line: n.line("network"), problem) }
                source = .network(name)
            case (nil, let name?):
                if let problem = SpecRules.networkName("bridge", name, bridge: true) { throw SpecError(line: n.line("bridge"), problem) }
                source = .bridge(name)
            default:
                throw SpecError(line: t.line, "[network]: give exactly one of network = \"default\" (a libvirt network) or bridge = \"br0\" (a host bridge)")
            }
            var net = Network(source: source)
            if let model = try n.optionalString("model") {
                guard let m = Network.Model(rawValue: model) else {
                    throw SpecError(line: n.line("model"), "key 'model' in [network]: '\(SpecRules.visible(model))' must be \"virtio\" or \"e1000e\"")
                }
                net.model = m
            }
            spec.network = net
            try n.finish()
        }

        if let t = doc.table("boot") {
            var b = Keys(t)
            spec.boot.videoEfifbOff = try b.optionalBool("video-efifb-off") ?? false
            spec.boot.isolateCPUs = try b.optionalBool("isolate-cpus") ?? false
            spec.boot.blacklist = try b.moduleNames("blacklist")
            try b.finish()
        }

        if let t = doc.table("proxmox") {
            var p = Keys(t)
            spec.proxmox.vmid = try p.optionalInt("vmid", range: 100...999_999_999) ?? 100
            if let storage = try p.optionalString("storage") {
                if let problem = SpecRules.storageID(storage) { throw SpecError(line: p.line("storage"), problem) }
                spec.proxmox.storage = storage
            }
            try p.finish()
        }
        // Everything above named its line; this catches any rule the checks above do not repeat.
        try spec.validate()
        return spec
    }
}

/// Reads the keys of one table, remembering which were used so `finish()` can reject unknown ones.
private struct Keys {
    let table: TOMLTable
    var used = Set<String>()

    init(_ table: TOMLTable) { self.table = table }

    var context: String { table.name.isEmpty ? "" : " in [\(table.name)]" }

    func line(_ key: String) -> Int { table.entry(key)?.line ?? table.line }

    mutating func value(_ key: String) throws(SpecError) -> (TOMLValue, Int) {
        used.insert(key)
        guard let e = table.entry(key) else { throw SpecError(line: table.line, "missing key '\(key)'\(context)") }
        return e
    }

    mutating func optional(_ key: String) -> (TOMLValue, Int)? {
        used.insert(key)
        return table.entry(key)
    }

    func mismatch(_ key: String, _ line: Int, _ expected: String, _ v: TOMLValue) -> SpecError {
        SpecError(line: line, "key '\(key)'\(context): expected \(expected), found \(v.typeName)")
    }

    /// Every string of a spec passes here: no value with a control character gets any further.
    func text(_ key: String, _ s: String, _ l: Int) throws(SpecError) -> String {
        if let problem = SpecRules.text(key, s, in: table.name) { throw SpecError(line: l, problem) }
        return s
    }

    mutating func string(_ key: String) throws(SpecError) -> String {
        let (v, l) = try value(key)
        guard case .string(let s) = v else { throw mismatch(key, l, "a string", v) }
        return try text(key, s, l)
    }

    mutating func optionalString(_ key: String) throws(SpecError) -> String? {
        guard let e = optional(key) else { return nil }
        let (v, l) = e
        guard case .string(let s) = v else { throw mismatch(key, l, "a string", v) }
        return try text(key, s, l)
    }

    mutating func path(_ key: String) throws(SpecError) -> String {
        let p = try string(key)
        guard p.hasPrefix("/") else { throw SpecError(line: line(key), "key '\(key)'\(context): '\(p)' must be an absolute path") }
        return p
    }

    mutating func optionalPath(_ key: String) throws(SpecError) -> String? {
        guard table.entry(key) != nil else { used.insert(key); return nil }
        return try path(key)
    }

    mutating func int(_ key: String, range: ClosedRange<Int>) throws(SpecError) -> Int {
        let (v, l) = try value(key)
        return try checkInt(key, v, l, range)
    }

    mutating func optionalInt(_ key: String, range: ClosedRange<Int>) throws(SpecError) -> Int? {
        guard let e = optional(key) else { return nil }
        let (v, l) = e
        return try checkInt(key, v, l, range)
    }

    func checkInt(_ key: String, _ v: TOMLValue, _ l: Int, _ range: ClosedRange<Int>) throws(SpecError) -> Int {
        guard case .integer(let n) = v else { throw mismatch(key, l, "an integer", v) }
        guard range.contains(n) else { throw SpecError(line: l, "key '\(key)'\(context): \(n) is outside \(range.lowerBound)…\(range.upperBound)") }
        return n
    }

    mutating func optionalBool(_ key: String) throws(SpecError) -> Bool? {
        guard let e = optional(key) else { return nil }
        let (v, l) = e
        guard case .bool(let b) = v else { throw mismatch(key, l, "true or false", v) }
        return b
    }

    mutating func intArray(_ key: String) throws(SpecError) -> [Int] {
        let (v, l) = try value(key)
        guard case .array(let items) = v else { throw mismatch(key, l, "an array of CPU numbers", v) }
        var out: [Int] = []
        for item in items {
            guard case .integer(let n) = item else { throw mismatch(key, l, "CPU numbers in the array", item) }
            guard (0...SpecRules.maxCPU).contains(n) else { throw SpecError(line: l, "key '\(key)'\(context): CPU \(n) is outside 0…\(SpecRules.maxCPU)") }
            out.append(n)
        }
        return out
    }

    mutating func optionalStringArray(_ key: String) throws(SpecError) -> [String]? {
        guard let e = optional(key) else { return nil }
        let (v, l) = e
        guard case .array(let items) = v else { throw mismatch(key, l, "an array of strings", v) }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw mismatch(key, l, "strings in the array", item) }
            out.append(try text(key, s, l))
        }
        return out
    }

    /// A device's recorded identity (`subsystem`, `slot-path`); nil when neither key is there (an older spec).
    mutating func identity() throws(SpecError) -> VMSpec.DeviceIdentity? {
        let sub = try optionalString("subsystem")
        let path = try optionalStringArray("slot-path")
        guard sub != nil || path != nil else { return nil }
        var identity = VMSpec.DeviceIdentity(subsystemVendorID: nil, subsystemDeviceID: nil, slotPath: [])
        if let sub {
            guard let (v, d) = SpecRules.idPair(sub) else {
                throw SpecError(line: line("subsystem"), "key 'subsystem' in [device]: '\(SpecRules.visible(sub))' is not subsystem_vendor:subsystem_device (e.g. \"1458:4020\")")
            }
            identity.subsystemVendorID = v
            identity.subsystemDeviceID = d
        }
        if let path {
            if let problem = SpecRules.slotPath(path) { throw SpecError(line: line("slot-path"), problem) }
            identity.slotPath = path.compactMap(PCIAddress.init)
        }
        return identity
    }

    /// Kernel module names (modprobe.d words): `SpecRules.moduleName`.
    mutating func moduleNames(_ key: String) throws(SpecError) -> [String] {
        let names = try optionalStringArray(key) ?? []
        for n in names {
            if let problem = SpecRules.moduleName(key, n, in: table.name) { throw SpecError(line: line(key), problem) }
        }
        return names
    }

    mutating func cpuSet(_ key: String) throws(SpecError) -> CPUSet {
        let text = try string(key)
        let set: CPUSet
        do { set = try CPUSet.parse(list: text) } catch {
            throw SpecError(line: line(key), "key '\(key)'\(context): '\(text)' is not a CPU list (e.g. \"0,6\" or \"0-1\"): \(error)")
        }
        guard !set.isEmpty else {
            throw SpecError(line: line(key), "key '\(key)'\(context): '\(text)' is not a CPU list (e.g. \"0,6\" or \"0-1\")")
        }
        return set
    }

    func finish() throws(SpecError) {
        for e in table.entries where !used.contains(e.key) {
            let known = used.sorted().joined(separator: ", ")
            throw SpecError(line: e.line, "unknown key '\(SpecRules.visible(e.key))'\(context) (known: \(known))")
        }
    }
}
