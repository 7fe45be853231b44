#if canImport(Glibc)
import Glibc
#endif
import CVFIO
import VFIOCore

/// An NVMe controller driven from user space over a `VFIOSession`: reset and enable (CC/CSTS), the admin
/// queue pair (polled), Identify Controller and Namespace 1, one I/O queue pair whose completions raise an
/// MSI-X vector (an eventfd), and Read/Write/Flush/Deallocate with PRP lists through one bounce buffer.
/// Every wait has a deadline; a timeout reports CSTS.CFS when the controller has failed.
public final class NVMeDriver {
    public struct Options: Sendable {
        /// Per-command deadline.
        public var commandTimeoutMilliseconds = 5000
        /// The bounce buffer: the largest transfer per command (also capped by MDTS).
        public var transferBytes = 512 * 1024
        public init() {}
    }

    public let session: VFIOSession
    public let options: Options
    let bar: any VFIOMappedRegion
    public let capabilities: NVMe.Capabilities
    public private(set) var controller: NVMeControllerIdentity?
    public private(set) var namespace: NVMeNamespaceIdentity?
    public let nsid: UInt32 = 1
    /// MSI-X vectors enabled, and the one the I/O completion queue signals.
    public private(set) var vectors = 0
    public private(set) var ioVector = 0
    /// Completions seen on the I/O queue after its eventfd fired (the interrupt path worked).
    public private(set) var interruptCompletions = 0
    /// I/O commands fail unless their completion's MSI-X vector fires (`verify --deep` proves the interrupt path).
    public var requireInterrupts = false
    var admin: Queue?
    var io: Queue?
    var data: DMABuffer?
    var prpList: DMABuffer?
    var maxTransfer = 0

    final class Queue {
        let id: UInt16
        let entries: Int
        let sq: DMABuffer
        let cq: DMABuffer
        var tail = 0, head = 0
        var phase = true
        var nextID: UInt16 = 0
        init(id: UInt16, entries: Int, sq: DMABuffer, cq: DMABuffer) { self.id = id; self.entries = entries; self.sq = sq; self.cq = cq }
    }

    /// Maps BAR0, resets and enables the controller, identifies it and creates the I/O queue pair.
    public init(session: VFIOSession, options: Options = Options()) throws(VFIODriverError) {
        self.session = session
        self.options = options
        bar = try session.mapBAR(0)
        guard bar.size >= 0x1010 else { throw VFIODriverError("BAR0 is \(bar.size) bytes: too small for NVMe registers") }
        capabilities = NVMe.Capabilities(bar.read64(NVMe.Register.cap))
        guard capabilities.supportsNVMCommandSet else { throw VFIODriverError("CAP.CSS lacks the NVM command set") }
        guard capabilities.minPageSize <= NVMe.pageSize else { throw VFIODriverError("CAP.MPSMIN is \(capabilities.minPageSize) bytes; this driver uses 4096") }
        guard NVMe.doorbell(queue: 1, completion: true, stride: capabilities.doorbellStride) + 4 <= bar.size else {
            throw VFIODriverError("BAR0 (\(bar.size) bytes) has no room for the I/O queue's doorbells")
        }
        try session.enableBusMaster()
        try start()
    }

