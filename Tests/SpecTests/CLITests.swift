import Foundation
import Testing
@testable import VFIOCore

/// The commands end to end through the built `vfioctl` binary (next to the test bundle): exact stdout against
/// the same golden files the library tests use, exit statuses, and error messages naming the file and line.
@Suite struct SpecCLITests {
    static let binary: String? = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("vfioctl").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    static func vfioctl(_ args: [String]) throws -> (status: Int32, out: String)? {
        guard let binary else {
            print("SKIP CLI test: vfioctl binary not built next to the tests (swift build first)")
            return nil
        }
        return try Run.run(binary, args, cwd: Repo.root)
    }

    @Test func initWritesTheGoldenSpec() throws {
        guard let r = try Self.vfioctl(["init", "--root", "examples/hosts/z490-three-gpus", "--name", "z490-rtx2060",
                                        "--device", "06:00.0", "--vcpus", "8", "--memory", "16G", "--hugepages",
                                        "--looking-glass", "1920x1080", "--input-by-id"]) else { return }
        #expect(r.status == 0)
        Golden.check(r.out, "spec/z490-rtx2060.toml")
    }

    @Test(arguments: ["libvirt": "xml", "qemu": "sh", "proxmox": "conf"].sorted(by: <))
    func renderPrintsTheGoldenOutput(_ target: (String, String)) throws {
        guard let r = try Self.vfioctl(["render", target.0, "examples/specs/z490-rtx2060.toml"]) else { return }
        #expect(r.status == 0)
        Golden.check(r.out, "\(target.0)/z490-rtx2060.\(target.1)")
    }

    @Test func planExitsOneWhenTheSpecDoesNotFitTheHost() throws {
        guard let ok = try Self.vfioctl(["plan", "--root", "examples/hosts/z490-three-gpus", "examples/specs/z490-rtx2060.toml"]),
              let bad = try Self.vfioctl(["plan", "--root", "examples/hosts/ryzen-chipset-gpu", "examples/specs/z490-rtx2060.toml"]) else { return }
        #expect(ok.status == 0 && ok.out.hasSuffix("No problems found.\n"))
        #expect(bad.status == 1 && bad.out.contains("0000:06:00.0 is 10de:2206 on this host, not 10de:1f08 as the spec says"))
    }

    @Test func errorsNameTheFileLineAndKey() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-bad-\(UUID().uuidString).toml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "name = \"x\"\nvcpus = 4\nmemory = 8G\n".write(toFile: file, atomically: true, encoding: .utf8)
        guard let r = try Self.vfioctl(["render", "libvirt", file]) else { return }
        #expect(r.status == 3)
        #expect(r.out.contains("\(file): line 3: key 'memory': '8G' is not a value (strings need quotes)"))
        guard let tooMany = try Self.vfioctl(["init", "--root", "examples/hosts/z490-three-gpus", "--name", "x", "--device", "06:00.0", "--vcpus", "24", "--memory", "4G"]) else { return }
        #expect(tooMany.status == 3 && tooMany.out.contains("ask for at most 18 vCPUs"))
        guard let bridge = try Self.vfioctl(["init", "--root", "examples/hosts/z490-three-gpus", "--name", "x", "--device", "0000:07:00.0", "--vcpus", "4", "--memory", "4G"]) else { return }
        #expect(bridge.status == 3 && bridge.out.contains("a PCI bridge is never passed"))
    }

    @Test func initRefusesANameTheParserWouldRefuseWithItsMessage() throws {
        for name in ["bad name", "vm;reboot", "x,debug-threads=off"] {
            guard let r = try Self.vfioctl(["init", "--root", "examples/hosts/z490-three-gpus", "--name", name,
                                            "--device", "06:00.0", "--vcpus", "4", "--memory", "4G"]) else { return }
            let spec = SpecCodecTests.minimal.replacingOccurrences(of: "name = \"vm1\"", with: "name = \(TOML.quote(name))")
            var parserMessage = ""
            do { _ = try VMSpec.parse(spec) } catch { parserMessage = error.message }
            #expect(!parserMessage.isEmpty)
            #expect(r.status == 3 && r.out.contains("--name: " + parserMessage), "\(r.out)")
        }
    }

    @Test func renderAndInitRefuseHostileValuesWithoutTrapping() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-huge-\(UUID().uuidString).toml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let spec = try String(contentsOfFile: Repo.path("examples/specs/z490-rtx2060.toml"), encoding: .utf8)
        for memory in ["9223372036854775807G", "99999999999T", "9007199254740992M"] {
            try spec.replacingOccurrences(of: "memory = \"16G\"", with: "memory = \"\(memory)\"").write(toFile: file, atomically: true, encoding: .utf8)
            for target in ["libvirt", "qemu", "proxmox"] {
                guard let r = try Self.vfioctl(["render", target, file]) else { return }
                #expect(r.status == 3 && r.out.contains("\(file): line 17: key 'memory': '\(memory)' is more than 64T"), "\(r.out)")
            }
        }
        guard let big = try Self.vfioctl(["init", "--root", "examples/hosts/z490-three-gpus", "--name", "x", "--device", "06:00.0",
                                          "--vcpus", "9223372036854775807", "--memory", "4G", "--looking-glass", "99999999x99999999"]) else { return }
        #expect(big.status != 132 && big.status != 0, "\(big.out)")
        guard let mem = try Self.vfioctl(["init", "--root", "examples/hosts/z490-three-gpus", "--name", "x", "--device", "06:00.0",
                                          "--vcpus", "4", "--memory", "99999999999T"]) else { return }
        #expect(mem.status == 3 && mem.out.contains("--memory: key 'memory': '99999999999T' is more than 64T"), "\(mem.out)")
    }

    @Test func specFilesAreReadOnlyUpToTheirCap() throws {
        // /dev/zero never ends: the old reader tried to hold all of it.
        guard let zero = try Self.vfioctl(["render", "libvirt", "/dev/zero"]) else { return }
        #expect(zero.status == 3 && zero.out.contains("/dev/zero: larger than 1048576 bytes: not a VM spec"), "\(zero.out)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-big-\(UUID().uuidString).toml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try (try String(contentsOfFile: Repo.path("examples/specs/z490-rtx2060.toml"), encoding: .utf8) + String(repeating: "#", count: 1 << 20))
            .write(toFile: file, atomically: true, encoding: .utf8)
        guard let big = try Self.vfioctl(["plan", file]) else { return }
        #expect(big.status == 3 && big.out.contains("larger than 1048576 bytes"), "\(big.out)")
    }

    @Test func setupDryRunApplyRevertThroughTheCLI() throws {
        let dir = try SetupTests.copy("arch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = SetupTests.snapshot(dir)
        guard let dry = try Self.vfioctl(["setup", "examples/specs/z490-rtx2060.toml", "--root", dir]) else { return }
        #expect(dry.status == 0)
        Golden.check(dry.out, "setup/arch.diff")
        #expect(SetupTests.snapshot(dir) == before)
        let apply = try Self.vfioctl(["setup", "examples/specs/z490-rtx2060.toml", "--root", dir, "--apply"])!
        #expect(apply.status == 0 && apply.out.contains("mkinitcpio -P"))
        #expect(SetupTests.snapshot(dir) != before)
        let again = try Self.vfioctl(["setup", "examples/specs/z490-rtx2060.toml", "--root", dir])!
        #expect(again.out.contains("nothing to change"))
        let revert = try Self.vfioctl(["setup", "--revert", "--root", dir])!
        #expect(revert.status == 0)
        #expect(SetupTests.snapshot(dir) == before)
    }
}
