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

/// A stock distribution loads vfio-pci only on demand: bind asks modprobe for it (on a tree only printed, and the
/// tree's missing driver directory then stops the bind before any write).
@Suite struct VFIOPCILoadTests {
    static func treeWithoutVFIOPCI() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-novfio-\(UUID().uuidString)").path
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = ["-a", "examples/hosts/ryzen-chipset-gpu", dir]
        try copy.run()
        copy.waitUntilExit()
        try FileManager.default.removeItem(atPath: dir + "/sys/bus/pci/drivers/vfio-pci")
        try FileManager.default.removeItem(atPath: dir + "/sys/module/vfio_pci")
        return dir
    }

    @Test func dryRunSaysTheModuleIsLoadedFirst() throws {
        let tree = try Self.treeWithoutVFIOPCI()
        defer { try? FileManager.default.removeItem(atPath: tree) }
        let r = try CLI.vfioctl(["bind", "0000:06:00.0", "0000:06:00.1", "--force", "--dry-run", "--root", tree])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("# first: modprobe vfio-pci (it is not loaded)\n"), "\(r.stdout)")
    }

    @Test func bindAsksModprobeAndStopsBeforeAnyWriteWhenTheDriverIsStillMissing() throws {
        let tree = try Self.treeWithoutVFIOPCI()
        defer { try? FileManager.default.removeItem(atPath: tree) }
        let override = tree + "/sys/bus/pci/devices/0000:06:00.0/driver_override"
        let before = try? String(contentsOfFile: override, encoding: .utf8)
        let r = try CLI.vfioctl(["bind", "0000:06:00.0", "0000:06:00.1", "--force", "--root", tree])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stdout.contains("  would run: modprobe vfio-pci\n"), "\(r.stdout)")
        #expect(r.stderr.contains("vfioctl: vfio-pci is not loaded (/sys/bus/pci/drivers/vfio-pci missing)\n"), "\(r.stderr)")
        #expect((try? String(contentsOfFile: override, encoding: .utf8)) == before)
    }
}
