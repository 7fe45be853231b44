import Foundation
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

/// The one fake kernel of the tests, behind a fake host tree: a `HostWriter` and `ShieldKernel` that answers
/// writes as Linux does.
/// - PCI driver core (drivers/pci/pci-driver.c, drivers/base/bus.c): `driver_override`, `unbind`, `bind` and
///   `drivers_probe` move the `driver` links and honour `driver_override`; vfio-pci binding a grouped device
///   creates `/dev/vfio/N`; `modprobe [-r]` unloads and reloads a driver's module.
/// - cgroups and affinity (kernel/cgroup/cgroup.c, kernel/irq/proc.c): `cgroup.procs` writes move a task,
///   `subtree_control` takes +/- controllers, managed IRQs refuse with EIO, affinity shows in `/proc/PID/status`.
/// Every write is traced in order (also those that fail), every call logged; failures are injected on demand.
public final class FakeKernel: HostWriter, ShieldKernel, @unchecked Sendable {
    public let host: FakeHost
    public var root: String { host.dir }
    public var files: RootedFileSystem { host.files }
    /// Where the cgroup hierarchy is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/cpuset` for v1).
    public let cgroupMount: String
    /// The driver each device's ids match (what a probe without override binds).
    public var native: [PCIAddress: String] = [:]
    /// Injected failure: return an errno to fail the write (before it has any effect).
    public var failure: ((_ index: Int, _ path: String, _ value: String) -> Int32?)?
    /// Devices vfio-pci silently does not take (as without an IOMMU: probe fails, no driver).
    public var vfioRefuses: Set<PCIAddress> = []
    public var managedIRQs: Set<Int> = [25]
    private var unloadedDrivers: [String: Set<String>] = [:]
    private let lock = NSLock()
    private var _trace: [(path: String, value: String)] = []
    private var _log: [String] = []
    /// Every write, in order (also those that failed).
    public var trace: [(path: String, value: String)] { lock.withLock { _trace } }
    /// Every call: `write PATH VALUE`, `mkdir PATH`, `rmdir PATH`, `affinity PID CPUS`, `systemctl UNIT AllowedCPUs=V`.
    public var log: [String] { lock.withLock { _log } }

    /// A host rendered from `tree` (its own directory, removed with the kernel); each device's driver is native.
    public convenience init(_ tree: HostTree) throws {
        self.init(try FakeHost(tree), mount: "/sys/fs/cgroup")
        for d in tree.devices {
            if let a = PCIAddress(d.address.description), let drv = d.driver { native[a] = drv }
        }
    }

    public init(_ host: FakeHost, mount: String) {
        self.host = host
        self.cgroupMount = mount
    }

    private func record(_ s: String) { lock.withLock { _log.append(s) } }

    public func driver(_ a: PCIAddress) -> String? { (try? files.readLinkName(PCIDriverPaths.driverLink(a))) ?? nil }
    public func override(_ a: PCIAddress) -> String? {
        let v = (try? files.readOptionalText(PCIDriverPaths.driverOverride(a))) ?? nil
        return v == "(null)" ? nil : v
    }
    public func state(_ addresses: [PCIAddress]) -> [String] { addresses.map { "\($0)=\(driver($0) ?? "-")/\(override($0) ?? "(null)")" } }

