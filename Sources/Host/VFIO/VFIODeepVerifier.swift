#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// `vfioctl verify --deep`: after the plain verification, drives the device from user space. For any device:
/// BAR mmap, a config-space write/read round trip, MSI-X vector count and a vfio-pci loopback interrupt,
/// reset. For an NVMe controller (class 01:08:02): Identify by DMA and one read of LBA 0 completed by its
/// MSI-X interrupt. What could not be checked is said in `notChecked`.
public struct VFIODeepVerifier {
    public struct NVMeFacts: Sendable, Equatable {
        public var serial: String
        public var model: String
        public var firmware: String
        public var namespaceBytes: UInt64
        public var blockSize: Int
        /// The start of LBA 0 up to its first newline or NUL, printable ASCII only (a marker a test wrote).
        public var firstBlockText: String
        public var interruptVector: Int
    }

    public struct Report: Sendable {
        public var steps: [VFIOVerifier.Step] = []
        public var nvme: NVMeFacts?
        public var notChecked: [String] = []
        public var passed: Bool { !steps.isEmpty && steps.allSatisfy(\.ok) }
        public init() {}
    }

    public let api: any VFIODriverAPI
    public var options = NVMeDriver.Options()
    public init(api: any VFIODriverAPI = KernelVFIO()) { self.api = api }

    public func verify(_ address: PCIAddress, host: HostModel) -> Report {
        var report = Report()
        func pass(_ name: String, _ detail: String) { report.steps.append(.init(name: name, ok: true, detail: detail)) }
        func fail(_ name: String, _ detail: String) -> Report {
            report.steps.append(.init(name: name, ok: false, detail: detail))
            return report
        }
        guard let device = host.device(address), let group = device.iommuGroup else { return fail("device", "\(address) has no IOMMU group") }
        let session: VFIOSession
        do { session = try VFIOSession(api: api, address: address, group: group) } catch { return fail("session", error.description) }
        defer { session.close() }
        pass("session", "container, group \(group) and device fd open; type1 IOMMU set")

        // BARs: map and unmap every one vfio-pci allows to mmap.
        var mapped: [String] = [], unmappable: [String] = []
        for i in UInt32(0)..<6 {
            guard let info = try? session.regionInfo(VFIOConstants.bar0Region + i), info.size > 0 else { continue }
            if info.flags & VFIOConstants.regionMmap == 0 { unmappable.append("BAR\(i)"); continue }
            do {
                let r = try session.mapBAR(i)
                _ = r.read32(0)
                session.unmap(r)
                mapped.append("BAR\(i) (\(sizeText(info.size)))")
            } catch { return fail("bar", error.description) }
        }
        if mapped.isEmpty {
            report.notChecked.append("BAR mmap: no BAR offers mmap" + (unmappable.isEmpty ? "" : " (\(unmappable.joined(separator: ", ")) only through read/write)"))
            pass("bar", "no mmappable BAR")
        } else {
            pass("bar", "mmapped and read " + mapped.joined(separator: ", ") + (unmappable.isEmpty ? "" : "; not mmappable: " + unmappable.joined(separator: ", ")))
        }

        // Config space: Interrupt Line (0x3c) is a scratch register to the device; vfio-pci keeps it virtual.
        do {
            let id = try session.readConfig(0, count: 4)
            let vendor = UInt16(id[0]) | UInt16(id[1]) << 8, dev = UInt16(id[2]) | UInt16(id[3]) << 8
            guard vendor == device.vendorID, dev == device.deviceID else {
                return fail("config", "config space reads \(hex(vendor, width: 4)):\(hex(dev, width: 4)), sysfs says \(hex(device.vendorID, width: 4)):\(hex(device.deviceID, width: 4))")
            }
            let original = try session.readConfig(0x3C, count: 1)[0]
            let probe = original ^ 0x5A
            try session.writeConfig(0x3C, [probe])
            let back = try session.readConfig(0x3C, count: 1)[0]
            try session.writeConfig(0x3C, [original])
            guard back == probe else { return fail("config", "wrote 0x\(hex(probe, width: 2)) to Interrupt Line (0x3c), read back 0x\(hex(back, width: 2))") }
            pass("config", "\(hex(vendor, width: 4)):\(hex(dev, width: 4)); Interrupt Line write/read round trip (0x\(hex(probe, width: 2))) restored")
        } catch { return fail("config", error.description) }

        let msix: Int
        do { msix = try session.msixCount() } catch { return fail("msi-x", error.description) }
        let isNVMe = device.pciClass.base == 0x01 && device.pciClass.sub == 0x08 && device.pciClass.progIf == 0x02
        if msix == 0 {
            pass("msi-x", "no MSI-X capability")
            report.notChecked.append("interrupts: the device has no MSI-X (INTx and MSI are not exercised)")
        } else if !isNVMe {
            do {
                let fds = try session.enableMSIX(vectors: 1)
                try? session.api.triggerIRQs(device: session.device, index: VFIOConstants.msixIRQ, count: 1)
                guard fds[0].wait(milliseconds: 1000) else { return fail("msi-x", "vector 0's eventfd did not fire on a vfio-pci loopback trigger") }
                try? session.api.disableIRQs(device: session.device, index: VFIOConstants.msixIRQ)
                pass("msi-x", "\(msix) vectors; vector 0 wired to an eventfd, which a vfio-pci loopback trigger signalled")
                report.notChecked.append("a device-raised interrupt and DMA: vfioctl drives only NVMe controllers (class 01:08:02)")
            } catch { return fail("msi-x", error.description) }
        }

        if isNVMe {
            do {
                let driver = try NVMeDriver(session: session, options: options)
                defer { driver.stop() }
                guard let c = driver.controller, let n = driver.namespace else { return fail("identify", "no Identify data") }
                pass("msi-x", "\(msix) vectors; vector \(driver.ioVector) wired to the I/O completion queue's eventfd")
                pass("identify", "by DMA: serial '\(c.serial)', model '\(c.model)', firmware '\(c.firmware)'; namespace 1: \(n.bytes) bytes (\(n.blocks) × \(n.blockSize))")
                driver.requireInterrupts = true
                let block = try driver.read(offset: 0, count: n.blockSize)
                let text = firstLine(block)
                pass("read", "LBA 0 (\(n.blockSize) bytes) by DMA, completed by MSI-X vector \(driver.ioVector)" + (text.isEmpty ? "" : ": '\(text)'"))
                report.nvme = NVMeFacts(serial: c.serial, model: c.model, firmware: c.firmware, namespaceBytes: n.bytes, blockSize: n.blockSize,
                                        firstBlockText: text, interruptVector: driver.ioVector)
            } catch {
                return fail(report.steps.contains { $0.name == "identify" } ? "read" : "identify", error.description)
            }
        }

        if session.info.flags & VFIOConstants.deviceReset != 0 {
            do { try session.reset(); pass("reset", "VFIO_DEVICE_RESET done") } catch { return fail("reset", error.description) }
        } else {
            pass("reset", "not supported by the device (skipped)")
            report.notChecked.append("reset: the device offers no reset method vfio-pci can use")
        }
        return report
    }

