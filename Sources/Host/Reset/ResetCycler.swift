#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// Resets a device bound to vfio-pci N times through `VFIO_DEVICE_RESET`, as a VM start and stop do, and reads
/// config space back after each: a card with a reset bug answers `ffff` (gone from the bus), loses its class or
/// its command/BAR registers. The kernel resets with the first method of sysfs `reset_method` that applies
/// (drivers/pci/pci.c `__pci_reset_function_locked`), so that method is the one each cycle used.
public struct ResetCycler: Sendable {
    /// Enough to show a reset that works once but not twice; more only lengthens the run.
    public static let maxCycles = 1000

    public struct Cycle: Sendable, Equatable {
        public var number: Int
        public var ok: Bool
        public var detail: String
        /// Wall time of the VFIO_DEVICE_RESET call.
        public var milliseconds: Int
    }

    public struct Report: Sendable {
        public var address: PCIAddress
        /// sysfs `reset_method` as loaded (nil: the kernel has no such file, before 5.15).
        public var methods: [String]?
        /// Why no cycle could run (the device could not be opened through VFIO), nil when cycles ran.
        public var setupError: String?
        public var cycles: [Cycle] = []
        public var requested: Int

        public var passed: Bool { setupError == nil && cycles.count == requested && cycles.allSatisfy(\.ok) }

        /// The method the kernel used: the first listed in `reset_method`.
        public var method: String {
            guard let methods else { return "unknown (no sysfs reset_method before kernel 5.15)" }
            return methods.first.map { "\($0) (reset_method: \(methods.joined(separator: " ")))" } ?? "none listed in reset_method"
        }

        public var lines: [String] {
            var out: [String] = []
            if let setupError { return ["\(address): \(setupError)"] }
            for c in cycles { out.append("cycle \(c.number)/\(requested): [\(c.ok ? "ok" : "FAIL")] \(c.milliseconds) ms: \(c.detail)") }
            let good = cycles.filter(\.ok).count
            out.append("\(address): \(good) of \(requested) resets came back sane; reset method \(method)")
            if !passed { out.append("\(address) does not survive repeated resets: expect a failed VM restart (reboot the host between VM runs; vfioctl doctor --device \(address) shows known reset quirks)") }
            return out
        }
    }

    public let api: any VFIOAPI
    public init(api: any VFIOAPI = KernelVFIO()) { self.api = api }

    /// The fields compared after each reset (PCI Local Bus 3.0 §6.1, type 0 header).
    struct Header: Equatable {
        var vendor: UInt16, device: UInt16, command: UInt16, status: UInt16, classCode: UInt32, headerType: UInt8, bars: [UInt32]
        init?(_ b: [UInt8]) {
            guard b.count >= 0x28 else { return nil }
            func u16(_ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
            func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
            vendor = u16(0); device = u16(2); command = u16(4); status = u16(6)
            classCode = UInt32(b[0x0b]) << 16 | UInt32(b[0x0a]) << 8 | UInt32(b[0x09])
            headerType = b[0x0e] & 0x7f
            bars = (0..<6).map { u32(0x10 + 4 * $0) }
        }
        var ids: String { hex(vendor, width: 4) + ":" + hex(device, width: 4) }
    }

