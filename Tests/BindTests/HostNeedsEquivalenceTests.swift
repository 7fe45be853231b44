import Foundation
import Testing
@testable import VFIOCore
@testable import VFIOHost

/// One policy: on every endpoint of every example host, doctor's group-isolation finding names exactly the
/// devices bind refuses as host-critical, and both are `HostNeeds`' verdicts.
@Suite struct HostNeedsEquivalenceTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/hosts")

    static var hosts: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []
        return names.sorted().filter { FileManager.default.fileExists(atPath: examples.appendingPathComponent("\($0)/sys").path) }
    }

    @Test func everyExampleHostIsThere() {
        #expect(Self.hosts.count >= 5, "\(Self.hosts)")
    }

    @Test(arguments: hosts)
    func doctorBindAndThePolicyAgree(_ name: String) throws {
        let session = try HostSession(root: Self.examples.appendingPathComponent(name).path)
        let host = try session.load()
        let usage = HostUsage.load(session.files)
        let facts = BindFacts.load(session.files, host: host)
        #expect(facts.usage == usage)
        let groupIsolation = CheckRegistry.all.filter { $0.id == "device.group-isolation" }
        var critical = 0
        for d in host.devices where !d.isBridge {
            // Doctor weighs a display as `bind --take-display` does (the handoff makes it passable): compare both
            // with the policy under that same assumption.
            let policy = Set(HostNeeds.critical(around: d.address, host: host, usage: usage, displayHandoff: true).map(\.device.address))
            let findings = Doctor.run(CheckContext(host: host, targets: [d.address], usage: usage), checks: groupIsolation).findings
            let doctor = Set(findings.filter { $0.title.hasSuffix("the host needs") }.flatMap(\.subjects))
            #expect(findings.filter { $0.title.hasSuffix("the host needs") }.count <= 1, "\(name) \(d.address)")
            let plan = try BindPlanner.plan([d.address], host: host, facts: facts)
            let bind = Set(plan.refusals.filter { $0.isHostCritical(displayHandoff: true) }.compactMap(\.device))
            #expect(doctor == policy, "\(name) \(d.address): doctor \(doctor.sorted()) policy \(policy.sorted())")
            #expect(bind == policy, "\(name) \(d.address): bind \(bind.sorted()) policy \(policy.sorted())")
            // The same reason sentence in both.
            for r in plan.refusals where r.isHostCritical(displayHandoff: true) {
                guard let a = r.device, let why = HostNeeds.verdict(host.device(a)!, host: host, usage: usage).reason else { continue }
                #expect(r.description.contains(why))
                #expect(findings.contains { $0.explanation.contains(why) }, "\(name) \(d.address): \(why)")
            }
            if !policy.isEmpty { critical += 1 }
        }
        if name != "lab-q35" { #expect(critical > 0, "\(name): no endpoint needed by the host, the comparison proves little") }
    }

    /// The ryzen example: the GTX 1060 in the chipset slot shares group 15 with the xHCI (nothing plugged), the
    /// SATA controller (sda, not mounted) and the NIC carrying the default route. Only the NIC is the host's.
    @Test func ryzenChipsetGroupNeedsOnlyTheNIC() throws {
        let session = try HostSession(root: Self.examples.appendingPathComponent("ryzen-chipset-gpu").path)
        let host = try session.load()
        let gpu = PCIAddress("0000:05:00.0")!
        let critical = HostNeeds.critical(around: gpu, host: host, usage: HostUsage.load(session.files))
        #expect(critical.map(\.device.address) == [PCIAddress("0000:04:00.0")!])
        #expect(critical.map(\.reason) == ["the network controller carrying the default route (enp4s0)"])
    }
}
