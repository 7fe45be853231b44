/// Host text made safe to print on a terminal. Any file of a host tree (a driver link name, `reset_method`, a
/// modprobe.d line, a pci.ids name) can carry control characters such as "\u{1b}]0;title\u{07}" that a terminal
/// would obey. C0 controls, DEL and C1 controls become `\xNN`, bidirectional overrides (which reorder what the
/// reader sees) become `\u{NNNN}`, and a backslash doubles so an escape in the output is never ambiguous.
/// Printable UTF-8 is kept as it is.
public func escapingControls<S: StringProtocol>(_ text: S) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return String(text) }
    var out = ""
    out.reserveCapacity(text.utf8.count + 8)
    for scalar in text.unicodeScalars {
        if scalar == "\\" {
            out += "\\\\"
        } else if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) {
            out += "\\x" + hex(scalar.value, width: 2)
        } else if isBidiControl(scalar) {
            out += "\\u{" + hex(scalar.value, width: 4) + "}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}

private func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    scalar == "\\" || scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) || isBidiControl(scalar)
}

/// U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069: the marks and overrides of the Unicode bidirectional algorithm.
private func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x061c, 0x200e, 0x200f, 0x202a...0x202e, 0x2066...0x2069: true
    default: false
    }
}