    public func write(_ path: String, _ value: String) throws(HostWriteError) {
        let index = lock.withLock {
            _trace.append((path, value))
            return _trace.count - 1
        }
        record("write \(path) \(value)")
        func fail(_ e: Int32) -> HostWriteError { HostWriteError(path: path, value: value, errno: e) }
        if let errno = failure?(index, path, value) { throw fail(errno) }
        let parts = path.split(separator: "/").map(String.init)
        // /sys/bus/pci/devices/A/driver_override, /sys/bus/pci/devices/A/driver/unbind
        if parts.count >= 5, parts[0...3] == ["sys", "bus", "pci", "devices"], let a = PCIAddress(parts[4]) {
            if parts.count == 6, parts[5] == "driver_override" {
                let v = value.trimmingCharacters(in: .newlines)
                writeFile(path, (v.isEmpty ? "(null)" : v) + "\n")
                return
            }
            if parts.count == 7, parts[5] == "driver", parts[6] == "unbind" {
                guard driver(a) != nil else { throw fail(ENOENT) }
                unbind(a)
                return
            }
        }
        if path == PCIDriverPaths.driversProbe {
            guard let a = PCIAddress(value) else { throw fail(EINVAL) }
            guard driver(a) == nil else { return }
            guard let drv = override(a) ?? native[a] else { return }
            try? bind(a, drv)
            return
        }
        // /sys/bus/pci/drivers/D/{bind,unbind}
        if parts.count == 6, parts[0...3] == ["sys", "bus", "pci", "drivers"] {
            guard let a = PCIAddress(value) else { throw fail(EINVAL) }
            let drv = parts[4]
            guard files.kind(of: PCIDriverPaths.driver(drv)) == .directory else { throw fail(ENOENT) }
            if parts[5] == "unbind" {
                guard driver(a) == drv else { throw fail(ENODEV) }
                unbind(a)
            } else if parts[5] == "bind" {
                guard driver(a) == nil else { throw fail(EBUSY) }
                guard override(a).map({ $0 == drv }) ?? (native[a] == drv) else { throw fail(ENODEV) }
                do { try bind(a, drv) } catch { throw fail(ENODEV) }
            }
            return
        }
        // /sys/bus/platform/drivers/D/{bind,unbind}: the platform device's driver link (firmware framebuffers).
        if parts.count == 6, parts[0...3] == ["sys", "bus", "platform", "drivers"] {
            let link = root + "/sys/bus/platform/devices/\(value)/driver"
            if parts[5] == "unbind" {
                guard (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) != nil else { throw fail(ENODEV) }
                try? FileManager.default.removeItem(atPath: link)
            } else {
                try? FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "../../../../bus/platform/drivers/\(parts[4])")
            }
            return
        }
        if path.hasPrefix("/proc/irq/"), let n = Int(path.split(separator: "/")[2]), managedIRQs.contains(n) { throw fail(EIO) }
        guard files.kind(of: path) == .regular else { throw fail(ENOENT) }
        if path.hasSuffix("/cgroup.procs") {
            guard let pid = Int(value.trimmingCharacters(in: .whitespaces)), host.files.kind(of: "/proc/\(pid)") == .directory else {
                throw HostWriteError(path: path, value: value, errno: ESRCH)
            }
            let e = FileManager.default.enumerator(atPath: host.dir + cgroupMount)
            while let rel = e?.nextObject() as? String {
                guard rel.hasSuffix("cgroup.procs") else { continue }
                let p = cgroupMount + "/" + rel
                let pids = host.read(p).split(separator: "\n").filter { $0 != Substring(String(pid)) }
                try? host.write(p, pids.map { $0 + "\n" }.joined())
            }
            try? host.write(path, host.read(path).split(separator: "\n").map { $0 + "\n" }.joined() + "\(pid)\n")
            let rel = String(path.dropFirst(cgroupMount.count).dropLast("/cgroup.procs".count))
            let cg = host.read("/proc/\(pid)/cgroup")
            let lines = cg.split(separator: "\n").map { line -> String in
                if line.hasPrefix("3:cpuset:") { return "3:cpuset:\(rel.isEmpty ? "/" : rel)" }
                if line.hasPrefix("0::") { return "0::\(rel.isEmpty ? "/" : rel)" }
                return String(line)
            }
            try? host.write("/proc/\(pid)/cgroup", lines.joined(separator: "\n") + "\n")
            return
        }
        if path.hasSuffix("cgroup.subtree_control") {
            var set = Set(host.read(path).split(separator: " ").map(String.init))
            for token in value.split(separator: " ") {
                if token.hasPrefix("+") { set.insert(String(token.dropFirst())) } else { set.remove(String(token.dropFirst())) }
            }
            try? host.write(path, set.sorted().joined(separator: " ") + "\n")
            return
        }
        writeFile(path, value)
    }

    public func makeCgroup(_ path: String) throws(HostWriteError) {
        record("mkdir \(path)")
        for f in ["cpuset.cpus", "cpuset.mems", "cgroup.procs"] { try? host.write(path + "/" + f, "") }
    }

    public func removeCgroup(_ path: String) throws(HostWriteError) {
        record("rmdir \(path)")
        // rmdir of a cgroup that is gone: done (LiveShieldKernel takes ENOENT as success too).
        guard host.files.kind(of: path) == .directory else { return }
        guard host.read(path + "/cgroup.procs").isEmpty else { throw HostWriteError(path: path, value: "(rmdir)", errno: EBUSY) }
        try? FileManager.default.removeItem(atPath: host.dir + path)
    }

    public func setAffinity(pid: Int, _ cpus: CPUSet) throws(HostWriteError) {
        record("affinity \(pid) \(cpus)")
        let status = host.read("/proc/\(pid)/status")
        guard status != "<missing>" else { throw HostWriteError(path: "/proc/\(pid)", value: cpus.description, errno: ESRCH) }
        let lines = status.split(separator: "\n").map { $0.hasPrefix("Cpus_allowed_list:") ? "Cpus_allowed_list:\t\(cpus)" : String($0) }
        try? host.write("/proc/\(pid)/status", lines.joined(separator: "\n") + "\n")
    }

    public func setAllowedCPUs(unit: String, _ value: String) throws(HostWriteError) {
        record("systemctl \(unit) AllowedCPUs=\(value)")
        try write(cgroupMount + "/" + unit + "/cpuset.cpus", value.isEmpty ? "\n" : value)
    }

    /// `modprobe -r M` unbinds M's devices and removes its driver; `modprobe M` brings it back and probes.
    public func modprobe(_ argv: [String]) -> CommandResult {
        guard argv.first == "modprobe", let module = argv.last else { return CommandResult(status: 0, output: "") }
        if unloadedDrivers[module] == nil {
            unloadedDrivers[module] = Set(native.values.filter { ((try? files.readLinkName(PCIDriverPaths.driver($0) + "/module")) ?? nil) == module })
        }
        let names = unloadedDrivers[module]!
        let drivers = native.filter { names.contains($0.value) }
        if argv.contains("-r") {
            for (a, _) in drivers where driver(a) != nil { unbind(a) }
            try? FileManager.default.moveItem(atPath: root + "/sys/module/\(module)", toPath: root + "/tmp-module-\(module)")
            for drv in Set(drivers.values) {
                try? FileManager.default.moveItem(atPath: files.realPath(PCIDriverPaths.driver(drv)), toPath: root + "/tmp-driver-\(drv)")
            }
        } else {
            try? FileManager.default.moveItem(atPath: root + "/tmp-module-\(module)", toPath: root + "/sys/module/\(module)")
            for drv in Set(drivers.values) {
                try? FileManager.default.moveItem(atPath: root + "/tmp-driver-\(drv)", toPath: files.realPath(PCIDriverPaths.driver(drv)))
            }
            for (a, drv) in drivers where driver(a) == nil && (override(a) ?? drv) == drv { try? bind(a, drv) }
        }
        return CommandResult(status: 0, output: "")
    }

    private struct ProbeFailed: Error {}

    private func bind(_ a: PCIAddress, _ drv: String) throws {
        guard files.kind(of: PCIDriverPaths.driver(drv)) == .directory else { throw ProbeFailed() }
        let group = (try? files.readLinkName(PCIDriverPaths.device(a) + "/iommu_group")) ?? nil
        if drv == PCIDriverPaths.vfioPCI, group == nil || vfioRefuses.contains(a) { throw ProbeFailed() }
        let deviceDir = realDeviceDir(a)
        let depth = deviceDir.dropFirst(root.count).split(separator: "/").count
        let up = String(repeating: "../", count: depth)
        try? FileManager.default.createSymbolicLink(atPath: deviceDir + "/driver", withDestinationPath: up + "sys/bus/pci/drivers/\(drv)")
        if drv == PCIDriverPaths.vfioPCI, let group {
            try? FileManager.default.createDirectory(atPath: root + "/dev/vfio", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: root + "/dev/vfio/\(group)", contents: nil)
        }
    }

    private func unbind(_ a: PCIAddress) {
        let was = driver(a)
        try? FileManager.default.removeItem(atPath: realDeviceDir(a) + "/driver")
        if was == PCIDriverPaths.vfioPCI, let group = (try? files.readLinkName(PCIDriverPaths.device(a) + "/iommu_group")) ?? nil {
            let members = (try? files.listDirectory("/sys/kernel/iommu_groups/\(group)/devices")) ?? []
            if !members.compactMap(PCIAddress.init).contains(where: { driver($0) == PCIDriverPaths.vfioPCI }) {
                try? FileManager.default.removeItem(atPath: root + "/dev/vfio/\(group)")
            }
        }
    }

    private func realDeviceDir(_ a: PCIAddress) -> String {
        URL(fileURLWithPath: files.realPath(PCIDriverPaths.device(a))).resolvingSymlinksInPath().path
    }

    private func writeFile(_ path: String, _ content: String) {
        FileManager.default.createFile(atPath: files.realPath(path), contents: Data(content.utf8))
    }
}
