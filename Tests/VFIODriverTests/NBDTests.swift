import Glibc
import Testing
import Foundation
import CVFIO
import VFIOCore
@testable import VFIOHost

/// Runs the NBD server over one end of a socketpair against the NVMe driver on the fake twin; the test is
/// the client on the other end.
final class ServerRun: @unchecked Sendable {
    let driver: NVMeDriver
    let fd: Int32
    var error: NBDError?
    var log: [String] = []
    let done = DispatchSemaphore(value: 0)
    init(driver: NVMeDriver, fd: Int32) { self.driver = driver; self.fd = fd }
    func start() {
        Thread {
            var stream = NBDSocketStream(fd: self.fd)
            var backend = NVMeNBDBackend(driver: self.driver)
            var server = NBDServer()
            do { try server.serve(&stream, &backend) } catch let e as NBDError { self.error = e } catch {}
            self.log = server.log
            Glibc.close(self.fd)
            self.done.signal()
        }.start()
    }
}

func pair() -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    #expect(cvfio_unix_socketpair(&fds) == 0)
    return (fds[0], fds[1])
}

@Suite(.serialized) struct NBDTests {
    @Test func handshakeWithGoThenReadWriteFlushTrim() throws {
        let twin = FakeNVMeTwin()
        let marker = Array("vfioctl-marker\n".utf8)
        twin.disk.replaceSubrange(0..<marker.count, with: marker)
        let driver = try openDriver(twin)
        let (client, serverFD) = pair()
        let run = ServerRun(driver: driver, fd: serverFD)
        run.start()
        var c = NBDSocketStream(fd: client)

        let hello = try c.read(exactly: 18)
        #expect(NBDClientMessages.u64(hello, 0) == NBD.initMagic && NBDClientMessages.u64(hello, 8) == NBD.optionMagic)
        #expect(NBDClientMessages.u16(hello, 16) == 3, "fixed newstyle and no zeroes")
        try c.write(NBDClientMessages.clientFlags(3))
        // An unknown option (structured replies) is refused, and the client goes on.
        try c.write(NBDClientMessages.option(8, []))
        var r = try c.read(exactly: 20)
        #expect(NBDClientMessages.u32(r, 12) == NBD.Reply.errUnsupported)
        try c.write(NBDClientMessages.go(name: ""))
        r = try c.read(exactly: 20)
        #expect(NBDClientMessages.u32(r, 12) == NBD.Reply.info && NBDClientMessages.u32(r, 16) == 12)
        let export = try c.read(exactly: 12)
        #expect(NBDClientMessages.u64(export, 2) == 1 << 20, "export size is the namespace's")
        let flags = NBDClientMessages.u16(export, 10)
        #expect(flags & NBD.TransmissionFlag.sendTrim != 0 && flags & NBD.TransmissionFlag.sendFlush != 0)
        r = try c.read(exactly: 20)
        #expect(NBDClientMessages.u32(r, 12) == NBD.Reply.info)
        let sizes = try c.read(exactly: 14)
        #expect(NBDClientMessages.u32(sizes, 2) == 512, "minimum block size is the LBA size")
        r = try c.read(exactly: 20)
        #expect(NBDClientMessages.u32(r, 12) == NBD.Reply.ack)

        func reply(_ cookie: UInt64) throws -> UInt32 {
            let h = try c.read(exactly: 16)
            #expect(NBDClientMessages.u32(h, 0) == NBD.simpleReplyMagic && NBDClientMessages.u64(h, 8) == cookie)
            return NBDClientMessages.u32(h, 4)
        }
        try c.write(NBDClientMessages.request(NBD.Command.read, cookie: 1, offset: 0, length: 512))
        #expect(try reply(1) == 0)
        #expect(Array(try c.read(exactly: 512).prefix(marker.count)) == marker, "reads the marker through the driver")

        let block = [UInt8](repeating: 0x5A, count: 8192)
        try c.write(NBDClientMessages.request(NBD.Command.write, flags: NBD.CommandFlag.fua, cookie: 2, offset: 65536, length: 8192) + block)
        #expect(try reply(2) == 0)
        #expect(Array(twin.disk[65536..<(65536 + 8192)]) == block)
        #expect(twin.flushes == 1, "FUA flushes")
        try c.write(NBDClientMessages.request(NBD.Command.flush, cookie: 3, offset: 0, length: 0))
        #expect(try reply(3) == 0)
        #expect(twin.flushes == 2)
        try c.write(NBDClientMessages.request(NBD.Command.trim, cookie: 4, offset: 65536, length: 4096))
        #expect(try reply(4) == 0)
        #expect(twin.disk[65536] == 0 && twin.disk[65536 + 4096] == 0x5A)
        try c.write(NBDClientMessages.request(NBD.Command.read, cookie: 5, offset: 1 << 20, length: 512))
        #expect(try reply(5) == NBD.Errno.einval, "a read past the end is EINVAL, no data follows")
        try c.write(NBDClientMessages.request(NBD.Command.read, cookie: 6, offset: 100, length: 512))
        #expect(try reply(6) == NBD.Errno.einval, "an unaligned read is EINVAL")
        try c.write(NBDClientMessages.request(NBD.Command.disconnect, cookie: 7, offset: 0, length: 0))
        run.done.wait()
        #expect(run.error == nil)
        #expect(run.log == ["NBD_OPT_GO", "NBD_CMD_DISC"])
        Glibc.close(client)
        driver.shutdown()
        #expect(twin.mappings.isEmpty && twin.openFDs.isEmpty)
    }

    @Test func exportNameHandshakeWithZeroes() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin)
        let (client, serverFD) = pair()
        let run = ServerRun(driver: driver, fd: serverFD)
        run.start()
        var c = NBDSocketStream(fd: client)
        _ = try c.read(exactly: 18)
        try c.write(NBDClientMessages.clientFlags(1))
        try c.write(NBDClientMessages.option(NBD.Option.exportName, Array("nvme".utf8)))
        let r = try c.read(exactly: 10 + 124)
        #expect(NBDClientMessages.u64(r, 0) == 1 << 20)
        #expect(r[10...].allSatisfy { $0 == 0 }, "124 zero bytes without NBD_FLAG_C_NO_ZEROES")
        Glibc.close(client)
        run.done.wait()
        #expect(run.error == nil, "a client that leaves is a clean end")
        driver.shutdown()
    }

    @Test func oldStyleClientsAndGarbageAreRefused() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin)
        let (client, serverFD) = pair()
        let run = ServerRun(driver: driver, fd: serverFD)
        run.start()
        var c = NBDSocketStream(fd: client)
        _ = try c.read(exactly: 18)
        try c.write(NBDClientMessages.clientFlags(0))
        run.done.wait()
        #expect(run.error == .protocolViolation("client flags 0x00000000 lack NBD_FLAG_C_FIXED_NEWSTYLE"))
        Glibc.close(client)
        driver.shutdown()
    }

    @Test func oversizedOptionIsRefused() throws {
        let twin = FakeNVMeTwin()
        let driver = try openDriver(twin)
        let (client, serverFD) = pair()
        let run = ServerRun(driver: driver, fd: serverFD)
        run.start()
        var c = NBDSocketStream(fd: client)
        _ = try c.read(exactly: 18)
        try c.write(NBDClientMessages.clientFlags(3))
        var header = NBDClientMessages.option(NBD.Option.go, [])
        header[12] = 0x7F   // a 2 GiB option
        try c.write(header)
        run.done.wait()
        #expect(run.error?.description.contains("bytes of data") == true)
        Glibc.close(client)
        driver.shutdown()
    }
}
