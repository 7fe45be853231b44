// Fuzz target "configspace": PCI configuration space bytes (sysfs `config`, up to 4096 bytes) -> header,
// capabilities (standard list, then the extended chain) and the serial-number range used for redaction.
// A device's config space is whatever the hardware (or a snapshot) says; pointers may loop or point past the end.

@testable import VFIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigSpace(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? ConfigSpace.header(bytes)
    _ = try? ConfigSpace.capabilities(bytes)
    if let range = ConfigSpace.serialNumberRange(bytes) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "serial range \(range) outside \(bytes.count) bytes")
    }
    // The loader's path: the first 256 bytes, then extended headers read on demand at arbitrary offsets.
    _ = try? ConfigSpace.capabilities(standard: Array(bytes.prefix(256))) { offset, count in
        guard offset >= 0, count >= 0, offset < bytes.count else { return [] }
        return Array(bytes[offset..<min(bytes.count, offset + count)])
    }
    return 0
}
