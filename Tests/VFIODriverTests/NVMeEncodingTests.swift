import Testing
import VFIOCore

@Suite struct NVMeEncodingTests {
    @Test func submissionEntryLayout() {
        var c = NVMeCommand.readWrite(write: true, nsid: 1, lba: 0x1_2345_6789, blocks: 8)
        c.commandID = 0x42
        c.prp1 = 0x10_0000
        c.prp2 = 0x20_0000
        let b = c.bytes
        #expect(b.count == 64)
        #expect(b[0] == 0x01 && b[2] == 0x42 && b[4] == 1)
        #expect(LittleEndian.u64(b, 24) == 0x10_0000 && LittleEndian.u64(b, 32) == 0x20_0000)
        #expect(LittleEndian.u32(b, 40) == 0x2345_6789 && LittleEndian.u32(b, 44) == 1, "SLBA in CDW10/11")
        #expect(LittleEndian.u32(b, 48) == 7, "NLB is zero-based")
        #expect(NVMeCommand(bytes: b) == c)
        #expect(NVMeCommand(bytes: Array(b.prefix(63))) == nil)
    }

    @Test func queueCreationFields() {
        let cq = NVMeCommand.createIOCompletionQueue(id: 1, entries: 64, iova: 0x30_0000, vector: 1)
        #expect(cq.cdw[0] == 63 << 16 | 1 && cq.cdw[1] == 1 << 16 | 0b11 && cq.prp1 == 0x30_0000)
        let sq = NVMeCommand.createIOSubmissionQueue(id: 1, entries: 64, iova: 0x40_0000, completionQueue: 1)
        #expect(sq.cdw[0] == 63 << 16 | 1 && sq.cdw[1] == 1 << 16 | 1)
        #expect(NVMeCommand.setNumberOfQueues(1).cdw[1] == 0)
        #expect(NVMe.adminQueueAttributes(entries: 32) == 31 << 16 | 31)
    }

    @Test func completionRoundTripAndStatus() {
        let c = NVMeCompletion(result: 5, submissionHead: 3, submissionQueue: 1, commandID: 9, phase: true, status: 0x80)
        #expect(NVMeCompletion(bytes: c.bytes) == c)
        #expect(!c.succeeded)
        #expect(c.statusDescription == "SCT 0 SC 0x80 (LBA Out of Range)")
        #expect(LittleEndian.u16(c.bytes, 14) == 0x80 << 1 | 1, "phase is bit 0 of the status word")
    }

    @Test func capabilities() {
        let cap = NVMe.Capabilities(2047 | 20 << 24 | 1 << 32 | 1 << 37)
        #expect(cap.maxQueueEntries == 2048 && cap.timeoutMilliseconds == 10_000 && cap.doorbellStride == 8)
        #expect(cap.supportsNVMCommandSet && cap.minPageSize == 4096)
        #expect(NVMe.doorbell(queue: 1, completion: true, stride: 8) == 0x1000 + 3 * 8)
    }

    @Test func identifyParsing() {
        let c = NVMeControllerIdentity(NVMeControllerIdentity.encode(serial: "LAB0001", model: "QEMU NVMe Ctrl", firmware: "9.2.0", mdts: 7, namespaces: 1, oncs: 4, vwc: 1))
        #expect(c?.serial == "LAB0001" && c?.model == "QEMU NVMe Ctrl" && c?.firmware == "9.2.0")
        #expect(c?.maxDataTransferExponent == 7 && c?.supportsDeallocate == true && c?.volatileWriteCache == true)
        var raw = NVMeControllerIdentity.encode(serial: "A", model: "B", firmware: "C", mdts: 0, namespaces: 1, oncs: 0, vwc: 0)
        raw[5] = 0x1B   // an escape in the serial must not reach a terminal
        #expect(NVMeControllerIdentity(raw)?.serial == "A?")
        #expect(NVMeControllerIdentity(Array(raw.prefix(100))) == nil)
        let n = NVMeNamespaceIdentity(NVMeNamespaceIdentity.encode(blocks: 131_072, lbads: 9))
        #expect(n?.bytes == 64 << 20 && n?.blockSize == 512)
        #expect(NVMeNamespaceIdentity(NVMeNamespaceIdentity.encode(blocks: 0, lbads: 9)) == nil, "inactive namespace")
        #expect(NVMeNamespaceIdentity(NVMeNamespaceIdentity.encode(blocks: 8, lbads: 40)) == nil, "absurd LBA size")
    }

    @Test func prpEntries() {
        let pages: [UInt64] = [0x1000, 0x5000, 0x9000, 0xD000]
        #expect(NVMePRP(pages: pages, length: 512, listIOVA: 0xF000) == NVMePRP(pages: [0x1000], length: 4096, listIOVA: 0))
        let two = NVMePRP(pages: pages, length: 8192, listIOVA: 0xF000)
        #expect(two?.prp1 == 0x1000 && two?.prp2 == 0x5000 && two?.list == [])
        let list = NVMePRP(pages: pages, length: 3 * 4096 + 1, listIOVA: 0xF000)
        #expect(list?.prp2 == 0xF000 && list?.list == [0x5000, 0x9000, 0xD000])
        #expect(list.map { LittleEndian.u64($0.listBytes, 8) } == 0x9000)
        #expect(NVMePRP(pages: pages, length: 5 * 4096, listIOVA: 0) == nil, "pages do not cover the length")
        #expect(NVMePRP(pages: pages, length: 0, listIOVA: 0) == nil)
    }

    @Test func iovaAllocator() {
        var a = IOVAAllocator(base: 0x10_0000, limit: 0x10_0000 + 16 * 4096)
        let x = a.allocate(1), y = a.allocate(8192), z = a.allocate(4096)
        #expect(x == 0x10_0000 && y == 0x10_1000 && z == 0x10_3000)
        #expect(a.allocate(13 * 4096) == nil, "only 12 pages are left")
        a.release(0x10_1000, size: 8192)
        #expect(a.allocate(4096) == 0x10_1000, "first fit reuses the hole")
        a.release(0x10_1000, size: 4096)
        a.release(0x10_0000, size: 1)
        a.release(0x10_3000, size: 4096)
        #expect(a == IOVAAllocator(base: 0x10_0000, limit: 0x10_0000 + 16 * 4096), "freed ranges merge back into one")
        #expect(a.allocate(0) == nil && a.allocate(UInt64.max) == nil)
    }
}
