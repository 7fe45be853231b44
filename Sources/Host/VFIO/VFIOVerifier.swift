#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// Proves a device is usable for passthrough through the VFIO API itself, in the order QEMU uses it
/// (Documentation/driver-api/vfio.rst, "VFIO Usage Example"): container, API version, type1 extension, group
/// (viable), container attach, IOMMU type, device fd, device info, config space vendor/device, reset.
public struct VFIOVerifier: Sendable {
    public struct Step: Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String
    }

    public struct Report: Sendable {
        public var steps: [Step] = []
        public var passed: Bool { !steps.isEmpty && steps.allSatisfy(\.ok) }
    }

    public let api: any VFIOAPI
    public init(api: any VFIOAPI = KernelVFIO()) { self.api = api }

    public func verify(_ address: PCIAddress, host: HostModel) -> Report {
        var report = Report()
        func pass(_ name: String, _ detail: String) { report.steps.append(Step(name: name, ok: true, detail: detail)) }
        func fail(_ name: String, _ detail: String) -> Report {
            report.steps.append(Step(name: name, ok: false, detail: detail))
            return report
        }
        guard let device = host.device(address) else { return fail("device", "no PCI device \(address)") }
        guard host.iommu.enabled, let group = device.iommuGroup else {
            return fail("iommu group", host.iommu.enabled ? "\(address) is in no IOMMU group" : "the host has no IOMMU: VFIO cannot use any device")
        }

        let container: Int32
        do { container = try api.open("/dev/vfio/vfio") } catch {
            return fail("container", "open /dev/vfio/vfio: \(error) (modprobe vfio)")
        }
        defer { api.close(container) }
        do {
            let version = try api.apiVersion(container: container)
            guard version == VFIOConstants.apiVersion else { return fail("api version", "VFIO_GET_API_VERSION gave \(version), expected \(VFIOConstants.apiVersion)") }
            pass("container", "/dev/vfio/vfio, API version \(version)")
        } catch { return fail("api version", "VFIO_GET_API_VERSION: \(error)") }
        let iommuType: Int32
        do {
            if try api.checkExtension(container: container, VFIOConstants.type1v2) { iommuType = VFIOConstants.type1v2 }
            else if try api.checkExtension(container: container, VFIOConstants.type1) { iommuType = VFIOConstants.type1 }
            else { return fail("type1", "VFIO_CHECK_EXTENSION: no type1 IOMMU backend (modprobe vfio_iommu_type1)") }
            pass("type1", iommuType == VFIOConstants.type1v2 ? "VFIO_TYPE1v2_IOMMU supported" : "VFIO_TYPE1_IOMMU supported")
        } catch { return fail("type1", "VFIO_CHECK_EXTENSION: \(error)") }

        let groupPath = "/dev/vfio/\(group)"
        let groupFD: Int32
        do { groupFD = try api.open(groupPath) } catch {
            switch error.code {
            case ENOENT: return fail("group", "\(groupPath) does not exist: \(address) is not bound to vfio-pci (vfioctl bind \(address))")
            case EBUSY: return fail("group", "\(groupPath) is busy: another process (a running VM?) holds the group")
            default: return fail("group", "open \(groupPath): \(error)")
            }
        }
        defer { api.close(groupFD) }
        do {
            let flags = try api.groupStatus(group: groupFD)
            guard flags & VFIOConstants.groupViable != 0 else {
                let others = host.groupMembers(of: address).filter { !$0.isBridge && $0.driver != nil && !$0.isBoundToVFIO }
                return fail("group", "IOMMU group \(group) is not viable: " + (others.isEmpty ? "an endpoint is on a host driver"
                    : others.map { "\($0.address) is on \($0.driver!)" }.joined(separator: ", ")) + " (vfioctl bind \(address) binds the whole group)")
            }
            pass("group", "\(groupPath) viable")
        } catch { return fail("group", "VFIO_GROUP_GET_STATUS: \(error)") }
        do { try api.setContainer(group: groupFD, container: container) } catch {
            return fail("container", "VFIO_GROUP_SET_CONTAINER: \(error)")
        }
        do {
            try api.setIOMMU(container: container, type: iommuType)
            pass("iommu", "VFIO_SET_IOMMU(\(iommuType == VFIOConstants.type1v2 ? "TYPE1v2" : "TYPE1")) accepted")
        } catch {
            if error.code == EPERM, host.iommu.interruptRemapping.value != true, host.iommu.unsafeInterruptsAllowed != true {
                return fail("iommu", "VFIO_SET_IOMMU: \(error): interrupt remapping is missing and vfio_iommu_type1 allow_unsafe_interrupts is off, so the kernel refuses DMA mappings for this group. Enable interrupt remapping (firmware, intremap) or, knowing that a guest could then inject interrupts, set options vfio_iommu_type1 allow_unsafe_interrupts=1")
            }
            return fail("iommu", "VFIO_SET_IOMMU: \(error)")
        }

        let deviceFD: Int32
        do { deviceFD = try api.deviceFD(group: groupFD, address: address.description) } catch {
            return fail("device", "VFIO_GROUP_GET_DEVICE_FD(\(address)): \(error)")
        }
        defer { api.close(deviceFD) }
        let info: VFIODeviceInfo
        do {
            info = try api.deviceInfo(device: deviceFD)
            guard info.flags & VFIOConstants.devicePCI != 0 else { return fail("device", "VFIO_DEVICE_GET_INFO: not a PCI device (flags 0x\(hex(info.flags, width: 1)))") }
            pass("device", "fd for \(address): PCI, \(info.regions) regions, \(info.irqs) IRQ types, reset \(info.flags & VFIOConstants.deviceReset != 0 ? "supported" : "not supported")")
        } catch { return fail("device", "VFIO_DEVICE_GET_INFO: \(error)") }
        do {
            let region = try api.regionInfo(device: deviceFD, index: VFIOConstants.pciConfigRegion)
            let bytes = try api.read(device: deviceFD, offset: region.offset, count: 4)
            guard bytes.count == 4 else { return fail("config", "config space read gave \(bytes.count) bytes") }
            let vendor = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
            let dev = UInt16(bytes[2]) | UInt16(bytes[3]) << 8
            guard vendor == device.vendorID, dev == device.deviceID else {
                return fail("config", "config space reads \(hex(vendor, width: 4)):\(hex(dev, width: 4)), sysfs says \(hex(device.vendorID, width: 4)):\(hex(device.deviceID, width: 4))")
            }
            pass("config", "config space (region \(VFIOConstants.pciConfigRegion), \(region.size) bytes) reads \(hex(vendor, width: 4)):\(hex(dev, width: 4))")
        } catch { return fail("config", "config space: \(error)") }
        if info.flags & VFIOConstants.deviceReset != 0 {
            do {
                try api.reset(device: deviceFD)
                pass("reset", "VFIO_DEVICE_RESET done")
            } catch { return fail("reset", "VFIO_DEVICE_RESET: \(error)") }
        } else {
            pass("reset", "not supported by the device (skipped)")
        }
        return report
    }
}
