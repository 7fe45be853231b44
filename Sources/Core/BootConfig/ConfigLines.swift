/// The one line splitter and joiner for every configuration file vfioctl reads or edits (/etc/default/grub,
/// /etc/kernel/cmdline, BLS entries, modprobe.d, mkinitcpio.conf, booster.yaml, dracut and initramfs-tools files)
/// and for the unified diff of an edit.
///
/// Swift compares Characters, and "\r\n" is one Character, not "\r" followed by "\n": splitting on "\n" reads a
/// CRLF file as a single line (an editor then appends a second GRUB_CMDLINE_LINUX_DEFAULT that silently wins
/// when the file is sourced). So lines are split on the LF byte, a CR before it belongs to the line ending, and
/// joining writes the file's own ending back: a CRLF file stays CRLF.
public struct ConfigLines: Sendable, Equatable {
    public var lines: [String]
    /// "\r\n" when the file's first line ends so, else "\n"; new and edited lines get it too.
    public var ending: String
    /// Whether the text ended with a line ending (an empty text counts as ending with one, so new files get it).
    public var endsWithNewline: Bool

    public init(_ text: String) {
        var lines: [String] = []
        var crlf: Bool? = nil
        for raw in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let bytes = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            lines.append(String(decoding: bytes, as: UTF8.self))
        }
        // The first line break tells the file's convention.
        if let lf = text.utf8.firstIndex(of: UInt8(ascii: "\n")) {
            crlf = lf > text.utf8.startIndex && text.utf8[text.utf8.index(before: lf)] == UInt8(ascii: "\r")
        }
        endsWithNewline = text.isEmpty || text.utf8.last == UInt8(ascii: "\n")
        if endsWithNewline, !lines.isEmpty { lines.removeLast() }
        self.lines = lines
        ending = crlf == true ? "\r\n" : "\n"
    }

    /// `lines` joined with the original's ending, ending with one if the original did (or was empty).
    public func joined(_ lines: [String]) -> String {
        lines.joined(separator: ending) + (endsWithNewline ? ending : "")
    }

    /// The text as `diff -u` sees it: split at LF only, so a CR stays part of its line and a change of line
    /// ending shows in the preview as what it is.
    static func rawLines(_ text: String) -> [String] {
        if text.isEmpty { return [] }
        var parts = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if parts.last == "" { parts.removeLast() }
        return parts
    }
}

/// The lines of a configuration file, whatever its line ending.
func splitLines(_ text: String) -> [String] { ConfigLines(text).lines }

/// Lines written back the way `original` ends its lines.
func joinLines(_ lines: [String], like original: String) -> String { ConfigLines(original).joined(lines) }
