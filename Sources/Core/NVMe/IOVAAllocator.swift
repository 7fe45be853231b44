/// I/O virtual addresses for DMA mappings: page-aligned, first fit over a window, freed ranges merged back.
/// The default window starts at 1 MiB and ends below x86's MSI doorbell range (0xfee00000), which type1
/// reserves, so a mapping never collides with it.
public struct IOVAAllocator: Sendable, Equatable {
    public static let page: UInt64 = 4096
    /// Free ranges as (start, length), sorted, never adjacent.
    public private(set) var free: [(UInt64, UInt64)]

    public static func == (a: IOVAAllocator, b: IOVAAllocator) -> Bool { a.free.elementsEqual(b.free) { $0 == $1 } }

    public init(base: UInt64 = 0x10_0000, limit: UInt64 = 0xFEE0_0000) {
        free = limit > base ? [(base, limit - base)] : []
    }

    /// nil when `size` is 0 or no free range holds it.
    public mutating func allocate(_ size: UInt64) -> UInt64? {
        guard size > 0, size <= UInt64.max - IOVAAllocator.page else { return nil }
        let rounded = (size + IOVAAllocator.page - 1) / IOVAAllocator.page * IOVAAllocator.page
        guard let i = free.firstIndex(where: { $0.1 >= rounded }) else { return nil }
        let (start, length) = free[i]
        if length == rounded { free.remove(at: i) } else { free[i] = (start + rounded, length - rounded) }
        return start
    }

    /// Gives back a range from `allocate` (the same size); merges with its neighbours.
    public mutating func release(_ iova: UInt64, size: UInt64) {
        guard size > 0, size <= UInt64.max - IOVAAllocator.page else { return }
        let rounded = (size + IOVAAllocator.page - 1) / IOVAAllocator.page * IOVAAllocator.page
        let i = free.firstIndex { $0.0 > iova } ?? free.count
        free.insert((iova, rounded), at: i)
        if i + 1 < free.count, free[i].0 + free[i].1 == free[i + 1].0 {
            free[i].1 += free[i + 1].1
            free.remove(at: i + 1)
        }
        if i > 0, free[i - 1].0 + free[i - 1].1 == free[i].0 {
            free[i - 1].1 += free[i].1
            free.remove(at: i)
        }
    }
}
