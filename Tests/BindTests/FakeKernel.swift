import Foundation
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

/// A fake kernel over a rendered host tree: a `HostWriter` whose writes to `driver_override`, `unbind`, `bind`
/// and `drivers_probe` move the `driver` links as the PCI driver core does (drivers/pci/pci-driver.c,
/// drivers/base/bus.c), honour `driver_override`, create `/dev/vfio/N` when vfio-pci binds a grouped device,
/// and fail on demand.
final class FakeKernel: HostWriter, @unchecked Sendable {
    let root: String
    let files: RootedFileSystem
    /// The driver each device's ids match (what a probe without override binds).
    var native: [PCIAddress: String] = [:]
    /// Every write, in order (also those that failed).
    private(set) var trace: [(path: String, value: String)] = []
    /// Injected failure: return an errno to fail the write (before it has any effect).
    var failure: ((_ index: Int, _ path: String, _ value: String) -> Int32?)?
    /// Devices vfio-pci silently does not take (as without an IOMMU: probe fails, no driver).
    var vfioRefuses: Set<PCIAddress> = []
    private var unloadedDrivers: [String: Set<String>] = [:]

    init(_ tree: HostTree) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-fake-\(UUID().uuidString)")
        try tree.write(to: dir)
        root = dir.path
        files = try RootedFileSystem(root: root)
        for d in tree.devices {
            if let a = PCIAddress(d.address.description), let drv = d.driver { native[a] = drv }
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func driver(_ a: PCIAddress) -> String? { (try? files.readLinkName(PCIDriverPaths.driverLink(a))) ?? nil }
    func override(_ a: PCIAddress) -> String? {
        let v = (try? files.readOptionalText(PCIDriverPaths.driverOverride(a))) ?? nil
        return v == "(null)" ? nil : v
    }
    func state(_ addresses: [PCIAddress]) -> [String] { addresses.map { "\($0)=\(driver($0) ?? "-")/\(override($0) ?? "(null)")" } }

    func write(_ path: String, _ value: String) throws(HostWriteError) {
        let index = trace.count
        trace.append((path, value))
        if let errno = failure?(index, path, value) { throw HostWriteError(path: path, value: value, errno: errno) }
        let parts = path.split(separator: "/").map(String.init)
        func fail(_ e: Int32) -> HostWriteError { HostWriteError(path: path, value: value, errno: e) }
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
        guard files.kind(of: path) == .regular else { throw fail(ENOENT) }
        writeFile(path, value)
    }

    /// `modprobe -r M` unbinds M's devices and removes its driver; `modprobe M` brings it back and probes.
    func modprobe(_ argv: [String]) -> CommandResult {
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

/// The lab's machine as a fixture: a GPU pair on the boot display (bochs-drm + HDA), an NVMe, an e1000e
/// carrying the default route, a SATA controller with the root filesystem, and the q35 LPC/SMBus group.
enum LabLikeHost {
    static let rootPort = PCIAddress("0000:00:1c.0")!
    static let gpu = PCIAddress("0000:01:00.0")!
    static let hda = PCIAddress("0000:01:00.1")!
    static let nic = PCIAddress("0000:02:00.0")!
    static let nvme = PCIAddress("0000:03:00.0")!
    static let lpc = PCIAddress("0000:00:1f.0")!
    static let sata = PCIAddress("0000:00:1f.2")!
    static let smbus = PCIAddress("0000:00:1f.3")!

    static func tree(iommu: Bool = true, interruptRemapping: Bool = true, nvmeOverride: String? = nil) -> HostTree {
        var t = HostTree()
        t.iommu = iommu ? .intel(interruptRemapping: interruptRemapping) : .off
        t.extraModules = ["vfio_pci"]
        t.framebuffer = nil
        t.addDevice("0000:00:00.0", vendor: 0x8086, device: 0x29c0, classCode: 0x060000, group: 0)
        let rp1 = t.addDevice("0000:00:1c.0", vendor: 0x1b36, device: 0x000c, classCode: 0x060400, driver: "pcieport", group: 1)
        let rp2 = t.addDevice("0000:00:1c.1", vendor: 0x1b36, device: 0x000c, classCode: 0x060400, driver: "pcieport", group: 2)
        let rp3 = t.addDevice("0000:00:1c.2", vendor: 0x1b36, device: 0x000c, classCode: 0x060400, driver: "pcieport", group: 3)
        t.addDevice("0000:00:1f.0", vendor: 0x8086, device: 0x2918, classCode: 0x060100, driver: "lpc_ich", group: 6)
        t.addDevice("0000:00:1f.2", vendor: 0x8086, device: 0x2922, classCode: 0x010601, driver: "ahci", group: 6, block: ["sda"])
        t.addDevice("0000:00:1f.3", vendor: 0x8086, device: 0x2930, classCode: 0x0c0500, driver: "i801_smbus", group: 6)
        t.addDevice("0000:01:00.0", parent: rp1, vendor: 0x1234, device: 0x1111, classCode: 0x030000, driver: "bochs-drm", group: 7, bootVGA: true)
        t.addDevice("0000:01:00.1", parent: rp1, vendor: 0x8086, device: 0x293e, classCode: 0x040300, driver: "snd_hda_intel", group: 7)
        t.addDevice("0000:02:00.0", parent: rp2, vendor: 0x8086, device: 0x10d3, classCode: 0x020000, driver: "e1000e", group: 8, net: ["eth0"])
        t.addDevice("0000:03:00.0", parent: rp3, vendor: 0x1b36, device: 0x0010, classCode: 0x010802, driver: "nvme",
                    driverOverride: nvmeOverride, group: 9)
        return t
    }
}
