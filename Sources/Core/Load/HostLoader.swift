/// Why a host could not be loaded at all (as opposed to single files, which become `ReadProblem`s).
public struct HostLoadError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// How much of the host to read. `vfioctl list` prints only identities; doctor and snapshot read everything.
public struct LoadScope: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Subsystem ids, power state, NUMA node, IRQ, link, reset and config-space capabilities of every device.
    public static let deviceDetails = LoadScope(rawValue: 1 << 0)
    /// CPU topology, KVM, memory, IRQ affinities, cgroups, network, block and input devices, modules, modprobe.d.
    public static let system = LoadScope(rawValue: 1 << 1)
    /// Ids, class, driver, override, group, boot VGA, and the IOMMU facts: what `vfioctl list` prints.
    public static let inventory: LoadScope = []
    public static let all: LoadScope = [.deviceDetails, .system]
}

/// Reads a whole `Host` through a `HostFileReader`. Missing optional files give nil facts; malformed files
/// are recorded as `ReadProblem`s naming the file, so one bad attribute never hides the rest of the host.
public struct HostLoader: Sendable {
    public let files: any HostFileReader

    public init(_ files: any HostFileReader) {
        self.files = files
    }

    public static let pciDevicesDir = SysfsPaths.pciDevices

    /// `groupsOf`: read only these functions and the other members of their IOMMU groups (a bind needs no
    /// more); the IOMMU facts stay whole. Addresses that do not exist are left out, for the caller to report.
    public func load(_ scope: LoadScope = .all, groupsOf targets: [PCIAddress]? = nil) throws(HostLoadError) -> HostModel {
        guard files.kind(of: "/sys") == .directory, files.kind(of: "/proc") == .directory else {
            throw HostLoadError(description: "the host root has no sys/ and proc/ directories; is it a host tree or a vfioctl snapshot?")
        }
        var host = HostModel()
        var problems = Problems()
        host.iommu = IOMMULoader(files: files).load(problems: &problems)
        var only: Set<PCIAddress>?
        if let targets {
            var wanted = Set<PCIAddress>()
            for a in targets where files.kind(of: HostPath.join(Self.pciDevicesDir, a.description)) != nil {
                wanted.insert(a)
                if let group = host.iommu.groups.first(where: { $0.devices.contains(a) }) { wanted.formUnion(group.devices) }
            }
            only = wanted
        }
        host.devices = loadDevices(scope, only: only, &problems)
        host.cmdline = KernelCommandLine(text("/proc/cmdline", &problems) ?? "")
        (host.irqs, host.defaultIRQAffinity) = loadIRQs(affinities: scope.contains(.system), &problems)
        if scope.contains(.system) {
            // The node's name (fleet reports, bug reports): read here so that snapshots carry it.
            host.hostname = FleetNodeName.read(files)
            host.loadedModules = ProcParsers.modules(optionalText("/proc/modules", &problems) ?? "")
            host.sysModules = Set(list("/sys/module", &problems))
            for file in list("/etc/modprobe.d", &problems) where file.hasSuffix(".conf") {
                let path = "/etc/modprobe.d/\(file)"
                if let text = optionalText(path, &problems) { host.modprobe += ModprobeDirective.parse(text, file: path) }
            }
            // No bootloader configuration at all is a normal answer (containers, unusual setups); one that is
            // found but whose arguments cannot be read is a problem, or doctor would compare against nothing.
            let boot = BootFiles.load(files)
            if let loader = try? BootConfig.detectBootloader(boot) {
                if let args = BootConfig.configuredArguments(boot) {
                    host.configuredBoot = ConfiguredBoot(bootloader: loader, arguments: args)
                } else {
                    problems.add(loader.configurationFile, "\(loader.rawValue) found, but no kernel arguments could be read from it")
                }
            }
            host.cpu = CPULoader(files: files).load(problems: &problems)
            host.kvm = loadKVM(&problems)
            host.memory = loadMemory(&problems)
            host.cgroup = ProcParsers.cgroupLayout(mounts: text("/proc/mounts", &problems) ?? "",
                                                   hasV2Controllers: files.exists("/sys/fs/cgroup/cgroup.controllers"))
            host.uefiBoot = files.kind(of: "/sys/firmware/efi") == .directory
            host.inputDevices = list("/dev/input/by-id", &problems)
            host.framebuffers = (optionalText("/proc/fb", &problems) ?? "").split(separator: "\n").map { $0.trimmingASCIIWhitespace() }
                .filter { !$0.isEmpty }
            host.network = loadNetwork(&problems)
            host.blockDevices = loadBlock(&problems)
        }
        host.iommu.interruptRemapping = IOMMULoader.interruptRemapping(
            iommu: host.iommu, irqs: host.irqs, cmdline: host.cmdline, ecaps: problems.ecaps)
        host.readProblems = problems.list
        return host
    }

