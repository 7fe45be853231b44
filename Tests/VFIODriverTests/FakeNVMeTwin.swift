import Glibc
import VFIOCore
@testable import VFIOHost

/// The fake twin of `KernelVFIO` for the user-space driver: a device whose BAR0 is an NVMe controller kept in
/// memory. A doorbell write makes it "execute" the submitted commands: it reads each 64-byte entry from the
/// DMA buffer the driver mapped at the queue's IOVA, moves data through the PRPs (lists included) between
/// those buffers and `disk`, posts a completion with the phase bit, and signals the vector's eventfd.
final class FakeNVMeTwin: VFIODriverAPI, @unchecked Sendable {
    var disk: [UInt8]
    var serial = "LAB0001", model = "QEMU NVMe Ctrl", firmware = "9.2.0"
    var msixVectors: UInt32 = 4
    var oncs: UInt16 = 1 << 2
    var inactiveNamespace = false
    /// After this many more commands the controller sets CSTS.CFS and stops completing.
    var fatalAfter: Int?
    /// Commands are consumed but never completed (a hung controller without CFS).
    var silent = false

    private(set) var log: [String] = []
    private(set) var openFDs: Set<Int32> = []
    private(set) var mappings: [UInt64: (pointer: UnsafeMutableRawPointer, size: Int)] = [:]
    private(set) var mappedRegions = 0
    private(set) var irqFDs: [Int32] = []
    private(set) var flushes = 0
    private(set) var commandCounts: [String: Int] = [:]
    var config = [UInt8](repeating: 0, count: 256)
    private var nextFD: Int32 = 100

    // Controller registers.
    var cap: UInt64 = 255 | (10 << 24) | (1 << 37)
    var cc: UInt32 = 0, csts: UInt32 = 0, aqa: UInt32 = 0
    var asq: UInt64 = 0, acq: UInt64 = 0
    struct SQ { var iova: UInt64; var entries: Int; var head: Int; var cq: Int }
    struct CQ { var iova: UInt64; var entries: Int; var tail: Int; var phase: Bool; var vector: Int; var interrupts: Bool }
    var sqs: [Int: SQ] = [:]
    var cqs: [Int: CQ] = [:]

    init(diskBytes: Int = 1 << 20) {
        disk = [UInt8](repeating: 0, count: diskBytes)
        config[0] = 0x36; config[1] = 0x1b; config[2] = 0x10; config[3] = 0x00
    }

    // MARK: VFIOAPI
    func open(_ path: String) throws(VFIOErrno) -> Int32 { newFD("open \(path)") }
    private func newFD(_ what: String) -> Int32 {
        nextFD += 1
        openFDs.insert(nextFD)
        log.append(what)
        return nextFD
    }
    func close(_ fd: Int32) { openFDs.remove(fd) }
    func apiVersion(container: Int32) throws(VFIOErrno) -> Int32 { VFIOConstants.apiVersion }
    func checkExtension(container: Int32, _ ext: Int32) throws(VFIOErrno) -> Bool { ext == VFIOConstants.type1v2 }
    func groupStatus(group: Int32) throws(VFIOErrno) -> UInt32 { VFIOConstants.groupViable }
    func setContainer(group: Int32, container: Int32) throws(VFIOErrno) { log.append("set container") }
    func unsetContainer(group: Int32) { log.append("unset container") }
    func setIOMMU(container: Int32, type: Int32) throws(VFIOErrno) {}
    func deviceFD(group: Int32, address: String) throws(VFIOErrno) -> Int32 { newFD("device \(address)") }
    func deviceInfo(device: Int32) throws(VFIOErrno) -> VFIODeviceInfo {
        VFIODeviceInfo(flags: VFIOConstants.devicePCI | VFIOConstants.deviceReset, regions: 9, irqs: 5)
    }
    func regionInfo(device: Int32, index: UInt32) throws(VFIOErrno) -> VFIORegionInfo {
        switch index {
        case VFIOConstants.bar0Region: VFIORegionInfo(flags: 0xF, size: 0x4000, offset: 0)
        case VFIOConstants.pciConfigRegion: VFIORegionInfo(flags: 3, size: 256, offset: UInt64(index) << 40)
        default: VFIORegionInfo(flags: 0, size: 0, offset: UInt64(index) << 40)
        }
    }
    func read(device: Int32, offset: UInt64, count: Int) throws(VFIOErrno) -> [UInt8] {
        let at = Int(offset & 0xFF)
        return Array(config[at..<min(256, at + count)])
    }
    func write(device: Int32, offset: UInt64, bytes: [UInt8]) throws(VFIOErrno) {
        let at = Int(offset & 0xFF)
        for (i, b) in bytes.enumerated() where at + i < 256 { config[at + i] = b }
    }
    func reset(device: Int32) throws(VFIOErrno) { log.append("reset") }

