/// Pop!_OS kernelstub: the arguments live in its JSON configuration, and `kernelstub` writes the boot entry.
struct KernelstubBackend: BootloaderBackend {
    let kind = Bootloader.kernelstub
    let commands = ["kernelstub -v"]

    func recognises(_ boot: BootFiles) throws(BootConfigError) -> Bool {
        boot.kind(of: Kernelstub.path) == .regular
    }

    func configuredArguments(_ boot: BootFiles) -> [String]? {
        (try? boot.read(Kernelstub.path)).flatMap { $0.flatMap { try? Kernelstub.options($0).options } }
    }

    func plan(args: [String], boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        let old = try boot.readExisting(Kernelstub.path)
        return BackendPlan(edits: [FileEdit(path: Kernelstub.path, old: old, new: try Kernelstub.merge(old, args: args), why: "kernel arguments for the next boot")],
                           commands: commands)
    }
}

/// Pop!_OS kernelstub's JSON configuration: the `user` section's `kernel_options` array.
enum Kernelstub {
    static let path = "/etc/kernelstub/configuration"

    /// The options array in the "user" section and the character range of its `[...]`.
    static func options(_ text: String) throws(BootConfigError) -> (options: [String], range: Range<String.Index>) {
        guard let user = search(text, "\"user\"", from: text.startIndex) else { throw BootConfigError(path, "no \"user\" section: refusing to edit") }
        guard let key = search(text, "\"kernel_options\"", from: user.upperBound),
              let open = text[key.upperBound...].firstIndex(of: "["),
              text[key.upperBound..<open].allSatisfy({ $0 == ":" || $0.isWhitespace }),
              let close = text[open...].firstIndex(of: "]") else {
            throw BootConfigError(path, "no \"kernel_options\": [...] in the \"user\" section: refusing to edit")
        }
        var options: [String] = []
        var rest = text[text.index(after: open)..<close]
        while let q = rest.firstIndex(of: "\"") {
            guard rest[..<q].allSatisfy({ $0 == "," || $0.isWhitespace }) else { throw BootConfigError(path, "kernel_options holds something other than strings: refusing to edit") }
            let after = rest.index(after: q)
            guard let end = rest[after...].firstIndex(of: "\"") else { throw BootConfigError(path, "unterminated string in kernel_options") }
            let item = String(rest[after..<end])
            if item.contains("\\") { throw BootConfigError(path, "escaped characters in kernel_options: refusing to edit") }
            options.append(item)
            rest = rest[rest.index(after: end)...]
        }
        guard rest.allSatisfy({ $0 == "," || $0.isWhitespace }) else { throw BootConfigError(path, "kernel_options holds something other than strings: refusing to edit") }
        return (options, open..<text.index(after: close))
    }

    /// The range of the first `needle` at or after `from` (the core has no Foundation).
    static func search(_ text: String, _ needle: String, from: String.Index) -> Range<String.Index>? {
        var i = from
        while i < text.endIndex {
            if text[i...].hasPrefix(needle) { return i..<text.index(i, offsetBy: needle.count) }
            i = text.index(after: i)
        }
        return nil
    }

    static func merge(_ text: String, args: [String]) throws(BootConfigError) -> String {
        let (current, range) = try options(text)
        let merged = BootArguments.merge(current, args)
        // kernelstub writes one option per line, indented 6 spaces inside the 4-space "user" object.
        let nl = ConfigLines(text).ending
        let body = "[" + nl + merged.map { "      \"\($0)\"" }.joined(separator: "," + nl) + nl + "    ]"
        var out = text
        out.replaceSubrange(range, with: body)
        return out
    }
}
