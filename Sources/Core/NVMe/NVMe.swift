/// NVMe structures as bytes (NVM Express Base Specification 2.0, sections 3.1 registers, 4.2 submission
/// queue entry, 4.6 completion queue entry, 5.17 Identify), so the user-space driver and its fake twin share
/// one encoding and it is tested without a device.
public enum NVMe {
    /// Controller register offsets in BAR0 (section 3.1.3).
    public enum Register {
        public static let cap = 0x00, vs = 0x08, intms = 0x0C, intmc = 0x10, cc = 0x14, csts = 0x1C
        public static let aqa = 0x24, asq = 0x28, acq = 0x30
        public static let doorbells = 0x1000
    }

    public enum AdminOpcode {
        public static let createIOSQ: UInt8 = 0x01, deleteIOSQ: UInt8 = 0x00, createIOCQ: UInt8 = 0x05
        public static let deleteIOCQ: UInt8 = 0x04, identify: UInt8 = 0x06, setFeatures: UInt8 = 0x09
    }

    public enum IOOpcode {
        public static let flush: UInt8 = 0x00, write: UInt8 = 0x01, read: UInt8 = 0x02, datasetManagement: UInt8 = 0x09
    }

    public static let pageSize = 4096
    public static let submissionEntrySize = 64
    public static let completionEntrySize = 16

    /// CAP (section 3.1.3.1).
    public struct Capabilities: Sendable, Equatable {
        public var raw: UInt64
        public init(_ raw: UInt64) { self.raw = raw }
        /// Maximum queue entries supported (MQES is zero-based).
        public var maxQueueEntries: Int { Int(raw & 0xFFFF) + 1 }
        /// CAP.TO: worst-case time to ready, in 500 ms units.
        public var timeoutMilliseconds: Int { Int((raw >> 24) & 0xFF) * 500 }
        /// CAP.DSTRD: doorbell stride is 4 << DSTRD bytes.
        public var doorbellStride: Int { 4 << Int((raw >> 32) & 0xF) }
        /// CAP.CSS bit 0: the NVM command set.
        public var supportsNVMCommandSet: Bool { (raw >> 37) & 1 == 1 }
        /// CAP.MPSMIN: the smallest memory page size is 2^(12 + MPSMIN).
        public var minPageSize: Int { 1 << (12 + Int((raw >> 48) & 0xF)) }
    }

    /// CC for an enabled controller with 4 KiB pages, the NVM command set, round robin and 64/16-byte entries.
    public static let enableConfiguration: UInt32 = 1 | (6 << 16) | (4 << 20)

    public enum Status {
        public static let ready: UInt32 = 1
        public static let fatal: UInt32 = 1 << 1
    }

    /// The doorbell of a queue: submission tail (`completion` false) or completion head.
    public static func doorbell(queue: Int, completion: Bool, stride: Int) -> Int {
        Register.doorbells + (2 * queue + (completion ? 1 : 0)) * stride
    }

    /// AQA: admin submission and completion queue sizes (zero-based).
    public static func adminQueueAttributes(entries: Int) -> UInt32 {
        let n = UInt32(entries - 1) & 0xFFF
        return n | n << 16
    }
}

/// A 64-byte submission queue entry (section 4.2).
public struct NVMeCommand: Sendable, Equatable {
    public var opcode: UInt8
    public var commandID: UInt16 = 0
    public var nsid: UInt32 = 0
    public var prp1: UInt64 = 0
    public var prp2: UInt64 = 0
    /// CDW10 to CDW15.
    public var cdw: [UInt32] = [0, 0, 0, 0, 0, 0]

    public init(opcode: UInt8, nsid: UInt32 = 0, cdw10: UInt32 = 0, cdw11: UInt32 = 0, cdw12: UInt32 = 0) {
        self.opcode = opcode
        self.nsid = nsid
        cdw[0] = cdw10
        cdw[1] = cdw11
        cdw[2] = cdw12
    }

