/// What a spec value may hold. Spec values end up in files run or read as root (modprobe.d, the kernel command
/// line, libvirt XML, QEMU options, Proxmox configs), so each rule is stated once here and used by the spec
/// parser (which adds the line), `VMSpec.validate()` (for specs built in code) and `vfioctl init`.
/// Each check returns nil when the value is fine, else the message naming the key and the value.
public enum SpecRules {
    /// Guest memory cap: 64 TiB, far above any host that can pass a GPU, and low enough that the largest unit
    /// vfioctl writes (KiB, in libvirt's `<memory>`) stays far inside Int.
    public static let maxMemoryMiB = 64 * 1024 * 1024
    /// vCPUs: the range the spec format has always accepted; it bounds every count derived from it (cores,
    /// pins, topology products). q35's own limit depends on the QEMU version and is not checked here.
    public static let vcpus = 1...512
    /// Highest CPU number vfioctl accepts anywhere (CPU lists, `pin`): the kernel's NR_CPUS maximum
    /// (CONFIG_NR_CPUS ≤ 8192 with MAXSMP), so a CPU list never expands past 8192 members.
    public static let maxCPU = CPUSet.maxCPU
    /// Passed PCI functions: each slot gets its own pcie-root-port, numbered in one byte (bus 0x01…0xff).
    public static let maxDevices = 64
    /// Disks: named vda…vdz, vdaa… like libvirt; more would only be a mistake.
    public static let maxDisks = 64
    /// Longest string value (PATH_MAX is 4096 bytes with its NUL).
    public static let maxStringBytes = 4095
    /// Looking Glass resolution bounds (the client's own limits are lower).
    public static let lookingGlassWidth = 320...16384
    public static let lookingGlassHeight = 200...16384

    /// Any spec string: no control characters (a newline would start a new line in modprobe.d, a Proxmox config
    /// or a shell script), no Unicode line/paragraph separators, and no longer than a path can be.
    public static func text(_ key: String, _ value: String, in table: String = "") -> String? {
        if value.utf8.count > maxStringBytes {
            return "\(label(key, table)): value of \(value.utf8.count) bytes is longer than \(maxStringBytes)"
        }
        if let bad = value.unicodeScalars.first(where: isControl) {
            return "\(label(key, table)): '\(visible(value))' contains the control character \(hexScalar(bad)) (newlines, tabs and other control characters are not allowed)"
        }
        return nil
    }

