import ArgumentParser
import Foundation
import Testing
@testable import vfioctl

/// A bad value on the command line is a usage error: exit 64, the value named, before anything touches the host.
@Suite struct TypedArgumentTests {
    static let ryzen = "examples/hosts/ryzen-chipset-gpu"

    @Test(arguments: [
        ["bind", "--root", ryzen, "--dry-run", "0000:zz:00.0"],
        ["bind", "--root", ryzen, "--dry-run", "05:00.0", "0000:zz:00.0"],
        ["restore", "--root", ryzen, "--dry-run", "0000:zz:00.0"],
        ["verify", "--root", ryzen, "0000:zz:00.0"],
        ["doctor", "--root", ryzen, "--device", "0000:zz:00.0"],
        ["doctor", "--root", ryzen, "--device=0000:zz:00.0", "--json"],
    ])
    func badPCIAddress(_ argv: [String]) throws {
        let r = try CLI.vfioctl(argv)
        #expect(r.status == 64, "\(argv): \(r.stderr)")
        #expect(r.stderr.contains("'0000:zz:00.0'"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test(arguments: ["7-3", "abc", "", "9000", "1-2-3"])
    func badCPUList(_ list: String) throws {
        let r = try CLI.vfioctl(["shield", "--root", Self.ryzen, "--dry-run", "--cpus", list])
        #expect(r.status == 64, "\(list): \(r.stderr)")
        #expect(r.stderr.contains("'\(list)'"), "\(r.stderr)")
    }

    @Test(arguments: [
        (["latency", "--cpu", "99999"], "99999"),
        (["latency", "--cpu=-1"], "-1"),
        (["latency", "--cpu", "two"], "two"),
        (["latency", "--cpu", "0", "--policy", "rr"], "rr"),
        (["latency", "--cpu", "0", "--duration", "0"], "0.0"),
        (["shield", "--dry-run", "--cpus", "2", "--vm=-x"], "-x"),
        (["unshield", "--vm", ""], "''"),
        (["shield", "--dry-run", "--cpus", "2", "--spec", "x.toml"], "--spec"),
    ])
    func otherBadValues(_ argv: [String], _ named: String) throws {
        let r = try CLI.vfioctl(argv)
        #expect(r.status == 64, "\(argv): \(r.stderr)")
        #expect(r.stderr.contains(named), "\(r.stderr)")
    }

    /// Sizes as spec files write them; a bad one names itself in ArgumentParser's usage error (exit 64).
    @Test func memorySizes() throws {
        struct Sized: ParsableArguments {
            @Option var memory: MemoryArgument
        }
        #expect(try Sized.parse(["--memory", "16G"]).memory == MemoryArgument(mib: 16384))
        #expect(try Sized.parse(["--memory", "512MiB"]).memory == MemoryArgument(mib: 512))
        for bad in ["16Q", "0G", "-4G", "99999999T"] {
            do {
                _ = try Sized.parse(["--memory=\(bad)"])
                Issue.record("\(bad) parsed")
            } catch {
                #expect(Sized.exitCode(for: error) == ExitCode(64))
                #expect(Sized.message(for: error).contains("'\(bad)'"), "\(Sized.message(for: error))")
            }
        }
    }

    @Test func goodValuesStillWork() throws {
        let r = try CLI.vfioctl(["shield", "--root", Self.ryzen, "--dry-run", "--cpus", "3-11,15-23"])
        #expect(r.status == 0, "\(r.stderr)")
        let d = try CLI.vfioctl(["doctor", "--root", Self.ryzen, "--device", "05:00.0", "--json"])
        #expect(d.status == 2, "\(d.stderr)")
        // A well-formed address that is not on the host is vfioctl's answer about the host, not a usage error.
        let absent = try CLI.vfioctl(["doctor", "--root", Self.ryzen, "--device", "0000:7f:00.0"])
        #expect(absent.status == 3 && absent.stderr.contains("0000:7f:00.0"))
    }
}

/// `bind --dry-run --json`: `{"steps": [...], "refusals": [{"device", "hostCritical", "reason"}]}`.
@Suite struct BindJSONTests {
    func bind(_ args: [String]) throws -> (status: Int32, json: [String: Any]) {
        let r = try CLI.vfioctl(["bind", "--dry-run", "--json"] + args)
        return (r.status, try CLI.json(r.stdout))
    }

    @Test func ryzenChipsetGroupIsRefusedForTheNICOnly() throws {
        let (status, json) = try bind(["--root", "examples/hosts/ryzen-chipset-gpu", "0000:05:00.0"])
        #expect(status == 2)
        #expect(Set(json.keys) == ["steps", "refusals"])
        let refusals = try #require(json["refusals"] as? [[String: Any]])
        #expect(refusals.count == 1)
        #expect(Set(refusals[0].keys) == ["device", "hostCritical", "reason"])
        #expect(refusals[0]["device"] as? String == "0000:04:00.0")
        #expect(refusals[0]["hostCritical"] as? Bool == true)
        #expect((refusals[0]["reason"] as? String)?.contains("the network controller carrying the default route (enp4s0)") == true)
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.first?["summary"] as? String == "0000:02:00.0: driver_override ← vfio-pci")
        #expect(steps.last?["waitFor"] as? [String] == ["/dev/vfio/15 exists"])
    }

    @Test func refusalsThatAreNotTheHostsNeeds() throws {
        // No IOMMU: refused for every named device, but nothing the host needs.
        let (status, json) = try bind(["--root", "examples/hosts/iommu-off", "0000:01:00.0"])
        #expect(status == 2)
        let refusals = try #require(json["refusals"] as? [[String: Any]])
        #expect(refusals.contains { $0["device"] as? String == "0000:01:00.0" && $0["hostCritical"] as? Bool == false })
    }

    @Test func theBootDisplayStopsBeingCriticalWhenHandedOver() throws {
        let root = "examples/hosts/ryzen-chipset-gpu"
        let (_, plain) = try bind(["--root", root, "0000:06:00.0"])
        let (status, taken) = try bind(["--root", root, "--take-display", "0000:06:00.0"])
        func display(_ json: [String: Any]) -> [String: Any]? {
            (json["refusals"] as? [[String: Any]])?.first { ($0["reason"] as? String)?.contains("boot display") == true }
        }
        #expect(display(plain)?["hostCritical"] as? Bool == true)
        #expect(display(taken)?["hostCritical"] as? Bool == false)
        #expect(status == 0)
    }

    @Test func jsonWithoutDryRunIsAUsageError() throws {
        let r = try CLI.vfioctl(["bind", "--json", "--root", "examples/hosts/ryzen-chipset-gpu", "0000:05:00.0"])
        #expect(r.status == 64 && r.stderr.contains("--dry-run"), "\(r.stderr)")
    }
}