    // MARK: PCI

    private func loadDevices(_ scope: LoadScope, only: Set<PCIAddress>?, _ problems: inout Problems) -> [PCIDevice] {
        guard files.kind(of: Self.pciDevicesDir) == .directory else {
            problems.add(Self.pciDevicesDir, "missing: the host shows no PCI bus")
            return []
        }
        var devices: [PCIDevice] = []
        let names = only.map { $0.map(\.description) } ?? list(Self.pciDevicesDir, &problems)
        for name in names {
            guard let address = PCIAddress(name) else {
                problems.add(HostPath.join(Self.pciDevicesDir, name), "not a PCI address")
                continue
            }
            devices.append(loadDevice(address, details: scope.contains(.deviceDetails), &problems))
        }
        devices.sort { $0.address < $1.address }
        return devices
    }

    /// Every function under `/sys/bus/pci/devices` stays in the model, even when its ids or class cannot be
    /// read: its IOMMU group names it, so leaving it out would hide a member of the group. What could not be
    /// used is marked on the device (`unparsedAttributes`) and recorded as a problem naming the file and value.
    private func loadDevice(_ address: PCIAddress, details: Bool, _ problems: inout Problems) -> PCIDevice {
        let dir = HostPath.join(Self.pciDevicesDir, address.description)
        func attr(_ name: String) -> String { dir + "/" + name }
        var unparsed: [UnparsedAttribute] = []
        func mark(_ name: String, _ path: String, seen: String, _ message: String) {
            problems.add(path, message)
            unparsed.append(UnparsedAttribute(name: name, path: path, seen: seen))
        }
        func markReadError(_ name: String, _ error: FileReadError) {
            let prefix = error.path + ": "
            let reason = error.description.hasPrefix(prefix) ? String(error.description.dropFirst(prefix.count)) : error.description
            mark(name, error.path, seen: "(\(reason))", error.description)
        }
        /// An attribute's text; nil when absent (optional ones) or unreadable (marked).
        func read(_ name: String, optional: Bool = true) -> String? {
            do { return optional ? try files.readOptionalText(attr(name)) : try files.readText(attr(name)) } catch {
                markReadError(name, error)
                return nil
            }
        }
        /// An attribute parsed by `parse`; text it cannot parse is marked with `expected` and the value seen.
        func parsed<T>(_ name: String, optional: Bool = true, expected: String, _ parse: (String) -> T?) -> T? {
            guard let raw = read(name, optional: optional) else { return nil }
            guard let value = parse(raw) else {
                mark(name, attr(name), seen: raw, "\(expected), read '\(raw)'")
                return nil
            }
            return value
        }
        func hexID(_ name: String, bits: Int, optional: Bool = true) -> UInt64? {
            parsed(name, optional: optional, expected: "expected a \(bits)-bit hex value like 0x\(String(repeating: "0", count: bits / 4))") {
                parseHex($0).flatMap { $0 < (1 << UInt64(bits)) ? $0 : nil }
            }
        }
        func link(_ name: String) -> String? {
            do { return try files.readLinkName(attr(name)) } catch {
                markReadError(name, error)
                return nil
            }
        }
        func integer(_ name: String) -> Int? { parsed(name, expected: "not a number") { Int($0) } }

        var sysfsPath = dir
        do {
            sysfsPath = HostPath.resolveLink(at: dir, target: try files.readLink(dir))
        } catch where error.reason == .notALink {
            // A plain directory (unusual, but a valid tree): keep the bus path.
        } catch {
            // The bridges above it are unknown; the function itself is still there.
            markReadError("device link", error)
        }

        // Placeholders (0) stand where a value is marked unparsed; nothing presents them as the device's ids.
        let vendor = hexID("vendor", bits: 16, optional: false)
        let deviceID = hexID("device", bits: 16, optional: false)
        let classCode = hexID("class", bits: 24, optional: false)
        var device = PCIDevice(address: address, vendorID: UInt16(vendor ?? 0), deviceID: UInt16(deviceID ?? 0),
                               pciClass: PCIClass(code: UInt32(classCode ?? 0)), sysfsPath: sysfsPath)
        device.revision = UInt8(hexID("revision", bits: 8) ?? 0)
        device.driver = link("driver")
        if let override = read("driver_override"), override != "(null)", !override.isEmpty {
            device.driverOverride = override
        }
        if let group = link("iommu_group") {
            if let id = Int(group), id >= 0 { device.iommuGroup = id } else {
                mark("iommu_group", attr("iommu_group"), seen: group, "link to '\(group)' is not a group number")
            }
        }
        if device.pciClass.isDisplay || !device.classIsKnown, let boot = read("boot_vga") {
            if boot == "1" || boot == "0" { device.bootVGA = boot == "1" } else {
                mark("boot_vga", attr("boot_vga"), seen: boot, "expected 0 or 1, read '\(boot)'")
            }
        }
        device.upstreamBridges = Self.upstreamBridges(sysfsPath: sysfsPath, of: address)
        guard details else {
            device.unparsedAttributes = unparsed
            return device
        }

        device.subsystemVendorID = hexID("subsystem_vendor", bits: 16).map { UInt16($0) }
        device.subsystemDeviceID = hexID("subsystem_device", bits: 16).map { UInt16($0) }
        if let methods = read("reset_method") {
            device.resetMethods = methods.split(separator: " ").map(String.init)
        }
        device.hasResetAttribute = files.exists(attr("reset"))
        device.powerState = read("power_state")
        if let numa = integer("numa_node") { device.numaNode = numa >= 0 ? numa : nil }
        device.irq = integer("irq")
        let speed = read("current_link_speed")
        let maxSpeed = read("max_link_speed")
        if speed != nil || maxSpeed != nil {
            device.link = PCILink(currentSpeed: speed, currentWidth: integer("current_link_width"),
                                  maxSpeed: maxSpeed, maxWidth: integer("max_link_width"))
        }
        let configPath = attr("config")
        var parsedConfig: Result<PCICapabilities, ConfigSpace.Malformed>?
        do {
            try files.readRanges(configPath) { read in
                parsedConfig = Result { () throws(ConfigSpace.Malformed) in try ConfigSpace.capabilities(standard: read(0, 256), readExtended: read) }
            }
        } catch {
            if error.reason != .notFound { markReadError("config", error) }
        }
        switch parsedConfig {
        case .success(let caps): device.capabilities = caps
        case .failure(let error): mark("config", configPath, seen: error.description, error.description)
        case nil: break
        }
        device.unparsedAttributes = unparsed
        return device
    }

