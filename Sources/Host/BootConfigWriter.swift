import FoundationEssentials
import Glibc
import VFIOCore

/// Applies and reverts `vfioctl setup` edits on a rooted tree (the real `/` or a fixture).
/// Order (tuned's discipline): check every file still holds what the plan saw, write the journal with a backup of
/// each original, then write each file to a temporary file in the same directory and rename it over, read it back
/// to verify, and mark the journal applied. Revert restores every original byte for byte (and its mode), or removes
/// a file vfioctl created, in reverse order; it refuses when a file changed since vfioctl wrote it.
public struct BootConfigWriter {
    public let files: RootedFileSystem
    /// Host path of the journal directory.
    public static let journalRoot = "/var/lib/vfioctl/setup"
    /// This writer's journal directory: `setup`'s, or another command's (`vfioctl define` keeps its own, so
    /// `define --undo` and `setup --revert` each undo only their own changes).
    public let journalDirectory: String

    public init(files: RootedFileSystem, journalRoot: String = BootConfigWriter.journalRoot) {
        self.files = files
        journalDirectory = journalRoot
    }

    /// A command run after the files were written (regenerate the initramfs, define the domain), as the journal
    /// keeps it: argv, exit status (nil: did not start or timed out), the end of its output.
    public struct CommandRecord: Codable, Sendable, Equatable {
        public var argv: [String]
        public var status: Int32?
        public var output: String
        public var simulated: Bool
        public init(argv: [String], status: Int32?, output: String, simulated: Bool) {
            self.argv = argv
            self.status = status
            // The journal keeps the end of the output, where the error is, not megabytes of progress.
            self.output = String(output.suffix(4000))
            self.simulated = simulated
        }
    }

    struct Entry: Codable {
        var path: String
        var existed: Bool
        var mode: Int?
        /// Backup of the original (in the journal directory) and of what vfioctl wrote.
        var backup: String?
        var written: String
    }

    struct Manifest: Codable {
        var vm: String
        var created: String
        var state: String   // "applying", "applied", "reverted"
        var entries: [Entry]
        /// Directories vfioctl created (host paths), removed again by revert when empty.
        var createdDirectories: [String]? = nil
        /// Commands run after the files were written, in order.
        var commands: [CommandRecord]? = nil
        /// The commands that regenerate the boot files from the edited ones (update-initramfs, update-grub...):
        /// revert runs them again once the originals are back, also when --apply only printed them.
        var regenerate: [String]? = nil
    }

    /// Adds `records` to the manifest of `journal` (the host path `apply` returned).
    public func record(_ records: [CommandRecord], in journal: String) throws(SetupError) {
        let dir = files.realPath(journal)
        guard let data = FileManager.default.contents(atPath: dir + "/manifest.json"),
              var m = try? JSONDecoder().decode(Manifest.self, from: data) else {
            throw SetupError.refused(journal, "no journal manifest to record the commands in")
        }
        m.commands = (m.commands ?? []) + records
        try writeManifest(m, dir: dir)
    }

    /// The newest journal `revert()` would undo, with its VM's name.
    public func newestApplied() -> (journal: String, vm: String)? {
        guard let (name, m) = newestManifest() else { return nil }
        return ("\(journalDirectory)/\(name)", m.vm)
    }

    private func newestManifest() -> (String, Manifest)? {
        let fm = FileManager.default
        let rootDir = files.realPath(journalDirectory)
        let names = ((try? fm.contentsOfDirectory(atPath: rootDir)) ?? []).sorted()
        for name in names.reversed() {
            guard let data = fm.contents(atPath: rootDir + "/" + name + "/manifest.json"),
                  let m = try? JSONDecoder().decode(Manifest.self, from: data) else { continue }
            if m.state == "applied" || m.state == "applying" { return (name, m) }
        }
        return nil
    }

    /// Writes the edits; returns the journal's host path.
    public func apply(_ edits: [FileEdit], vm: String, regenerate: [String] = []) throws(SetupError) -> String {
        let fm = FileManager.default
        for e in edits {
            let current = try? files.readBytes(e.path)
            let expected = e.old.map { Array($0.utf8) }
            guard current == expected else {
                throw SetupError.refused(e.path, "changed since vfioctl read it; run setup again")
            }
        }
        let stamp = Self.timestamp()
        let journal = "\(journalDirectory)/\(stamp)"
        let dir = files.realPath(journal)
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw SetupError.refused(journal, "cannot create the journal: \(error)")
        }
        var manifest = Manifest(vm: vm, created: stamp, state: "applying", entries: [], regenerate: regenerate)
        var created: [String] = []
        for e in edits {
            var dir = HostPath.parent(e.path)
            var missing: [String] = []
            while dir != "/" && files.kind(of: dir) == nil { missing.append(dir); dir = HostPath.parent(dir) }
            for d in missing where !created.contains(d) { created.append(d) }
        }
        manifest.createdDirectories = created
        for (i, e) in edits.enumerated() {
            let real = files.realPath(e.path)
            var entry = Entry(path: e.path, existed: e.old != nil, mode: nil, backup: nil, written: "\(i).new")
            if e.old != nil {
                entry.mode = (try? fm.attributesOfItem(atPath: real)[.posixPermissions] as? Int) ?? nil
                entry.backup = "\(i).orig"
                try Self.writeDurably(Data(try readOriginal(e.path)), to: dir + "/\(i).orig", mode: 0o600)
            }
            try Self.writeDurably(Data(e.new.utf8), to: dir + "/\(i).new", mode: 0o600)
            manifest.entries.append(entry)
        }
        try writeManifest(manifest, dir: dir)