    /// `vvvv:dddd` (four hex digits each), as `id` and `subsystem` hold them.
    public static func idPair(_ value: String) -> (UInt16, UInt16)? {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 4 && $0.allSatisfy(\.isHexDigit) }),
              let v = UInt16(parts[0], radix: 16), let d = UInt16(parts[1], radix: 16) else { return nil }
        return (v, d)
    }

    /// Bridges above a device: PCIe nests at most a few dozen levels (each switch adds two); 32 is far beyond any
    /// real board and keeps a hostile spec from making the drift search walk long lists.
    public static let maxSlotPathDepth = 32

    /// `slot-path`: PCI addresses of bridges, root first.
    public static func slotPath(_ value: [String]) -> String? {
        if value.count > maxSlotPathDepth {
            return "key 'slot-path' in [device]: \(value.count) bridges, at most \(maxSlotPathDepth)"
        }
        if let bad = value.first(where: { PCIAddress($0) == nil }) {
            return "key 'slot-path' in [device]: '\(visible(bad))' is not a PCI address (DDDD:BB:DD.F)"
        }
        return nil
    }

    /// VM names become libvirt's `<name>`, the NVRAM file name, QEMU `-name` and Proxmox `name:`.
    public static func name(_ value: String) -> String? {
        // The parser has already applied `text` to every string; doing it here too keeps init's message identical.
        if let problem = text("name", value) { return problem }
        guard !value.isEmpty, value.count <= 64,
              value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }),
              value != ".", value != ".." else {
            return "key 'name': '\(visible(value))' must be 1–64 letters, digits, '-', '_' or '.'"
        }
        return nil
    }

    /// Kernel module names (`softdep X pre:`, `blacklist X`): modprobe.d(5) reads a line as words, so anything
    /// beyond `[A-Za-z0-9_-]` could add words or lines (`install X /bin/sh -c ...` runs as root at module load).
    /// 55 characters: MODULE_NAME_LEN (64 - sizeof(unsigned long)) less the NUL.
    public static func moduleName(_ key: String, _ value: String, in table: String) -> String? {
        guard !value.isEmpty, value.utf8.count <= 55,
              value.utf8.allSatisfy({ isASCIIAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) else {
            return "\(label(key, table)): '\(visible(value))' is not a kernel module name (letters, digits, '_' and '-', at most 55)"
        }
        return nil
    }

    /// Proxmox storage ids: pve-storage's `parse_storage_id` accepts `^[a-z][a-z0-9\-\_\.]*[a-z0-9]$` matched
    /// case-insensitively (`/i`), so at least two characters. (DOMAIN.md does not state it; this is Proxmox's own.)
    public static func storageID(_ value: String) -> String? {
        let b = Array(value.utf8)
        let ok = b.count >= 2 && isASCIILetter(b[0]) && isASCIIAlnum(b[b.count - 1])
            && b.allSatisfy { isASCIIAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
        return ok ? nil : "key 'storage' in [proxmox]: '\(visible(value))' is not a Proxmox storage id (a letter, then letters, digits, '-', '_' or '.', ending in a letter or digit)"
    }

    /// Guest memory as the spec writes it ("16G"): the MiB, or the message.
    public static func memory(_ text: String) -> Result<Int, SpecError> {
        switch MemorySize.mib(text) {
        case .success(let mib): return .success(mib)
        case .failure(.notASize): return .failure(SpecError(line: 0, "key 'memory': '\(visible(text))' is not a size (e.g. \"16G\" or \"8192M\")"))
        case .failure(.tooLarge): return .failure(SpecError(line: 0, "key 'memory': '\(visible(text))' is more than 64T (the most vfioctl accepts)"))
        }
    }

    public static func memoryMiB(_ mib: Int) -> String? {
        (1...maxMemoryMiB).contains(mib) ? nil : "key 'memory': \(mib) MiB is outside 1 MiB…64 TiB"
    }

    /// Hyper-V vendor id: ≤ 12 characters (the CPUID leaf holds 12 bytes), and no commas or spaces, which would
    /// end the value in QEMU's `-cpu` option list and in Proxmox's `cpu:` property string.
    public static func vendorID(_ id: String) -> String? {
        guard !id.isEmpty, id.count <= 12, !id.contains(","),
              id.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            return "key 'vendor-id' in [hyperv]: '\(visible(id))' must be 1–12 ASCII characters without commas or spaces"
        }
        return nil
    }

    /// libvirt network names and Linux bridge names become XML attributes, QEMU `-netdev` values and a Proxmox
    /// `bridge=` property: the safe subset of both, `[A-Za-z0-9._-]`, not "." or "..". A bridge is a network
    /// interface, whose name is at most 15 bytes (IFNAMSIZ less the NUL).
    public static func networkName(_ key: String, _ value: String, bridge: Bool) -> String? {
        let limit = bridge ? 15 : 64
        guard !value.isEmpty, value.utf8.count <= limit, value != ".", value != "..",
              value.utf8.allSatisfy({ isASCIIAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }) else {
            return "key '\(key)' in [network]: '\(visible(value))' must be 1–\(limit) letters, digits, '-', '_' or '.' (a \(bridge ? "host bridge" : "libvirt network") name)"
        }
        return nil
    }

    /// A path a spec names (firmware, ROM, disk, ISO): text rules plus absolute, since libvirt and QEMU resolve
    /// relative paths against their own working directory, not the user's.
    public static func path(_ key: String, _ value: String, in table: String) -> String? {
        if let problem = text(key, value, in: table) { return problem }
        if !value.hasPrefix("/") { return "\(label(key, table)): '\(visible(value))' must be an absolute path" }
        return nil
    }

    /// "key 'k'" or "key 'k' in [table]", as every spec message starts.
    public static func label(_ key: String, _ table: String) -> String { table.isEmpty ? "key '\(key)'" : "key '\(key)' in [\(table)]" }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7F...0x9F).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
    }

    public static func isASCIILetter(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
    public static func isASCIIAlnum(_ b: UInt8) -> Bool { isASCIILetter(b) || (0x30...0x39).contains(b) }

    static func hexScalar(_ s: Unicode.Scalar) -> String { "U+" + hex(Int(s.value), width: 4).uppercased() }

    /// The value with control characters shown as `\n`, `\r`, `\t` or `\u{..}`, so an error message is one line.
    public static func visible(_ value: String) -> String {
        var out = ""
        for s in value.unicodeScalars.prefix(200) {
            switch s {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: if isControl(s) { out += "\\u{\(hex(Int(s.value), width: 1))}" } else { out.unicodeScalars.append(s) }
            }
        }
        return value.unicodeScalars.count > 200 ? out + "…" : out
    }
}
