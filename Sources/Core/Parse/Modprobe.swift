/// One line of `/etc/modprobe.d/*.conf` that matters for passthrough (modprobe.d(5)).
public struct ModprobeDirective: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `options MODULE key=value ...`
        case options([String: String])
        /// `softdep MODULE pre: A B post: C`
        case softdep(pre: [String], post: [String])
        case blacklist
        /// `install MODULE command...`: modprobe runs the command instead of loading the module.
        case install(String)
    }

    public var file: String
    public var line: Int
    /// Normalized module name (`vfio-pci` and `vfio_pci` are the same module).
    public var module: String
    public var kind: Kind

    public static func normalize(_ module: String) -> String { String(module.map { $0 == "-" ? "_" : $0 }) }

    /// Parses a modprobe.d file; unknown commands (alias, remove) are skipped, not errors.
    public static func parse(_ text: String, file: String) -> [ModprobeDirective] {
        var out: [ModprobeDirective] = []
        var logical = ""
        var startLine = 0
        for (i, raw) in splitLines(text).enumerated() {
            if logical.isEmpty { startLine = i + 1 }
            var line = String(raw)
            if line.hasSuffix("\\") { logical += line.dropLast() + " "; continue }
            line = logical + line
            logical = ""
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count >= 2 else { continue }
            let module = normalize(words[1])
            switch words[0] {
            case "options":
                var params: [String: String] = [:]
                for w in words.dropFirst(2) {
                    // "=x" or a lone "=" has no parameter name: not ours to interpret.
                    let kv = w.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard let name = kv.first, !name.isEmpty else { continue }
                    params[String(name)] = kv.count > 1 ? String(kv[1]) : ""
                }
                out.append(.init(file: file, line: startLine, module: module, kind: .options(params)))
            case "softdep":
                var pre: [String] = [], post: [String] = []
                var target: Int = 0
                for w in words.dropFirst(2) {
                    if w == "pre:" { target = 1 } else if w == "post:" { target = 2 } else if target == 1 { pre.append(normalize(w)) } else if target == 2 { post.append(normalize(w)) }
                }
                out.append(.init(file: file, line: startLine, module: module, kind: .softdep(pre: pre, post: post)))
            case "blacklist":
                out.append(.init(file: file, line: startLine, module: module, kind: .blacklist))
            case "install":
                out.append(.init(file: file, line: startLine, module: module, kind: .install(words.dropFirst(2).joined(separator: " "))))
            default: continue
            }
        }
        return out
    }
}

extension Array where Element == ModprobeDirective {
    /// The `install vfio-pci` line that `vfioctl setup` writes to bind devices by address at boot, if present.
    public var vfioPCIAddressBinding: ModprobeDirective? {
        first { d in
            guard d.module == "vfio_pci", case .install(let command) = d.kind else { return false }
            return command.contains("vfioctl-vfio-pci-override")
        }
    }

    /// Device ids vfio-pci claims from `options vfio-pci ids=...`.
    public var vfioPCIIDs: [(id: String, directive: ModprobeDirective)] {
        flatMap { d -> [(id: String, directive: ModprobeDirective)] in
            guard d.module == "vfio_pci", case .options(let params) = d.kind, let ids = params["ids"] else { return [] }
            return ids.split(separator: ",").map { (String($0.prefix(9)), d) }
        }
    }
}
