import FoundationEssentials
import Glibc
import VFIOCore

/// Installs the libvirt hook: creates `qemu.d/` when needed and replaces the script through `AtomicFile` (mode
/// 0755). Installing the same script again changes nothing; a hook of any earlier version is
/// replaced; a file there that vfioctl did not write is never overwritten.
public struct HookInstaller: Sendable {
    public enum Result: Sendable, Equatable { case installed, updated, unchanged }

    public let files: RootedFileSystem

    public init(files: RootedFileSystem) {
        self.files = files
    }

    public func install(script: String, at path: String = HookScript.path) throws(ShieldError) -> Result {
        let real = files.realPath(path)
        let existing = try? files.readText(path)
        if let existing {
            if existing + "\n" == script || existing == script { return .unchanged }
            guard existing.contains(HookScript.markerPrefix) else {
                throw ShieldError("\(path) exists and was not written by vfioctl; move it away (or into another name under qemu.d/) first")
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: files.realPath(HostPath.parent(path)), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        } catch {
            throw ShieldError("\(path): cannot create its directory: \(error)")
        }
        do { try AtomicFile.write(Array(script.utf8), to: real, mode: 0o755) } catch {
            throw ShieldError("\(path): cannot write the hook: \(error)")
        }
        return existing == nil ? .installed : .updated
    }
}
