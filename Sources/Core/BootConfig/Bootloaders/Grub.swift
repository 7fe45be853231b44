/// GRUB configured through `/etc/default/grub`: the arguments go into `GRUB_CMDLINE_LINUX_DEFAULT` (or
/// `GRUB_CMDLINE_LINUX` where that one holds them), and grub.cfg is generated again.
struct GrubBackend: BootloaderBackend {
    let kind = Bootloader.grub
    static let fedora = "grub2-mkconfig -o /boot/grub2/grub.cfg", debian = "update-grub", other = "grub-mkconfig -o /boot/grub/grub.cfg"
    let commands = [fedora, debian, other]

    func recognises(_ boot: BootFiles) throws(BootConfigError) -> Bool {
        boot.kind(of: GrubDefault.path) == .regular
    }

    func configuredArguments(_ boot: BootFiles) -> [String]? {
        guard let text = try? boot.read(GrubDefault.path) else { return nil }
        return (try? GrubDefault.arguments(text, path: GrubDefault.path)) ?? nil
    }

    func plan(args: [String], boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        let old = try boot.readExisting(GrubDefault.path)
        let new = try GrubDefault.merge(old, args: args, path: GrubDefault.path)
        var plan = BackendPlan(edits: [FileEdit(path: GrubDefault.path, old: old, new: new, why: "kernel arguments for the next boot")])
        let os = boot.osRelease
        if os.isFedoraLike { plan.commands.append(Self.fedora) }
        else if os.isDebianLike || boot.kind(of: "/usr/sbin/update-grub") == .regular { plan.commands.append(Self.debian) }
        else { plan.commands.append(Self.other) }
        return plan
    }
}

/// `/etc/default/grub` (a shell fragment sourced by grub-mkconfig): `GRUB_CMDLINE_LINUX_DEFAULT="..."`.
enum GrubDefault {
    static let path = "/etc/default/grub"
    static let keys = ["GRUB_CMDLINE_LINUX_DEFAULT", "GRUB_CMDLINE_LINUX"]

    struct Assignment {
        var index: Int
        var key: String
        var quote: Character?
        var value: String
    }

    static func find(_ lines: [String], key: String, path: String) throws(BootConfigError) -> Assignment? {
        var found: Assignment?
        for (i, raw) in lines.enumerated() {
            var line = raw.trimmingASCIIWhitespace()
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingASCIIWhitespace() }
            guard line.hasPrefix(key + "=") else { continue }
            if let first = found { throw BootConfigError(path, line: i + 1, "\(key) is set a second time (first on line \(first.index + 1)): refusing to guess which one counts") }
            var rest = Substring(line.dropFirst(key.count + 1))
            if raw.hasSuffix("\\") { throw BootConfigError(path, line: i + 1, "\(key) continues on the next line: refusing to edit") }
            var quote: Character? = nil
            if let q = rest.first, q == "\"" || q == "'" {
                quote = q
                rest = rest.dropFirst()
                guard let end = rest.firstIndex(of: q) else { throw BootConfigError(path, line: i + 1, "\(key) has no closing \(q): refusing to edit") }
                let after = rest[rest.index(after: end)...].trimmingASCIIWhitespace()
                guard after.isEmpty || after.hasPrefix("#") else { throw BootConfigError(path, line: i + 1, "\(key) has text after the closing quote: refusing to edit") }
                rest = rest[..<end]
            } else if rest.contains(" ") && !rest.hasPrefix("#") {
                throw BootConfigError(path, line: i + 1, "\(key) is unquoted with spaces: refusing to edit")
            }
            if quote != "'" && (rest.contains("$") || rest.contains("`")) {
                throw BootConfigError(path, line: i + 1, "\(key) uses shell expansion (\(rest)): refusing to edit; add the arguments by hand")
            }
            found = Assignment(index: i, key: key, quote: quote, value: String(rest))
        }
        return found
    }

    static func arguments(_ text: String, path: String) throws(BootConfigError) -> [String] {
        let lines = splitLines(text)
        var args: [String] = []
        for key in keys.reversed() { if let a = try find(lines, key: key, path: path) { args += KernelCommandLine(a.value).arguments } }
        return args
    }

    static func merge(_ text: String, args: [String], path: String) throws(BootConfigError) -> String {
        var lines = splitLines(text)
        let existing = try find(lines, key: "GRUB_CMDLINE_LINUX_DEFAULT", path: path)
        let linux = try find(lines, key: "GRUB_CMDLINE_LINUX", path: path)
        // Debian/Arch put options in _DEFAULT; Fedora in GRUB_CMDLINE_LINUX. Extend whichever holds options.
        let target = existing ?? linux
        guard var a = target else {
            lines.append("GRUB_CMDLINE_LINUX_DEFAULT=\"\(args.joined(separator: " "))\"")
            return joinLines(lines, like: text)
        }
        // Arguments already in the other variable count as present.
        let other = (a.key == existing?.key ? linux : existing).map { KernelCommandLine($0.value).arguments } ?? []
        let merged = BootArguments.merge(KernelCommandLine(a.value).arguments, args.filter { !other.contains($0) })
        a.value = merged.joined(separator: " ")
        let q = a.quote.map(String.init) ?? "\""
        let prefix = lines[a.index].trimmingASCIIWhitespace().hasPrefix("export ") ? "export " : ""
        lines[a.index] = "\(prefix)\(a.key)=\(q)\(a.value)\(q)"
        return joinLines(lines, like: text)
    }
}
