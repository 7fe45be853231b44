import Foundation
import Testing
@testable import VFIOFixtures

/// Reads a rendered `config` back the way lspci and the kernel walk it.
struct ConfigReader {
    let bytes: [UInt8]
    func u8(_ o: Int) -> UInt8 { bytes[o] }
    func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }

    /// Standard capabilities: ID → offset.
    var capabilities: [UInt8: Int] {
        var out: [UInt8: Int] = [:]
        var p = Int(u8(0x34))
        var guardCount = 0
        while p != 0 && guardCount < 48 {
            out[u8(p)] = p
            p = Int(u8(p + 1))
            guardCount += 1
        }
        return out
    }

    /// Extended capabilities: ID → offset.
    var extendedCapabilities: [UInt16: Int] {
        var out: [UInt16: Int] = [:]
        guard bytes.count == 4096 else { return out }
        var p = 0x100
        while p != 0 {
            let header = u32(p)
            if header == 0 { break }
            out[UInt16(header & 0xffff)] = p
            p = Int(header >> 20)
        }
        return out
    }
}

@Suite struct ConfigSpaceTests {
    static func host() -> HostTree {
        var host = HostTree()
        let rp = host.addDevice("0000:00:01.0", vendor: 0x8086, device: 0x1901, classCode: 0x060400, driver: "pcieport")
        host.addDevice("0000:01:00.0", parent: rp, vendor: 0x10de, device: 0x21c4, subsystem: (0x1462, 0xc758),
                       classCode: 0x030000, revision: 0xa1, driver: "nvidia",
                       caps: [.pm, .msi, .pcie(.legacyEndpoint, flr: true), .aer, .acs])
        host.addDevice("0000:01:00.1", parent: rp, vendor: 0x10de, device: 0x1aeb, classCode: 0x040300, revision: 0xa1)
        return host
    }

    @Test func endpointHeaderAndCapabilitiesParseBack() throws {
        let tree = try Self.host().render()
        guard case .file(let bytes)? = tree["sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config"] else {
            Issue.record("no config file")
            return
        }
        let c = ConfigReader(bytes: bytes)
        #expect(bytes.count == 4096)
        #expect(c.u16(0x00) == 0x10de && c.u16(0x02) == 0x21c4)
        #expect(c.u16(0x06) & 0x10 != 0, "status: capabilities list")
        #expect(c.u8(0x08) == 0xa1 && c.u8(0x09) == 0x00 && c.u8(0x0a) == 0x00 && c.u8(0x0b) == 0x03)
        #expect(c.u8(0x0e) == 0x80, "type 0, multifunction: 01:00.1 exists")
        #expect(c.u16(0x2c) == 0x1462 && c.u16(0x2e) == 0xc758)
        let caps = c.capabilities
        #expect(Set(caps.keys) == [0x01, 0x05, 0x10])
        let pcie = try #require(caps[0x10])
        #expect((c.u16(pcie + 2) >> 4) & 0xf == 1, "legacy endpoint")
        #expect(c.u32(pcie + 4) & (1 << 28) != 0, "Device Capabilities: FLR")
        #expect(Set(c.extendedCapabilities.keys) == [0x0001, 0x000d])
        #expect(tree.text("sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/reset_method") == "flr pm bus\n")
        #expect(tree.text("sys/bus/pci/devices/0000:01:00.0/vendor") == nil, "a symlink, not a copy")
    }

    @Test func bridgeCarriesBusNumbersAndDefaultPortCapabilities() throws {
        let tree = try Self.host().render()
        guard case .file(let bytes)? = tree["sys/devices/pci0000:00/0000:00:01.0/config"] else {
            Issue.record("no config file")
            return
        }
        let c = ConfigReader(bytes: bytes)
        #expect(c.u8(0x0e) == 0x01)
        #expect([c.u8(0x18), c.u8(0x19), c.u8(0x1a)] == [0x00, 0x01, 0x01])
        let pcie = try #require(c.capabilities[0x10])
        #expect((c.u16(pcie + 2) >> 4) & 0xf == 4, "root port")
        let acs = try #require(c.extendedCapabilities[0x000d])
        #expect(c.u16(acs + 6) & 0x1 != 0, "ACS source validation enabled")
    }

    @Test func childOnItsParentsBusIsRejected() {
        var host = HostTree()
        let rp = host.addDevice("0000:00:01.0", vendor: 0x8086, device: 0x1901, classCode: 0x060400)
        host.addDevice("0000:00:02.0", parent: rp, vendor: 0x10de, device: 0x21c4, classCode: 0x030000)
        #expect(throws: FixtureError.self) { try host.render() }
    }
}
