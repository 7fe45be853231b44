/// Arch's mkinitcpio: the vfio modules first in `MODULES=(...)`, the driver_override script in `FILES=(...)`.
struct MkinitcpioBackend: InitramfsBackend {
    let kind = InitramfsTool.mkinitcpio
    let commands = ["mkinitcpio -P"]

    func recognises(_ boot: BootFiles) -> Bool { boot.kind(of: Mkinitcpio.path) == .regular }

    func plan(_ request: InitramfsRequest, boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        let old = try boot.readExisting(Mkinitcpio.path)
        var plan = BackendPlan()
        // The modconf hook copies /etc/modprobe.d into the image: without it the softdeps (and the install
        // line of address binding) are not seen while the initramfs loads the GPU driver.
        if !Mkinitcpio.hasHook(old, "modconf") {
            if request.byAddress || request.softdeps {
                throw BootConfigError(Mkinitcpio.path, "HOOKS has no modconf: the initramfs would not see /etc/modprobe.d (softdeps\(request.byAddress ? ", the install line of address binding" : "")); add modconf to HOOKS (after autodetect) and run setup again")
            }
            plan.notes.append("\(Mkinitcpio.path): HOOKS has no modconf, so /etc/modprobe.d is not in the initramfs")
        }
        var new = try Mkinitcpio.merge(old, modules: request.modules)
        if request.byAddress { new = try Mkinitcpio.addFiles(new, [AddressBindingFiles.script]) }
        plan.edits.append(FileEdit(path: Mkinitcpio.path, old: old, new: new,
                                   why: request.byAddress ? "vfio modules load before the GPU drivers; the driver_override script goes into the image" : "vfio modules load before the GPU drivers"))
        plan.commands += commands
        return plan
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