    public static func identifyController() -> NVMeCommand { NVMeCommand(opcode: NVMe.AdminOpcode.identify, cdw10: 1) }
    public static func identifyNamespace(_ nsid: UInt32) -> NVMeCommand {
        NVMeCommand(opcode: NVMe.AdminOpcode.identify, nsid: nsid, cdw10: 0)
    }
    /// Set Features, Number of Queues (FID 07h): zero-based counts of I/O submission and completion queues.
    public static func setNumberOfQueues(_ count: Int) -> NVMeCommand {
        let n = UInt32(count - 1) & 0xFFFF
        return NVMeCommand(opcode: NVMe.AdminOpcode.setFeatures, cdw10: 0x07, cdw11: n | n << 16)
    }
    /// Create I/O Completion Queue, physically contiguous, interrupts on `vector`.
    public static func createIOCompletionQueue(id: UInt16, entries: Int, iova: UInt64, vector: UInt16) -> NVMeCommand {
        var c = NVMeCommand(opcode: NVMe.AdminOpcode.createIOCQ,
                            cdw10: UInt32(entries - 1) << 16 | UInt32(id), cdw11: UInt32(vector) << 16 | 0b11)
        c.prp1 = iova
        return c
    }
    /// Create I/O Submission Queue, physically contiguous, completing on `completionQueue`.
    public static func createIOSubmissionQueue(id: UInt16, entries: Int, iova: UInt64, completionQueue: UInt16) -> NVMeCommand {
        var c = NVMeCommand(opcode: NVMe.AdminOpcode.createIOSQ,
                            cdw10: UInt32(entries - 1) << 16 | UInt32(id), cdw11: UInt32(completionQueue) << 16 | 1)
        c.prp1 = iova
        return c
    }
    public static func deleteIOSubmissionQueue(id: UInt16) -> NVMeCommand { NVMeCommand(opcode: NVMe.AdminOpcode.deleteIOSQ, cdw10: UInt32(id)) }
    public static func deleteIOCompletionQueue(id: UInt16) -> NVMeCommand { NVMeCommand(opcode: NVMe.AdminOpcode.deleteIOCQ, cdw10: UInt32(id)) }
    /// Read or Write of `blocks` logical blocks (1...65536) from `lba`.
    public static func readWrite(write: Bool, nsid: UInt32, lba: UInt64, blocks: Int) -> NVMeCommand {
        NVMeCommand(opcode: write ? NVMe.IOOpcode.write : NVMe.IOOpcode.read, nsid: nsid,
                    cdw10: UInt32(truncatingIfNeeded: lba), cdw11: UInt32(truncatingIfNeeded: lba >> 32),
                    cdw12: UInt32(blocks - 1) & 0xFFFF)
    }
    public static func flush(nsid: UInt32) -> NVMeCommand { NVMeCommand(opcode: NVMe.IOOpcode.flush, nsid: nsid) }
    /// Dataset Management with Deallocate over one range, whose 16-byte descriptor is in the PRP1 page.
    public static func deallocate(nsid: UInt32) -> NVMeCommand {
        NVMeCommand(opcode: NVMe.IOOpcode.datasetManagement, nsid: nsid, cdw10: 0, cdw11: 1 << 2)
    }

    /// The 16-byte range descriptor of Dataset Management (section 3.3.3.2.1 of the NVM command set).
    public static func rangeDescriptor(lba: UInt64, blocks: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 16)
        LittleEndian.put(blocks, into: &b, at: 4)
        LittleEndian.put(lba, into: &b, at: 8)
        return b
    }

    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: NVMe.submissionEntrySize)
        b[0] = opcode
        LittleEndian.put(commandID, into: &b, at: 2)
        LittleEndian.put(nsid, into: &b, at: 4)
        LittleEndian.put(prp1, into: &b, at: 24)
        LittleEndian.put(prp2, into: &b, at: 32)
        for (i, d) in cdw.prefix(6).enumerated() { LittleEndian.put(d, into: &b, at: 40 + 4 * i) }
        return b
    }

    /// Decodes a 64-byte entry (what a controller does); nil when `bytes` is short.
    public init?(bytes b: [UInt8]) {
        guard b.count >= NVMe.submissionEntrySize else { return nil }
        opcode = b[0]
        commandID = LittleEndian.u16(b, 2)
        nsid = LittleEndian.u32(b, 4)
        prp1 = LittleEndian.u64(b, 24)
        prp2 = LittleEndian.u64(b, 32)
        cdw = (0..<6).map { LittleEndian.u32(b, 40 + 4 * $0) }
    }
}

