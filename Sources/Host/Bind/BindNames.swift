import VFIOCore

/// Names for the functions `vfioctl bind` prints, read from the same pci.ids `HostSession.load` would use
/// (`VFIOCTL_PCI_IDS`, then `PCIIDs.candidates` under the root, then the machine's own for a tree or snapshot),
/// but only the lines of the functions asked for, read in 64 KiB chunks (`PCIIDsExcerpt`).
public enum BindNames {
    static let chunk = 64 * 1024

    /// `override`: the `VFIOCTL_PCI_IDS` path, a file on the machine running vfioctl.
    public static func database(_ files: RootedFileSystem, naming devices: [PCIDevice], override: String?) -> PCIIDDatabase? {
        let ids = devices.map { (vendor: $0.vendorID, device: $0.deviceID) }
        guard !ids.isEmpty else { return nil }
        if let path = override {
            return try? excerpt(ids) { body throws(FileReadError) in
                try Syscalls.withOpenFile(path, hostPath: path) { fd in body { Syscalls.pread(fd, offset: $0, count: $1) } }
            }
        }
        var roots = [files]
        if !files.isRealRoot, let real = try? RootedFileSystem(root: "/") { roots.append(real) }
        for fs in roots {
            for path in PCIIDs.candidates {
                if let db = try? excerpt(ids, { body throws(FileReadError) in try fs.readRanges(path, body) }) { return db }
            }
        }
        return nil
    }

    /// For each vendor asked for: bisect to its block (pci.ids is sorted by vendor, which the excerpt relies on
    /// too: it stops at the first vendor after the one asked for), then feed the lines from there to an excerpt
    /// chunk by chunk until it is complete.
    static func excerpt(_ ids: [(vendor: UInt16, device: UInt16)],
                        _ open: ((_ read: (Int, Int) -> [UInt8]) -> Void) throws(FileReadError) -> Void) throws(FileReadError) -> PCIIDDatabase {
        let vendors = Set(ids.map(\.vendor))
        var bytes: [UInt8] = []
        try open { read in
            for vendor in vendors.sorted() {
                let wanted = ids.filter { $0.vendor == vendor }
                bytes += scan(wanted, from: PCIIDsExcerpt.seek(vendor: vendor, read: read), read).bytes
            }
        }
        return PCIIDDatabase(bytes: bytes, vendorsOfInterest: vendors)
    }

    static func scan(_ ids: [(vendor: UInt16, device: UInt16)], from start: Int, _ read: (Int, Int) -> [UInt8]) -> PCIIDsExcerpt {
        var ex = PCIIDsExcerpt(ids)
        var offset = start
        while !ex.isComplete {
            let block = read(offset, chunk)
            if block.isEmpty { break }
            ex.feed(block)
            offset += block.count
        }
        ex.finish()
        return ex
    }
}