    // MARK: VFIODriverAPI
    func mapRegion(device: Int32, region: VFIORegionInfo) throws(VFIOErrno) -> any VFIOMappedRegion {
        mappedRegions += 1
        return FakeBAR(self)
    }
    func unmapRegion(_ region: any VFIOMappedRegion) { mappedRegions -= 1 }
    func irqCount(device: Int32, index: UInt32) throws(VFIOErrno) -> UInt32 { index == VFIOConstants.msixIRQ ? msixVectors : 1 }
    func setIRQEventFDs(device: Int32, index: UInt32, fds: [Int32]) throws(VFIOErrno) {
        guard fds.count <= Int(msixVectors) else { throw VFIOErrno(EINVAL) }
        irqFDs = fds
    }
    func triggerIRQs(device: Int32, index: UInt32, count: UInt32) throws(VFIOErrno) {
        for fd in irqFDs.prefix(Int(count)) where fd >= 0 { signal(fd) }
    }
    func disableIRQs(device: Int32, index: UInt32) throws(VFIOErrno) { irqFDs = [] }
    func dmaMap(container: Int32, vaddr: UnsafeMutableRawPointer, iova: UInt64, size: Int) throws(VFIOErrno) {
        guard mappings[iova] == nil else { throw VFIOErrno(EEXIST) }
        mappings[iova] = (vaddr, size)
    }
    func dmaUnmap(container: Int32, iova: UInt64, size: Int) throws(VFIOErrno) {
        guard mappings.removeValue(forKey: iova) != nil else { throw VFIOErrno(ENOENT) }
    }

    // MARK: the controller
    func readRegister(_ offset: Int) -> UInt64 {
        switch offset {
        case NVMe.Register.cap: cap
        case NVMe.Register.cap + 4: cap >> 32
        case NVMe.Register.vs: 0x0001_0400
        case NVMe.Register.cc: UInt64(cc)
        case NVMe.Register.csts: UInt64(csts)
        case NVMe.Register.aqa: UInt64(aqa)
        default: 0
        }
    }

    func writeRegister(_ offset: Int, _ value: UInt32) {
        switch offset {
        case NVMe.Register.cc:
            let wasEnabled = cc & 1 == 1
            cc = value
            if value & 1 == 1, !wasEnabled {
                sqs = [0: SQ(iova: asq, entries: Int(aqa & 0xFFF) + 1, head: 0, cq: 0)]
                cqs = [0: CQ(iova: acq, entries: Int((aqa >> 16) & 0xFFF) + 1, tail: 0, phase: true, vector: 0, interrupts: true)]
                csts = NVMe.Status.ready
            } else if value & 1 == 0 {
                sqs = [:]; cqs = [:]
                csts &= ~NVMe.Status.ready
            }
        case NVMe.Register.aqa: aqa = value
        case NVMe.Register.asq: asq = asq & ~0xFFFF_FFFF | UInt64(value)
        case NVMe.Register.asq + 4: asq = asq & 0xFFFF_FFFF | UInt64(value) << 32
        case NVMe.Register.acq: acq = acq & ~0xFFFF_FFFF | UInt64(value)
        case NVMe.Register.acq + 4: acq = acq & 0xFFFF_FFFF | UInt64(value) << 32
        case NVMe.Register.doorbells...:
            let index = (offset - NVMe.Register.doorbells) / 4
            if index % 2 == 0 { ring(queue: index / 2, tail: Int(value)) }
        default: break
        }
    }

