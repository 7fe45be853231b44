import Testing
import VFIOCore

@Suite struct FleetPolicyTests {
    func device(_ report: FleetReport, _ node: String, _ address: String) throws -> FleetDevice {
        let n = try #require(report.nodes.first { $0.name == node })
        return try #require(n.devices.first { $0.address == addr(address) })
    }

    @Test func twinGPUHostKeepsItsBootDisplayAndPassesTheOther() throws {
        let report = try ExampleFleet.report(["x570-twin-gpus"])
        #expect(report.nodes.map(\.name) == ["x570"])
        let host = try device(report, "x570", "0b:00.0")
        #expect(host.verdict == .blocked(reason: "the host needs it: the host's boot display"))
        let guest = try device(report, "x570", "0c:00.0")
        #expect(guest.verdict == .passable)
        #expect(guest.functions == [addr("0c:00.0"), addr("0c:00.1")])
        // The audio functions are not rows of their own: they go with their card.
        #expect(!report.nodes[0].devices.contains { $0.address == addr("0c:00.1") || $0.address == addr("0b:00.1") })
    }

    @Test func quadNICKeepsTheUplinkPortAndPassesTheOthers() throws {
        let report = try ExampleFleet.report(["x570-twin-gpus"])
        #expect(try device(report, "x570", "05:00.0").verdict == .blocked(reason: "the host needs it: the network controller carrying the default route (enp5s0f0)"))
        for port in ["05:00.1", "05:00.2", "05:00.3"] { #expect(try device(report, "x570", port).verdict == .passable) }
        #expect(try device(report, "x570", "04:00.0").verdict == .blocked(reason: "the host needs it: the controller of the root filesystem (/ on /dev/nvme0n1p2)"))
    }

    @Test func chipsetGroupWithHostDevicesIsBlockedLikeDoctorSays() throws {
        let report = try ExampleFleet.report(["ryzen-chipset-gpu"])
        let gtx = try device(report, "ryzen", "05:00.0")
        guard case .blocked(let reason) = gtx.verdict else { Issue.record("GTX 1060 in group 15 should be blocked: \(gtx.verdict)"); return }
        #expect(reason.hasPrefix("IOMMU group 15 also holds devices the host needs: "))
        // Doctor, given the same usage facts, fails the group on exactly these members (one policy, HostNeeds).
        let node = try ExampleFleet.node("ryzen-chipset-gpu")
        let finding = try #require(CheckRegistry.check("device.group-isolation")?
            .run(CheckContext(host: node.host, targets: [addr("05:00.0")], usage: node.facts.usage)).first { $0.status == .fail })
        #expect(reason == "IOMMU group 15 also holds devices the host needs: " + finding.subjects.map(\.description).joined(separator: ", "))
    }

    @Test func sharedCPUGroupIsPassableOnlyWithTheOtherCard() throws {
        let report = try ExampleFleet.report(["z490-three-gpus"])
        let gtx = try device(report, "z490", "01:00.0")
        #expect(gtx.verdict == .passableWithGroup(others: [addr("04:00.0"), addr("04:00.1")]))
        #expect(!gtx.isPassable)
        // Not exported anywhere, and the export says why.
        #expect(!NovaExport.render(report).text.split(separator: "\n").contains { !$0.hasPrefix("#") && $0.contains("21c4") })
        #expect(NovaExport.render(report).notes.contains { $0.contains("0000:01:00.0") && $0.contains("0000:04:00.0") })
    }

    @Test func hostWithoutIOMMUBlocksEveryDeviceAndSaysSoOnce() throws {
        let report = try ExampleFleet.report(["iommu-off"])
        let node = report.nodes[0]
        #expect(node.name == "z370" && node.hostFails)
        #expect(node.hostBlockers.map(\.check) == ["iommu.enabled"])
        #expect(!node.devices.isEmpty && node.devices.allSatisfy { $0.verdict == .blocked(reason: "no IOMMU on this node") })
        #expect(FleetDoctorRenderer.exitStatus(report) == 2)
    }

    /// The verdict follows `device.group-isolation` wherever the host level allows passthrough: fail is
    /// blocked, pass/info is passable unless the host needs the device itself, warn with other cards is
    /// "with its group".
    @Test(arguments: ["x570-twin-gpus", "z490-three-gpus", "ryzen-chipset-gpu"])
    func verdictsFollowTheGroupCheck(_ host: String) throws {
        let report = try ExampleFleet.report([host])
        let model = try ExampleFleet.node(host).host
        for d in report.nodes[0].devices {
            let finding = try #require(CheckRegistry.check("device.group-isolation")?.run(CheckContext(host: model, targets: [d.address])).first)
            switch finding.status {
            case .fail: #expect(!d.isPassable, "\(d.address): group check fails but verdict is \(d.verdict)")
            case .warn: #expect(!d.isPassable, "\(d.address): group check warns but verdict is \(d.verdict)")
            case .pass, .info:
                if case .passableWithGroup = d.verdict { Issue.record("\(d.address): alone in its group yet 'with its group'") }
                if case .blocked(let reason) = d.verdict { #expect(reason.hasPrefix("the host needs it: "), "\(d.address): \(reason)") }
            default: Issue.record("\(d.address): unexpected \(finding.status)")
            }
        }
    }

    @Test func restrictingToOneModelKeepsOnlyIt() throws {
        let report = try ExampleFleet.report(["x570-twin-gpus"]).restricted(to: [PCIID(vendor: 0x10de, device: 0x2504)])
        #expect(report.models.map(\.id.description) == ["10de:2504"])
        #expect(report.nodes[0].devices.map(\.address) == [addr("0b:00.0"), addr("0c:00.0")])
        #expect(AddressBinding.functions(report.nodes[0]) == [addr("0c:00.0"), addr("0c:00.1")])
    }

    @Test func resourceNamesAreQualifiedNamesAndSlugsAreProxmoxIDs() {
        let long = FleetModel(id: PCIID(vendor: 0x1234, device: 0xabcd), vendorName: nil,
                              deviceName: String(repeating: "Very Long Name ", count: 10), className: nil, pciClass: PCIClass(base: 3, sub: 0))
        let bare = FleetModel(id: PCIID(vendor: 0x1234, device: 0x0001), vendorName: nil, deviceName: nil, className: nil, pciClass: PCIClass(base: 2, sub: 0))
        let names = FleetNames.resourceNames([long, bare])
        #expect(names[long.id].map { $0.split(separator: "/").last!.count <= 63 } == true)
        #expect(names[bare.id] == "vfioctl.io/PCI_1234_0001")
        #expect(FleetNames.slugs([bare])[bare.id] == "pci_1234_0001")
        // Two models with one name get their device ids appended.
        let twin = FleetModel(id: PCIID(vendor: 0x10de, device: 0x2504), vendorName: nil, deviceName: "GA106", className: nil, pciClass: PCIClass(base: 3, sub: 0))
        let other = FleetModel(id: PCIID(vendor: 0x10de, device: 0x2503), vendorName: nil, deviceName: "GA106", className: nil, pciClass: PCIClass(base: 3, sub: 0))
        #expect(FleetNames.resourceNames([twin, other]) == [twin.id: "nvidia.com/GA106_2504", other.id: "nvidia.com/GA106_2503"])
    }
}
