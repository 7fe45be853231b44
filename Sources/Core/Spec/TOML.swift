/// The TOML subset a VM spec uses (TOML v1.0 §Keys, §String, §Integer, §Boolean, §Array, §Table, §Array of
/// Tables): bare keys, basic "strings" with \" \\ \n \t escapes, literal 'strings', decimal integers (with `_`),
/// booleans, arrays of those (may span lines, trailing comma allowed), `[table]`, `[[array.of.tables]]` and
/// `# comments`. Everything else is an error naming the line, so a spec never means something the user did not
/// write. Values remember their line for later errors ("line 12: key 'vcpus': ...").
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case array([TOMLValue])

    var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .bool: "a boolean"
        case .array: "an array"
        }
    }
}

/// One `[table]` (or the root table, or one element of `[[array]]`): its keys in file order, with lines.
public struct TOMLTable: Sendable {
    public var name: String
    /// Line of the `[header]` (0 for the root table).
    public var line: Int
    public var entries: [(key: String, value: TOMLValue, line: Int)] = []

    public init(name: String, line: Int) {
        self.name = name
        self.line = line
    }

    public func entry(_ key: String) -> (value: TOMLValue, line: Int)? {
        entries.first { $0.key == key }.map { ($0.value, $0.line) }
    }
}

/// A parsed document: the root table, then every `[table]` and `[[array]]` element in file order.
public struct TOMLDocument: Sendable {
    public var root: TOMLTable
    public var tables: [TOMLTable]

    public func table(_ name: String) -> TOMLTable? { tables.first { $0.name == name } }
    public func array(_ name: String) -> [TOMLTable] { tables.filter { $0.name == name } }
}

public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { "line \(line): \(message)" }
}

public enum TOML {
    public static func parse(_ text: String) throws(TOMLError) -> TOMLDocument {
        var parser = TOMLParser(text: text)
        return try parser.parse()
    }

    /// Quotes a string as a TOML basic string.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(ch)
            }
        }
        return out + "\""
    }
}

private struct TOMLParser {
    let chars: [Character]
    var pos = 0
    var line = 1

    /// Array nesting allowed: a spec needs one level; the cap keeps `[[[[...` from exhausting the stack.
    static let maxDepth = 8
    var depth = 0

    /// Swift reads "\r\n" as one Character, so a CRLF file would otherwise be one long line (and a comment would
    /// run to the end of the file); TOML v1.0 allows both LF and CRLF line ends.
    init(text: String) { chars = text.map { (c: Character) -> Character in c == "\r\n" ? "\n" : c } }