    /// Bytes at an IOVA, through the buffer the driver mapped there (nil outside every mapping).
    func pointer(_ iova: UInt64, _ count: Int) -> UnsafeMutableRawPointer? {
        for (base, m) in mappings where iova >= base && iova + UInt64(count) <= base + UInt64(m.size) {
            return m.pointer + Int(iova - base)
        }
        return nil
    }
    func load(_ iova: UInt64, _ count: Int) -> [UInt8]? {
        pointer(iova, count).map { Array(UnsafeRawBufferPointer(start: $0, count: count)) }
    }
    func store(_ bytes: [UInt8], _ iova: UInt64) -> Bool {
        guard let p = pointer(iova, bytes.count) else { return false }
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        return true
    }
    func signal(_ fd: Int32) {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) }
    }

    func ring(queue: Int, tail: Int) {
        guard var sq = sqs[queue], csts & NVMe.Status.fatal == 0 else { return }
        while sq.head != tail % sq.entries {
            let entry = load(sq.iova + UInt64(sq.head * 64), 64)
            sq.head = (sq.head + 1) % sq.entries
            sqs[queue] = sq
            guard let bytes = entry, let command = NVMeCommand(bytes: bytes) else { continue }
            if let n = fatalAfter {
                if n <= 0 { csts |= NVMe.Status.fatal; return }
                fatalAfter = n - 1
            }
            if silent { continue }
            let (status, result) = queue == 0 ? admin(command) : io(command)
            complete(cq: sq.cq, NVMeCompletion(result: result, submissionHead: UInt16(sq.head), submissionQueue: UInt16(queue),
                                               commandID: command.commandID, phase: true, status: status))
            if let s = sqs[queue] { sq = s } else { return }
        }
    }

    func complete(cq id: Int, _ completion: NVMeCompletion) {
        guard var cq = cqs[id] else { return }
        var c = completion
        c.phase = cq.phase
        _ = store(c.bytes, cq.iova + UInt64(cq.tail * 16))
        cq.tail = (cq.tail + 1) % cq.entries
        if cq.tail == 0 { cq.phase.toggle() }
        cqs[id] = cq
        if cq.interrupts, irqFDs.indices.contains(cq.vector), irqFDs[cq.vector] >= 0 { signal(irqFDs[cq.vector]) }
    }

    func count(_ name: String) { commandCounts[name, default: 0] += 1 }

    func admin(_ c: NVMeCommand) -> (UInt16, UInt32) {
        switch c.opcode {
        case NVMe.AdminOpcode.identify:
            count("identify")
            let data: [UInt8]
            switch c.cdw[0] & 0xFF {
            case 1: data = NVMeControllerIdentity.encode(serial: serial, model: model, firmware: firmware, mdts: 7, namespaces: 1, oncs: oncs, vwc: 1)
            case 0:
                guard c.nsid == 1 else { return (0x0B, 0) }
                data = NVMeNamespaceIdentity.encode(blocks: inactiveNamespace ? 0 : UInt64(disk.count / 512), lbads: 9)
            default: return (0x02, 0)
            }
            return store(data, c.prp1) ? (0, 0) : (0x04, 0)
        case NVMe.AdminOpcode.setFeatures: count("set features"); return (0, 0)
        case NVMe.AdminOpcode.createIOCQ:
            count("create cq")
            let id = Int(c.cdw[0] & 0xFFFF)
            cqs[id] = CQ(iova: c.prp1, entries: Int(c.cdw[0] >> 16) + 1, tail: 0, phase: true, vector: Int(c.cdw[1] >> 16), interrupts: c.cdw[1] & 2 != 0)
            return (0, 0)
        case NVMe.AdminOpcode.createIOSQ:
            count("create sq")
            let id = Int(c.cdw[0] & 0xFFFF), cq = Int(c.cdw[1] >> 16)
            guard cqs[cq] != nil else { return (0x100, 0) }
            sqs[id] = SQ(iova: c.prp1, entries: Int(c.cdw[0] >> 16) + 1, head: 0, cq: cq)
            return (0, 0)
        case NVMe.AdminOpcode.deleteIOSQ: count("delete sq"); sqs[Int(c.cdw[0] & 0xFFFF)] = nil; return (0, 0)
        case NVMe.AdminOpcode.deleteIOCQ: count("delete cq"); cqs[Int(c.cdw[0] & 0xFFFF)] = nil; return (0, 0)
        default: return (0x01, 0)
        }
    }

    /// The pages of a transfer, as a controller walks PRP1, PRP2 and a PRP list.
    func pages(_ c: NVMeCommand, length: Int) -> [UInt64]? {
        let n = (length + 4095) / 4096
        if n == 1 { return [c.prp1] }
        if n == 2 { return [c.prp1, c.prp2] }
        guard let list = load(c.prp2, 8 * (n - 1)) else { return nil }
        return [c.prp1] + (0..<(n - 1)).map { LittleEndian.u64(list, 8 * $0) }
    }

    func io(_ c: NVMeCommand) -> (UInt16, UInt32) {
        switch c.opcode {
        case NVMe.IOOpcode.read, NVMe.IOOpcode.write:
            let write = c.opcode == NVMe.IOOpcode.write
            count(write ? "write" : "read")
            let lba = Int(UInt64(c.cdw[0]) | UInt64(c.cdw[1]) << 32), blocks = Int(c.cdw[2] & 0xFFFF) + 1
            guard (lba + blocks) * 512 <= disk.count else { return (0x80, 0) }
            let length = blocks * 512
            guard let pages = pages(c, length: length) else { return (0x04, 0) }
            for (i, page) in pages.enumerated() {
                let at = lba * 512 + i * 4096, n = min(4096, length - i * 4096)
                if write {
                    guard let bytes = load(page, n) else { return (0x04, 0) }
                    disk.replaceSubrange(at..<(at + n), with: bytes)
                } else {
                    guard store(Array(disk[at..<(at + n)]), page) else { return (0x04, 0) }
                }
            }
            return (0, 0)
        case NVMe.IOOpcode.flush: count("flush"); flushes += 1; return (0, 0)
        case NVMe.IOOpcode.datasetManagement:
            count("dsm")
            guard let range = load(c.prp1, 16) else { return (0x04, 0) }
            let blocks = Int(LittleEndian.u32(range, 4)), lba = Int(LittleEndian.u64(range, 8))
            guard (lba + blocks) * 512 <= disk.count else { return (0x80, 0) }
            disk.replaceSubrange(lba * 512..<((lba + blocks) * 512), with: [UInt8](repeating: 0, count: blocks * 512))
            return (0, 0)
        default: return (0x01, 0)
        }
    }
}

final class FakeBAR: VFIOMappedRegion {
    let twin: FakeNVMeTwin
    init(_ twin: FakeNVMeTwin) { self.twin = twin }
    var size: Int { 0x4000 }
    func read32(_ offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: twin.readRegister(offset)) }
    func read64(_ offset: Int) -> UInt64 { twin.readRegister(offset) }
    func write32(_ offset: Int, _ value: UInt32) { twin.writeRegister(offset, value) }
}
