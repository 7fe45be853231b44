/// Fixed-width lowercase hex, as lspci and sysfs print ids ("10de", "0300", "a1").
@inline(__always)
public func hex<T: BinaryInteger>(_ value: T, width: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Parses "0x10de", "10de" or "0x030000" as an unsigned integer; nil for anything else.
public func parseHex(_ text: String) -> UInt64? {
    var s = Substring(text.trimmingASCIIWhitespace())
    if s.hasPrefix("0x") || s.hasPrefix("0X") { s = s.dropFirst(2) }
    guard !s.isEmpty, s.count <= 16 else { return nil }
    return UInt64(s, radix: 16)
}

extension StringProtocol {
    public func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
