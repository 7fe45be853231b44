#if canImport(Glibc)
import Glibc
#endif
import CVFIO
import SystemPackage

/// The VFIO userspace API (linux/vfio.h) as typed calls, one per ioctl, so that `VFIOVerifier` runs against the
/// kernel (`KernelVFIO`) or a fake twin in tests. Errors are the errno the kernel gave.
public protocol VFIOAPI: Sendable {
    func open(_ path: String) throws(VFIOErrno) -> Int32
    func close(_ fd: Int32)
    func apiVersion(container: Int32) throws(VFIOErrno) -> Int32
    func checkExtension(container: Int32, _ ext: Int32) throws(VFIOErrno) -> Bool
    /// `VFIO_GROUP_GET_STATUS` flags.
    func groupStatus(group: Int32) throws(VFIOErrno) -> UInt32
    func setContainer(group: Int32, container: Int32) throws(VFIOErrno)
    func setIOMMU(container: Int32, type: Int32) throws(VFIOErrno)
    func deviceFD(group: Int32, address: String) throws(VFIOErrno) -> Int32
    func deviceInfo(device: Int32) throws(VFIOErrno) -> VFIODeviceInfo
    func regionInfo(device: Int32, index: UInt32) throws(VFIOErrno) -> VFIORegionInfo
    func read(device: Int32, offset: UInt64, count: Int) throws(VFIOErrno) -> [UInt8]
    func reset(device: Int32) throws(VFIOErrno)
}

public struct VFIOErrno: Error, Sendable, Equatable, CustomStringConvertible {
    public let errno: Errno
    /// The raw number, for the fake twins that answer with `EBUSY` and friends.
    public var code: Int32 { errno.rawValue }
    public init(_ code: Int32) { errno = Errno(rawValue: code) }
    public init(_ errno: Errno) { self.errno = errno }
    public var description: String { errno.sentence }
}

/// linux/vfio.h constants, mirrored so that code above the raw bindings needs no C import.
public enum VFIOConstants {
    public static let apiVersion = Int32(CVFIO_API_VERSION)
    public static let type1 = Int32(CVFIO_TYPE1_IOMMU)
    public static let type1v2 = Int32(CVFIO_TYPE1v2_IOMMU)
    public static let groupViable = CVFIO_GROUP_FLAGS_VIABLE
    public static let deviceReset = CVFIO_DEVICE_FLAGS_RESET
    public static let devicePCI = CVFIO_DEVICE_FLAGS_PCI
    public static let pciConfigRegion = CVFIO_PCI_CONFIG_REGION_INDEX
}

/// `struct vfio_device_info`.
public struct VFIODeviceInfo: Sendable, Equatable {
    public var flags: UInt32
    public var regions: UInt32
    public var irqs: UInt32
    public init(flags: UInt32, regions: UInt32, irqs: UInt32) {
        self.flags = flags
        self.regions = regions
        self.irqs = irqs
    }
}

/// `struct vfio_region_info`.
public struct VFIORegionInfo: Sendable, Equatable {
    public var flags: UInt32
    public var size: UInt64
    public var offset: UInt64
    public init(flags: UInt32, size: UInt64, offset: UInt64) {
        self.flags = flags
        self.size = size
        self.offset = offset
    }
}

/// The real twin: ioctls on the kernel's `/dev/vfio` files through the CVFIO shim.
public struct KernelVFIO: VFIOAPI {
    public init() {}

    private func check(_ rc: Int32) throws(VFIOErrno) -> Int32 {
        if rc < 0 { throw VFIOErrno(errno) }
        return rc
    }

    public func open(_ path: String) throws(VFIOErrno) -> Int32 { try check(Glibc.open(path, O_RDWR | O_CLOEXEC)) }
    public func close(_ fd: Int32) { _ = Glibc.close(fd) }
    public func apiVersion(container: Int32) throws(VFIOErrno) -> Int32 { try check(cvfio_get_api_version(container)) }
    public func checkExtension(container: Int32, _ ext: Int32) throws(VFIOErrno) -> Bool {
        try check(cvfio_check_extension(container, ext)) > 0
    }

    public func groupStatus(group: Int32) throws(VFIOErrno) -> UInt32 {
        var status = vfio_group_status()
        _ = try check(cvfio_group_get_status(group, &status))
        return status.flags
    }

    public func setContainer(group: Int32, container: Int32) throws(VFIOErrno) { _ = try check(cvfio_group_set_container(group, container)) }
    public func setIOMMU(container: Int32, type: Int32) throws(VFIOErrno) { _ = try check(cvfio_set_iommu(container, type)) }
    public func deviceFD(group: Int32, address: String) throws(VFIOErrno) -> Int32 {
        try check(cvfio_group_get_device_fd(group, address))
    }

    public func deviceInfo(device: Int32) throws(VFIOErrno) -> VFIODeviceInfo {
        var info = vfio_device_info()
        _ = try check(cvfio_device_get_info(device, &info))
        return VFIODeviceInfo(flags: info.flags, regions: info.num_regions, irqs: info.num_irqs)
    }

    public func regionInfo(device: Int32, index: UInt32) throws(VFIOErrno) -> VFIORegionInfo {
        var info = vfio_region_info()
        info.index = index
        _ = try check(cvfio_device_get_region_info(device, &info))
        return VFIORegionInfo(flags: info.flags, size: info.size, offset: info.offset)
    }

    public func read(device: Int32, offset: UInt64, count: Int) throws(VFIOErrno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        // SAFETY: pread writes at most `count` bytes into the array's own storage, which outlives the call.
        let n = buffer.withUnsafeMutableBytes { pread(device, $0.baseAddress, count, off_t(offset)) }
        if n < 0 { throw VFIOErrno(errno) }
        return Array(buffer.prefix(n))
    }

    public func reset(device: Int32) throws(VFIOErrno) { _ = try check(cvfio_device_reset(device)) }
}