    /// Bridges above a device from its canonical path: `/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0`.
    public static func upstreamBridges(sysfsPath: String, of address: PCIAddress) -> [PCIAddress] {
        sysfsPath.split(separator: "/").compactMap { PCIAddress(String($0)) }.filter { $0 != address }.reversed()
    }

    // MARK: Other subsystems

    private func loadKVM(_ problems: inout Problems) -> KVMState {
        var kvm = KVMState()
        kvm.deviceNode = files.exists("/dev/kvm")
        for (module, apicParam) in [("kvm_intel", "enable_apicv"), ("kvm_amd", "avic")] {
            let base = "/sys/module/\(module)"
            guard files.kind(of: base) == .directory else { continue }
            kvm.module = module
            kvm.apicVirtualization = parameterBool("\(base)/parameters/\(apicParam)", &problems)
            kvm.nested = parameterBool("\(base)/parameters/nested", &problems)
        }
        return kvm
    }

    private func loadMemory(_ problems: inout Problems) -> MemoryState {
        var memory = MemoryState()
        if let text = text("/proc/meminfo", &problems) {
            let meminfo = ProcParsers.meminfo(text)
            memory.totalKiB = meminfo["MemTotal"]
            memory.availableKiB = meminfo["MemAvailable"]
            if memory.totalKiB == nil { problems.add("/proc/meminfo", "no 'MemTotal: N kB' line, read '\(Self.excerpt(text))'") }
        }
        memory.hugepages = hugepagePools(under: "/sys/kernel/mm/hugepages", node: nil, &problems)
        memory.transparentHugepages = selectedChoice("/sys/kernel/mm/transparent_hugepage/enabled", &problems)
        memory.transparentHugepagesDefrag = selectedChoice("/sys/kernel/mm/transparent_hugepage/defrag", &problems)
        return memory
    }

    func hugepagePools(under dir: String, node: Int?, _ problems: inout Problems) -> [HugePagePool] {
        list(dir, &problems).compactMap { name -> HugePagePool? in
            // "hugepages-2048kB"
            guard name.hasPrefix("hugepages-") else { return nil }
            guard name.hasSuffix("kB"), name.count > 12, let size = Int(name.dropFirst(10).dropLast(2)), size > 0 else {
                problems.add("\(dir)/\(name)", "not a hugepage pool name like hugepages-2048kB")
                return nil
            }
            guard let total = count("\(dir)/\(name)/nr_hugepages", &problems) else { return nil }
            return HugePagePool(sizeKiB: size, total: total, free: count("\(dir)/\(name)/free_hugepages", &problems), node: node)
        }.sorted { $0.sizeKiB < $1.sizeKiB }
    }