    /// The whole bring-up, also used by `restart` after a fatal status.
    func start() throws(VFIODriverError) {
        try disable()
        let entries = min(32, capabilities.maxQueueEntries)
        let a = Queue(id: 0, entries: entries, sq: try session.allocateDMA(entries * 64), cq: try session.allocateDMA(entries * 16))
        admin = a
        bar.write32(NVMe.Register.aqa, NVMe.adminQueueAttributes(entries: entries))
        write64(NVMe.Register.asq, a.sq.iova)
        write64(NVMe.Register.acq, a.cq.iova)
        bar.write32(NVMe.Register.cc, NVMe.enableConfiguration)
        try waitReady(true)

        let idc = try session.allocateDMA(4096)
        defer { session.release(idc) }
        var cmd = NVMeCommand.identifyController()
        cmd.prp1 = idc.iova
        try adminCommand(cmd, "Identify Controller")
        guard let c = NVMeControllerIdentity(idc.load(0, count: 4096)) else { throw VFIODriverError("Identify Controller data is short") }
        controller = c
        idc.zero()
        cmd = NVMeCommand.identifyNamespace(nsid)
        cmd.prp1 = idc.iova
        try adminCommand(cmd, "Identify Namespace \(nsid)")
        guard let n = NVMeNamespaceIdentity(idc.load(0, count: 4096)) else {
            throw VFIODriverError("namespace \(nsid) is inactive or has an LBA format this driver does not handle")
        }
        namespace = n

        let mdts = c.maxDataTransferExponent == 0 ? Int.max : NVMe.pageSize << Int(min(c.maxDataTransferExponent, 20))
        maxTransfer = max(n.blockSize, min(options.transferBytes, mdts, NVMe.pageSize * 512) / n.blockSize * n.blockSize)
        data = try session.allocateDMA(maxTransfer)
        prpList = try session.allocateDMA(NVMe.pageSize)

        let msix = try session.msixCount()
        guard msix > 0 else { throw VFIODriverError("the device has no MSI-X vectors") }
        vectors = min(msix, 2)
        ioVector = vectors - 1
        _ = try session.enableMSIX(vectors: vectors)
        _ = try adminCommand(.setNumberOfQueues(1), "Set Features (Number of Queues)")
        let ioEntries = min(64, capabilities.maxQueueEntries)
        let q = Queue(id: 1, entries: ioEntries, sq: try session.allocateDMA(ioEntries * 64), cq: try session.allocateDMA(ioEntries * 16))
        try adminCommand(.createIOCompletionQueue(id: 1, entries: ioEntries, iova: q.cq.iova, vector: UInt16(ioVector)), "Create I/O Completion Queue")
        try adminCommand(.createIOSubmissionQueue(id: 1, entries: ioEntries, iova: q.sq.iova, completionQueue: 1), "Create I/O Submission Queue")
        io = q
    }

    /// CC.EN = 0 and wait for CSTS.RDY = 0 (a controller reset).
    func disable() throws(VFIODriverError) {
        bar.write32(NVMe.Register.cc, 0)
        try waitReady(false)
    }

    func waitReady(_ ready: Bool) throws(VFIODriverError) {
        let deadline = monotonicMilliseconds() + max(capabilities.timeoutMilliseconds, 500)
        while true {
            let csts = bar.read32(NVMe.Register.csts)
            if csts == 0xFFFF_FFFF { throw VFIODriverError("CSTS reads 0xffffffff: the device is gone from the bus") }
            if ready, csts & NVMe.Status.fatal != 0 { throw VFIODriverError("controller fatal status (CSTS.CFS) while enabling") }
            if (csts & NVMe.Status.ready != 0) == ready { return }
            if monotonicMilliseconds() > deadline {
                throw VFIODriverError("CSTS.RDY did not become \(ready ? 1 : 0) within CAP.TO (\(capabilities.timeoutMilliseconds) ms)")
            }
            usleep(1000)
        }
    }

    func write64(_ offset: Int, _ value: UInt64) {
        bar.write32(offset, UInt32(truncatingIfNeeded: value))
        bar.write32(offset + 4, UInt32(truncatingIfNeeded: value >> 32))
    }

    @discardableResult
    func adminCommand(_ command: NVMeCommand, _ what: String) throws(VFIODriverError) -> NVMeCompletion {
        guard let a = admin else { throw VFIODriverError("the admin queue is not set up") }
        return try submit(command, on: a, interrupt: false, what)
    }

