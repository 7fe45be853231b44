#if canImport(Glibc)
import Glibc
#endif
import CVFIO
import VFIOCore

/// An NBD connection's socket. Every wait also watches `stopFD` (a signalfd), so SIGTERM ends a connection
/// that is idle in a read.
public struct NBDSocketStream: NBDStream {
    public let fd: Int32
    public let stopFD: Int32
    public init(fd: Int32, stopFD: Int32 = -1) { self.fd = fd; self.stopFD = stopFD }

    public mutating func read(exactly count: Int) throws(NBDError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            try waitReadable()
            // SAFETY: recv writes at most `count - got` bytes after the `got` already in the array's storage.
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .io("recv: \(VFIOErrno(errno))")
            }
            got += n
        }
        return out
    }

    func waitReadable() throws(NBDError) {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
        while true {
            let rc = poll(&fds, stopFD >= 0 ? 2 : 1, -1)
            if rc < 0 { if errno == EINTR { continue }; throw .io("poll: \(VFIOErrno(errno))") }
            if stopFD >= 0, fds[1].revents != 0 { throw .closed }
            if fds[0].revents != 0 { return }
        }
    }

    public mutating func write(_ bytes: [UInt8]) throws(NBDError) {
        var sent = 0
        while sent < bytes.count {
            // SAFETY: send reads the array's storage from `sent` to its end.
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE || errno == ECONNRESET { throw .closed }
                throw .io("send: \(VFIOErrno(errno))")
            }
            sent += n
        }
    }
}

/// The NVMe namespace as an NBD export: requests go to the user-space driver, errors become EIO.
public struct NVMeNBDBackend: NBDBackend {
    public let driver: NVMeDriver
    public var failures: [String] = []
    public init(driver: NVMeDriver) { self.driver = driver }
    public var size: UInt64 { driver.capacityBytes }
    public var blockSize: Int { driver.blockSize }
    public var canTrim: Bool { driver.supportsDeallocate }

    mutating func run<T>(_ body: () throws(VFIODriverError) -> T) throws(NBDBackendError) -> T {
        do { return try body() } catch {
            failures.append(error.description)
            throw NBDBackendError(errno: NBD.Errno.eio, error.description)
        }
    }
    public mutating func read(offset: UInt64, count: Int) throws(NBDBackendError) -> [UInt8] {
        let d = driver
        return try run { () throws(VFIODriverError) in try d.read(offset: offset, count: count) }
    }
    public mutating func write(offset: UInt64, _ bytes: [UInt8]) throws(NBDBackendError) {
        let d = driver
        try run { () throws(VFIODriverError) in try d.write(offset: offset, bytes) }
    }
    public mutating func flush() throws(NBDBackendError) {
        let d = driver
        try run { () throws(VFIODriverError) in try d.flush() }
    }
    public mutating func trim(offset: UInt64, count: Int) throws(NBDBackendError) {
        let d = driver
        try run { () throws(VFIODriverError) in try d.deallocate(offset: offset, count: count) }
    }
}

/// `vfioctl emulate nbd`: listens on a Unix socket and serves one connection at a time until a stop signal.
public struct NBDEmulator {
    public let socketPath: String
    public let stopFD: Int32
    public init(socketPath: String, stopFD: Int32) { self.socketPath = socketPath; self.stopFD = stopFD }

    /// Blocks SIGTERM, SIGINT and SIGHUP and returns a signalfd that becomes readable when one arrives.
    public static func stopSignalFD() throws(VFIODriverError) -> Int32 {
        let fd = cvfio_stop_signalfd()
        if fd < 0 { throw VFIODriverError("signalfd: \(VFIOErrno(errno))") }
        return fd
    }

    /// Refuses a path that exists and is not a socket; a leftover socket is replaced.
    public func listen() throws(VFIODriverError) -> Int32 {
        var st = stat()
        if lstat(socketPath, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw VFIODriverError("\(socketPath) exists and is not a socket") }
            unlink(socketPath)
        }
        let fd = cvfio_unix_listen(socketPath)
        if fd < 0 { throw VFIODriverError("listen on \(socketPath): \(VFIOErrno(errno))") }
        return fd
    }

    /// Serves until the stop signal; `log` gets one line per connection. Closes the listener and removes the
    /// socket file before returning.
    public func serve(listener: Int32, backend: inout NVMeNBDBackend, log: (String) -> Void) {
        defer { Glibc.close(listener); unlink(socketPath) }
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0; fds[1].revents = 0
            let rc = poll(&fds, 2, -1)
            if rc < 0 { if errno == EINTR { continue }; log("poll: \(VFIOErrno(errno))"); return }
            if fds[1].revents != 0 { log("stop signal: releasing the device"); return }
            guard fds[0].revents != 0 else { continue }
            let conn = accept(listener, nil, nil)
            if conn < 0 { continue }
            var stream = NBDSocketStream(fd: conn, stopFD: stopFD)
            var server = NBDServer()
            do {
                try server.serve(&stream, &backend)
                log("connection closed (\(server.log.joined(separator: ", ")))")
            } catch {
                log("connection ended: \(error)")
            }
            Glibc.close(conn)
            var pending = pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)
            if poll(&pending, 1, 0) > 0 { log("stop signal: releasing the device"); return }
        }
    }
}
