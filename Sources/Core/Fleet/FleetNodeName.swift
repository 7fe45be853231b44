/// A node's name as the host gives it: `/proc/sys/kernel/hostname` (what the kernel runs with), else
/// `/etc/hostname`; the first line, trimmed. Nil when neither holds a name.
public enum FleetNodeName {
    public static let sources = ["/proc/sys/kernel/hostname", "/etc/hostname"]

    public static func read(_ files: any HostFileReader) -> String? {
        for path in sources {
            guard let text = (try? files.readOptionalText(path)) ?? nil else { continue }
            let line = text.split(separator: "\n").first.map { $0.trimmingASCIIWhitespace() } ?? ""
            if !line.isEmpty && line.count <= 253 { return String(line) }
        }
        return nil
    }
}

extension FleetNodeName {
    /// Whether `name` can stand in every engine's files and commands unquoted: letters, digits, `.`, `-`, `_`
    /// (a hostname's characters), at most 253 of them.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 253 && name.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "." || $0 == "-" || $0 == "_" }
    }
}
