/// Which OVMF builds the host has: the candidates of `OVMFPaths` whose code and NVRAM template are regular files.
public struct FirmwareFiles: Sendable, Equatable {
    /// Every candidate path that is a regular file.
    public var present: Set<String> = []

    public init(present: Set<String> = []) { self.present = present }

    public static func load(_ files: any HostFileReader) -> FirmwareFiles {
        var firmware = FirmwareFiles()
        for c in OVMFPaths.candidates + OVMFPaths.secureBootCandidates {
            for path in [c.code, c.vars] where files.kind(of: path) == .regular { firmware.present.insert(path) }
        }
        return firmware
    }
}

/// The files a VM spec names (OVMF code and NVRAM template, ROMs, disk images, ISOs) as the host holds them: what
/// `plan` warns about and doctor's spec checks judge, read once so both stay pure.
public struct SpecFiles: Sendable {
    /// The kind of each named path; a path missing here is absent.
    public var kinds: [String: FileKind] = [:]
    /// Each ROM file the spec names, parsed, or why it could not be read.
    public var roms: [String: Result<OptionROM, FileReadError>] = [:]

    public init() {}

    public func kind(of path: String) -> FileKind? { kinds[path] }

    public static func load(_ files: any HostFileReader, spec: VMSpec) -> SpecFiles {
        var out = SpecFiles()
        let roms = spec.devices.compactMap(\.rom)
        let named = [spec.firmware.code, spec.firmware.vars] + roms + spec.disks.map(\.path)
            + [spec.install.iso, spec.install.virtioISO].compactMap { $0 }
        for path in named where out.kinds[path] == nil {
            if let kind = files.kind(of: path) { out.kinds[path] = kind }
        }
        for rom in roms where out.roms[rom] == nil {
            do { out.roms[rom] = .success(try ROMParser.parse(file: rom, from: files)) } catch { out.roms[rom] = .failure(error) }
        }
        return out
    }
}

extension SpecContext {
    /// Reads every ROM the spec names through `reader`.
    public static func load(path: String, spec: VMSpec, reader: any HostFileReader) -> SpecContext {
        SpecContext(path: path, spec: spec, roms: SpecFiles.load(reader, spec: spec).roms)
    }
}
