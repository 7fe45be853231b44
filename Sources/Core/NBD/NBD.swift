/// The NBD protocol's server side (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md): fixed
/// newstyle handshake (NBD_OPT_EXPORT_NAME, NBD_OPT_INFO/GO with NBD_INFO_EXPORT and NBD_INFO_BLOCK_SIZE,
/// NBD_OPT_LIST, NBD_OPT_ABORT; anything else answered NBD_REP_ERR_UNSUP), then simple replies to READ,
/// WRITE, FLUSH, TRIM and DISC. Pure: bytes come and go through `NBDStream`, blocks through `NBDBackend`.
public enum NBD {
    public static let initMagic: UInt64 = 0x4e42_444d_4147_4943       // "NBDMAGIC"
    public static let optionMagic: UInt64 = 0x4948_4156_454f_5054     // "IHAVEOPT"
    public static let replyMagic: UInt64 = 0x0003_e889_0455_65a9
    public static let requestMagic: UInt32 = 0x2560_9513
    public static let simpleReplyMagic: UInt32 = 0x6744_6698

    public enum HandshakeFlag { public static let fixedNewstyle: UInt16 = 1, noZeroes: UInt16 = 2 }
    public enum ClientFlag { public static let fixedNewstyle: UInt32 = 1, noZeroes: UInt32 = 2 }
    public enum Option {
        public static let exportName: UInt32 = 1, abort: UInt32 = 2, list: UInt32 = 3, info: UInt32 = 6, go: UInt32 = 7
    }
    public enum Reply {
        public static let ack: UInt32 = 1, server: UInt32 = 2, info: UInt32 = 3
        public static let errUnsupported: UInt32 = 0x8000_0001, errInvalid: UInt32 = 0x8000_0003
        public static let errUnknown: UInt32 = 0x8000_0006
    }
    public enum Info { public static let export: UInt16 = 0, blockSize: UInt16 = 3 }
    public enum TransmissionFlag {
        public static let hasFlags: UInt16 = 1, readOnly: UInt16 = 2, sendFlush: UInt16 = 4, sendFUA: UInt16 = 8, sendTrim: UInt16 = 32
    }
    public enum Command { public static let read: UInt16 = 0, write: UInt16 = 1, disconnect: UInt16 = 2, flush: UInt16 = 3, trim: UInt16 = 4 }
    public enum CommandFlag { public static let fua: UInt16 = 1 }
    public enum Errno { public static let eperm: UInt32 = 1, eio: UInt32 = 5, einval: UInt32 = 22, enospc: UInt32 = 28, enotsup: UInt32 = 95 }

    /// Larger requests are refused (EINVAL for reads and trims; a larger write ends the connection, since its
    /// payload would have to be read to stay in step). qemu and nbd-client stay below 32 MiB.
    public static let maxRequest = 32 << 20
    /// Option data beyond this closes the connection (export names are short).
    public static let maxOptionLength = 4096
}

public enum NBDError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer closed the connection (or the server is stopping).
    case closed
    case protocolViolation(String)
    case io(String)

    public var description: String {
        switch self {
        case .closed: "connection closed"
        case .protocolViolation(let s): "NBD protocol: \(s)"
        case .io(let s): s
        }
    }
}

/// The byte stream of one connection.
public protocol NBDStream {
    /// Exactly `count` bytes, or `NBDError.closed` when the peer closed first.
    mutating func read(exactly count: Int) throws(NBDError) -> [UInt8]
    mutating func write(_ bytes: [UInt8]) throws(NBDError)
}

/// A block device with an errno (NBD's error values are errno numbers) for each failed request.
public struct NBDBackendError: Error, Sendable, Equatable {
    public var errno: UInt32
    public var message: String
    public init(errno: UInt32, _ message: String) { self.errno = errno; self.message = message }
}

public protocol NBDBackend {
    var size: UInt64 { get }
    /// The device's logical block: requests must be aligned to it (advertised as the minimum block size).
    var blockSize: Int { get }
    var canTrim: Bool { get }
    mutating func read(offset: UInt64, count: Int) throws(NBDBackendError) -> [UInt8]
    mutating func write(offset: UInt64, _ bytes: [UInt8]) throws(NBDBackendError)
    mutating func flush() throws(NBDBackendError)
    mutating func trim(offset: UInt64, count: Int) throws(NBDBackendError)
}

public struct NBDServer {
    /// The one export's name; clients asking for "" get it too (qemu's default).
    public var exportName: String
    public private(set) var log: [String] = []
    public init(exportName: String = "nvme") { self.exportName = exportName }

    /// Runs the handshake, then requests until NBD_CMD_DISC or the peer closes. Returns normally on a clean
    /// end; throws on a protocol violation or a broken stream (the caller closes the connection).
    public mutating func serve(_ stream: inout some NBDStream, _ backend: inout some NBDBackend) throws(NBDError) {
        guard let noZeroes = try handshake(&stream, backend) else { return }
        _ = noZeroes
        try transmission(&stream, &backend)
    }

