import Foundation
import Testing

/// vfioctl's device list must agree with lspci, the reference reader of the same sysfs tree: same addresses,
/// ids, classes, revisions and names (both use the system's pci.ids).
@Suite struct LspciAgreementTests {
    static var roots: [String] { CLI.exampleHosts + ["/"] }

    @Test(arguments: roots)
    func listMatchesLspci(_ root: String) throws {
        guard let lspci = CLI.lspci else {
            print("skipped: lspci is not installed (apt-get install pciutils pci.ids)")
            return
        }
        let sysfs = root == "/" ? "/sys/bus/pci" : CLI.repo.appendingPathComponent(root).path + "/sys/bus/pci"
        let reference = try CLI.run(lspci, ["-A", "linux-sysfs", "-O", "sysfs.path=\(sysfs)", "-nn", "-D"])
        #expect(reference.status == 0, "lspci failed: \(reference.stderr)")
        let ours = try CLI.vfioctl(["list", "--root", root])
        #expect(ours.status == 0, "vfioctl list failed: \(ours.stderr)")

        let expected = reference.stdout.split(separator: "\n").map(String.init).sorted()
        let actual = ours.stdout.split(separator: "\n").filter { $0.hasPrefix("\t") && !$0.hasPrefix("\t\t") }
            .map { String($0.dropFirst()) }.sorted()
        #expect(!expected.isEmpty)
        #expect(actual == expected, "differences: \(Set(actual).symmetricDifference(expected).sorted())")
    }
}

@Suite struct ListJSONTests {
    @Test(arguments: CLI.exampleHosts)
    func jsonContract(_ root: String) throws {
        let result = try CLI.vfioctl(["list", "--json", "--root", root])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try CLI.json(result.stdout)
        let iommu = try #require(json["iommu"] as? [String: Any])
        let enabled = try #require(iommu["enabled"] as? Bool)
        let devices = try #require(json["devices"] as? [[String: Any]])
        let groups = try #require(json["groups"] as? [[String: Any]])
        #expect(!devices.isEmpty)
        let addresses = devices.compactMap { $0["address"] as? String }
        #expect(addresses == addresses.sorted())
        for d in devices {
            let address = try #require(d["address"] as? String)
            #expect(address.count == 12, "address with domain: \(address)")
            for key in ["vendor", "device", "class", "revision"] {
                let value = try #require(d[key] as? String)
                #expect(value.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(key)=\(value)")
            }
            #expect((d["class"] as? String)?.count == 4)
            #expect(d.keys.contains("driver") && d.keys.contains("iommuGroup"))
        }
        if enabled {
            #expect(!groups.isEmpty)
            // Every device in a group names that group, and groups list exactly those devices.
            for g in groups {
                let id = try #require(g["id"] as? Int)
                let members = try #require(g["devices"] as? [String])
                let claimed = devices.filter { ($0["iommuGroup"] as? Int) == id }.compactMap { $0["address"] as? String }
                #expect(members == claimed.sorted())
            }
        } else {
            #expect(groups.isEmpty)
            #expect(devices.allSatisfy { $0["iommuGroup"] is NSNull })
        }
    }

    @Test func badRootIsAClearError() throws {
        let result = try CLI.vfioctl(["list", "--root", "/nonexistent-vfioctl"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent-vfioctl"))
    }
}

@Suite struct DoctorOnThisMachineTests {
    /// The development and CI machines are VM guests without an IOMMU: doctor must say so and exit 2.
    @Test func thisMachineHasNoIOMMU() throws {
        guard !FileManager.default.fileExists(atPath: "/sys/class/iommu") || ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/kernel/iommu_groups")) ?? []).isEmpty else {
            print("skipped: this machine has an IOMMU")
            return
        }
        let result = try CLI.vfioctl(["doctor", "--json"])
        #expect(result.status == 2)
        let findings = try #require(try CLI.json(result.stdout)["findings"] as? [[String: Any]])
        let iommu = try #require(findings.first { $0["check"] as? String == "iommu.enabled" })
        #expect(iommu["status"] as? String == "fail")
        let text = try CLI.vfioctl(["doctor"])
        #expect(text.stdout.contains("No IOMMU"))
        #expect(text.status == 2)
    }

    @Test func unknownDeviceIsRefusedByName() throws {
        let result = try CLI.vfioctl(["doctor", "--device", "0000:7f:1f.7"])
        #expect(result.status != 0 && result.status != 1 && result.status != 2)
        #expect(result.stderr.contains("0000:7f:1f.7"))
        let malformed = try CLI.vfioctl(["doctor", "--device", "gpu0"])
        #expect(malformed.stderr.contains("gpu0"))
    }
}
