/// The part of `pci.ids` that `vfioctl bind` prints: for a few functions, their vendor lines and device lines
/// (with the device's subsystem lines), cut from the file as it is read in chunks and then parsed by
/// `PCIIDDatabase`. bind names only the functions of the groups it moves; reading the whole 1.3 MB file into one
/// buffer and keeping the names of its 2,300 vendors cost more than the bind itself in the lab guest (page
/// faults under emulation), while a chunked scan keeps a few kilobytes.
///
/// pci.ids lists vendors in ascending order and each vendor's devices too, so the excerpt is complete at the first
/// device above the last one asked for (or the first vendor after the last one); device classes
/// ("C 03  Display controller") come after all vendors and are never kept.
public struct PCIIDsExcerpt: Sendable {
    public let vendors: Set<UInt16>
    /// vendor << 16 | device of each function asked for.
    public let devices: Set<UInt32>
    /// The kept lines, each ending in a newline.
    public private(set) var bytes: [UInt8] = []
    /// Whether the rest of the file cannot hold a wanted vendor (the reader may stop).
    public private(set) var isComplete: Bool
    private let lastVendor: UInt16
    /// The highest device asked for of the last vendor: pci.ids sorts devices within a vendor too, so the excerpt
    /// is complete at the first device line above it.
    private let lastDevice: UInt16
    private var vendor: UInt16?
    private var keepingDevice = false
    /// The start of a line a chunk ended in, completed by the next chunk.
    private var partial: [UInt8] = []

    /// The (vendor, device) pairs to name.
    public init(_ ids: [(vendor: UInt16, device: UInt16)]) {
        vendors = Set(ids.map(\.vendor))
        devices = Set(ids.map { UInt32($0.vendor) << 16 | UInt32($0.device) })
        let last = vendors.max() ?? 0
        lastVendor = last
        lastDevice = ids.filter { $0.vendor == last }.map(\.device).max() ?? 0
        isComplete = vendors.isEmpty
    }

    /// Takes the next chunk of the file.
    public mutating func feed(_ chunk: [UInt8]) {
        guard !isComplete else { return }
        chunk.withUnsafeBufferPointer { buf in
            var start = 0
            while start < buf.count, !isComplete {
                guard let nl = Self.newline(buf, from: start) else {
                    partial += buf[start...]
                    return
                }
                if partial.isEmpty {
                    take(UnsafeBufferPointer(rebasing: buf[start...nl]))
                } else {
                    partial += buf[start...nl]
                    let line = partial
                    partial = []
                    line.withUnsafeBufferPointer { take($0) }
                }
                start = nl + 1
            }
        }
    }

    /// Ends the input (a last line without a newline counts).
    public mutating func finish() {
        guard !partial.isEmpty else { return }
        let line = partial + [0x0A]
        partial = []
        line.withUnsafeBufferPointer { take($0) }
    }

    /// The names of the kept vendors, their devices and subsystems.
    public var database: PCIIDDatabase { PCIIDDatabase(bytes: bytes, vendorsOfInterest: vendors) }

    /// One line, newline included.
    private mutating func take(_ line: UnsafeBufferPointer<UInt8>) {
        guard line.count > 1, let first = line.first else { return }
        switch first {
        case 0x23: return                       // '#': comments never end a block
        case 0x09:
            guard let v = vendor else { return }
            if line.count > 6, line[1] != 0x09 {  // a device line: "\tdddd  name"
                let device = PCIIDDatabase.hexValue(line, 1, 4)
                if v == lastVendor, let device, device > UInt32(lastDevice) {
                    isComplete = true
                    return
                }
                keepingDevice = device.map { devices.contains(UInt32(v) << 16 | $0) } ?? false
                if keepingDevice { bytes += line }
            } else if keepingDevice {           // a subsystem line of a kept device
                bytes += line
            }
        default:
            keepingDevice = false
            guard let v = Self.vendorID(line) else {
                vendor = nil                    // class lists and other sections
                return
            }
            vendor = vendors.contains(v) ? v : nil
            if vendor != nil { bytes += line } else if v > lastVendor { isComplete = true }
        }
    }

