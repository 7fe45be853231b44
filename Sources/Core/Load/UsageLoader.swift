/// Reads `HostUsage`: what the host uses its PCI functions for (mounts, swap, stacked block devices, interfaces
/// that are up, the default route, keyboards and mice, /proc/fb). `HostNeeds` judges these facts without reading.
extension HostUsage {
    public static func load(_ files: any HostFileReader) -> HostUsage {
        var usage = HostUsage()
        let mounts = ((try? files.readOptionalText(SysfsPaths.procMounts)) ?? nil) ?? ""
        usage.rootFilesystem = rootFilesystemDevices(files, mounts: mounts)
        usage.defaultRoute = defaultRouteDevices(files)
        usage.inUse = devicesInUse(files, mounts: mounts)
        usage.framebuffers = ((((try? files.readOptionalText(SysfsPaths.procFramebuffers)) ?? nil) ?? "")).split(separator: "\n")
            .map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
        return usage
    }

    /// The PCI functions under the block devices mounted at `/` (partitions, and device-mapper/md slaves), from
    /// the text of `/proc/mounts`.
    static func rootFilesystemDevices(_ files: any HostFileReader, mounts: String) -> [PCIAddress: String] {
        var out: [PCIAddress: String] = [:]
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 2, f[1] == "/", f[0].hasPrefix("/dev/") else { continue }
            var name = HostPath.lastComponent(String(f[0]))
            if f[0].hasPrefix("/dev/mapper/"), let target = try? files.readLink(String(f[0])) { name = HostPath.lastComponent(target) }
            for a in blockAddresses(name, files, depth: 0) { out[a] = "the root filesystem (/ on \(f[0]))" }
        }
        return out
    }

    /// A block device's PCI function, or its slaves' (LVM, dm-crypt, md RAID).
    static func blockAddresses(_ name: String, _ files: any HostFileReader, depth: Int) -> [PCIAddress] {
        let link = SysfsPaths.block(name)
        if let a = files.pciFunction(behind: link) { return [a] }
        guard depth < 4 else { return [] }
        let slaves = (try? files.listOptionalDirectory("\(link)/slaves")) ?? []
        return slaves.flatMap { blockAddresses($0, files, depth: depth + 1) }
    }

    static func devicesInUse(_ files: any HostFileReader, mounts: String) -> [PCIAddress: String] {
        var out: [PCIAddress: String] = [:]
        func note(_ a: PCIAddress?, _ why: String) { if let a, out[a] == nil { out[a] = why } }
        // Block devices: mounted (any mount point), swap, or held by device-mapper/md (LVM, LUKS, RAID).
        var mounted: [String: String] = [:]
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count >= 2, f[0].hasPrefix("/dev/"), mounted[HostPath.lastComponent(String(f[0]))] == nil {
                mounted[HostPath.lastComponent(String(f[0]))] = String(f[1])
            }
        }
        let swaps = ((((try? files.readOptionalText(SysfsPaths.procSwaps)) ?? nil) ?? "")).split(separator: "\n").dropFirst()
            .compactMap { $0.split(separator: " ").first.map { HostPath.lastComponent(String($0)) } }
        // Each class device's PCI function first: virtual ones (loop, ram, lo, bridges, PS/2) are done with one
        // readlink and never looked at further. A USB disk resolves to its USB controller's function.
        for name in (try? files.listOptionalDirectory(SysfsPaths.blockClass)) ?? [] {
            let link = SysfsPaths.block(name)
            guard let a = files.pciFunction(behind: link) else { continue }
            if let at = mounted[name] { note(a, "storage in use (/dev/\(name) mounted at \(at))") }
            if swaps.contains(name) { note(a, "storage in use (/dev/\(name) is swap)") }
            if let holders = try? files.listOptionalDirectory("\(link)/holders"), let h = holders.first {
                note(a, "storage in use (/dev/\(name) is held by \(h))")
            }
        }
        for name in (try? files.listOptionalDirectory(SysfsPaths.netClass)) ?? [] {
            guard let a = files.pciFunction(behind: SysfsPaths.net(name)) else { continue }
            let state = ((try? files.readOptionalText(SysfsPaths.net(name) + "/operstate")) ?? nil) ?? ""
            if state == "up" { note(a, "a network controller in use (\(name) is up)") }
        }
        // Keyboards report key repeat (EV_KEY and EV_REP), mice relative motion (EV_KEY and EV_REL)
        // (include/uapi/linux/input-event-codes.h).
        for name in (try? files.listOptionalDirectory(SysfsPaths.inputClass)) ?? [] where name.hasPrefix("input") {
            guard let a = files.pciFunction(behind: SysfsPaths.input(name)) else { continue }
            let ev = ((try? files.readOptionalText(SysfsPaths.input(name) + "/capabilities/ev")) ?? nil).flatMap { UInt64($0, radix: 16) } ?? 0
            guard ev & (1 << 1) != 0 else { continue }
            let what: String
            if ev & (1 << 20) != 0 { what = "keyboard" } else if ev & (1 << 2) != 0 { what = "mouse" } else { continue }
            let title = ((try? files.readOptionalText(SysfsPaths.input(name) + "/name")) ?? nil) ?? name
            note(a, "the controller of the host's \(what) (\(escapingControls(title)))")
        }
        return out
    }

    static func defaultRouteDevices(_ files: any HostFileReader) -> [PCIAddress: String] {
        let route = ((try? files.readOptionalText(SysfsPaths.procRoute)) ?? nil) ?? ""
        var out: [PCIAddress: String] = [:]
        for name in ProcParsers.defaultRouteInterfaces(route) {
            let link = SysfsPaths.net(name)
            guard let target = try? files.readLink(link) else { continue }
            let resolved = HostPath.resolveLink(at: link, target: target)
            if let a = resolved.split(separator: "/").compactMap({ PCIAddress(String($0)) }).last {
                out[a] = "the default route (\(name))"
            }
        }
        return out
    }
}