/// A 16-byte completion queue entry (section 4.6).
public struct NVMeCompletion: Sendable, Equatable {
    public var result: UInt32
    public var submissionHead: UInt16
    public var submissionQueue: UInt16
    public var commandID: UInt16
    public var phase: Bool
    /// Status field without the phase bit: status code type << 8 | status code.
    public var status: UInt16

    public init(result: UInt32 = 0, submissionHead: UInt16, submissionQueue: UInt16, commandID: UInt16, phase: Bool, status: UInt16 = 0) {
        self.result = result
        self.submissionHead = submissionHead
        self.submissionQueue = submissionQueue
        self.commandID = commandID
        self.phase = phase
        self.status = status
    }

    public init?(bytes b: [UInt8]) {
        guard b.count >= NVMe.completionEntrySize else { return nil }
        result = LittleEndian.u32(b, 0)
        submissionHead = LittleEndian.u16(b, 8)
        submissionQueue = LittleEndian.u16(b, 10)
        commandID = LittleEndian.u16(b, 12)
        let sf = LittleEndian.u16(b, 14)
        phase = sf & 1 == 1
        status = (sf >> 1) & 0x7FF
    }

    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: NVMe.completionEntrySize)
        LittleEndian.put(result, into: &b, at: 0)
        LittleEndian.put(submissionHead, into: &b, at: 8)
        LittleEndian.put(submissionQueue, into: &b, at: 10)
        LittleEndian.put(commandID, into: &b, at: 12)
        LittleEndian.put((status & 0x7FF) << 1 | (phase ? 1 : 0), into: &b, at: 14)
        return b
    }

    public var succeeded: Bool { status == 0 }

    /// "SCT 0 SC 0x0b (Invalid Namespace or Format)" for the generic codes a driver meets first.
    public var statusDescription: String {
        let sct = (status >> 8) & 0x7, sc = status & 0xFF
        let generic: [UInt16: String] = [0x00: "Successful Completion", 0x01: "Invalid Command Opcode", 0x02: "Invalid Field in Command",
                                         0x04: "Data Transfer Error", 0x06: "Internal Error", 0x0B: "Invalid Namespace or Format",
                                         0x13: "PRP Offset Invalid", 0x80: "LBA Out of Range", 0x81: "Capacity Exceeded"]
        let name = sct == 0 ? generic[sc].map { " (\($0))" } ?? "" : ""
        return "SCT \(sct) SC 0x\(hex(sc, width: 2))\(name)"
    }
}

/// The fields of Identify Controller (CNS 01h) a driver and `verify --deep` use.
public struct NVMeControllerIdentity: Sendable, Equatable {
    public var vendorID: UInt16
    public var serial: String
    public var model: String
    public var firmware: String
    /// MDTS: maximum transfer is 2^MDTS minimum pages; 0 is no limit.
    public var maxDataTransferExponent: UInt8
    public var namespaceCount: UInt32
    /// ONCS bit 2: Dataset Management (deallocate, NBD trim).
    public var supportsDeallocate: Bool
    /// VWC bit 0: a volatile write cache, so Flush matters.
    public var volatileWriteCache: Bool

    /// Parses the 4096-byte Identify Controller data; nil when it is short.
    public init?(_ b: [UInt8]) {
        guard b.count >= 4096 else { return nil }
        vendorID = LittleEndian.u16(b, 0)
        serial = NVMeControllerIdentity.ascii(b[4..<24])
        model = NVMeControllerIdentity.ascii(b[24..<64])
        firmware = NVMeControllerIdentity.ascii(b[64..<72])
        maxDataTransferExponent = b[77]
        namespaceCount = LittleEndian.u32(b, 516)
        supportsDeallocate = LittleEndian.u16(b, 520) & (1 << 2) != 0
        volatileWriteCache = b[525] & 1 != 0
    }