    private func loadIRQs(affinities: Bool, _ problems: inout Problems) -> ([IRQ], CPUSet?) {
        guard let table = optionalText("/proc/interrupts", &problems) else { return ([], nil) }
        var irqs: [IRQ]
        do {
            irqs = try ProcParsers.interrupts(table)
        } catch {
            problems.add("/proc/interrupts", error.description)
            return ([], nil)
        }
        guard affinities else { return (irqs, nil) }
        for i in irqs.indices {
            guard let n = irqs[i].number else { continue }
            if let list = optionalText("/proc/irq/\(n)/smp_affinity_list", &problems) {
                irqs[i].affinity = CPUSet(list: list)
                if irqs[i].affinity == nil { problems.add("/proc/irq/\(n)/smp_affinity_list", "not a CPU list: '\(list)'") }
            }
            if let list = optionalText("/proc/irq/\(n)/effective_affinity_list", &problems) {
                irqs[i].effectiveAffinity = CPUSet(list: list)
                if irqs[i].effectiveAffinity == nil { problems.add("/proc/irq/\(n)/effective_affinity_list", "not a CPU list: '\(list)'") }
            }
        }
        var defaultAffinity: CPUSet?
        if let mask = optionalText("/proc/irq/default_smp_affinity", &problems) {
            defaultAffinity = CPUSet(mask: mask)
            if defaultAffinity == nil { problems.add("/proc/irq/default_smp_affinity", "not a CPU mask: '\(mask)'") }
        }
        return (irqs, defaultAffinity)
    }

    private func loadNetwork(_ problems: inout Problems) -> [NetworkInterface] {
        let defaultRoutes = ProcParsers.defaultRouteInterfaces(optionalText("/proc/net/route", &problems) ?? "")
        return list("/sys/class/net", &problems).map { name in
            let base = "/sys/class/net/\(name)"
            return NetworkInterface(name: name, device: files.pciFunction(behind: base),
                                    operstate: optionalText("\(base)/operstate", &problems),
                                    hasDefaultRoute: defaultRoutes.contains(name))
        }
    }

    private func loadBlock(_ problems: inout Problems) -> [BlockDevice] {
        list("/sys/class/block", &problems).map { name in
            BlockDevice(name: name, device: files.pciFunction(behind: "/sys/class/block/\(name)"))
        }
    }

    // MARK: Reading helpers

    func text(_ path: String, _ problems: inout Problems) -> String? {
        do { return try files.readText(path) } catch {
            problems.add(path, error.description)
            return nil
        }
    }

    func optionalText(_ path: String, _ problems: inout Problems) -> String? {
        do { return try files.readOptionalText(path) } catch {
            problems.add(path, error.description)
            return nil
        }
    }

    func list(_ path: String, _ problems: inout Problems) -> [String] {
        do { return try files.listOptionalDirectory(path) } catch {
            problems.add(path, error.description)
            return []
        }
    }

    /// A non-negative count (`nr_hugepages`); nil when absent, or unparsable (recorded).
    func count(_ path: String, _ problems: inout Problems) -> Int? {
        guard let text = optionalText(path, &problems) else { return nil }
        guard let n = Int(text), n >= 0 else {
            problems.add(path, "not a count: '\(text)'")
            return nil
        }
        return n
    }

    /// A module parameter boolean (`Y`/`N`, `1`/`0`); nil when absent, or unparsable (recorded).
    func parameterBool(_ path: String, _ problems: inout Problems) -> Bool? {
        guard let text = optionalText(path, &problems) else { return nil }
        guard let value = ProcParsers.parameterBool(text) else {
            problems.add(path, "expected Y or N, read '\(text)'")
            return nil
        }
        return value
    }

    /// The bracketed choice of a sysfs selector; nil when absent, or when no choice is bracketed (recorded).
    func selectedChoice(_ path: String, _ problems: inout Problems) -> String? {
        guard let text = optionalText(path, &problems) else { return nil }
        guard let choice = ProcParsers.selectedChoice(text) else {
            problems.add(path, "no [selected] choice in '\(text)'")
            return nil
        }
        return choice
    }

    /// The start of a file for a problem message: long or multi-line text would drown the report.
    static func excerpt(_ text: String) -> String {
        let firstLine = text.prefix { $0 != "\n" }
        let cut = firstLine.prefix(60)
        return cut.count < text.count ? cut + "…" : String(cut)
    }

    func linkName(_ path: String, _ problems: inout Problems) -> String? {
        do { return try files.readLinkName(path) } catch {
            problems.add(path, error.description)
            return nil
        }
    }
}

/// Read problems gathered during one load, plus raw facts later steps combine.
struct Problems {
    var list: [ReadProblem] = []
    var ecaps: [(unit: String, ecap: UInt64)] = []
    mutating func add(_ path: String, _ message: String) {
        list.append(ReadProblem(path: path, message: message.hasPrefix(path + ": ") ? String(message.dropFirst(path.count + 2)) : message))
    }
}
