import Foundation
import Testing
@testable import vfioctl

/// The commands that change a running host refuse a snapshot (a record of a host, unpacked into a temporary
/// directory) unless they only print, with the refusal's exit status 2.
@Suite struct RuntimeCommandTests {
    static let archive: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-runtime-\(UUID().uuidString).tar.gz").path
        _ = try? CLI.vfioctl(["snapshot", "--root", "examples/hosts/lab-q35", "-o", path])
        return path
    }()

    @Test(arguments: [
        (["bind", "0000:03:00.0"], "bind"), (["restore"], "restore"), (["shield", "--cpus", "1"], "shield"),
        (["unshield"], "unshield"), (["unshield", "--vm", "win10"], "unshield"), (["hook", "install"], "install the hook"),
    ])
    func snapshotsAreRefused(_ argv: [String], _ what: String) throws {
        let r = try CLI.vfioctl(argv + ["--root", Self.archive])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("refusing to \(what): --root \(Self.archive) is a snapshot"))
        #expect(r.stderr.contains("--dry-run shows what it would do"))
    }

    @Test func dryRunOnASnapshotPrints() throws {
        let r = try CLI.vfioctl(["bind", "0000:03:00.0", "--dry-run", "--root", Self.archive])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("echo -n 'vfio-pci' > /sys/bus/pci/devices/0000:03:00.0/driver_override"))
        #expect(!r.stderr.contains("snapshot"))
    }

    /// verify talks to the running kernel: refused for a tree, decided on the resolved root (so "/." is `/`).
    @Test func verifyNeedsTheRealRootHoweverItIsSpelled() throws {
        let tree = try CLI.vfioctl(["verify", "0000:03:00.0", "--root", "examples/hosts/lab-q35"])
        #expect(tree.status == 3 && tree.stderr.contains("--root is not supported"))
        let real = try CLI.vfioctl(["verify", "0000:99:00.0", "--root", "/."])
        #expect(!real.stderr.contains("--root is not supported"), "\(real.stderr)")
    }
}
