/// booster: the vfio modules first in `modules_force_load`. It loads modules itself, not through modprobe, so
/// binding by address (modprobe's install line) cannot work in its image.
struct BoosterBackend: InitramfsBackend {
    let kind = InitramfsTool.booster
    let commands = ["/usr/lib/booster/regenerate_images"]

    func recognises(_ boot: BootFiles) -> Bool { boot.kind(of: Booster.path) == .regular }

    func plan(_ request: InitramfsRequest, boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        let old = try boot.readExisting(Booster.path)
        if request.byAddress {
            throw BootConfigError(Booster.path, "booster does not run modprobe's install commands, which binding \(request.addresses.map(\.description).joined(separator: ", ")) by address needs: use mkinitcpio, dracut or initramfs-tools on this host, or pass the host's twin devices too")
        }
        return BackendPlan(edits: [FileEdit(path: Booster.path, old: old, new: try Booster.merge(old, modules: request.modules), why: "vfio modules loaded first")],
                           commands: commands)
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
