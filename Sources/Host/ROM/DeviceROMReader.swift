import FoundationEssentials
import Glibc
import VFIOCore

/// One line of `/run/vfioctl/rom.journal`. An `enabled` record is written and fsync'd before "1" goes to a
/// device's sysfs `rom`, a `disabled` record after "0" went back: an `enabled` record without a later `disabled`
/// one names a ROM a crash left enabled, which `DeviceROMReader.recover()` disables.
public struct ROMRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case enabled, disabled }
    public var kind: Kind
    public var address: String
    /// Host path of the `rom` attribute.
    public var path: String
    /// The vfioctl process that wrote the record: `recover()` leaves a ROM alone while another live process is
    /// still reading it.
    public var pid: Int32?

    public init(kind: Kind, address: String, path: String, pid: Int32? = nil) {
        self.kind = kind
        self.address = address
        self.path = path
        self.pid = pid
    }
}

/// Why a device's ROM could not be read. Each case names the path and what to do.
public enum ROMReadError: Error, Sendable, CustomStringConvertible {
    case noROMAttribute(PCIAddress, String)
    case journal(HostWriteError)
    case enable(HostWriteError)
    case read(FileReadError)
    case empty(String)
    case tooLarge(String, Int)
    /// Reading worked but "0" could not be written back; the journal keeps the record.
    case disable(HostWriteError, journal: String)

    public var description: String {
        switch self {
        case .noROMAttribute(let a, let p):
            return "\(a) has no expansion ROM (\(p) does not exist): the device exposes no ROM BAR"
        case .journal(let e): return "journal: \(e)"
        case .enable(let e): return "enabling the ROM: \(e)"
        case .read(let e):
            if e.reason == .io(errno: EIO) {
                return "\(e.path): read failed (EIO): the kernel found no valid ROM behind the BAR (dmesg: 'Invalid PCI ROM header signature'); "
                    + "boot GPUs often expose only a shadow copy, and some cards need the ROM from a file (vendor download or a flash tool)"
            }
            return e.description
        case .empty(let p):
            return "\(p): the ROM read back empty; the kernel could not map it (see dmesg), or the device is powered down"
        case .tooLarge(let p, let size):
            return "\(p): \(size) bytes, more than any expansion ROM (\(ROMParser.maxInputBytes) bytes)"
        case .disable(let e, let journal):
            return "disabling the ROM again: \(e); \(journal) keeps the record: 'vfioctl rom ADDR' retries"
        }
    }
}

/// Reads a device's option ROM through sysfs: enable ("1" to `rom`), read, disable ("0"). The enable is journaled
/// before it happens (the one `Journal` mechanism, `/run/vfioctl/rom.journal`) and every write goes through the
/// `HostWriter`, so a crash between enable and disable leaves a record that `recover()` acts on.
public struct DeviceROMReader: Sendable {
    public let files: RootedFileSystem
    public let writer: any HostWriter
    public let journal: Journal<ROMRecord>
    /// Whether to write "1"/"0" around the read. On the real root sysfs needs it; in a `--root` tree the `rom` file
    /// is a plain file holding the ROM itself, and a write would replace it.
    public var togglesROM: Bool

    public init(files: RootedFileSystem, writer: any HostWriter, journal: Journal<ROMRecord>? = nil, togglesROM: Bool? = nil) {
        self.files = files
        self.writer = writer
        self.journal = journal ?? Journal<ROMRecord>(files: files, name: "rom")
        self.togglesROM = togglesROM ?? files.isRealRoot
    }

    /// sysfs: the device's expansion ROM attribute.
    public static func romPath(_ address: PCIAddress) -> String { "/sys/bus/pci/devices/\(address)/rom" }

    /// The ROM's bytes as the device exposes them (the whole BAR, padding included; parse with `ROMParser`).
    public func read(_ address: PCIAddress) throws(ROMReadError) -> [UInt8] {
        let path = Self.romPath(address)
        guard files.kind(of: path) != nil else { throw .noROMAttribute(address, path) }
        if togglesROM {
            _ = try? recover()
            do { try journal.append(ROMRecord(kind: .enabled, address: address.description, path: path, pid: getpid())) } catch { throw .journal(error) }
            do { try writer.write(path, "1") } catch {
                // Nothing was enabled: close the record so no later run "disables" it for nothing.
                try? closeRecord(address, path)
                throw .enable(error)
            }
        }
        let result: Result<[UInt8], ROMReadError> = readBounded(path)
        if togglesROM {
            do { try writer.write(path, "0") } catch {
                throw .disable(error, journal: journal.path)
            }
            try? closeRecord(address, path)
        }
        return try result.get()
    }