    func submit(_ command: NVMeCommand, on q: Queue, interrupt: Bool, _ what: String) throws(VFIODriverError) -> NVMeCompletion {
        var c = command
        c.commandID = q.nextID
        q.nextID &+= 1
        q.sq.store(c.bytes, at: q.tail * 64)
        q.tail = (q.tail + 1) % q.entries
        bar.write32(NVMe.doorbell(queue: Int(q.id), completion: false, stride: capabilities.doorbellStride), UInt32(q.tail))
        let deadline = monotonicMilliseconds() + options.commandTimeoutMilliseconds
        var signalled = false
        while true {
            let status = cvfioStatus(q)
            if (status & 1 == 1) == q.phase {
                guard let done = NVMeCompletion(bytes: q.cq.load(q.head * 16, count: 16)) else { throw VFIODriverError("short completion") }
                q.head = (q.head + 1) % q.entries
                if q.head == 0 { q.phase.toggle() }
                bar.write32(NVMe.doorbell(queue: Int(q.id), completion: true, stride: capabilities.doorbellStride), UInt32(q.head))
                guard done.commandID == c.commandID else {
                    throw VFIODriverError("\(what): completion for command \(done.commandID), expected \(c.commandID)")
                }
                if interrupt, !signalled, session.eventFDs.indices.contains(ioVector) {
                    // The entry can land before the MSI-X message; when an interrupt is required, wait for it.
                    let wait = requireInterrupts ? max(0, deadline - monotonicMilliseconds()) : 0
                    signalled = session.eventFDs[ioVector].wait(milliseconds: wait)
                    if requireInterrupts, !signalled {
                        throw VFIODriverError("\(what) completed, but MSI-X vector \(ioVector) never signalled its eventfd within \(options.commandTimeoutMilliseconds) ms")
                    }
                }
                if interrupt && signalled { interruptCompletions += 1 }
                guard done.succeeded else { throw VFIODriverError("\(what) failed: \(done.statusDescription)") }
                return done
            }
            let now = monotonicMilliseconds()
            if now > deadline {
                let csts = bar.read32(NVMe.Register.csts)
                if csts & NVMe.Status.fatal != 0 || csts == 0xFFFF_FFFF {
                    throw VFIODriverError("\(what): no completion within \(options.commandTimeoutMilliseconds) ms; controller fatal status (CSTS.CFS, CSTS 0x\(hex(csts, width: 8)))")
                }
                throw VFIODriverError("\(what): no completion within \(options.commandTimeoutMilliseconds) ms (CSTS 0x\(hex(csts, width: 8)))")
            }
            if interrupt, session.eventFDs.indices.contains(ioVector) {
                if session.eventFDs[ioVector].wait(milliseconds: min(100, deadline - now + 1)) { signalled = true }
            } else {
                usleep(20)
            }
        }
    }

    /// The completion entry's status word, read as the device wrote it (not from a cached copy).
    func cvfioStatus(_ q: Queue) -> UInt32 {
        q.cq.load32(q.head * 16 + 12) >> 16
    }

    // MARK: I/O

    public var blockSize: Int { namespace?.blockSize ?? 512 }
    public var capacityBytes: UInt64 { namespace?.bytes ?? 0 }

    func ioCommand(_ command: NVMeCommand, _ what: String) throws(VFIODriverError) {
        guard let q = io else { throw VFIODriverError("the I/O queue is not set up") }
        _ = try submit(command, on: q, interrupt: true, what)
    }

    /// Points the command's PRPs at the first `length` bytes of the bounce buffer.
    func withPRPs(_ command: NVMeCommand, length: Int) throws(VFIODriverError) -> NVMeCommand {
        guard let data, let prpList else { throw VFIODriverError("no DMA buffer") }
        let pages = stride(from: 0, to: data.size, by: NVMe.pageSize).map { data.iova + UInt64($0) }
        guard let prp = NVMePRP(pages: pages, length: length, listIOVA: prpList.iova) else {
            throw VFIODriverError("a transfer of \(length) bytes does not fit the \(data.size)-byte buffer")
        }
        if !prp.list.isEmpty { prpList.store(prp.listBytes, at: 0) }
        var c = command
        c.prp1 = prp.prp1
        c.prp2 = prp.prp2
        return c
    }