    mutating func parse() throws(TOMLError) -> TOMLDocument {
        var root = TOMLTable(name: "", line: 0)
        var tables: [TOMLTable] = []
        var arrayNames = Set<String>()
        var current: TOMLTable? = nil
        while true {
            skipBlankAndComments()
            guard pos < chars.count else { break }
            if chars[pos] == "[" {
                let headerLine = line
                let isArray = peek(1) == "["
                pos += isArray ? 2 : 1
                skipSpaces()
                let name = try dottedKey()
                skipSpaces()
                guard take("]"), !isArray || take("]") else {
                    throw TOMLError(line: headerLine, "expected '\(isArray ? "]]" : "]")' to close the table header")
                }
                try endOfLine()
                if let current { if current.name.isEmpty { root = current } else { tables.append(current) } }
                if isArray {
                    if tables.contains(where: { $0.name == name }) && !arrayNames.contains(name) {
                        throw TOMLError(line: headerLine, "'[[\(name)]]' conflicts with the table '[\(name)]' defined earlier")
                    }
                    arrayNames.insert(name)
                } else if arrayNames.contains(name) || tables.contains(where: { $0.name == name }) {
                    throw TOMLError(line: headerLine, "table '[\(name)]' is defined twice")
                }
                current = TOMLTable(name: name, line: headerLine)
                continue
            }
            let keyLine = line
            let key = try dottedKey()
            skipSpaces()
            guard take("=") else { throw TOMLError(line: keyLine, "key '\(key)': expected '=' after the key") }
            skipSpaces()
            let value = try parseValue(key: key)
            try endOfLine()
            var table = current ?? root
            if table.entry(key) != nil { throw TOMLError(line: keyLine, "key '\(key)' is defined twice in this table") }
            table.entries.append((key, value, keyLine))
            if current != nil { current = table } else { root = table }
        }
        if let current { if current.name.isEmpty { root = current } else { tables.append(current) } }
        return TOMLDocument(root: root, tables: tables)
    }

    func peek(_ offset: Int = 0) -> Character? { pos + offset < chars.count ? chars[pos + offset] : nil }

    mutating func take(_ c: Character) -> Bool {
        if peek() == c { pos += 1; return true }
        return false
    }

    mutating func skipSpaces() { while let c = peek(), c == " " || c == "\t" { pos += 1 } }

    mutating func skipComment() { if peek() == "#" { while let c = peek(), c != "\n" { pos += 1 } } }

    mutating func skipBlankAndComments() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\r" { pos += 1 }
            else if c == "\n" { pos += 1; line += 1 }
            else if c == "#" { skipComment() }
            else { break }
        }
    }

    mutating func endOfLine() throws(TOMLError) {
        skipSpaces()
        skipComment()
        if peek() == "\r" { pos += 1 }
        guard let c = peek() else { return }
        guard c == "\n" else { throw TOMLError(line: line, "unexpected '\(c)' after the value (one key = value per line)") }
    }

    mutating func bareKey() throws(TOMLError) -> String {
        var key = ""
        while let c = peek(), c.isASCII, c.isLetter || c.isNumber || c == "_" || c == "-" { key.append(c); pos += 1 }
        if key.isEmpty {
            if peek() == "\"" { return try basicString() }
            throw TOMLError(line: line, "expected a key, found '\(peek().map(String.init) ?? "end of file")'")
        }
        return key
    }

    mutating func dottedKey() throws(TOMLError) -> String {
        var parts = [try bareKey()]
        while true {
            skipSpaces()
            guard take(".") else { break }
            skipSpaces()
            parts.append(try bareKey())
        }
        return parts.joined(separator: ".")
    }

    mutating func parseValue(key: String) throws(TOMLError) -> TOMLValue {
        guard let c = peek(), c != "\n" else { throw TOMLError(line: line, "key '\(key)': missing value after '='") }
        switch c {
        case "\"":
            if peek(1) == "\"" && peek(2) == "\"" { throw TOMLError(line: line, "key '\(key)': multi-line strings are not supported") }
            return .string(try basicString())
        case "'":
            pos += 1
            var s = ""
            while let c = peek(), c != "'" {
                if c == "\n" { throw TOMLError(line: line, "key '\(key)': unterminated string") }
                s.append(c); pos += 1
            }
            guard take("'") else { throw TOMLError(line: line, "key '\(key)': unterminated string") }
            return .string(s)
        case "[":
            guard depth < Self.maxDepth else { throw TOMLError(line: line, "key '\(key)': arrays nested deeper than \(Self.maxDepth)") }
            depth += 1
            defer { depth -= 1 }
            pos += 1
            var items: [TOMLValue] = []
            while true {
                skipBlankAndComments()
                if take("]") { break }
                items.append(try parseValue(key: key))
                skipBlankAndComments()
                if take(",") { continue }
                guard take("]") else { throw TOMLError(line: line, "key '\(key)': expected ',' or ']' in the array") }
                break
            }
            return .array(items)
        case "t", "f":
            var word = ""
            while let c = peek(), c.isLetter { word.append(c); pos += 1 }
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            throw TOMLError(line: line, "key '\(key)': '\(word)' is not a value (strings need quotes)")
        default:
            var word = ""
            while let c = peek(), c.isNumber || c == "-" || c == "+" || c == "_" || c.isLetter || c == "." || c == ":" {
                word.append(c); pos += 1
            }
            let digits = word.filter { $0 != "_" }
            if !word.isEmpty, !word.hasPrefix("_"), !word.hasSuffix("_"), let n = Int(digits) { return .integer(n) }
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber || $0 == "-" || $0 == "+" }), digits.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) {
                throw TOMLError(line: line, "key '\(key)': \(word.prefix(40)) does not fit in a 64-bit integer")
            }
            throw TOMLError(line: line, "key '\(key)': '\(word.isEmpty ? String(c) : word)' is not a value (strings need quotes)")
        }
    }

    mutating func basicString() throws(TOMLError) -> String {
        let start = line
        pos += 1
        var s = ""
        while let c = peek() {
            pos += 1
            switch c {
            case "\"": return s
            case "\n": throw TOMLError(line: start, "unterminated string")
            case "\\":
                guard let e = peek() else { break }
                pos += 1
                switch e {
                case "\"": s.append("\"")
                case "\\": s.append("\\")
                case "n": s.append("\n")
                case "t": s.append("\t")
                default: throw TOMLError(line: line, "unsupported escape '\\\(e)' in a string")
                }
            default: s.append(c)
            }
        }
        throw TOMLError(line: start, "unterminated string")
    }
}
