import Testing
import VFIOCore

@Suite struct IdenticalDevicesTests {
    @Test func twinGPUKeptByTheHostConflictsWithTheGuestGPU() throws {
        let host = try ExampleHost.load("x570-twin-gpus")
        let passed: Set = [addr("0c:00.0"), addr("0c:00.1")]
        let conflicts = IdenticalDevices.conflicts(host: host, passed: passed)
        #expect(conflicts == [
            PCIID(vendor: 0x10de, device: 0x2504): [addr("0b:00.0")],
            PCIID(vendor: 0x10de, device: 0x228e): [addr("0b:00.1")],
        ])
    }

    @Test func onePortOfAQuadNICConflictsWithTheOtherThree() throws {
        let host = try ExampleHost.load("x570-twin-gpus")
        let conflicts = IdenticalDevices.conflicts(host: host, passed: [addr("05:00.1")])
        #expect(conflicts == [PCIID(vendor: 0x8086, device: 0x1521): [addr("05:00.0"), addr("05:00.2"), addr("05:00.3")]])
    }

    @Test func passingEveryTwinLeavesNoConflict() throws {
        let host = try ExampleHost.load("x570-twin-gpus")
        let all: Set = [addr("0b:00.0"), addr("0b:00.1"), addr("0c:00.0"), addr("0c:00.1")]
        #expect(IdenticalDevices.conflicts(host: host, passed: all).isEmpty)
        let ports: Set = [addr("05:00.0"), addr("05:00.1"), addr("05:00.2"), addr("05:00.3")]
        #expect(IdenticalDevices.conflicts(host: host, passed: ports).isEmpty)
    }

    @Test func aUniqueDeviceHasNoConflict() throws {
        let host = try ExampleHost.load("x570-twin-gpus")
        #expect(IdenticalDevices.conflicts(host: host, passed: [addr("04:00.0")]).isEmpty)
        #expect(IdenticalDevices.conflicts(host: host, passed: []).isEmpty)
        // An address the host does not have selects nothing.
        #expect(IdenticalDevices.conflicts(host: host, passed: [addr("7f:00.0")]).isEmpty)
    }

    @Test func devicesWithUnreadableIDsAreNeverMatched() {
        var host = HostModel()
        var guest = PCIDevice(address: addr("01:00.0"), vendorID: 0x10de, deviceID: 0x2504, pciClass: PCIClass(base: 3, sub: 0))
        var broken = PCIDevice(address: addr("02:00.0"), vendorID: 0x10de, deviceID: 0x2504, pciClass: PCIClass(base: 3, sub: 0))
        broken.unparsedAttributes = [UnparsedAttribute(name: "device", path: "/sys/bus/pci/devices/0000:02:00.0/device", seen: "0xZZZZ")]
        host.devices = [guest, broken]
        #expect(IdenticalDevices.conflicts(host: host, passed: [guest.address]).isEmpty)
        guest.unparsedAttributes = broken.unparsedAttributes
        host.devices = [guest, PCIDevice(address: addr("02:00.0"), vendorID: 0x10de, deviceID: 0x2504, pciClass: PCIClass(base: 3, sub: 0))]
        #expect(IdenticalDevices.conflicts(host: host, passed: [guest.address]).isEmpty)
    }

    @Test func idTextRoundTrips() {
        #expect(PCIID("10DE:2504") == PCIID(vendor: 0x10de, device: 0x2504))
        #expect(PCIID(vendor: 0x10de, device: 0x2504).description == "10de:2504")
        #expect(PCIID("10de:250") == nil && PCIID("10de") == nil && PCIID("xxxx:2504") == nil && PCIID("10de:2504:1") == nil)
    }
}
