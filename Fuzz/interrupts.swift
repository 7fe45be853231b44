// Fuzz target "interrupts": /proc/interrupts text -> [IRQ]. The table is scanned byte by byte (it is a megabyte on
// large hosts), so every index into the buffer is a place a short or odd line could trap.

@testable import VFIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInterrupts(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try ProcParsers.interrupts(text)
    } catch {
        // The parser counts lines by 0x0A bytes, so count them the same way ("\r\n" is one Character).
        let lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).count
        precondition(error.line >= 1 && error.line <= lines, "Malformed names line \(error.line) of a \(lines)-line text")
    }
    return 0
}