    func sizeText(_ size: UInt64) -> String {
        size >= 1 << 20 && size % (1 << 20) == 0 ? "\(size >> 20) MiB" : size >= 1024 && size % 1024 == 0 ? "\(size >> 10) KiB" : "\(size) bytes"
    }

    func firstLine(_ block: [UInt8]) -> String {
        let line = block.prefix { $0 != 0 && $0 != 0x0A }.prefix(80)
        guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return "" }
        return String(decoding: line, as: UTF8.self)
    }
}

extension VFIODeepVerifier.Report {
    /// `deep` false: the plain verification alone (`deep` and `nvme` null).
    public func json(address: PCIAddress, plain: VFIOVerifier.Report, deep: Bool) -> JSON {
        func steps(_ s: [VFIOVerifier.Step]) -> JSON {
            .array(s.map { .object([("name", .string($0.name)), ("ok", .bool($0.ok)), ("detail", .string($0.detail))]) })
        }
        var fields: [(String, JSON)] = [
            ("address", .string(address.description)),
            ("passed", .bool(plain.passed && (!deep || passed))),
            ("steps", steps(plain.steps)),
            ("deep", deep ? steps(self.steps) : .null),
        ]
        if let n = nvme {
            fields.append(("nvme", .object([
                ("serial", .string(n.serial)), ("model", .string(n.model)), ("firmware", .string(n.firmware)),
                ("namespace_bytes", .int(Int(clamping: n.namespaceBytes))), ("block_size", .int(n.blockSize)),
                ("lba0_text", .string(n.firstBlockText)), ("interrupt_vector", .int(n.interruptVector)),
            ])))
        } else {
            fields.append(("nvme", .null))
        }
        fields.append(("not_checked", .strings(notChecked)))
        return .object(fields)
    }
}
