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

    public static let pciDevicesDir = "/sys/bus/pci/devices"

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
            host.loadedModules = ProcParsers.modules(optionalText("/proc/modules", &problems) ?? "")
            host.sysModules = Set(list("/sys/module", &problems))
            for file in list("/etc/modprobe.d", &problems) where file.hasSuffix(".conf") {
                let path = "/etc/modprobe.d/\(file)"
                if let text = optionalText(path, &problems) { host.modprobe += ModprobeDirective.parse(text, file: path) }
            }
            if let loader = try? BootConfig.detectBootloader(files), let args = BootConfig.configuredArguments(files) {
                host.configuredBoot = ConfiguredBoot(bootloader: loader, arguments: args)
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
            if let device = loadDevice(address, details: scope.contains(.deviceDetails), &problems) { devices.append(device) }
        }
        devices.sort { $0.address < $1.address }
        return devices
    }

    private func loadDevice(_ address: PCIAddress, details: Bool, _ problems: inout Problems) -> PCIDevice? {
        let dir = HostPath.join(Self.pciDevicesDir, address.description)
        func attr(_ name: String) -> String { dir + "/" + name }

        var sysfsPath = dir
        do {
            sysfsPath = HostPath.resolveLink(at: dir, target: try files.readLink(dir))
        } catch where error.reason == .notALink {
            // A plain directory (unusual, but a valid tree): keep the bus path.
        } catch {
            problems.add(dir, error.description)
            return nil
        }

        guard let vendor = hexAttr(attr("vendor"), bits: 16, &problems),
              let deviceID = hexAttr(attr("device"), bits: 16, &problems),
              let classCode = hexAttr(attr("class"), bits: 24, &problems)
        else { return nil }

        var device = PCIDevice(address: address, vendorID: UInt16(vendor), deviceID: UInt16(deviceID),
                               pciClass: PCIClass(code: UInt32(classCode)), sysfsPath: sysfsPath)
        device.revision = UInt8(hexAttr(attr("revision"), bits: 8, &problems, optional: true) ?? 0)
        device.driver = linkName(attr("driver"), &problems)
        if let override = optionalText(attr("driver_override"), &problems), override != "(null)", !override.isEmpty {
            device.driverOverride = override
        }
        if let group = linkName(attr("iommu_group"), &problems) {
            if let id = Int(group) { device.iommuGroup = id } else { problems.add(attr("iommu_group"), "link to '\(group)' is not a group number") }
        }
        if device.pciClass.isDisplay, let boot = optionalText(attr("boot_vga"), &problems) {
            if boot == "1" || boot == "0" { device.bootVGA = boot == "1" } else { problems.add(attr("boot_vga"), "expected 0 or 1, read '\(boot)'") }
        }
        device.upstreamBridges = Self.upstreamBridges(sysfsPath: sysfsPath, of: address)
        guard details else { return device }

        device.subsystemVendorID = hexAttr(attr("subsystem_vendor"), bits: 16, &problems, optional: true).map { UInt16($0) }
        device.subsystemDeviceID = hexAttr(attr("subsystem_device"), bits: 16, &problems, optional: true).map { UInt16($0) }
        if let methods = optionalText(attr("reset_method"), &problems) {
            device.resetMethods = methods.split(separator: " ").map(String.init)
        }
        device.hasResetAttribute = files.exists(attr("reset"))
        device.powerState = optionalText(attr("power_state"), &problems)
        if let numa = optionalText(attr("numa_node"), &problems) {
            if let n = Int(numa) { device.numaNode = n >= 0 ? n : nil } else { problems.add(attr("numa_node"), "not a number: '\(numa)'") }
        }
        if let irq = optionalText(attr("irq"), &problems) { device.irq = Int(irq) }
        let speed = optionalText(attr("current_link_speed"), &problems)
        let maxSpeed = optionalText(attr("max_link_speed"), &problems)
        if speed != nil || maxSpeed != nil {
            device.link = PCILink(currentSpeed: speed, currentWidth: optionalText(attr("current_link_width"), &problems).flatMap { Int($0) },
                                  maxSpeed: maxSpeed, maxWidth: optionalText(attr("max_link_width"), &problems).flatMap { Int($0) })
        }
        let configPath = attr("config")
        var parsed: Result<PCICapabilities, ConfigSpace.Malformed>?
        do {
            try files.readRanges(configPath) { read in
                parsed = Result { () throws(ConfigSpace.Malformed) in try ConfigSpace.capabilities(standard: read(0, 256), readExtended: read) }
            }
        } catch {
            if error.reason != .notFound { problems.add(configPath, error.description) }
        }
        switch parsed {
        case .success(let caps): device.capabilities = caps
        case .failure(let error): problems.add(configPath, error.description)
        case nil: break
        }
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
            kvm.apicVirtualization = optionalText("\(base)/parameters/\(apicParam)", &problems).flatMap(ProcParsers.parameterBool)
            kvm.nested = optionalText("\(base)/parameters/nested", &problems).flatMap(ProcParsers.parameterBool)
        }
        return kvm
    }

    private func loadMemory(_ problems: inout Problems) -> MemoryState {
        var memory = MemoryState()
        let meminfo = ProcParsers.meminfo(text("/proc/meminfo", &problems) ?? "")
        memory.totalKiB = meminfo["MemTotal"]
        memory.availableKiB = meminfo["MemAvailable"]
        memory.hugepages = hugepagePools(under: "/sys/kernel/mm/hugepages", node: nil, &problems)
        memory.transparentHugepages = optionalText("/sys/kernel/mm/transparent_hugepage/enabled", &problems).flatMap(ProcParsers.selectedChoice)
        memory.transparentHugepagesDefrag = optionalText("/sys/kernel/mm/transparent_hugepage/defrag", &problems).flatMap(ProcParsers.selectedChoice)
        return memory
    }

    func hugepagePools(under dir: String, node: Int?, _ problems: inout Problems) -> [HugePagePool] {
        list(dir, &problems).compactMap { name -> HugePagePool? in
            // "hugepages-2048kB"
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB"), let size = Int(name.dropFirst(10).dropLast(2)) else { return nil }
            let total = optionalText("\(dir)/\(name)/nr_hugepages", &problems).flatMap { Int($0) }
            guard let total else { return nil }
            return HugePagePool(sizeKiB: size, total: total,
                                free: optionalText("\(dir)/\(name)/free_hugepages", &problems).flatMap { Int($0) }, node: node)
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
            }
        }
        let defaultAffinity = optionalText("/proc/irq/default_smp_affinity", &problems).flatMap { CPUSet(mask: $0) }
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

    func linkName(_ path: String, _ problems: inout Problems) -> String? {
        do { return try files.readLinkName(path) } catch {
            problems.add(path, error.description)
            return nil
        }
    }

    func hexAttr(_ path: String, bits: Int, _ problems: inout Problems, optional: Bool = false) -> UInt64? {
        let raw = optional ? optionalText(path, &problems) : text(path, &problems)
        guard let raw else { return nil }
        guard let value = parseHex(raw), value < (1 << UInt64(bits)) else {
            problems.add(path, "expected a \(bits)-bit hex value like 0x\(String(repeating: "0", count: bits / 4)), read '\(raw)'")
            return nil
        }
        return value
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
