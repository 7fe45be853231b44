import Glibc
import Testing
import VFIOCore
@testable import VFIOHost

let nvmeAddress = PCIAddress(domain: 0, bus: 3, device: 0, function: 0)

func openDriver(_ twin: FakeNVMeTwin, timeout: Int = 5000, transfer: Int = 128 * 1024) throws(VFIODriverError) -> NVMeDriver {
    let session = try VFIOSession(api: twin, address: nvmeAddress, group: 9)
    var options = NVMeDriver.Options()
    options.commandTimeoutMilliseconds = timeout
    options.transferBytes = transfer
    return try NVMeDriver(session: session, options: options)
}

@Suite struct NVMeDriverTests {
    @Test func bringUpIdentifiesTheControllerAndNamespace() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin)
        #expect(driver.controller?.serial == "LAB0001")
        #expect(driver.controller?.model == "QEMU NVMe Ctrl")
        #expect(driver.controller?.firmware == "9.2.0")
        #expect(driver.capacityBytes == 1 << 20)
        #expect(driver.blockSize == 512)
        #expect(twin.cc & 1 == 1)
        #expect(twin.config[4] & 0b100 != 0, "bus master enabled")
        #expect(twin.irqFDs.count == 2)
        #expect(twin.cqs[1]?.vector == 1 && twin.cqs[1]?.interrupts == true)
        #expect(twin.sqs[1]?.cq == 1)
        driver.shutdown()
    }

    @Test func writeThenReadAcrossPRPListsAndSplitTransfers() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin)
        // 3 pages need a PRP list; 300 KiB needs three commands through the 128 KiB bounce buffer.
        for count in [512, 8192, 3 * 4096, 300 * 1024] {
            let data = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ count) }
            try driver.write(offset: 4096, data)
            #expect(Array(twin.disk[4096..<(4096 + count)]) == data, "the twin's disk holds the \(count) bytes written")
            #expect(try driver.read(offset: 4096, count: count) == data, "reads back \(count) bytes")
        }
        #expect(twin.commandCounts["read"] == 1 + 1 + 1 + 3)
        #expect(driver.interruptCompletions > 0, "I/O completions came after the MSI-X eventfd fired")
        driver.shutdown()
    }

    @Test func theDefaultTransferIsCappedByMDTS() throws {
        let twin = FakeNVMeTwin(diskBytes: 4 << 20)
        let driver = try openDriver(twin, transfer: 4 << 20)
        let data = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 >> 9) }
        try driver.write(offset: 0, data)
        #expect(try driver.read(offset: 0, count: 1 << 20) == data)
        #expect(twin.commandCounts["read"] == 2, "MDTS 7 allows 512 KiB per command")
        driver.shutdown()
    }

    @Test func flushAndDeallocate() throws {
        let twin = FakeNVMeTwin()
        twin.disk.replaceSubrange(0..<1024, with: [UInt8](repeating: 0xAB, count: 1024))
        let driver = try openDriver(twin)
        try driver.flush()
        #expect(twin.flushes == 1)
        #expect(driver.supportsDeallocate)
        try driver.deallocate(offset: 512, count: 512)
        #expect(Array(twin.disk[0..<512]) == [UInt8](repeating: 0xAB, count: 512))
        #expect(Array(twin.disk[512..<1024]) == [UInt8](repeating: 0, count: 512))
        driver.shutdown()
    }

    @Test func badRangesAreRefusedBeforeTheDevice() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin)
        #expect(throws: VFIODriverError.self) { try driver.read(offset: 100, count: 512) }
        do { _ = try driver.read(offset: UInt64(1 << 20), count: 512); Issue.record("read past the end") } catch {
            #expect(error.description.contains("past the namespace's 1048576 bytes"))
        }
        #expect(twin.commandCounts["read"] == nil)
        driver.shutdown()
    }

    @Test func controllerFatalStatusIsReportedOnTimeout() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin, timeout: 200)
        twin.fatalAfter = 0
        do { _ = try driver.read(offset: 0, count: 512); Issue.record("no error") } catch {
            #expect(error.description.contains("Read LBA 0: no completion within 200 ms; controller fatal status (CSTS.CFS"))
        }
        driver.shutdown()
        #expect(twin.mappings.isEmpty && twin.openFDs.isEmpty)
    }

    @Test func aHungControllerTimesOut() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin, timeout: 100)
        twin.silent = true
        do { try driver.flush(); Issue.record("no error") } catch {
            #expect(error.description.contains("Flush: no completion within 100 ms (CSTS 0x00000001)"))
        }
        driver.shutdown()
    }

    @Test func shutdownReleasesEverything() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin)
        #expect(!twin.mappings.isEmpty && twin.mappedRegions == 1 && !twin.openFDs.isEmpty)
        driver.shutdown()
        #expect(twin.mappings.isEmpty, "every DMA mapping unmapped")
        #expect(twin.mappedRegions == 0, "BAR0 unmapped")
        #expect(twin.irqFDs.isEmpty, "MSI-X disabled")
        #expect(twin.openFDs.isEmpty, "container, group and device fds closed")
        #expect(twin.cc & 1 == 0, "controller disabled")
        #expect(twin.commandCounts["delete sq"] == 1 && twin.commandCounts["delete cq"] == 1)
        #expect(twin.log.contains("unset container"))
    }

    @Test func aFailedBringUpReleasesEverything() throws {
        let twin = FakeNVMeTwin()
        twin.inactiveNamespace = true
        do { _ = try openDriver(twin); Issue.record("no error") } catch {
            #expect(error.description.contains("namespace 1 is inactive"))
        }
        #expect(twin.mappings.isEmpty && twin.mappedRegions == 0 && twin.openFDs.isEmpty)
    }

    @Test func noMSIXIsAClearError() throws {
        let twin = FakeNVMeTwin()
        twin.msixVectors = 0
        do { _ = try openDriver(twin); Issue.record("no error") } catch {
            #expect(error.description == "the device has no MSI-X vectors")
        }
        #expect(twin.openFDs.isEmpty)
    }
}

@Suite struct NVMeInterruptTests {
    @Test func aRequiredInterruptThatNeverComesIsAnError() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin, timeout: 100)
        driver.requireInterrupts = true
        _ = try driver.read(offset: 0, count: 512)
        #expect(driver.interruptCompletions == 1)
        twin.cqs[1]?.interrupts = false
        do { _ = try driver.read(offset: 0, count: 512); Issue.record("no error") } catch {
            #expect(error.description == "Read LBA 0 completed, but MSI-X vector 1 never signalled its eventfd within 100 ms")
        }
        driver.shutdown()
    }
}
