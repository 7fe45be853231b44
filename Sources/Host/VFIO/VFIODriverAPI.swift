#if canImport(Glibc)
import Glibc
#endif
import CVFIO

/// A BAR mapped into this process: 32/64-bit register accesses at byte offsets (volatile, in order).
public protocol VFIOMappedRegion: AnyObject {
    var size: Int { get }
    func read32(_ offset: Int) -> UInt32
    func read64(_ offset: Int) -> UInt64
    func write32(_ offset: Int, _ value: UInt32)
}

/// The ioctls and mappings a user-space driver needs beyond `VFIOAPI`'s verification calls, so that the NVMe
/// driver runs against the kernel (`KernelVFIO`) or a fake twin that emulates a controller in memory.
public protocol VFIODriverAPI: VFIOAPI {
    func write(device: Int32, offset: UInt64, bytes: [UInt8]) throws(VFIOErrno)
    func mapRegion(device: Int32, region: VFIORegionInfo) throws(VFIOErrno) -> any VFIOMappedRegion
    func unmapRegion(_ region: any VFIOMappedRegion)
    /// `VFIO_DEVICE_GET_IRQ_INFO`: the number of vectors of an IRQ index (MSI-X: the table size).
    func irqCount(device: Int32, index: UInt32) throws(VFIOErrno) -> UInt32
    /// Wires vectors 0..<fds.count of `index` to eventfds (-1 leaves one unwired); enables MSI-X.
    func setIRQEventFDs(device: Int32, index: UInt32, fds: [Int32]) throws(VFIOErrno)
    /// vfio-pci signals the vectors' eventfds itself: proves the wiring, not the device.
    func triggerIRQs(device: Int32, index: UInt32, count: UInt32) throws(VFIOErrno)
    func disableIRQs(device: Int32, index: UInt32) throws(VFIOErrno)
    func dmaMap(container: Int32, vaddr: UnsafeMutableRawPointer, iova: UInt64, size: Int) throws(VFIOErrno)
    func dmaUnmap(container: Int32, iova: UInt64, size: Int) throws(VFIOErrno)
    func unsetContainer(group: Int32)
}

extension VFIOConstants {
    public static let bar0Region = CVFIO_PCI_BAR0_REGION_INDEX
    public static let msixIRQ = CVFIO_PCI_MSIX_IRQ_INDEX
    public static let regionMmap = CVFIO_REGION_INFO_FLAG_MMAP
}

/// A BAR mmapped from the device fd.
final class KernelMappedRegion: VFIOMappedRegion {
    let base: UnsafeMutableRawPointer
    let size: Int
    init(base: UnsafeMutableRawPointer, size: Int) { self.base = base; self.size = size }
    func read32(_ offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= size, "BAR access outside the mapping")
        return cvfio_load32(base, UInt64(offset))
    }
    func read64(_ offset: Int) -> UInt64 {
        precondition(offset >= 0 && offset + 8 <= size, "BAR access outside the mapping")
        return cvfio_load64(base, UInt64(offset))
    }
    func write32(_ offset: Int, _ value: UInt32) {
        precondition(offset >= 0 && offset + 4 <= size, "BAR access outside the mapping")
        cvfio_store32(base, UInt64(offset), value)
    }
}

extension KernelVFIO: VFIODriverAPI {
    public func write(device: Int32, offset: UInt64, bytes: [UInt8]) throws(VFIOErrno) {
        // SAFETY: pwrite reads exactly `bytes.count` bytes from the array's storage, alive for the call.
        let n = bytes.withUnsafeBytes { pwrite(device, $0.baseAddress, $0.count, off_t(offset)) }
        if n < 0 { throw VFIOErrno(errno) }
        if n != bytes.count { throw VFIOErrno(EIO) }
    }

