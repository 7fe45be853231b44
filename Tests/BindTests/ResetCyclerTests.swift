import Foundation
import Testing
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

/// A fake VFIO whose config space a reset can change: `afterReset[n]` is what reads return after reset n.
final class ResettingFakeVFIO: VFIOAPI, @unchecked Sendable {
    var config: [UInt8]
    var afterReset: [Int: [UInt8]] = [:]
    var failReset: Set<Int> = []
    var flags = VFIOConstants.devicePCI | VFIOConstants.deviceReset
    private(set) var resets = 0
    private(set) var calls: [String] = []

    init(vendor: UInt16 = 0x1b36, device: UInt16 = 0x0010) {
        var b = [UInt8](repeating: 0, count: 64)
        b[0] = UInt8(vendor & 0xff); b[1] = UInt8(vendor >> 8); b[2] = UInt8(device & 0xff); b[3] = UInt8(device >> 8)
        b[4] = 0x06; b[0x09] = 0x02; b[0x0a] = 0x08; b[0x0b] = 0x01
        b[0x10] = 0x04; b[0x13] = 0xfe      // BAR0 64-bit at 0xfe000000
        config = b
    }

    func open(_ path: String) throws(VFIOErrno) -> Int32 { calls.append("open \(path)"); return 10 }
    func close(_ fd: Int32) {}
    func apiVersion(container: Int32) throws(VFIOErrno) -> Int32 { VFIOConstants.apiVersion }
    func checkExtension(container: Int32, _ ext: Int32) throws(VFIOErrno) -> Bool { ext == VFIOConstants.type1v2 }
    func groupStatus(group: Int32) throws(VFIOErrno) -> UInt32 { VFIOConstants.groupViable }
    func setContainer(group: Int32, container: Int32) throws(VFIOErrno) { calls.append("set container") }
    func setIOMMU(container: Int32, type: Int32) throws(VFIOErrno) { calls.append("set iommu") }
    func deviceFD(group: Int32, address: String) throws(VFIOErrno) -> Int32 { calls.append("device \(address)"); return 99 }
    func deviceInfo(device: Int32) throws(VFIOErrno) -> VFIODeviceInfo { VFIODeviceInfo(flags: flags, regions: 9, irqs: 5) }
    func regionInfo(device: Int32, index: UInt32) throws(VFIOErrno) -> VFIORegionInfo { VFIORegionInfo(flags: 3, size: 4096, offset: 7 << 40) }
    func read(device: Int32, offset: UInt64, count: Int) throws(VFIOErrno) -> [UInt8] {
        calls.append("read")
        return Array((afterReset[resets] ?? config).prefix(count))
    }
    func reset(device: Int32) throws(VFIOErrno) {
        resets += 1
        calls.append("reset")
        if failReset.contains(resets) { throw VFIOErrno(EIO) }
    }
}

@Suite struct ResetCyclerTests {
    func host(resetMethod: [String]? = ["flr", "bus"]) throws -> HostModel {
        var t = LabLikeHost.tree()
        let nvme = try #require(t.devices.first { $0.address.description == "0000:03:00.0" })
        t.update(nvme.address) { $0.driver = "vfio-pci" }
        let kernel = try FakeKernel(t)
        var host = try withExtendedLifetime(kernel) { try HostLoader(kernel.files).load(.inventory) }
        if let i = host.devices.firstIndex(where: { $0.address == LabLikeHost.nvme }) { host.devices[i].resetMethods = resetMethod }
        return host
    }

    @Test func threeSaneCyclesNameTheKernelsMethod() throws {
        let api = ResettingFakeVFIO()
        let report = ResetCycler(api: api).run(LabLikeHost.nvme, host: try host(), cycles: 3)
        #expect(report.passed && report.cycles.count == 3 && api.resets == 3)
        #expect(api.calls.filter { $0 == "reset" || $0 == "read" } == ["read", "reset", "read", "reset", "read", "reset", "read"])
        let lines = report.lines
        #expect(lines[0].hasPrefix("cycle 1/3: [ok] "))
        #expect(lines[0].hasSuffix(": config 1b36:0010 class 010802, command 0x0006, BARs as before"))
        #expect(lines.last == "0000:03:00.0: 3 of 3 resets came back sane; reset method flr (reset_method: flr bus)")
    }

