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

    /// Feeds the file to an excerpt chunk by chunk until it is complete or the file ends.
    static func excerpt(_ ids: [(vendor: UInt16, device: UInt16)],
                        _ open: ((_ read: (Int, Int) -> [UInt8]) -> Void) throws(FileReadError) -> Void) throws(FileReadError) -> PCIIDDatabase {
        var ex = PCIIDsExcerpt(ids)
        try open { read in
            var offset = 0
            while !ex.isComplete {
                let block = read(offset, chunk)
                if block.isEmpty { break }
                ex.feed(block)
                offset += block.count
            }
        }
        ex.finish()
        return ex.database
    }
}
