/// Line editors for the files `vfioctl setup` touches. Each changes only what it owns and refuses what it cannot
/// read with certainty (shell expansion, continuation lines, duplicate definitions), naming the line.

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
