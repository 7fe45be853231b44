#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// A failure of the user-space driver, with what was being done.
public struct VFIODriverError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Page-aligned anonymous memory mapped for DMA at `iova`.
public final class DMABuffer {
    public let pointer: UnsafeMutableRawPointer
    public let size: Int
    public let iova: UInt64
    init(pointer: UnsafeMutableRawPointer, size: Int, iova: UInt64) { self.pointer = pointer; self.size = size; self.iova = iova }

    public func load(_ offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && count >= 0 && offset + count <= size, "DMA buffer read outside the buffer")
        // SAFETY: the range was checked against the mapping's size; the memory lives until the session releases it.
        return Array(UnsafeRawBufferPointer(start: pointer + offset, count: count))
    }

    public func store(_ bytes: [UInt8], at offset: Int) {
        precondition(offset >= 0 && offset + bytes.count <= size, "DMA buffer write outside the buffer")
        guard !bytes.isEmpty else { return }
        // SAFETY: as in load; the source is the array's own storage.
        bytes.withUnsafeBytes { (pointer + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    public func zero() {
        // SAFETY: the whole mapping, `size` bytes from its start.
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    }
}

/// One device opened through VFIO for a user-space driver: container, group, IOMMU, device fd, and every
/// resource taken afterwards (BAR mappings, DMA mappings, MSI-X eventfds). `close()` releases them in reverse
/// order and is idempotent; `deinit` calls it, so an early return or a thrown error releases everything too.
public final class VFIOSession {
    public let api: any VFIODriverAPI
    public let address: PCIAddress
    public let container: Int32
    public let group: Int32
    public let device: Int32
    public let info: VFIODeviceInfo
    private var iovas = IOVAAllocator()
    private var buffers: [DMABuffer] = []
    private var regions: [any VFIOMappedRegion] = []
    private var irqIndexes: Set<UInt32> = []
    public private(set) var eventFDs: [EventFD] = []
    private var closed = false

    /// Opens `address` of IOMMU group `group`; the device must be bound to vfio-pci with a viable group.
    public init(api: any VFIODriverAPI = KernelVFIO(), address: PCIAddress, group: Int) throws(VFIODriverError) {
        self.api = api
        self.address = address
        let container: Int32
        do { container = try api.open("/dev/vfio/vfio") } catch { throw VFIODriverError("open /dev/vfio/vfio: \(error)") }
        let groupFD: Int32
        do { groupFD = try api.open("/dev/vfio/\(group)") } catch {
            api.close(container)
            throw VFIODriverError("open /dev/vfio/\(group): \(error)" + (error.code == ENOENT ? " (vfioctl bind \(address))" : ""))
        }
        var attached = false
        func fail(_ message: String) -> VFIODriverError {
            if attached { api.unsetContainer(group: groupFD) }
            api.close(groupFD)
            api.close(container)
            return VFIODriverError(message)
        }
        do {
            guard try api.groupStatus(group: groupFD) & VFIOConstants.groupViable != 0 else {
                throw fail("IOMMU group \(group) is not viable (vfioctl verify \(address) says why)")
            }
            try api.setContainer(group: groupFD, container: container)
            attached = true
            let type = try api.checkExtension(container: container, VFIOConstants.type1v2) ? VFIOConstants.type1v2 : VFIOConstants.type1
            try api.setIOMMU(container: container, type: type)
        } catch let e as VFIODriverError { throw e } catch { throw fail("VFIO setup of group \(group): \(error)") }
        let deviceFD: Int32
        do { deviceFD = try api.deviceFD(group: groupFD, address: address.description) } catch {
            throw fail("VFIO_GROUP_GET_DEVICE_FD(\(address)): \(error)")
        }
        do { info = try api.deviceInfo(device: deviceFD) } catch {
            api.close(deviceFD)
            throw fail("VFIO_DEVICE_GET_INFO: \(error)")
        }
        self.container = container
        self.group = groupFD
        self.device = deviceFD
    }

    deinit { close() }

    public func regionInfo(_ index: UInt32) throws(VFIODriverError) -> VFIORegionInfo {
        do { return try api.regionInfo(device: device, index: index) } catch { throw VFIODriverError("VFIO_DEVICE_GET_REGION_INFO(\(index)): \(error)") }
    }

    /// mmaps BAR `index` (0...5); fails when the BAR is absent or vfio-pci does not allow mmap of it.
    public func mapBAR(_ index: UInt32) throws(VFIODriverError) -> any VFIOMappedRegion {
        let info = try regionInfo(VFIOConstants.bar0Region + index)
        guard info.size > 0 else { throw VFIODriverError("BAR\(index) is not implemented") }
        guard info.flags & VFIOConstants.regionMmap != 0 else { throw VFIODriverError("BAR\(index) cannot be mmapped (vfio-pci gives no MMAP flag)") }
        do {
            let r = try api.mapRegion(device: device, region: info)
            regions.append(r)
            return r
        } catch { throw VFIODriverError("mmap BAR\(index): \(error)") }
    }

    public func unmap(_ region: any VFIOMappedRegion) {
        guard let i = regions.firstIndex(where: { $0 === region }) else { return }
        api.unmapRegion(regions.remove(at: i))
    }

    public func readConfig(_ offset: UInt64, count: Int) throws(VFIODriverError) -> [UInt8] {
        do {
            let region = try api.regionInfo(device: device, index: VFIOConstants.pciConfigRegion)
            let bytes = try api.read(device: device, offset: region.offset + offset, count: count)
            guard bytes.count == count else { throw VFIOErrno(EIO) }
            return bytes
        } catch { throw VFIODriverError("config space read at 0x\(hex(offset, width: 2)): \(error)") }
    }

    public func writeConfig(_ offset: UInt64, _ bytes: [UInt8]) throws(VFIODriverError) {
        do {
            let region = try api.regionInfo(device: device, index: VFIOConstants.pciConfigRegion)
            try api.write(device: device, offset: region.offset + offset, bytes: bytes)
        } catch { throw VFIODriverError("config space write at 0x\(hex(offset, width: 2)): \(error)") }
    }

    /// Sets Memory Space and Bus Master in the command register: without Bus Master the device cannot DMA.
    public func enableBusMaster() throws(VFIODriverError) {
        let command = try readConfig(4, count: 2)
        try writeConfig(4, [command[0] | 0b110, command[1]])
    }

    /// Allocates `size` bytes (rounded up to pages) of zeroed memory and maps it for DMA.
    public func allocateDMA(_ size: Int) throws(VFIODriverError) -> DMABuffer {
        guard size > 0, size <= 1 << 30 else { throw VFIODriverError("DMA buffer of \(size) bytes") }
        let rounded = (size + 4095) / 4096 * 4096
        guard let iova = iovas.allocate(UInt64(rounded)) else { throw VFIODriverError("no IOVA space left for \(rounded) bytes") }
        // SAFETY: a fresh private anonymous mapping, owned by the DMABuffer until close() unmaps it.
        guard let p = mmap(nil, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            iovas.release(iova, size: UInt64(rounded))
            throw VFIODriverError("mmap of \(rounded) bytes: \(VFIOErrno(errno))")
        }
        do { try api.dmaMap(container: container, vaddr: p, iova: iova, size: rounded) } catch {
            // SAFETY: the mapping made just above, never handed out.
            _ = munmap(p, rounded)
            iovas.release(iova, size: UInt64(rounded))
            throw VFIODriverError("VFIO_IOMMU_MAP_DMA of \(rounded) bytes at IOVA 0x\(hex(iova, width: 1)): \(error)")
        }
        let b = DMABuffer(pointer: p, size: rounded, iova: iova)
        buffers.append(b)
        return b
    }

    public func release(_ buffer: DMABuffer) {
        guard let i = buffers.firstIndex(where: { $0 === buffer }) else { return }
        buffers.remove(at: i)
        unmapDMA(buffer)
    }

    private func unmapDMA(_ b: DMABuffer) {
        try? api.dmaUnmap(container: container, iova: b.iova, size: b.size)
        iovas.release(b.iova, size: UInt64(b.size))
        // SAFETY: the buffer's own mapping; it is no longer in `buffers` nor mapped for the device.
        _ = munmap(b.pointer, b.size)
    }

    public func msixCount() throws(VFIODriverError) -> Int {
        do { return Int(try api.irqCount(device: device, index: VFIOConstants.msixIRQ)) } catch {
            throw VFIODriverError("VFIO_DEVICE_GET_IRQ_INFO(MSI-X): \(error)")
        }
    }

    /// Enables MSI-X with `count` vectors, each wired to a new eventfd (in `eventFDs`).
    public func enableMSIX(vectors count: Int) throws(VFIODriverError) -> [EventFD] {
        var fds: [EventFD] = []
        for _ in 0..<count {
            do { fds.append(try EventFD()) } catch { throw VFIODriverError("eventfd: \(error)") }
        }
        do { try api.setIRQEventFDs(device: device, index: VFIOConstants.msixIRQ, fds: fds.map(\.fd)) } catch {
            throw VFIODriverError("VFIO_DEVICE_SET_IRQS(MSI-X, \(count) eventfds): \(error)")
        }
        irqIndexes.insert(VFIOConstants.msixIRQ)
        eventFDs = fds
        return fds
    }

    public func reset() throws(VFIODriverError) {
        do { try api.reset(device: device) } catch { throw VFIODriverError("VFIO_DEVICE_RESET: \(error)") }
    }

    /// Releases everything in reverse order of acquisition: IRQs (before their eventfds close), BAR mappings,
    /// DMA mappings, the device fd, the group's container and the fds.
    public func close() {
        guard !closed else { return }
        closed = true
        for index in irqIndexes { try? api.disableIRQs(device: device, index: index) }
        irqIndexes = []
        eventFDs = []
        for r in regions.reversed() { api.unmapRegion(r) }
        regions = []
        for b in buffers.reversed() { unmapDMA(b) }
        buffers = []
        api.close(device)
        api.unsetContainer(group: group)
        api.close(group)
        api.close(container)
    }
}
