import Foundation
import Testing
import VFIOCore

/// The four example hosts as one fleet, every output against Tests/Golden/fleet, through the library and the
/// built binary.
@Suite struct FleetGoldenTests {
    static let roots = ExampleFleet.hosts.map { "examples/hosts/\($0)" }

    @Test func libraryOutputsMatchTheGoldenFiles() throws {
        let report = try ExampleFleet.report()
        Golden.check(FleetDoctorRenderer.text(report), "fleet/doctor.txt")
        Golden.check(FleetDoctorRenderer.json(report).serialized(pretty: true) + "\n", "fleet/doctor.json")
        Golden.check(KubeVirtExport.render(report).text, "fleet/kubevirt.yaml")
        Golden.check(NovaExport.render(report).text, "fleet/nova.conf")
        Golden.check(try ProxmoxExport.render(report).text, "fleet/proxmox.cfg")
    }

    @Test(arguments: [("doctor", "doctor.txt", Int32(2)), ("export kubevirt", "kubevirt.yaml", 0), ("export nova", "nova.conf", 0), ("export proxmox", "proxmox.cfg", 0)])
    func commandPrintsTheGoldenOutput(_ c: (String, String, Int32)) throws {
        guard let r = try CLI.run(["fleet"] + c.0.split(separator: " ").map(String.init) + Self.roots) else { return }
        #expect(r.status == c.2, "\(r.err)")
        Golden.check(r.out, "fleet/\(c.1)")
    }

    @Test func proxmoxNotesGoToStandardError() throws {
        guard let r = try CLI.run(["fleet", "export", "proxmox"] + Self.roots) else { return }
        #expect(r.err.contains("vfioctl: node x570: Proxmox moves mapped functions to vfio-pci at VM start"))
        #expect(r.err.contains("vfioctl: not exported: 10de:21c4 at 0000:01:00.0 on z490 shares its IOMMU group with 0000:04:00.0, 0000:04:00.1"))
        #expect(!r.out.contains("vfioctl:"))
    }

    @Test func exportOfOneModel() throws {
        guard let r = try CLI.run(["fleet", "export", "kubevirt", "--id", "10de:2504", "examples/hosts/x570-twin-gpus"]) else { return }
        #expect(r.status == 0)
        #expect(r.out.contains(#"pciVendorSelector: "10DE:2504""#) && !r.out.contains("8086:1521") && !r.out.contains("1521"))
        #expect(r.out.contains("#     for dev in 0000:0c:00.0 0000:0c:00.1; do"))
        #expect(r.out.contains("#   10de:2504 is also the id of 0000:0b:00.0 the host keeps"))
    }

    @Test func badInputIsAClearError() throws {
        guard let noID = try CLI.run(["fleet", "export", "nova", "--id", "10de", "examples/hosts/x570-twin-gpus"]) else { return }
        #expect(noID.status == 3 && noID.err.contains("--id 10de: not a vendor:device id"))
        guard let absent = try CLI.run(["fleet", "export", "nova", "--id", "1234:5678", "examples/hosts/x570-twin-gpus"]) else { return }
        #expect(absent.status == 3 && absent.err.contains("--id 1234:5678: no node has such a device"))
        guard let twice = try CLI.run(["fleet", "doctor", "examples/hosts/x570-twin-gpus", "examples/hosts/x570-twin-gpus"]) else { return }
        #expect(twice.status == 3 && twice.err.contains("both name node \"x570\""))
        guard let none = try CLI.run(["fleet", "doctor"]) else { return }
        #expect(none.status == 3 && none.err.contains("no SNAPSHOT given"))
        guard let missing = try CLI.run(["fleet", "doctor", "examples/hosts/no-such-host"]) else { return }
        #expect(missing.status == 3 && missing.err.contains("no-such-host"))
    }

    @Test(arguments: ["x570-twin-gpus"])
    func oneHostOutputsMatchTheGoldenFiles(_ host: String) throws {
        for (engine, file) in [("kubevirt", "kubevirt.yaml"), ("nova", "nova.conf"), ("proxmox", "proxmox.cfg")] {
            guard let r = try CLI.run(["fleet", "export", engine, "examples/hosts/\(host)"]) else { return }
            #expect(r.status == 0, "\(r.err)")
            Golden.check(r.out, "fleet/\(host)/\(file)")
        }
        guard let r = try CLI.run(["fleet", "doctor", "examples/hosts/\(host)"]) else { return }
        Golden.check(r.out, "fleet/\(host)/doctor.txt")
    }

    @Test func aHostnameThatIsNoNodeNameIsRefused() throws {
        guard CLI.binary != nil else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: Repo.path("examples/hosts/x570-twin-gpus"), toPath: dir.path)
        try "bad\u{1b}[2Jname\n".write(toFile: dir.path + "/proc/sys/kernel/hostname", atomically: true, encoding: .utf8)
        guard let r = try CLI.run(["fleet", "doctor", dir.path]) else { return }
        #expect(r.status == 3)
        #expect(r.err.contains("the node name from its hostname (/proc/sys/kernel/hostname or /etc/hostname) is \"bad\\x1b[2Jname\""), "\(r.err)")
    }

    /// A `vfioctl snapshot` keeps what the verdicts need (groups, /proc/mounts, /proc/net/route) and the hostname
    /// the loader reads: the node is named after the host, not after the tarball.
    @Test func snapshotTarballGivesTheSameVerdictsAndIsNamedAfterItsHost() throws {
        guard CLI.binary != nil else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = dir.appendingPathComponent("gpu-node-7.tar.gz").path
        guard let snap = try CLI.run(["snapshot", "--root", "examples/hosts/x570-twin-gpus", "-o", archive]) else { return }
        #expect(snap.status == 0, "\(snap.err)")
        guard let r = try CLI.run(["fleet", "doctor", archive]) else { return }
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("  x570  0000:0b:00.0  blocked: the host needs it: the host's boot display\n        0000:0c:00.0  passable (with 0000:0c:00.1)\n"))
        #expect(r.out.contains("  x570  0000:05:00.0  blocked: the host needs it: the network controller carrying the default route (enp5s0f0)\n"))
        #expect(r.out.contains("  x570  0000:04:00.0  blocked: the host needs it: the controller of the root filesystem (/ on /dev/nvme0n1p2)\n"))
    }
}
