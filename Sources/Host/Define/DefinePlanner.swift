import FoundationEssentials
import Glibc
import VFIOCore

/// Everything `vfioctl define SPEC` changes on a host: file edits (journaled by `BootConfigWriter` under
/// `DefinePlanner.journalRoot`, undone by `define --undo`), the commands run after them (`qemu-img create`,
/// `virsh define`), and what is left for the user.
public struct DefinePlan: Sendable {
    public var vm: String
    public var edits: [FileEdit]
    public var commands: [[String]]
    /// The libvirt hook is not installed yet: define installs it (`HookInstaller`) after the edits.
    public var hookMissing: Bool
    /// Things define saw but does not change (a ROM file QEMU cannot read, no Looking Glass user, ...).
    public var notes: [String]
}

/// A spec value define cannot put into a host file safely, or a host file it cannot edit safely; names both.
public struct DefineError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum DefinePlanner {
    /// define's own journal, apart from setup's: `define --undo` and `setup --revert` each undo only their own.
    public static let journalRoot = "/var/lib/vfioctl/define"
    public static let qemuConf = "/etc/libvirt/qemu.conf"
    public static let apparmorLocal = "/etc/apparmor.d/local/abstractions/libvirt-qemu"
    public static let apparmorEnabled = "/sys/module/apparmor/parameters/enabled"
    public static let lookingGlassTmpfiles = "/etc/tmpfiles.d/10-looking-glass.conf"

    /// The copy of the spec the hook reads, and the domain XML `virsh define` is given (kept next to it, so the
    /// user sees what was defined).
    public static func specPath(_ vm: String) -> String { "\(HookScript.specDirectory)/\(vm).toml" }
    public static func domainPath(_ vm: String) -> String { "\(HookScript.specDirectory)/\(vm).xml" }

    /// - Parameters:
    ///   - specText: the spec file's bytes, copied as they are (comments included) for the hook.
    ///   - user: who runs the Looking Glass client (owner of /dev/shm/looking-glass); nil leaves a note.
    public static func plan(_ spec: VMSpec, specText: String, files: RootedFileSystem, user: String?) throws(DefineError) -> DefinePlan {
        let xml: String
        // virsh define takes a libvirt domain, rendered as for a host whose vfioctl hook binds the devices.
        do { xml = try LibvirtRenderer().render(spec, host: .hook) } catch { throw DefineError("VM spec: \(error.message)") }
        var edits: [FileEdit] = []
        var notes: [String] = []
        // Byte for byte (readText drops trailing newlines): the journal checks the file still holds `old`.
        func exact(_ path: String) throws(DefineError) -> String? {
            guard let bytes = try? files.readBytes(path) else { return nil }
            guard let text = String(validating: bytes, as: UTF8.self) else { throw DefineError("\(path): not UTF-8 text; vfioctl does not edit it") }
            return text
        }
        func put(_ path: String, _ new: String, _ why: String, mode: Int = 0o644) throws(DefineError) {
            let old = try exact(path)
            if old != new { edits.append(FileEdit(path: path, old: old, new: new, why: why, mode: mode)) }
        }
        try put(specPath(spec.name), specText, "the spec the libvirt hook binds and shields this VM by")
        try put(domainPath(spec.name), xml, "the domain virsh defines (managed='no': the hook owns the bind)")

        if !spec.input.isEmpty {
            if let old = try exact(qemuConf) {
                let new = try QemuConf.allowing(spec.input, in: old)
                if new != old { edits.append(FileEdit(path: qemuConf, old: old, new: new, why: "cgroup_device_acl: QEMU may open the evdev keyboards and mice")) }
            } else {
                notes.append("\(qemuConf) is missing (libvirt-daemon-system not installed?): evdev devices not added to cgroup_device_acl")
            }
        }

        let apparmor = (try? files.readText(apparmorEnabled))?.trimmingASCIIWhitespace() == "Y"
        if apparmor {
            let old = try exact(apparmorLocal)
            let new = try AppArmorLocal.updating(old ?? "", vm: spec.name, rules: try AppArmorLocal.rules(for: spec))
            if new != (old ?? "") {
                edits.append(FileEdit(path: apparmorLocal, old: old, new: new, why: "AppArmor: QEMU may open this VM's evdev devices, shared memory and ROM"))
            }
        }

        if spec.lookingGlass != nil {
            if let user {
                guard isUserName(user) else {
                    throw DefineError("--user \(SpecRules.visible(user)): not a user name (letters, digits, '_', '-', starting with a letter or '_', at most 32)")
                }
                try put(lookingGlassTmpfiles, "# vfioctl define \(spec.name): the Looking Glass client (user \(user)) and QEMU (group kvm) share this file\nf /dev/shm/looking-glass 0660 \(user) kvm -\n",
                    "tmpfiles.d: /dev/shm/looking-glass owned by the Looking Glass user, group kvm, mode 0660")
            } else {
                notes.append("Looking Glass: no user to own /dev/shm/looking-glass (run define with --user NAME, or with sudo); \(lookingGlassTmpfiles) not written")
            }
        }

        for d in spec.devices {
            guard let rom = d.rom else { continue }
            var st = stat()
            if stat(files.realPath(rom), &st) != 0 {
                notes.append("ROM \(rom) of \(d.address) does not exist: the VM will not start until it does (vfioctl rom --dump)")
            } else if st.st_mode & 0o004 == 0 {
                notes.append("ROM \(rom) is not readable by QEMU (user libvirt-qemu): chmod 0644 \(rom)")
            }
        }

        var commands: [[String]] = []
        for d in spec.disks where !d.isBlockDevice {
            guard let size = d.sizeMiB else {
                if files.kind(of: d.path) == nil { notes.append("disk \(d.path) does not exist and its [[disk]] has no size: create it, or add size = \"128G\"") }
                continue
            }
            if files.kind(of: d.path) == nil { commands.append(["qemu-img", "create", "-f", d.format, d.path, "\(size)M"]) }
        }
        commands.append(["virsh", "define", domainPath(spec.name)])
        for (what, iso) in [("installer ISO", spec.install.iso), ("virtio-win ISO", spec.install.virtioISO)] {
            if let iso, files.kind(of: iso) != .regular { notes.append("\(what) \(iso) is not on this host yet: download it there before starting the VM") }
        }
        return DefinePlan(vm: spec.name, edits: edits, commands: commands, hookMissing: files.kind(of: HookScript.path) == nil, notes: notes)
    }