    public func mapRegion(device: Int32, region: VFIORegionInfo) throws(VFIOErrno) -> any VFIOMappedRegion {
        guard region.flags & VFIOConstants.regionMmap != 0, region.size > 0, region.size <= UInt64(Int.max) else { throw VFIOErrno(EINVAL) }
        // SAFETY: a fresh shared mapping of the device fd at the region's offset; nothing aliases it, and
        // KernelMappedRegion bounds-checks every access against `size` until unmapRegion munmaps it.
        guard let p = mmap(nil, Int(region.size), PROT_READ | PROT_WRITE, MAP_SHARED, device, off_t(region.offset)),
              p != MAP_FAILED else { throw VFIOErrno(errno) }
        return KernelMappedRegion(base: p, size: Int(region.size))
    }

    public func unmapRegion(_ region: any VFIOMappedRegion) {
        guard let r = region as? KernelMappedRegion else { return }
        // SAFETY: the mapping mapRegion made, unmapped once (VFIOSession forgets it afterwards).
        _ = munmap(r.base, r.size)
    }

    public func irqCount(device: Int32, index: UInt32) throws(VFIOErrno) -> UInt32 {
        var count: UInt32 = 0, flags: UInt32 = 0
        if cvfio_device_get_irq_info(device, index, &count, &flags) < 0 { throw VFIOErrno(errno) }
        return count
    }

    public func setIRQEventFDs(device: Int32, index: UInt32, fds: [Int32]) throws(VFIOErrno) {
        // SAFETY: the C side copies `fds.count` ints from the array's storage during the call.
        let rc = fds.withUnsafeBufferPointer { cvfio_device_set_irqs_eventfd(device, index, 0, UInt32($0.count), $0.baseAddress) }
        if rc < 0 { throw VFIOErrno(errno) }
    }

    public func triggerIRQs(device: Int32, index: UInt32, count: UInt32) throws(VFIOErrno) {
        if cvfio_device_trigger_irqs(device, index, 0, count) < 0 { throw VFIOErrno(errno) }
    }

    public func disableIRQs(device: Int32, index: UInt32) throws(VFIOErrno) {
        if cvfio_device_disable_irqs(device, index) < 0 { throw VFIOErrno(errno) }
    }

    public func dmaMap(container: Int32, vaddr: UnsafeMutableRawPointer, iova: UInt64, size: Int) throws(VFIOErrno) {
        if cvfio_iommu_map_dma(container, UInt64(UInt(bitPattern: vaddr)), iova, UInt64(size)) < 0 { throw VFIOErrno(errno) }
    }

    public func dmaUnmap(container: Int32, iova: UInt64, size: Int) throws(VFIOErrno) {
        if cvfio_iommu_unmap_dma(container, iova, UInt64(size)) < 0 { throw VFIOErrno(errno) }
    }

    public func unsetContainer(group: Int32) { _ = cvfio_group_unset_container(group) }
}

/// An eventfd an MSI-X vector signals.
public final class EventFD {
    public let fd: Int32
    public init() throws(VFIOErrno) {
        let fd = cvfio_eventfd()
        if fd < 0 { throw VFIOErrno(errno) }
        self.fd = fd
    }
    deinit { _ = Glibc.close(fd) }

    /// Waits up to `milliseconds` for a signal and consumes it; true when one came.
    public func wait(milliseconds: Int) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let rc = poll(&p, 1, Int32(clamping: max(0, milliseconds)))
        guard rc > 0 else { return false }
        var value: UInt64 = 0
        // SAFETY: reads the 8-byte counter into a local of that size.
        let n = withUnsafeMutableBytes(of: &value) { Glibc.read(fd, $0.baseAddress, 8) }
        return n == 8
    }

    /// Adds one to the counter, as the kernel does for an interrupt (the fake twin's "MSI-X message").
    public func signal() {
        var one: UInt64 = 1
        // SAFETY: writes the 8-byte local, as eventfd(2) requires.
        _ = withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) }
    }
}

/// Milliseconds on the monotonic clock, for timeouts.
func monotonicMilliseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}