    /// nil when the client aborted or left during option haggling.
    mutating func handshake(_ s: inout some NBDStream, _ backend: some NBDBackend) throws(NBDError) -> Bool? {
        var hello = Bytes()
        hello.u64(NBD.initMagic); hello.u64(NBD.optionMagic)
        hello.u16(NBD.HandshakeFlag.fixedNewstyle | NBD.HandshakeFlag.noZeroes)
        try s.write(hello.b)
        let clientFlags = Bytes.u32(try s.read(exactly: 4), 0)
        guard clientFlags & NBD.ClientFlag.fixedNewstyle != 0 else {
            throw .protocolViolation("client flags 0x\(hex(clientFlags, width: 8)) lack NBD_FLAG_C_FIXED_NEWSTYLE")
        }
        guard clientFlags & ~(NBD.ClientFlag.fixedNewstyle | NBD.ClientFlag.noZeroes) == 0 else {
            throw .protocolViolation("unknown client flags 0x\(hex(clientFlags, width: 8))")
        }
        let noZeroes = clientFlags & NBD.ClientFlag.noZeroes != 0
        let flags = transmissionFlags(backend)
        while true {
            let header = try s.read(exactly: 16)
            guard Bytes.u64(header, 0) == NBD.optionMagic else { throw .protocolViolation("option without IHAVEOPT") }
            let option = Bytes.u32(header, 8)
            let length = Int(Bytes.u32(header, 12))
            guard length <= NBD.maxOptionLength else { throw .protocolViolation("option \(option) with \(length) bytes of data") }
            let data = try s.read(exactly: length)
            switch option {
            case NBD.Option.exportName:
                guard nameMatches(data[...]) else { throw .protocolViolation("unknown export '\(String(decoding: data, as: UTF8.self))'") }
                var r = Bytes()
                r.u64(backend.size); r.u16(flags)
                if !noZeroes { r.b += [UInt8](repeating: 0, count: 124) }
                try s.write(r.b)
                log.append("NBD_OPT_EXPORT_NAME")
                return noZeroes
            case NBD.Option.abort:
                try? reply(&s, option, NBD.Reply.ack, [])
                log.append("NBD_OPT_ABORT")
                return nil
            case NBD.Option.list:
                guard length == 0 else { try reply(&s, option, NBD.Reply.errInvalid, []); continue }
                var r = Bytes()
                r.u32(UInt32(exportName.utf8.count)); r.b += Array(exportName.utf8)
                try reply(&s, option, NBD.Reply.server, r.b)
                try reply(&s, option, NBD.Reply.ack, [])
            case NBD.Option.info, NBD.Option.go:
                guard length >= 6 else { try reply(&s, option, NBD.Reply.errInvalid, []); continue }
                let nameLength = Int(Bytes.u32(data, 0))
                guard nameLength <= length - 6, Int(Bytes.u16(data, 4 + nameLength)) * 2 == length - 6 - nameLength else {
                    try reply(&s, option, NBD.Reply.errInvalid, []); continue
                }
                guard nameMatches(data[4..<(4 + nameLength)]) else { try reply(&s, option, NBD.Reply.errUnknown, []); continue }
                var export = Bytes()
                export.u16(NBD.Info.export); export.u64(backend.size); export.u16(flags)
                try reply(&s, option, NBD.Reply.info, export.b)
                var sizes = Bytes()
                sizes.u16(NBD.Info.blockSize)
                sizes.u32(UInt32(backend.blockSize)); sizes.u32(UInt32(max(backend.blockSize, 4096))); sizes.u32(UInt32(NBD.maxRequest))
                try reply(&s, option, NBD.Reply.info, sizes.b)
                try reply(&s, option, NBD.Reply.ack, [])
                if option == NBD.Option.go { log.append("NBD_OPT_GO"); return noZeroes }
            default:
                try reply(&s, option, NBD.Reply.errUnsupported, [])
            }
        }
    }

    func nameMatches(_ name: ArraySlice<UInt8>) -> Bool { name.isEmpty || Array(name) == Array(exportName.utf8) }

    func transmissionFlags(_ backend: some NBDBackend) -> UInt16 {
        NBD.TransmissionFlag.hasFlags | NBD.TransmissionFlag.sendFlush | NBD.TransmissionFlag.sendFUA
            | (backend.canTrim ? NBD.TransmissionFlag.sendTrim : 0)
    }

    func reply(_ s: inout some NBDStream, _ option: UInt32, _ type: UInt32, _ data: [UInt8]) throws(NBDError) {
        var r = Bytes()
        r.u64(NBD.replyMagic); r.u32(option); r.u32(type); r.u32(UInt32(data.count))
        try s.write(r.b + data)
    }