    @Test func deviceThatFallsOffTheBusFailsItsCycle() throws {
        let api = ResettingFakeVFIO()
        api.afterReset[2] = [UInt8](repeating: 0xff, count: 64)
        api.afterReset[3] = [UInt8](repeating: 0xff, count: 64)
        let report = ResetCycler(api: api).run(LabLikeHost.nvme, host: try host(), cycles: 3)
        #expect(!report.passed)
        #expect(report.cycles.map(\.ok) == [true, false, false])
        #expect(report.lines[1].hasSuffix("config space reads ffff:ffff: the device fell off the bus (the reset left it dead)"))
        #expect(report.lines.contains("0000:03:00.0: 1 of 3 resets came back sane; reset method flr (reset_method: flr bus)"))
    }

    @Test func changedClassAndLostBARsAreNamed() throws {
        let api = ResettingFakeVFIO()
        var after = api.config
        after[0x0b] = 0x03
        after[0x13] = 0
        api.afterReset[1] = after
        let report = ResetCycler(api: api).run(LabLikeHost.nvme, host: try host(), cycles: 1)
        #expect(report.cycles[0].detail == "class changed from 010802 to 030802; BAR0 0xfe000004 → 0x00000004 (not restored)")
    }

    @Test func resetErrorAndNoResetSupport() throws {
        let api = ResettingFakeVFIO()
        api.failReset = [1]
        let report = ResetCycler(api: api).run(LabLikeHost.nvme, host: try host(), cycles: 2)
        #expect(report.cycles.map(\.ok) == [false, true])
        #expect(report.cycles[0].detail.hasPrefix("VFIO_DEVICE_RESET: "))
        let none = ResettingFakeVFIO()
        none.flags = VFIOConstants.devicePCI
        let r = ResetCycler(api: none).run(LabLikeHost.nvme, host: try host(resetMethod: []), cycles: 2)
        #expect(!r.passed && none.resets == 0)
        #expect(r.lines == ["0000:03:00.0: VFIO reports no reset for this device (reset_method: ): every VM start gets it as the last VM left it"])
    }

    @Test func resetMethodIsReadFromSysfsWhenVerifyLoadedOnlyTheInventory() throws {
        // verify loads the inventory scope, which leaves reset_method out: the method was reported "unknown".
        var t = LabLikeHost.tree()
        let nvme = try #require(t.devices.first { $0.address.description == "0000:03:00.0" })
        t.update(nvme.address) { $0.driver = "vfio-pci" }
        let kernel = try FakeKernel(t)
        let host = try HostLoader(kernel.files).load(.inventory)
        #expect(host.device(LabLikeHost.nvme)?.resetMethods == nil)
        let file = String(decoding: try kernel.files.readBytes("/sys/bus/pci/devices/0000:03:00.0/reset_method"), as: UTF8.self)
        let first = try #require(file.split(whereSeparator: { $0 == " " || $0 == "\n" }).first)
        let report = ResetCycler(api: ResettingFakeVFIO()).run(LabLikeHost.nvme, host: host, cycles: 1, files: kernel.files)
        #expect(report.lines.last?.hasSuffix("reset method \(first) (reset_method: \(file.trimmingCharacters(in: .whitespacesAndNewlines)))") == true)
        withExtendedLifetime(kernel) {}
    }

    @Test func cycleCountIsBounded() throws {
        let api = ResettingFakeVFIO()
        #expect(ResetCycler(api: api).run(LabLikeHost.nvme, host: try host(), cycles: 0).setupError == "--reset-cycles 0: give 1 to 1000")
        #expect(api.calls.isEmpty)
    }
}