    /// `files`: where to read sysfs `reset_method` when `host` was loaded without device details (verify loads
    /// only the inventory).
    public func run(_ address: PCIAddress, host: HostModel, cycles: Int, files: (any HostFileReader)? = nil) -> Report {
        let device = host.device(address)
        var methods = device?.resetMethods
        if methods == nil, let files, let bytes = try? files.readBytes("/sys/bus/pci/devices/\(address)/reset_method") {
            methods = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        }
        var report = Report(address: address, methods: methods, requested: cycles)
        func setup(_ message: String) -> Report {
            report.setupError = message
            return report
        }
        guard (1...Self.maxCycles).contains(cycles) else { return setup("--reset-cycles \(cycles): give 1 to \(Self.maxCycles)") }
        guard let device else { return setup("no such PCI device") }
        guard host.iommu.enabled, let group = device.iommuGroup else { return setup("no IOMMU group: VFIO cannot reach it") }

        let container: Int32
        do { container = try api.open("/dev/vfio/vfio") } catch { return setup("open /dev/vfio/vfio: \(error) (modprobe vfio)") }
        defer { api.close(container) }
        let groupPath = "/dev/vfio/\(group)"
        let groupFD: Int32
        do { groupFD = try api.open(groupPath) } catch {
            if error.code == ENOENT { return setup("\(groupPath) does not exist: bind it first (vfioctl bind \(address))") }
            if error.code == EBUSY { return setup("\(groupPath) is busy: a running VM or another process holds the group") }
            return setup("open \(groupPath): \(error)")
        }
        defer { api.close(groupFD) }
        let deviceFD: Int32
        do {
            guard try api.groupStatus(group: groupFD) & VFIOConstants.groupViable != 0 else {
                return setup("IOMMU group \(group) is not viable: an endpoint is on a host driver (vfioctl bind \(address) binds the group)")
            }
            try api.setContainer(group: groupFD, container: container)
            let type = try api.checkExtension(container: container, VFIOConstants.type1v2) ? VFIOConstants.type1v2 : VFIOConstants.type1
            try api.setIOMMU(container: container, type: type)
            deviceFD = try api.deviceFD(group: groupFD, address: address.description)
        } catch { return setup("opening the device through VFIO: \(error) (vfioctl verify \(address) names the failing step)") }
        defer { api.close(deviceFD) }

        let configOffset: UInt64
        let before: Header
        do {
            let info = try api.deviceInfo(device: deviceFD)
            guard info.flags & VFIOConstants.deviceReset != 0 else {
                return setup("VFIO reports no reset for this device (reset_method: \(methods?.joined(separator: " ") ?? "absent")): every VM start gets it as the last VM left it")
            }
            configOffset = try api.regionInfo(device: deviceFD, index: VFIOConstants.pciConfigRegion).offset
            guard let h = Header(try api.read(device: deviceFD, offset: configOffset, count: 64)) else { return setup("config space read before the first reset was short") }
            before = h
        } catch { return setup("config space before the first reset: \(error)") }

        // The Host layer's one monotonic clock (HostEffects), as bind and shield time their steps.
        let clock = MonotonicClock()
        for n in 1...cycles {
            let start = clock.now()
            var failure: String?
            do { try api.reset(device: deviceFD) } catch { failure = "VFIO_DEVICE_RESET: \(error)" }
            let ms = Int(((clock.now() - start) * 1000).rounded(.down))
            let detail: String
            if let failure {
                detail = failure
            } else {
                do {
                    let bytes = try api.read(device: deviceFD, offset: configOffset, count: 64)
                    if let after = Header(bytes) {
                        let problems = Self.compare(before, after, sysfs: device)
                        failure = problems.isEmpty ? nil : problems.joined(separator: "; ")
                        detail = failure ?? "config \(after.ids) class \(hex(after.classCode, width: 6)), command 0x\(hex(after.command, width: 4)), BARs as before"
                    } else {
                        failure = "config space read gave \(bytes.count) bytes"
                        detail = failure!
                    }
                } catch {
                    failure = "config space read: \(error)"
                    detail = failure!
                }
            }
            report.cycles.append(Cycle(number: n, ok: failure == nil, detail: detail, milliseconds: ms))
        }
        return report
    }

    /// What a sane function looks like after a reset: present, the same function, its registers readable.
    static func compare(_ before: Header, _ after: Header, sysfs: PCIDevice) -> [String] {
        if after.vendor == 0xffff || after.device == 0xffff {
            return ["config space reads \(after.ids): the device fell off the bus (the reset left it dead)"]
        }
        var problems: [String] = []
        if after.vendor != sysfs.vendorID || after.device != sysfs.deviceID {
            problems.append("config space reads \(after.ids), sysfs says \(hex(sysfs.vendorID, width: 4)):\(hex(sysfs.deviceID, width: 4))")
        }
        if after.classCode != before.classCode { problems.append("class changed from \(hex(before.classCode, width: 6)) to \(hex(after.classCode, width: 6))") }
        if after.headerType != before.headerType { problems.append("header type changed from \(before.headerType) to \(after.headerType)") }
        if after.command == 0xffff || after.status == 0xffff { problems.append("command/status read 0x\(hex(after.command, width: 4))/0x\(hex(after.status, width: 4))") }
        if after.bars.allSatisfy({ $0 == 0xffff_ffff }) { problems.append("every BAR reads ffffffff") }
        else if after.bars != before.bars {
            let changed = (0..<6).filter { after.bars[$0] != before.bars[$0] }
            problems.append(changed.map { "BAR\($0) 0x\(hex(before.bars[$0], width: 8)) → 0x\(hex(after.bars[$0], width: 8))" }.joined(separator: ", ") + " (not restored)")
        }
        return problems
    }
}