        for (e, entry) in zip(edits, manifest.entries) {
            let real = files.realPath(e.path)
            do { try fm.createDirectory(atPath: HostPath.parent(real), withIntermediateDirectories: true) } catch {
                throw SetupError.refused(e.path, "cannot create its directory")
            }
            try Self.writeDurably(Data(e.new.utf8), to: real, mode: entry.mode ?? e.mode ?? 0o644)
            guard (try? files.readBytes(e.path)) == Array(e.new.utf8) else {
                throw SetupError.refused(e.path, "read back differs from what was written; revert with vfioctl setup --revert")
            }
        }
        manifest.state = "applied"
        try writeManifest(manifest, dir: dir)
        return journal
    }

    /// Restores the files of the newest applied journal; returns the restored host paths and the commands that
    /// regenerate the boot files from them (as `apply` was given them; empty for `define`'s journals).
    /// `allowedCommands`: the regenerate commands a journal may name (`BootConfig.regenerateCommands`); any other
    /// refuses the revert before a file is touched, as they run through the shell.
    public func revert(allowedCommands: Set<String> = []) throws(SetupError) -> (journal: String, paths: [String], regenerate: [String]) {
        let fm = FileManager.default
        let rootDir = files.realPath(journalDirectory)
        guard let (name, manifest) = newestManifest() else {
            throw SetupError.refused(journalDirectory, "no applied vfioctl \(journalDirectory.split(separator: "/").last.map(String.init) ?? "setup") to revert")
        }
        let dir = rootDir + "/" + name
        let manifestPath = "\(journalDirectory)/\(name)/manifest.json"
        // Check everything before touching anything.
        for command in manifest.regenerate ?? [] where !allowedCommands.contains(command) {
            throw SetupError.refused(manifestPath, "its regenerate command \"\(command)\" is not one vfioctl setup writes: refusing to revert from a journal that was edited (the original files are its *.orig backups)")
        }
        for entry in manifest.entries {
            // The journal's own files are plain names in its directory; host paths are absolute and plain.
            for file in [entry.written] + (entry.backup.map { [$0] } ?? []) where file.isEmpty || file.contains("/") || file.hasPrefix(".") {
                throw SetupError.refused(manifestPath, "names the journal file \"\(file)\": not a file of the journal directory; refusing to revert")
            }
            guard entry.path.hasPrefix("/"), !entry.path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
                throw SetupError.refused(manifestPath, "names the host path \"\(entry.path)\": not an absolute plain path; refusing to revert")
            }
        }
        for entry in manifest.entries {
            let written = fm.contents(atPath: dir + "/" + entry.written).map { [UInt8]($0) }
            let current = try? files.readBytes(entry.path)
            let original = entry.backup.flatMap { fm.contents(atPath: dir + "/" + $0) }.map { [UInt8]($0) }
            if current != written && current != original && !(current == nil && !entry.existed) {
                throw SetupError.refused(entry.path, "changed after vfioctl setup --apply; the original is in \(journalDirectory)/\(name)/\(entry.backup ?? "(none: vfioctl created it)")")
            }
        }
        var restored: [String] = []
        for entry in manifest.entries.reversed() {
            let real = files.realPath(entry.path)
            if entry.existed, let backup = entry.backup, let data = fm.contents(atPath: dir + "/" + backup) {
                try Self.writeDurably(data, to: real, mode: entry.mode ?? 0o644)
            } else if !entry.existed {
                try? fm.removeItem(atPath: real)
            }
            restored.append(entry.path)
        }
        for d in (manifest.createdDirectories ?? []).sorted(by: { $0.count > $1.count }) {
            _ = rmdir(files.realPath(d))
        }
        var m = manifest
        m.state = "reverted"
        try writeManifest(m, dir: dir)
        return ("\(journalDirectory)/\(name)", restored, manifest.regenerate ?? [])
    }

    private func readOriginal(_ path: String) throws(SetupError) -> [UInt8] {
        do { return try files.readBytes(path) } catch { throw SetupError.refused(path, "cannot read: \(error)") }
    }

    private func writeManifest(_ m: Manifest, dir: String) throws(SetupError) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? enc.encode(m) else { throw SetupError.refused(dir, "cannot encode the journal") }
        try Self.writeDurably(data, to: dir + "/manifest.json", mode: 0o600)
    }

    /// Through the one atomic writer (`AtomicFile`): a crash leaves the old file or the new one.
    static func writeDurably(_ data: Data, to path: String, mode: Int) throws(SetupError) {
        do { try AtomicFile.write([UInt8](data), to: path, mode: mode_t(mode)) } catch { throw SetupError.refused(path, "\(error)") }
    }

    static func timestamp() -> String {
        // yyyyMMdd'T'HHmmss.SSS'Z' in UTC, from the real-time clock (no locale involved).
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var secs = ts.tv_sec
        var tm = tm()
        gmtime_r(&secs, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(tm.tm_year + 1900, 4) + pad(tm.tm_mon + 1, 2) + pad(tm.tm_mday, 2) + "T"
            + pad(tm.tm_hour, 2) + pad(tm.tm_min, 2) + pad(tm.tm_sec, 2) + "."
            + pad(Int32(ts.tv_nsec / 1_000_000), 3) + "Z"
    }
}

/// `vfioctl setup --apply/--revert` could not (or would not) change a file; names the host path.
public struct SetupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    static func refused(_ path: String, _ why: String) -> SetupError { SetupError(description: "\(path): \(why)") }
}
