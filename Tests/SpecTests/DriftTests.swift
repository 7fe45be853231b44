import Foundation
import Testing
import VFIOCore

/// The spec records who each device is; doctor and the hook compare it with the host (`SpecDrift`).
@Suite struct SpecDriftTests {
    /// z490-three-gpus: the RTX 2060 at 06:00.0 behind root port 00:1c.0.
    func spec(_ edit: (inout VMSpec) -> Void = { _ in }) throws -> (VMSpec, HostModel) {
        let (_, host) = try Examples.load("z490-three-gpus")
        var (spec, _) = try Examples.spec(Examples.cases[0])
        spec.devices = Array(spec.devices.prefix(1))
        edit(&spec)
        return (spec, host)
    }

    @Test func initRecordsSubsystemAndSlotPath() throws {
        let (spec, host) = try spec()
        let h = try #require(host.device(spec.devices[0].address))
        let identity = try #require(spec.devices[0].identity)
        #expect(identity.subsystemVendorID == h.subsystemVendorID && identity.subsystemDeviceID == h.subsystemDeviceID)
        #expect(identity.slotPath == [PCIAddress("0000:00:1c.0")!])
        #expect(SpecDrift.check(spec: spec, host: host).map(\.kind) == [.same])
    }

    @Test func identityRoundTripsThroughTheSpecFile() throws {
        let (spec, _) = try spec()
        let text = spec.toml()
        #expect(text.contains("slot-path = [\"0000:00:1c.0\"]"))
        #expect(try VMSpec.parse(text).devices[0].identity == spec.devices[0].identity)
    }

    @Test func oldSpecWithoutIdentityStillLoadsAndSaysHowToAddIt() throws {
        let (spec, host) = try spec { $0.devices[0].identity = nil }
        let parsed = try VMSpec.parse(spec.toml())
        #expect(parsed.devices[0].identity == nil)
        let drift = SpecDrift.check(spec: parsed, host: host)
        #expect(drift.map(\.kind) == [.notRecorded] && !drift[0].refuses)
        let report = Doctor.run(CheckContext(host: host, targets: [], spec: SpecContext(path: "/etc/vfioctl/vm.toml", spec: parsed)))
        let f = try #require(report.findings.first { $0.check == "spec.device-identity" })
        #expect(f.status == .info)
        let h = try #require(host.device(spec.devices[0].address))
        #expect(f.fix == "Add under its [[device]] in /etc/vfioctl/vm.toml: subsystem = \"\(hex(h.subsystemVendorID!, width: 4)):\(hex(h.subsystemDeviceID!, width: 4))\"; slot-path = [\"0000:00:1c.0\"]   (vfioctl init writes them)")
    }

    @Test func addressNowHoldsAnotherDeviceAndTheRecordedOneIsFound() throws {
        // The spec says 05:00.0 (now the Samsung NVMe) for the RTX 2060: buses were renumbered.
        let (spec, host) = try spec { $0.devices[0].address = PCIAddress("0000:05:00.0")! }
        let drift = SpecDrift.check(spec: spec, host: host)
        #expect(drift.map(\.kind) == [.otherDevice] && drift[0].refuses)
        #expect(drift[0].movedTo == PCIAddress("0000:06:00.0"))
        #expect(drift[0].description.hasPrefix("0000:05:00.0 now holds 144d:"))
        #expect(drift[0].description.hasSuffix("; it is now at 0000:06:00.0"))
        let report = Doctor.run(CheckContext(host: host, targets: [], spec: SpecContext(path: "vm.toml", spec: spec)))
        let f = try #require(report.findings.first { $0.check == "spec.device-identity" })
        #expect(f.status == .fail && report.exitStatus == 2)
        #expect(f.fix == "Change address = \"0000:05:00.0\" to address = \"0000:06:00.0\" in the spec (and its slot-path), or run vfioctl init again")
    }

    @Test func emptyAddressAndNoMatchAnywhere() throws {
        let (spec, host) = try spec {
            $0.devices[0].address = PCIAddress("0000:42:00.0")!
            $0.devices[0].identity?.subsystemDeviceID = 0xbeef
        }
        let drift = SpecDrift.check(spec: spec, host: host)[0]
        #expect(drift.kind == .empty && drift.refuses && drift.movedTo == nil)
        #expect(drift.description.hasSuffix("; no device on this host matches it"))
    }

    @Test func sameModelOtherBoardIsAnotherCard() throws {
        let (spec, host) = try spec { $0.devices[0].identity?.subsystemVendorID = 0x1458 }
        let drift = SpecDrift.check(spec: spec, host: host)[0]
        #expect(drift.kind == .otherCard && drift.refuses)
        #expect(drift.description.contains("same model, other board than 10de:1f08 (subsystem 1458:"))
    }

    @Test func renumberedBridgesWithoutATwinOnlyWarn() throws {
        let (spec, host) = try spec { $0.devices[0].identity?.slotPath = [PCIAddress("0000:00:1d.0")!] }
        let drift = SpecDrift.check(spec: spec, host: host)[0]
        #expect(drift.kind == .pathChanged && !drift.refuses)
        let report = Doctor.run(CheckContext(host: host, targets: [], spec: SpecContext(path: "vm.toml", spec: spec)))
        #expect(report.findings.first { $0.check == "spec.device-identity" }?.status == .warn)
    }

    @Test(arguments: [
        ("subsystem = \"10de\"", "key 'subsystem' in [device]: '10de' is not subsystem_vendor:subsystem_device (e.g. \"1458:4020\")"),
        ("slot-path = [\"root-port\"]", "key 'slot-path' in [device]: 'root-port' is not a PCI address (DDDD:BB:DD.F)"),
        ("slot-path = \"0000:00:1c.0\"", "key 'slot-path' in [device]: expected an array of strings, found a string"),
    ])
    func badIdentityKeysNameTheLine(_ line: String, _ message: String) throws {
        let (spec, _) = try spec { $0.devices[0].identity = nil }
        let text = spec.toml().replacingOccurrences(of: "kind = \"gpu\"", with: "kind = \"gpu\"\n" + line)
        let lineNumber = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0 == Substring(line) }.map { $0 + 1 } ?? 0
        #expect(throws: SpecError(line: lineNumber, message)) { try VMSpec.parse(text) }
    }
}