    func checkRange(_ offset: UInt64, _ count: Int) throws(VFIODriverError) {
        let bs = UInt64(blockSize)
        guard count >= 0, offset % bs == 0, UInt64(count) % bs == 0 else {
            throw VFIODriverError("offset \(offset) and length \(count) must be multiples of the \(bs)-byte block")
        }
        guard offset <= capacityBytes, UInt64(count) <= capacityBytes - offset else {
            throw VFIODriverError("offset \(offset) + \(count) is past the namespace's \(capacityBytes) bytes")
        }
    }

    /// Reads `count` bytes at `offset` (both block aligned), in transfers of at most the bounce buffer.
    public func read(offset: UInt64, count: Int) throws(VFIODriverError) -> [UInt8] {
        try checkRange(offset, count)
        guard let data else { throw VFIODriverError("no DMA buffer") }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var done = 0
        while done < count {
            let n = min(maxTransfer, count - done)
            let lba = (offset + UInt64(done)) / UInt64(blockSize)
            try ioCommand(try withPRPs(.readWrite(write: false, nsid: nsid, lba: lba, blocks: n / blockSize), length: n), "Read LBA \(lba)")
            data.append(to: &out, count: n)
            done += n
        }
        return out
    }

    public func write(offset: UInt64, _ bytes: [UInt8]) throws(VFIODriverError) {
        try checkRange(offset, bytes.count)
        guard let data else { throw VFIODriverError("no DMA buffer") }
        var done = 0
        while done < bytes.count {
            let n = min(maxTransfer, bytes.count - done)
            let lba = (offset + UInt64(done)) / UInt64(blockSize)
            data.store(Array(bytes[done..<(done + n)]), at: 0)
            try ioCommand(try withPRPs(.readWrite(write: true, nsid: nsid, lba: lba, blocks: n / blockSize), length: n), "Write LBA \(lba)")
            done += n
        }
    }

    public func flush() throws(VFIODriverError) { try ioCommand(.flush(nsid: nsid), "Flush") }

    public var supportsDeallocate: Bool { controller?.supportsDeallocate ?? false }

    /// Dataset Management (deallocate) of a block-aligned range, in pieces of at most 2^32-1 blocks.
    public func deallocate(offset: UInt64, count: Int) throws(VFIODriverError) {
        try checkRange(offset, count)
        guard supportsDeallocate else { throw VFIODriverError("the controller does not support Dataset Management (ONCS bit 2)") }
        guard let data else { throw VFIODriverError("no DMA buffer") }
        var lba = offset / UInt64(blockSize)
        var left = UInt64(count / blockSize)
        while left > 0 {
            let n = UInt32(min(left, UInt64(UInt32.max)))
            data.store(NVMeCommand.rangeDescriptor(lba: lba, blocks: n), at: 0)
            var c = NVMeCommand.deallocate(nsid: nsid)
            c.prp1 = data.iova
            try ioCommand(c, "Dataset Management at LBA \(lba)")
            lba += UInt64(n)
            left -= UInt64(n)
        }
    }

    /// Deletes the I/O queues and disables the controller, then releases the session. Best effort: a
    /// controller that fails here is reset by vfio-pci when the device fd closes.
    public func shutdown() {
        stop()
        session.close()
    }

    /// `shutdown` without closing the session (the caller still resets the device through it).
    public func stop() {
        if io != nil {
            _ = try? adminCommand(.deleteIOSubmissionQueue(id: 1), "Delete I/O Submission Queue")
            _ = try? adminCommand(.deleteIOCompletionQueue(id: 1), "Delete I/O Completion Queue")
            io = nil
        }
        try? disable()
        admin = nil
    }
}

extension DMABuffer {
    /// Appends the first `count` bytes to `array` without an intermediate copy.
    func append(to array: inout [UInt8], count: Int) {
        precondition(count >= 0 && count <= size, "DMA buffer read outside the buffer")
        // SAFETY: the range was checked against the mapping's size; the memory lives until the session releases it.
        array.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A volatile 32-bit load: the device writes this memory behind the compiler's back.
    func load32(_ offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= size, "DMA buffer read outside the buffer")
        return cvfio_load32(pointer, UInt64(offset))
    }
}