    /// useradd's default rule (NAME_REGEX): what may stand in a tmpfiles.d line without quoting.
    static func isUserName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, b.count <= 32, SpecRules.isASCIILetter(first) || first == UInt8(ascii: "_") else { return false }
        return b.allSatisfy { SpecRules.isASCIIAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}

/// `/etc/libvirt/qemu.conf`'s `cgroup_device_acl`: the device nodes QEMU may open. libvirt's default list is
/// replaced, not extended, by the setting, so a new one starts from the defaults.
enum QemuConf {
    static let defaults = ["/dev/null", "/dev/full", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/ptmx", "/dev/kvm", "/dev/userfaultfd"]

    static func allowing(_ paths: [String], in text: String) throws(DefineError) -> String {
        for p in paths where p.contains("\"") || p.contains("\\") {
            throw DefineError("key 'evdev' in [input]: '\(SpecRules.visible(p))' has a quote or backslash, which \(DefinePlanner.qemuConf) cannot hold")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = lines.firstIndex { $0.trimmingASCIIWhitespace().hasPrefix("cgroup_device_acl") }
        guard let start else {
            var out = text
            if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }
            out += "\n# vfioctl: libvirt's default device list, and the evdev devices VMs relay\n" + block(defaults + paths.filter { !defaults.contains($0) })
            return out
        }
        var end = start
        while end < lines.count, !lines[end].contains("]") { end += 1 }
        guard end < lines.count else { throw DefineError("\(DefinePlanner.qemuConf):\(start + 1): cgroup_device_acl has no closing ']'; fix it by hand") }
        let closing = lines[end]
        guard let close = closing.lastIndex(of: "]") else { throw DefineError("\(DefinePlanner.qemuConf):\(end + 1): no ']'") }
        let after = closing[closing.index(after: close)...].trimmingASCIIWhitespace()
        guard after.isEmpty || after.hasPrefix("#") else {
            throw DefineError("\(DefinePlanner.qemuConf):\(end + 1): text after cgroup_device_acl's ']' that vfioctl does not edit; add \(paths.joined(separator: ", ")) by hand")
        }
        let body = lines[start...end].joined(separator: "\n")
        var existing: [String] = []
        var current: String?
        for ch in body {
            if ch == "\"" {
                if let c = current { existing.append(c); current = nil } else { current = "" }
            } else if current != nil {
                current?.append(ch)
            }
        }
        let missing = paths.filter { !existing.contains($0) }
        if missing.isEmpty { return text }
        let replacement = block(existing + missing).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        lines.replaceSubrange(start...end, with: replacement)
        return lines.joined(separator: "\n")
    }

    static func block(_ paths: [String]) -> String {
        var out = "cgroup_device_acl = [\n"
        for (i, p) in paths.enumerated() { out += "    \"\(p)\"" + (i == paths.count - 1 ? "\n" : ",\n") }
        return out + "]\n"
    }
}

/// The libvirt AppArmor local abstraction: one marked block per VM, replaced as a whole when define runs again.
enum AppArmorLocal {
    static func begin(_ vm: String) -> String { "# vfioctl define \(vm): begin" }
    static func end(_ vm: String) -> String { "# vfioctl define \(vm): end" }

    static func rules(for spec: VMSpec) throws(DefineError) -> [String] {
        var rules: [String] = []
        // /dev/input/by-id names are symlinks: AppArmor checks the event node they resolve to.
        if !spec.input.isEmpty { rules.append("/dev/input/event* rw,") }
        if spec.lookingGlass != nil { rules.append("/dev/shm/looking-glass rw,") }
        for d in spec.devices {
            guard let rom = d.rom else { continue }
            // AppArmor reads these as globbing and quoting characters.
            if rom.contains(where: { "\"*?[]{}^".contains($0) }) {
                throw DefineError("key 'rom' in [device]: '\(SpecRules.visible(rom))' has a character AppArmor reads as a pattern; rename the file")
            }
            rules.append("\"\(rom)\" r,")
        }
        return rules
    }

    static func updating(_ text: String, vm: String, rules: [String]) throws(DefineError) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let b = lines.firstIndex(of: begin(vm)) {
            guard let e = lines[b...].firstIndex(of: end(vm)) else {
                throw DefineError("\(DefinePlanner.apparmorLocal):\(b + 1): vfioctl's block for \(vm) has no end line; fix it by hand")
            }
            lines.removeSubrange(b...e)
        }
        if !rules.isEmpty { lines += [begin(vm)] + rules + [end(vm)] }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}
