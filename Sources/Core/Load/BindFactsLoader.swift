/// Reads `BindFacts`: vtconsoles, firmware framebuffers, the display manager, the drivers' modules and bound
/// functions, module holders, whether vfio-pci is there. `BindPlanner` plans on these facts without reading.
extension BindFacts {
    /// `usage`: the host's usage facts when the caller has read them already (they are read once per load).
    public static func load(_ files: any HostFileReader, host: HostModel, usage: HostUsage? = nil) -> BindFacts {
        var facts = BindFacts()
        facts.usage = usage ?? HostUsage.load(files)
        for name in (try? files.listOptionalDirectory(SysfsPaths.vtconsoles)) ?? [] {
            let dir = SysfsPaths.vtconsole(name)
            let bound = (try? files.readOptionalText("\(dir)/bind")) ?? nil
            let title = ((try? files.readOptionalText("\(dir)/name")) ?? nil) ?? ""
            if bound == "1", title.contains("frame buffer") { facts.boundFramebufferConsoles.append(name) }
        }
        for driver in firmwareFramebufferDrivers {
            for entry in (try? files.listOptionalDirectory(SysfsPaths.platformDriver(driver))) ?? []
            where entry.contains(".") && files.kind(of: SysfsPaths.platformDevice(entry)) != nil {
                facts.firmwareFramebuffers.append(PlatformBinding(driver: driver, device: entry))
            }
        }
        if files.exists(SysfsPaths.systemdRunning),
           let target = try? files.readLink(SysfsPaths.displayManagerUnit) {
            facts.displayManagerUnit = HostPath.lastComponent(target)
        }
        for driver in Set(host.devices.compactMap(\.driver)) {
            if let module = try? files.readLinkName(SysfsPaths.pciDriverModule(driver)), files.exists(SysfsPaths.moduleInitState(module)) {
                facts.driverModules[driver] = module
            }
            if let bound = try? files.listDirectory(SysfsPaths.pciDriver(driver)) {
                facts.driverDevices[driver] = bound.compactMap { PCIAddress($0) }.sorted()
            }
        }
        facts.moduleHolders = ProcParsers.moduleHolders(((try? files.readOptionalText(SysfsPaths.procModules)) ?? nil) ?? "")
        facts.vfioPCIAvailable = files.kind(of: SysfsPaths.pciDriver(PCIDriverPaths.vfioPCI)) == .directory
            || files.exists(SysfsPaths.module("vfio_pci"))
        return facts
    }
}