    /// Disables every ROM an earlier run enabled and did not disable (a crash or `kill -9` in between), then
    /// removes the journal once nothing is left open. ROMs another live vfioctl process is reading right now are
    /// left to it. Returns the addresses it disabled. Safe to call any time; restore can call it too.
    @discardableResult
    public func recover() throws(ROMReadError) -> [String] {
        let open: [ROMRecord]
        do { open = try Self.stillEnabled(journal.records()) } catch { throw .journal(error) }
        var done: [String] = []
        var busy = 0
        for record in open {
            if let pid = record.pid, Self.isAnotherLiveProcess(pid) { busy += 1; continue }
            do { try writer.write(record.path, "0") } catch { throw .disable(error, journal: journal.path) }
            do { try journal.append(ROMRecord(kind: .disabled, address: record.address, path: record.path)) } catch { throw .journal(error) }
            done.append(record.address)
        }
        if busy == 0 {
            do { try journal.remove() } catch { throw .journal(error) }
        }
        return done
    }

    /// A process other than this one that still exists (kill(pid, 0): EPERM also means it exists).
    static func isAnotherLiveProcess(_ pid: Int32) -> Bool {
        guard pid > 0, pid != getpid() else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// The `enabled` records with no later `disabled` record for the same path, oldest first.
    public static func stillEnabled(_ records: [ROMRecord]) -> [ROMRecord] {
        var open: [String: ROMRecord] = [:]
        var order: [String] = []
        for r in records {
            switch r.kind {
            case .enabled:
                if open[r.path] == nil { order.append(r.path) }
                open[r.path] = r
            case .disabled:
                open[r.path] = nil
                order.removeAll { $0 == r.path }
            }
        }
        return order.compactMap { open[$0] }
    }

    private func closeRecord(_ address: PCIAddress, _ path: String) throws(HostWriteError) {
        try journal.append(ROMRecord(kind: .disabled, address: address.description, path: path))
        if Self.stillEnabled(try journal.records()).isEmpty { try journal.remove() }
    }

    private func readBounded(_ path: String) -> Result<[UInt8], ROMReadError> {
        if let size = ROMFiles.size(files.realPath(path)), size > ROMParser.maxInputBytes {
            return .failure(.tooLarge(path, size))
        }
        do {
            // Read by offset until a read returns nothing: sysfs hands out a binary attribute such as `rom` one page
            // per read(2), so a short read is not its end (a whole-file read stopped at 8 KiB of a 39 KiB VGA BIOS).
            var bytes: [UInt8] = []
            try files.readRanges(path) { read in
                while bytes.count <= ROMParser.maxInputBytes {
                    let got = read(bytes.count, min(1 << 20, ROMParser.maxInputBytes + 1 - bytes.count))
                    if got.isEmpty { break }
                    bytes += got
                }
            }
            if bytes.isEmpty { return .failure(.empty(path)) }
            if bytes.count > ROMParser.maxInputBytes { return .failure(.tooLarge(path, bytes.count)) }
            return .success(bytes)
        } catch {
            return .failure(.read(error))
        }
    }
}

/// ROM files on the machine running vfioctl (not under `--root`): the FILE argument and `--dump PATH`.
public enum ROMFiles {
    /// Size of a file in bytes, nil when it cannot be stat'ed.
    static func size(_ realPath: String) -> Int? {
        var st = stat()
        guard stat(realPath, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    /// Reads a ROM file, refusing anything larger than an expansion ROM can be.
    public static func read(_ path: String) throws(ROMReadError) -> [UInt8] {
        if let size = size(path), size > ROMParser.maxInputBytes { throw .tooLarge(path, size) }
        let bytes: [UInt8]
        do { bytes = try Syscalls.readFile(path, hostPath: path) } catch { throw .read(error) }
        if bytes.count > ROMParser.maxInputBytes { throw .tooLarge(path, bytes.count) }
        return bytes
    }

    /// Writes the stripped ROM (`--dump PATH`) through `AtomicFile`: a reader never sees half a ROM.
    public static func write(_ bytes: [UInt8], to path: String) throws(HostWriteError) {
        try AtomicFile.write(bytes, to: path)
    }
}
