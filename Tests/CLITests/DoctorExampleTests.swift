import Foundation
import Testing

/// Doctor's verdicts on the bundled example hosts, as a user runs it.
@Suite struct DoctorExampleTests {
    func doctor(_ args: [String]) throws -> (status: Int32, findings: [[String: Any]]) {
        let result = try CLI.vfioctl(["doctor", "--json"] + args)
        let json = try CLI.json(result.stdout)
        return (result.status, try #require(json["findings"] as? [[String: Any]]))
    }

    func statuses(_ findings: [[String: Any]], _ check: String) -> [String] {
        findings.filter { $0["check"] as? String == check }.compactMap { $0["status"] as? String }
    }

    @Test func cleanChipsetGPUIsReady() throws {
        let (status, findings) = try doctor(["--root", "examples/hosts/z490-three-gpus", "--device", "0000:06:00.0"])
        #expect(status == 0)
        #expect(statuses(findings, "iommu.enabled") == ["pass"])
        #expect(statuses(findings, "iommu.interrupt-remapping") == ["pass"])
        #expect(statuses(findings, "device.driver") == ["pass", "pass", "pass", "pass"])
        #expect(statuses(findings, "boot.vfio-ids") == ["pass"])
    }

    @Test func navi10InASharedGroupWarns() throws {
        let (status, findings) = try doctor(["--root", "examples/hosts/z490-three-gpus", "--device", "0000:04:00.0"])
        #expect(status == 1)
        #expect(statuses(findings, "device.group-isolation") == ["warn"])
        let quirk = try #require(findings.first { $0["check"] as? String == "device.quirks" && $0["status"] as? String == "warn" })
        #expect(quirk["reference"] as? String == "https://github.com/gnif/vendor-reset")
        #expect((quirk["title"] as? String)?.contains("Navi 10") == true)
    }

    /// Group 15 also holds an idle xHCI and a SATA controller whose disk is not mounted: only the NIC carrying the
    /// default route is the host's (what bind refuses too).
    @Test func chipsetGroupWithTheDefaultRouteNICFails() throws {
        let (status, findings) = try doctor(["--root", "examples/hosts/ryzen-chipset-gpu", "--device", "0000:05:00.0"])
        #expect(status == 2)
        let group = try #require(findings.first { $0["check"] as? String == "device.group-isolation" })
        #expect(group["status"] as? String == "fail")
        let explanation = try #require(group["explanation"] as? String)
        #expect(group["subjects"] as? [String] == ["0000:04:00.0"])
        #expect(explanation.contains("is the network controller carrying the default route (enp4s0)"))
        #expect(!explanation.contains("ahci") && !explanation.contains("xhci"))
    }

    @Test func firmwareWithIOMMUOffFails() throws {
        let (status, findings) = try doctor(["--root", "examples/hosts/iommu-off"])
        #expect(status == 2)
        let iommu = try #require(findings.first { $0["check"] as? String == "iommu.enabled" })
        #expect(iommu["status"] as? String == "fail")
        #expect((iommu["fix"] as? String)?.contains("firmware") == true)
    }

    @Test func textReportEndsWithTheVerdict() throws {
        let result = try CLI.vfioctl(["doctor", "--root", "examples/hosts/iommu-off"])
        #expect(result.status == 2)
        #expect(result.stdout.contains("[FAIL]  No IOMMU"))
        #expect(result.stdout.split(separator: "\n").last?.hasSuffix("passthrough is blocked as the host stands") == true)
    }
}

/// An example host with a damaged class file and a terminal escape in driver_override, as a user sees it.
@Suite struct MalformedExampleHostTests {
    static func damagedCopy() throws -> URL {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("vfioctl-malformed-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try fm.copyItem(at: CLI.repo.appendingPathComponent("examples/hosts/z490-three-gpus"), to: root)
        let dir = root.appendingPathComponent("sys/devices/pci0000:00/0000:00:1c.0/0000:06:00.0")
        try Data("garbage\n".utf8).write(to: dir.appendingPathComponent("class"))
        try Data("\u{1b}]0;pwned\u{07}\n".utf8).write(to: dir.appendingPathComponent("driver_override"))
        return root
    }

    @Test func listKeepsTheDeviceAndDoctorNamesTheFile() throws {
        let root = try Self.damagedCopy()
        defer { try? FileManager.default.removeItem(at: root) }

        let list = try CLI.vfioctl(["list", "--root", root.path])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("\t0000:06:00.0 Class [????]: "), "\(list.stdout)")
        #expect(list.stdout.contains("\t\tunreadable class: 'garbage' (/sys/bus/pci/devices/0000:06:00.0/class)"), "\(list.stdout)")
        #expect(list.stdout.contains("\t\tdriver_override: \\x1b]0;pwned\\x07"), "\(list.stdout)")
        #expect(!list.stdout.contains("\u{1b}"))

        let doctor = try CLI.vfioctl(["doctor", "--root", root.path, "--device", "0000:06:00.0"])
        #expect(doctor.stdout.contains("seen: /sys/bus/pci/devices/0000:06:00.0/class: expected a 24-bit hex value like 0x000000, read 'garbage'"), "\(doctor.stdout)")
        #expect(!doctor.stdout.contains("\u{1b}"))

        let json = try CLI.json(try CLI.vfioctl(["list", "--json", "--root", root.path]).stdout)
        let device = try #require((json["devices"] as? [[String: Any]])?.first { $0["address"] as? String == "0000:06:00.0" })
        #expect(device["class"] is NSNull && device["driverOverride"] as? String == "\u{1b}]0;pwned\u{07}")
    }
}