    /// Builds Identify Controller data (what a controller returns), for tests and the fake twin.
    public static func encode(serial: String, model: String, firmware: String, mdts: UInt8, namespaces: UInt32, oncs: UInt16, vwc: UInt8) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 4096)
        LittleEndian.put(UInt16(0x1b36), into: &b, at: 0)
        func pad(_ s: String, _ at: Int, _ n: Int) {
            let u = Array(s.utf8.prefix(n))
            for i in 0..<n { b[at + i] = i < u.count ? u[i] : 0x20 }
        }
        pad(serial, 4, 20)
        pad(model, 24, 40)
        pad(firmware, 64, 8)
        b[77] = mdts
        LittleEndian.put(namespaces, into: &b, at: 516)
        LittleEndian.put(oncs, into: &b, at: 520)
        b[525] = vwc
        return b
    }

    /// ASCII fields are space padded; anything not printable shows as '?' so a broken device cannot garble a terminal.
    static func ascii(_ s: ArraySlice<UInt8>) -> String {
        var bytes = Array(s)
        while let last = bytes.last, last == 0x20 || last == 0 { bytes.removeLast() }
        return String(decoding: bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x3F }, as: UTF8.self)
    }
}

/// The fields of Identify Namespace (CNS 00h) a driver uses.
public struct NVMeNamespaceIdentity: Sendable, Equatable {
    /// NSZE: size in logical blocks.
    public var blocks: UInt64
    /// The current LBA format's block size (2^LBADS bytes).
    public var blockSize: Int
    public var bytes: UInt64 { blocks &* UInt64(blockSize) }

    /// nil when the data is short, the namespace is inactive (size 0) or the LBA format is not 512 B to 64 KiB.
    public init?(_ b: [UInt8]) {
        guard b.count >= 4096 else { return nil }
        blocks = LittleEndian.u64(b, 0)
        let format = Int(b[26] & 0x0F)
        let lbads = b[128 + 4 * format + 2]
        guard blocks > 0, (9...16).contains(lbads) else { return nil }
        blockSize = 1 << Int(lbads)
        guard blocks <= UInt64.max / UInt64(blockSize) else { return nil }
    }

    public static func encode(blocks: UInt64, lbads: UInt8) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 4096)
        LittleEndian.put(blocks, into: &b, at: 0)
        LittleEndian.put(blocks, into: &b, at: 8)
        LittleEndian.put(blocks, into: &b, at: 16)
        b[128 + 2] = lbads
        return b
    }
}

/// Physical Region Page entries for a transfer (section 4.1.1): PRP1 is the first page (with its offset), PRP2
/// the second page when the transfer spans exactly two, else the address of a list holding pages 2...n.
public struct NVMePRP: Sendable, Equatable {
    public var prp1: UInt64
    public var prp2: UInt64
    /// The entries to write at `listIOVA` (empty when no list is needed).
    public var list: [UInt64]

    /// `pages` are the IOVAs of the page-aligned pages the data occupies, in order; `length` the byte count.
    /// nil when the pages do not cover `length`, or the list would not fit one page (512 entries).
    public init?(pages: [UInt64], length: Int, listIOVA: UInt64) {
        let pageSize = NVMe.pageSize
        guard length > 0, let first = pages.first else { return nil }
        let needed = (length + pageSize - 1) / pageSize
        guard pages.count >= needed, needed - 1 <= pageSize / 8 else { return nil }
        prp1 = first
        switch needed {
        case 1: prp2 = 0; list = []
        case 2: prp2 = pages[1]; list = []
        default: prp2 = listIOVA; list = Array(pages[1..<needed])
        }
    }

    public var listBytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: list.count * 8)
        for (i, p) in list.enumerated() { LittleEndian.put(p, into: &b, at: 8 * i) }
        return b
    }
}

/// Little-endian loads and stores on byte arrays (NVMe and config space are little endian).
public enum LittleEndian {
    public static func u16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
    public static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { UInt32(u16(b, at)) | UInt32(u16(b, at + 2)) << 16 }
    public static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32 }
    public static func put<T: FixedWidthInteger>(_ v: T, into b: inout [UInt8], at: Int) {
        for i in 0..<(T.bitWidth / 8) { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }
}
