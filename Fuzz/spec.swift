// Fuzz target "spec": TOML text -> VMSpec, the whole path `vfioctl` takes for a spec file (TOML.parse, then the
// decoding in SpecCodec with its range checks). A spec is user-written text, so anything may arrive; the parser
// must answer with a SpecError naming a line of the text, never trap.

@testable import VFIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    // Counted in bytes: "\r\n" is one Character in Swift, and the parser numbers CRLF lines like LF ones.
    let lines = text.utf8.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    do {
        _ = try TOML.parse(text)
    } catch {
        precondition(error.line >= 1 && error.line <= lines, "TOMLError names line \(error.line) of a \(lines)-line text")
    }
    do {
        _ = try VMSpec.parse(text)
    } catch {
        // Line 0 is the documented "whole spec" error (a missing table).
        precondition(error.line >= 0 && error.line <= lines, "SpecError names line \(error.line) of a \(lines)-line text")
        precondition(!error.message.isEmpty, "SpecError without a message")
    }
    // The value readers the decoding uses, on the raw input too: reaching a particular value through valid TOML
    // around it takes the fuzzer minutes, reaching it directly takes seconds.
    _ = MemorySize.parseMiB(text)
    _ = PCIAddress(text)
    return 0
}