    mutating func transmission(_ s: inout some NBDStream, _ backend: inout some NBDBackend) throws(NBDError) {
        while true {
            let h: [UInt8]
            do { h = try s.read(exactly: 28) } catch .closed { return }
            guard Bytes.u32(h, 0) == NBD.requestMagic else { throw .protocolViolation("request without magic 0x25609513") }
            let flags = Bytes.u16(h, 4), type = Bytes.u16(h, 6)
            let cookie = Array(h[8..<16])
            let offset = Bytes.u64(h, 16)
            let length = Int(Bytes.u32(h, 24))
            func done(_ error: UInt32, _ data: [UInt8] = []) throws(NBDError) {
                var r = Bytes()
                r.u32(NBD.simpleReplyMagic); r.u32(error); r.b += cookie
                // Header and data in two writes: a 32 MiB read is not copied once more to prepend 16 bytes.
                try s.write(r.b)
                if error == 0, !data.isEmpty { try s.write(data) }
            }
            // Checked before any payload is read: a write that is too long cannot be skipped safely.
            let inRange = offset <= backend.size && UInt64(length) <= backend.size - offset
            let block = max(1, backend.blockSize)
            let aligned = offset % UInt64(block) == 0 && length % block == 0
            switch type {
            case NBD.Command.disconnect:
                log.append("NBD_CMD_DISC")
                return
            case NBD.Command.read:
                guard length <= NBD.maxRequest, inRange, aligned else { try done(NBD.Errno.einval); continue }
                switch attempt({ () throws(NBDBackendError) in try backend.read(offset: offset, count: length) }) {
                case .success(let data): try done(0, data)
                case .failure(let e): try done(e.errno)
                }
            case NBD.Command.write:
                guard length <= NBD.maxRequest else { throw .protocolViolation("write of \(length) bytes (limit \(NBD.maxRequest))") }
                let payload = try s.read(exactly: length)
                guard inRange else { try done(NBD.Errno.enospc); continue }
                guard aligned else { try done(NBD.Errno.einval); continue }
                try done(code(attempt({ () throws(NBDBackendError) in
                    try backend.write(offset: offset, payload)
                    if flags & NBD.CommandFlag.fua != 0 { try backend.flush() }
                })))
            case NBD.Command.flush:
                try done(code(attempt({ () throws(NBDBackendError) in try backend.flush() })))
            case NBD.Command.trim:
                guard backend.canTrim else { try done(NBD.Errno.einval); continue }
                guard inRange, aligned else { try done(NBD.Errno.einval); continue }
                try done(code(attempt({ () throws(NBDBackendError) in try backend.trim(offset: offset, count: length) })))
            default:
                try done(NBD.Errno.einval)
            }
        }
    }
}

func attempt<T>(_ body: () throws(NBDBackendError) -> T) -> Result<T, NBDBackendError> {
    do { return .success(try body()) } catch { return .failure(error) }
}

func code(_ r: Result<Void, NBDBackendError>) -> UInt32 {
    switch r {
    case .success: 0
    case .failure(let e): e.errno
    }
}

/// Big-endian building and reading (NBD is network byte order).
struct Bytes {
    var b: [UInt8] = []
    mutating func u16(_ v: UInt16) { for i in (0..<2).reversed() { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u32(_ v: UInt32) { for i in (0..<4).reversed() { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in (0..<8).reversed() { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    static func u16(_ a: [UInt8], _ at: Int) -> UInt16 { UInt16(a[at]) << 8 | UInt16(a[at + 1]) }
    static func u32(_ a: [UInt8], _ at: Int) -> UInt32 { UInt32(u16(a, at)) << 16 | UInt32(u16(a, at + 2)) }
    static func u64(_ a: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(a, at)) << 32 | UInt64(u32(a, at + 4)) }
}

/// Builds the client side's messages, for tests and tools that talk to an NBD server.
public enum NBDClientMessages {
    public static func clientFlags(_ f: UInt32) -> [UInt8] { var b = Bytes(); b.u32(f); return b.b }
    public static func option(_ option: UInt32, _ data: [UInt8]) -> [UInt8] {
        var b = Bytes(); b.u64(NBD.optionMagic); b.u32(option); b.u32(UInt32(data.count)); return b.b + data
    }
    public static func go(name: String) -> [UInt8] {
        var d = Bytes(); d.u32(UInt32(name.utf8.count)); d.b += Array(name.utf8); d.u16(0)
        return option(NBD.Option.go, d.b)
    }
    public static func request(_ type: UInt16, flags: UInt16 = 0, cookie: UInt64, offset: UInt64, length: UInt32) -> [UInt8] {
        var b = Bytes(); b.u32(NBD.requestMagic); b.u16(flags); b.u16(type); b.u64(cookie); b.u64(offset); b.u32(length); return b.b
    }
    public static func u16(_ a: [UInt8], _ at: Int) -> UInt16 { Bytes.u16(a, at) }
    public static func u32(_ a: [UInt8], _ at: Int) -> UInt32 { Bytes.u32(a, at) }
    public static func u64(_ a: [UInt8], _ at: Int) -> UInt64 { Bytes.u64(a, at) }
}
