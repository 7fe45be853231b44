/// Line editors for the files `vfioctl setup` touches. Each changes only what it owns and refuses what it cannot
/// read with certainty (shell expansion, continuation lines, duplicate definitions), naming the line.

/// `/etc/default/grub` (a shell fragment sourced by grub-mkconfig): `GRUB_CMDLINE_LINUX_DEFAULT="..."`.
enum GrubDefault {
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

/// `/etc/kernel/cmdline` (systemd-boot via kernel-install, Proxmox's proxmox-boot-tool): one line of arguments.
enum KernelCmdlineFile {
    static func merge(_ text: String, args: [String], path: String) throws(BootConfigError) -> String {
        let file = ConfigLines(text)
        let lines = file.lines.filter { !$0.trimmingASCIIWhitespace().isEmpty }
        guard lines.count <= 1 else { throw BootConfigError(path, line: 2, "more than one line: the kernel command line must be a single line; refusing to edit") }
        let current = KernelCommandLine(lines.first ?? "").arguments
        // Always one terminated line, in the file's own line ending.
        return BootArguments.merge(current, args).joined(separator: " ") + file.ending
    }
}

/// A Boot Loader Specification entry (`/boot/loader/entries/*.conf`): its `options` line.
enum BLSEntry {
    static func merge(_ text: String, args: [String], path: String) throws(BootConfigError) -> String {
        var lines = splitLines(text)
        let idx = lines.indices.filter { lines[$0].hasPrefix("options ") || lines[$0] == "options" }
        guard idx.count <= 1 else { throw BootConfigError(path, line: idx[1] + 1, "a second options line: refusing to edit") }
        if let i = idx.first {
            let value = String(lines[i].dropFirst(7)).trimmingASCIIWhitespace()
            if value.contains("$") { throw BootConfigError(path, line: i + 1, "options uses a variable (\(value)): edit it with grubby --args instead") }
            lines[i] = "options " + BootArguments.merge(KernelCommandLine(value).arguments, args).joined(separator: " ")
        } else {
            lines.append("options " + args.joined(separator: " "))
        }
        return joinLines(lines, like: text)
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

/// `/etc/modprobe.d`: `options vfio-pci ids=` and `softdep DRIVER pre: vfio-pci`, in vfioctl's own file unless
/// another file already sets vfio-pci's ids (then that line is updated, so two files never disagree).
enum Modprobe {
    static func edits(_ spec: VMSpec, binding: BootBinding, boot: BootFiles) throws(BootConfigError) -> [FileEdit] {
        var edits: [FileEdit] = []
        let ids = binding.ids.joined(separator: ",")
        var idsElsewhere = false
        for name in boot.list(BootFiles.modprobeDirectory) where name.hasSuffix(".conf") && "/etc/modprobe.d/" + name != BootConfig.modprobeFile {
            let path = "/etc/modprobe.d/" + name
            guard let old = try boot.read(path) else { continue }
            var lines = splitLines(old)
            var changed = false
            for (i, line) in lines.enumerated() {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard words.count >= 3, words[0] == "options", ["vfio-pci", "vfio_pci"].contains(words[1]) else { continue }
                guard let k = words.firstIndex(where: { $0.hasPrefix("ids=") }) else { continue }
                idsElsewhere = true
                var w = words
                if ids.isEmpty {
                    // Every passed id is shared with a device the host keeps: this line must not name any.
                    w.remove(at: k)
                    lines[i] = w.count > 2 ? w.joined(separator: " ") : "# " + line + "   # vfioctl setup: ids shared with the host's own devices"
                } else {
                    w[k] = "ids=" + ids
                    lines[i] = w.joined(separator: " ")
                }
                changed = true
            }
            if changed { edits.append(FileEdit(path: path, old: old, new: joinLines(lines, like: old), why: "vfio-pci ids (this file already set them)")) }
        }
        var out = ["# Written by vfioctl setup for VM \"\(spec.name)\": vfio-pci claims the passed devices before their drivers load."]
        if !idsElsewhere && !ids.isEmpty { out.append("options vfio-pci ids=\(ids)") }
        if !binding.addresses.isEmpty {
            out.append("# \(binding.addresses.map(\.description).joined(separator: " ")) by address: the host keeps devices with the same ids.")
            out.append(AddressBindingFiles.installLine)
        }
        for d in spec.softdepDrivers { out.append("softdep \(d) pre: vfio-pci") }
        for b in spec.boot.blacklist { out.append("blacklist \(b)") }
        let old = try boot.read(BootConfig.modprobeFile)
        if let old, !old.hasPrefix("# Written by vfioctl setup") {
            throw BootConfigError(BootConfig.modprobeFile, line: 1, "exists but was not written by vfioctl: refusing to overwrite")
        }
        edits.append(FileEdit(path: BootConfig.modprobeFile, old: old, new: joinLines(out, like: old ?? ""), why: "vfio-pci ids and softdeps"))
        return edits
    }
}

/// Arch `/etc/mkinitcpio.conf`: `MODULES=(...)`, vfio modules first.
enum Mkinitcpio {
    static let path = "/etc/mkinitcpio.conf"

    /// Whether the one-line `HOOKS=(...)` array names `hook` (a missing HOOKS line: mkinitcpio's defaults, which
    /// include modconf).
    static func hasHook(_ text: String, _ hook: String) -> Bool {
        guard let line = splitLines(text).last(where: { $0.hasPrefix("HOOKS=") }) else { return true }
        let inner = line.dropFirst("HOOKS=".count).filter { $0 != "(" && $0 != ")" && $0 != "\"" }
        return inner.split(separator: " ").contains { $0 == hook }
    }

    /// Adds paths to the one-line `FILES=(...)` array (or a new one).
    static func addFiles(_ text: String, _ paths: [String]) throws(BootConfigError) -> String {
        try editArray(text, key: "FILES") { current in current + paths.filter { !current.contains($0) } }
    }

    /// vfio modules first in the one-line `MODULES=(...)` array (or a new one).
    static func merge(_ text: String, modules: [String]) throws(BootConfigError) -> String {
        try editArray(text, key: "MODULES") { current in modules + current.filter { !modules.contains($0.replacingHyphens()) } }
    }

    /// Rewrites the one-line bash array `KEY=(...)` with `change` (a missing one starts empty). Refuses what it
    /// cannot edit safely: the key set twice, a multi-line array, quoting or expansion inside.
    static func editArray(_ text: String, key: String, _ change: ([String]) -> [String]) throws(BootConfigError) -> String {
        var lines = splitLines(text)
        let idx = lines.indices.filter { lines[$0].hasPrefix(key + "=") }
        guard idx.count <= 1 else { throw BootConfigError(path, line: idx[1] + 1, "\(key) is set twice: refusing to edit") }
        guard let i = idx.first else {
            lines.append("\(key)=(\(change([]).joined(separator: " ")))")
            return joinLines(lines, like: text)
        }
        let line = lines[i]
        guard line.hasPrefix(key + "=("), let close = line.lastIndex(of: ")") else {
            throw BootConfigError(path, line: i + 1, "\(key) is not a one-line array \(key)=(...): refusing to edit")
        }
        let inner = line[line.index(line.startIndex, offsetBy: key.count + 2)..<close]
        if inner.contains("$") || inner.contains("\"") { throw BootConfigError(path, line: i + 1, "\(key) uses quoting or expansion: refusing to edit") }
        lines[i] = "\(key)=(" + change(inner.split(separator: " ").map(String.init)).joined(separator: " ") + ")" + line[line.index(after: close)...]
        return joinLines(lines, like: text)
    }
}

/// `/etc/booster.yaml`: `modules_force_load: a,b,c`.
enum Booster {
    static let path = "/etc/booster.yaml"
    static func merge(_ text: String, modules: [String]) throws(BootConfigError) -> String {
        var lines = splitLines(text)
        let idx = lines.indices.filter { lines[$0].hasPrefix("modules_force_load:") }
        guard idx.count <= 1 else { throw BootConfigError(path, line: idx[1] + 1, "modules_force_load appears twice: refusing to edit") }
        if let i = idx.first {
            let value = lines[i].dropFirst("modules_force_load:".count).trimmingASCIIWhitespace()
            if value.hasPrefix("[") || value.hasPrefix("|") || value.hasPrefix(">") { throw BootConfigError(path, line: i + 1, "modules_force_load is not a comma-separated list: refusing to edit") }
            let current = value.split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty && !modules.contains($0) }
            lines[i] = "modules_force_load: " + (modules + current).joined(separator: ",")
        } else {
            lines.append("modules_force_load: " + modules.joined(separator: ","))
        }
        return joinLines(lines, like: text)
    }
}

/// Debian/Ubuntu `/etc/initramfs-tools/modules`: one module per line, loaded in order.
enum InitramfsToolsModules {
    static func merge(_ text: String, modules: [String]) -> String {
        var lines = splitLines(text)
        let present = Set(lines.map { $0.split(separator: " ").first.map { String($0).replacingHyphens() } ?? "" })
        let missing = modules.filter { !present.contains($0) }
        if missing.isEmpty { return text }
        lines.append("# vfioctl setup: vfio first, so vfio-pci claims the passed devices before their drivers")
        lines += missing
        return joinLines(lines, like: text)
    }
}
