import FoundationEssentials
import Glibc
import VFIOCore

/// One opened host: the root (real `/`, a tree, or an unpacked snapshot), its loaded model and pci.ids names.
public final class HostSession: @unchecked Sendable {
    public let files: RootedFileSystem
    /// The `--root` argument as the user gave it.
    public let rootArgument: String
    /// The private directory a snapshot was unpacked into; released (and removed) with the session.
    public let unpackedSnapshot: UnpackedSnapshot?
    /// True when `--root` named a snapshot tarball (unpacked into a private temporary directory): runtime-changing
    /// commands refuse it unless they only print (`--dry-run`).
    public var isSnapshot: Bool { unpackedSnapshot != nil }
    /// True when the root is the real `/`: only then may vfioctl run host commands (systemctl, modprobe, ...).
    public var isRealRoot: Bool { files.isRealRoot }

    public init(root: String) throws(HostError) {
        rootArgument = root
        if root.hasSuffix(".tar.gz") || root.hasSuffix(".tgz") || root.hasSuffix(".tar") {
            let unpacked = try Snapshot.unpack(root)
            unpackedSnapshot = unpacked
            files = try RootedFileSystem(root: unpacked.root)
        } else {
            unpackedSnapshot = nil
            files = try RootedFileSystem(root: root)
        }
    }

    /// Loads the host and names its devices from the system's pci.ids (that of the machine running vfioctl,
    /// like lspci; a snapshot's own `usr/share/misc/pci.ids` wins when present).
    public func load(reader: (any HostFileReader)? = nil, scope: LoadScope = .all) throws -> HostModel {
        var host = try HostLoader(reader ?? files).load(scope)
        if let ids = PCIIDs.load(from: files, vendors: Set(host.devices.map(\.vendorID))) {
            ids.name(&host.devices)
        }
        return host
    }
}

public enum PCIIDs {
    public static let candidates = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"]

    public static func load(from files: RootedFileSystem, vendors: Set<UInt16>) -> PCIIDDatabase? {
        if let path = ProcessInfo.processInfo.environment["VFIOCTL_PCI_IDS"] {
            return (try? Syscalls.readFile(path, hostPath: path)).map { PCIIDDatabase(bytes: $0, vendorsOfInterest: vendors) }
        }
        for path in candidates {
            if let bytes = try? files.readBytes(path) { return PCIIDDatabase(bytes: bytes, vendorsOfInterest: vendors) }
        }
        if !files.isRealRoot {
            for path in candidates {
                if let bytes = try? Syscalls.readFile(path, hostPath: path) { return PCIIDDatabase(bytes: bytes, vendorsOfInterest: vendors) }
            }
        }
        return nil
    }
}
