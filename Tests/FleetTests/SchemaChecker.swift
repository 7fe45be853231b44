import Foundation

/// The part of JSON Schema (Swagger 2.0 definitions) KubeVirt's PermittedHostDevices uses: `type`, `properties`,
/// `required`, `items`, `$ref` into `definitions`. Stricter than the API server in one way: a property the schema
/// does not define is an error (the server would prune it silently, which is exactly the mistake to catch).
struct SchemaChecker {
    let definitions: [String: Any]

    init(file: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        definitions = root?["definitions"] as? [String: Any] ?? [:]
    }

    /// Every violation, as "path: what is wrong".
    func validate(_ value: Any, definition: String) -> [String] {
        guard let schema = definitions[definition] as? [String: Any] else { return ["no definition \(definition)"] }
        return validate(value, schema: schema, path: "$")
    }

    private func validate(_ value: Any, schema: [String: Any], path: String) -> [String] {
        if let ref = schema["$ref"] as? String {
            let name = String(ref.dropFirst("#/definitions/".count))
            guard let target = definitions[name] as? [String: Any] else { return ["\(path): unresolved \(ref)"] }
            return validate(value, schema: target, path: path)
        }
        var errors: [String] = []
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): expected an object"] }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                errors.append("\(path): missing required \(key)")
            }
            for (key, v) in object.sorted(by: { $0.key < $1.key }) {
                guard let sub = properties[key] as? [String: Any] else { errors.append("\(path): unknown property \(key)"); continue }
                errors += validate(v, schema: sub, path: "\(path).\(key)")
            }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): expected an array"] }
            let items = schema["items"] as? [String: Any] ?? [:]
            for (i, v) in array.enumerated() { errors += validate(v, schema: items, path: "\(path)[\(i)]") }
        case "string":
            if !(value is String) { errors.append("\(path): expected a string") }
        case "boolean":
            if (value as? Bool) == nil { errors.append("\(path): expected a boolean") }
        case "integer":
            if (value as? NSNumber) == nil || value is String { errors.append("\(path): expected an integer") }
        default:
            break
        }
        return errors
    }
}

/// Matches `pattern` against the whole of `text`.
func matches(_ text: String, _ pattern: String) -> Bool {
    guard let re = try? NSRegularExpression(pattern: pattern) else { return false }
    let range = NSRange(text.startIndex..., in: text)
    return re.firstMatch(in: text, range: range).map { $0.range == range } ?? false
}

/// Reads the block YAML the KubeVirt export writes (mappings, sequences of mappings, double-quoted or plain
/// scalars), independently of the code that writes it, so the indentation is checked, not assumed.
enum MiniYAML {
    struct Line { var indent: Int; var text: String; var number: Int }

    static func parse(_ text: String) throws -> Any {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, raw -> Line? in
            let s = String(raw)
            let trimmed = s.drop { $0 == " " }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
            return Line(indent: s.count - trimmed.count, text: String(trimmed), number: i + 1)
        }
        var index = 0
        let value = try block(lines, &index, indent: 0)
        if index != lines.count { throw YAMLError("line \(lines[index].number): unexpected indentation") }
        return value
    }

    struct YAMLError: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    private static func block(_ lines: [Line], _ i: inout Int, indent: Int) throws -> Any {
        guard i < lines.count else { return [String: Any]() }
        if lines[i].text.hasPrefix("- ") {
            var out: [Any] = []
            while i < lines.count, lines[i].indent == indent, lines[i].text.hasPrefix("- ") {
                // "- key: value" starts a mapping whose keys sit two columns further in.
                var first = lines[i]
                first.indent += 2
                first.text = String(first.text.dropFirst(2))
                var sub = Array(lines[..<i]) + [first] + Array(lines[(i + 1)...])
                var j = i
                out.append(try block(sub, &j, indent: indent + 2))
                sub.removeAll()
                i = j
            }
            return out
        }
        var out: [String: Any] = [:]
        while i < lines.count, lines[i].indent == indent {
            let line = lines[i]
            guard let colon = line.text.firstIndex(of: ":") else { throw YAMLError("line \(line.number): expected key: value") }
            let key = String(line.text[..<colon])
            let rest = line.text[line.text.index(after: colon)...].drop { $0 == " " }
            i += 1
            if rest.isEmpty {
                guard i < lines.count, lines[i].indent > indent else { throw YAMLError("line \(line.number): \(key) has no value") }
                out[key] = try block(lines, &i, indent: lines[i].indent)
            } else {
                out[key] = try scalar(String(rest), line: line.number)
            }
        }
        return out
    }

    private static func scalar(_ text: String, line: Int) throws -> Any {
        if text.hasPrefix("\"") {
            guard let data = text.data(using: .utf8), let s = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) as? String else {
                throw YAMLError("line \(line): bad quoted string \(text)")
            }
            return s
        }
        if text == "[]" { return [Any]() }
        if text == "{}" { return [String: Any]() }
        if text == "true" || text == "false" { return text == "true" }
        return text
    }
}