    /// A line start at or before the first vendor line whose id is `vendor` or more, in a file sorted by vendor as
    /// pci.ids is, found by bisection over byte offsets: each probe reads `probe` bytes at the middle, skips the
    /// partial line and takes the next vendor line (a class line "C xx" or the end of the file counts as above
    /// every vendor). Stops when the interval is at most `span` bytes; the caller scans on from the offset returned.
    public static func seek(vendor: UInt16, probe: Int = 4096, span: Int = 65536, read: (Int, Int) -> [UInt8]) -> Int {
        var lo = 0, hi = 1 << 22
        while hi - lo > span {
            let mid = lo + (hi - lo) / 2
            var (start, key) = nextVendorLine(after: mid, probe: probe, read: read)
            // Inside a long device list (Intel's is 370 kB): look further right, halving what is left, so that a
            // vendor after the long one is not searched from before it.
            var m = mid
            while key < 0 && hi - m > span {
                m += (hi - m) / 2
                (start, key) = nextVendorLine(after: m, probe: probe, read: read)
            }
            if key >= 0 && key < Int(vendor) { lo = start } else { hi = mid }
        }
        return lo
    }

    /// The start of the first vendor or class line beginning after `offset`, and its vendor id (0x10000 for a
    /// class line or the end of the file).
    /// A window of 4 probes without a vendor line (inside a large vendor's device list) gives up with key -1
    /// ("unknown"); the bisection then looks further right, or moves left: the scan is longer, never wrong.
    static func nextVendorLine(after offset: Int, probe: Int, read: (Int, Int) -> [UInt8]) -> (start: Int, key: Int) {
        var at = offset
        var blocks = 0
        var skipPartial = true
        var carry: [UInt8] = []      // the start of a line cut by the end of a block
        var carryStart = offset
        while true {
            blocks += 1
            if blocks > 4 { return (offset, -1) }
            let block = read(at, probe)
            if block.isEmpty { return (at, 0x10000) }
            var lineStart = 0
            if skipPartial {
                guard let nl = block.firstIndex(of: 0x0A) else { at += block.count; continue }
                lineStart = nl + 1
                skipPartial = false
            }
            let bytes = carry + block[lineStart...]
            var base = carry.isEmpty ? at + lineStart : carryStart
            var i = 0
            while let nl = bytes[i...].firstIndex(of: 0x0A) {
                let line = bytes[i..<nl]
                if let first = line.first, first != 0x09, first != 0x23 {
                    if first == 0x43, line.count > 1, line[i + 1] == 0x20 { return (base, 0x10000) }   // "C xx"
                    if let v = line.withUnsafeBufferPointer(vendorID) { return (base, Int(v)) }
                }
                base += nl + 1 - i
                i = nl + 1
            }
            carry = Array(bytes[i...])
            carryStart = base
            at += block.count
        }
    }

    /// The vendor of a vendor line ("8086  Intel Corporation"), nil for any other line.
    static func vendorID(_ line: UnsafeBufferPointer<UInt8>) -> UInt16? {
        guard line.count > 5, line[4] == 0x20 else { return nil }
        return PCIIDDatabase.hexValue(line, 0, 4).map(UInt16.init)
    }

    /// The index of the next '\n' at or after `from`. Eight bytes at a time (a byte of `w ^ 0x0A…` is zero
    /// exactly where `w` holds a newline: the "has a zero byte" bit trick), since nearly every byte of the file
    /// is skipped and the lab runs this under instruction-by-instruction emulation.
    @inline(__always)
    static func newline(_ buf: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let base = buf.baseAddress else { return nil }
        let n = buf.count
        var i = from
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, so the 8 bytes read lie inside the buffer; loadUnaligned needs no alignment.
            let w = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) ^ 0x0A0A_0A0A_0A0A_0A0A
            let zero = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
            // The lowest flagged byte is always a real newline (only bytes above a zero byte can be flagged falsely).
            if zero != 0 { return i + zero.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < n {
            if base[i] == 0x0A { return i }
            i += 1
        }
        return nil
    }
}
