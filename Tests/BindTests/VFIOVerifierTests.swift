import Foundation
import Testing
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

/// The fake twin of `KernelVFIO`: answers the ioctls from a few facts, and records the calls.
final class FakeVFIO: VFIOAPI, @unchecked Sendable {
    var groups: Set<String> = ["/dev/vfio/9"]
    var viable = true
    var setIOMMUErrno: Int32?
    var config: [UInt8] = [0x36, 0x1b, 0x10, 0x00]
    var flags = VFIOConstants.devicePCI | VFIOConstants.deviceReset
    private(set) var calls: [String] = []
    private var next: Int32 = 10

    func open(_ path: String) throws(VFIOErrno) -> Int32 {
        calls.append("open \(path)")
        guard path == "/dev/vfio/vfio" || groups.contains(path) else { throw VFIOErrno(ENOENT) }
        next += 1
        return next
    }
    func close(_ fd: Int32) {}
    func apiVersion(container: Int32) throws(VFIOErrno) -> Int32 { VFIOConstants.apiVersion }
    func checkExtension(container: Int32, _ ext: Int32) throws(VFIOErrno) -> Bool { ext == VFIOConstants.type1v2 }
    func groupStatus(group: Int32) throws(VFIOErrno) -> UInt32 { viable ? VFIOConstants.groupViable : 0 }
    func setContainer(group: Int32, container: Int32) throws(VFIOErrno) { calls.append("set container") }
    func setIOMMU(container: Int32, type: Int32) throws(VFIOErrno) {
        calls.append("set iommu \(type)")
        if let e = setIOMMUErrno { throw VFIOErrno(e) }
    }
    func deviceFD(group: Int32, address: String) throws(VFIOErrno) -> Int32 { calls.append("device \(address)"); return 99 }
    func deviceInfo(device: Int32) throws(VFIOErrno) -> VFIODeviceInfo { VFIODeviceInfo(flags: flags, regions: 9, irqs: 5) }
    func regionInfo(device: Int32, index: UInt32) throws(VFIOErrno) -> VFIORegionInfo {
        VFIORegionInfo(flags: 3, size: 4096, offset: UInt64(index) << 40)
    }
    func read(device: Int32, offset: UInt64, count: Int) throws(VFIOErrno) -> [UInt8] {
        calls.append("read \(offset >> 40)")
        return Array(config.prefix(count))
    }
    func reset(device: Int32) throws(VFIOErrno) { calls.append("reset") }
}

@Suite struct VFIOVerifierTests {
    func host(interruptRemapping: Bool = true, nvmeDriver: String = "vfio-pci") throws -> HostModel {
        var t = LabLikeHost.tree(interruptRemapping: interruptRemapping)
        t.update(t.devices.first { $0.address.description == "0000:03:00.0" }!.address) { $0.driver = nvmeDriver }
        let kernel = try FakeKernel(t)
        return try withExtendedLifetime(kernel) { try HostLoader(kernel.files).load(.inventory) }
    }

    @Test func everyStepInQEMUsOrder() throws {
        let api = FakeVFIO()
        let report = VFIOVerifier(api: api).verify(LabLikeHost.nvme, host: try host())
        #expect(report.passed)
        #expect(report.steps.map(\.name) == ["container", "type1", "group", "iommu", "device", "config", "reset"])
        #expect(api.calls == ["open /dev/vfio/vfio", "open /dev/vfio/9", "set container", "set iommu \(VFIOConstants.type1v2)",
                              "device 0000:03:00.0", "read \(VFIOConstants.pciConfigRegion)", "reset"])
    }

    @Test func missingInterruptRemappingIsNamed() throws {
        let api = FakeVFIO()
        api.setIOMMUErrno = EPERM
        let report = VFIOVerifier(api: api).verify(LabLikeHost.nvme, host: try host(interruptRemapping: false))
        #expect(!report.passed && report.steps.last?.name == "iommu")
        #expect(report.steps.last!.detail.contains("interrupt remapping is missing"))
    }

    @Test func unboundGroupAndWrongConfigSpaceFail() throws {
        let api = FakeVFIO()
        api.groups = []
        let unbound = VFIOVerifier(api: api).verify(LabLikeHost.nvme, host: try host(nvmeDriver: "nvme"))
        #expect(unbound.steps.last!.detail.contains("not bound to vfio-pci (vfioctl bind 0000:03:00.0)"))
        let other = FakeVFIO()
        other.viable = false
        #expect(VFIOVerifier(api: other).verify(LabLikeHost.nvme, host: try host()).steps.last!.detail.contains("not viable"))
        let wrong = FakeVFIO()
        wrong.config = [0xff, 0xff, 0xff, 0xff]
        #expect(VFIOVerifier(api: wrong).verify(LabLikeHost.nvme, host: try host()).steps.last!.detail.contains("reads ffff:ffff"))
    }
}
