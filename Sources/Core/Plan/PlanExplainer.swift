/// `vfioctl plan`: the spec explained against the host, in words. Problems the user must fix are listed, never thrown.
public enum PlanExplainer {
    public static func explain(_ spec: VMSpec, host: HostModel, files: (any HostFileReader)? = nil, usage: HostUsage? = nil) -> String {
        report(spec, host: host, files: files, usage: usage).text
    }

    /// The explanation and the problems it lists under "To fix". With `files`, also checks that the firmware and
    /// ROM files the spec names exist on the host.
    /// What the host needs is `HostNeeds`' verdict on `usage` (read through `files` when not given); a spec asks
    /// for the display handoff, so the boot display alone is no problem.
    public static func report(_ spec: VMSpec, host: HostModel, files: (any HostFileReader)? = nil, usage: HostUsage? = nil) -> (text: String, problems: [String]) {
        report(spec, host: host, usage: usage ?? files.map { HostUsage.load($0) } ?? HostUsage(model: host),
               specFiles: files.map { SpecFiles.load($0, spec: spec) })
    }

    /// The report as a pure function of facts: `specFiles` nil leaves out the checks of the files the spec names.
    public static func report(_ spec: VMSpec, host: HostModel, usage hostUsage: HostUsage, specFiles: SpecFiles?) -> (text: String, problems: [String]) {
        // Below, spec numbers are multiplied freely: that is safe only inside SpecRules' caps.
        do { try spec.validate() } catch {
            return ("VM \(SpecRules.visible(spec.name)): the spec is not valid\n\nTo fix (1)\n  - \(error.message)\n", [error.message])
        }
        var out: [String] = []
        var problems: [String] = []
        let cpu = host.cpu
        out.append("VM \(spec.name): \(spec.vcpus) vCPUs, \(MemorySize.format(mib: spec.memoryMiB)) memory\(spec.hugepages.map { " on \($0.rawValue) hugepages" } ?? ""), \(spec.devices.count) passed PCI function\(spec.devices.count == 1 ? "" : "s")")
        out.append("")

        // CPUs
        out.append("CPUs")
        let l3 = cpu.l3Groups
        out.append("  host: \(cpu.modelName.isEmpty ? "CPU" : cpu.modelName): \(cpu.logicalCPUs.count) CPUs, \(cpu.cores.count) cores × \(cpu.threadsPerCore) threads, \(max(l3.count, 1)) L3 group\(l3.count > 1 ? "s" : ""), \(max(cpu.numaNodes.count, 1)) NUMA node\(cpu.numaNodes.count > 1 ? "s" : "")")
        let byID = Dictionary(cpu.logicalCPUs.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let coreOf: (Int) -> CPUSet? = { c in cpu.cores.first { $0.contains(c) } }
        let t = max(spec.cpu.threads, 1)
        var i = 0
        while i < spec.cpu.pin.count {
            let group = Array(spec.cpu.pin[i..<min(i + t, spec.cpu.pin.count)])
            let vcpus = (i..<(i + group.count)).map(String.init).joined(separator: ",")
            var where_: [String] = []
            if let core = coreOf(group[0]) {
                where_.append(CPUSet(group) == core ? "one whole host core \(CPUPlanner.describe(core))" : "host core \(CPUPlanner.describe(core))")
                if !CPUSet(group).isSubset(of: core) { problems.append("vCPUs \(vcpus) form one guest core but host CPUs \(group.map(String.init).joined(separator: ",")) are on different host cores: the guest's SMT view is false") }
            }
            if let l = byID[group[0]]?.l3Shared, l3.count > 1 { where_.append("L3 \(l)") }
            if let n = byID[group[0]]?.node, cpu.numaNodes.count > 1 { where_.append("node \(n)") }
            out.append("  vCPU \(vcpus) → host CPU \(group.map(String.init).joined(separator: ","))\(where_.isEmpty ? "" : " (" + where_.joined(separator: ", ") + ")")")
            i += group.count
        }
        let online = cpu.online.isEmpty ? CPUSet(cpu.logicalCPUs.map(\.id)) : cpu.online
        for c in spec.cpu.pin where !online.contains(c) { problems.append("vCPU pin: host CPU \(c) does not exist or is offline (online: \(online))") }
        if let first = cpu.cores.first, !first.intersection(spec.vmCPUs).isEmpty {
            problems.append("host CPUs \(first.intersection(spec.vmCPUs)) of the first core run vCPUs: the host's housekeeping competes with the guest")
        }
        let vmL3 = Set(spec.cpu.pin.compactMap { byID[$0]?.l3Shared })
        if vmL3.count > 1 { out.append("  trade-off: the vCPUs span \(vmL3.count) L3 groups; threads sharing data across them miss the cache") }
        else if let only = vmL3.first, l3.count > 1 { out.append("  why: all vCPUs share one L3 cache (CPUs \(only)); whole SMT sibling sets make each guest core a real core") }
        else { out.append("  why: whole SMT sibling sets make each guest core a real host core") }
        let gpuNodes = Set(spec.devices.filter { $0.kind == .gpu }.compactMap { host.device($0.address)?.numaNode })
        let vcpuNodes = Set(spec.cpu.pin.compactMap { byID[$0]?.node })
        if cpu.numaNodes.count > 1, let gpuNode = gpuNodes.first, !vcpuNodes.subtracting([gpuNode]).isEmpty {
            out.append("  trade-off: the GPU is on node \(gpuNode) but vCPUs run on node\(vcpuNodes.count > 1 ? "s" : "") \(vcpuNodes.sorted().map(String.init).joined(separator: ",")): DMA and interrupts cross the interconnect")
        }
        if let gpuNode = gpuNodes.first, let memNode = spec.numaNode, memNode != gpuNode, cpu.numaNodes.count > 1 {
            problems.append("guest memory is bound to node \(memNode) but the GPU is on node \(gpuNode): set numa-node = \(gpuNode)")
        }
        out.append("  emulator thread and \(spec.cpu.iothreads) iothread\(spec.cpu.iothreads == 1 ? "" : "s") → host CPUs \(spec.cpu.emulator) (housekeeping)")
        if !cpu.isolated.isEmpty {
            let outside = spec.vmCPUs.subtracting(cpu.isolated)
            if outside.isEmpty {
                out.append("  booted isolation (isolcpus=\(cpu.isolated)) covers every vCPU")
            } else {
                problems.append("host CPUs \(outside) run vCPUs but are not in the booted isolcpus= (\(cpu.isolated)): the scheduler still puts host work there")
            }
        }
        out.append("  host keeps: CPUs \(online.subtracting(spec.vmCPUs)) (\(online.subtracting(spec.vmCPUs).count) of \(online.count))")
        out.append("  guest topology: \(spec.cpu.sockets) socket × \(spec.cpu.cores) cores × \(spec.cpu.threads) threads\(spec.cpu.topoext ? " (topoext: the guest sees AMD SMT)" : "")")
        if cpu.vendor == .amd && !spec.cpu.topoext && spec.cpu.threads > 1 { problems.append("AMD host with threads = \(spec.cpu.threads) but topoext off: the guest will not see SMT siblings") }
        out.append("")

        // Memory
        out.append("Memory")
        let node = spec.numaNode
        if let hp = spec.hugepages {
            let pages = spec.memoryMiB / hp.mib
            let pool: HugePagePool?
            let place: String
            if let node, let n = cpu.numaNodes.first(where: { $0.id == node }) {
                pool = n.hugepages.first { $0.sizeKiB == hp.kib }
                place = "node \(node)"
            } else {
                pool = host.memory.hugepages.first { $0.sizeKiB == hp.kib && $0.node == nil } ?? host.memory.hugepages.first { $0.sizeKiB == hp.kib }
                place = "the host"
            }
            let have = pool?.total ?? 0
            out.append("  \(spec.memoryMiB) MiB as \(pages) × \(hp.rawValue) hugepages on \(place); reserved now: \(have)")
            if have < pages {
                let file = node.map { "/sys/devices/system/node/node\($0)/hugepages/hugepages-\(hp.kib)kB/nr_hugepages" } ?? "/sys/kernel/mm/hugepages/hugepages-\(hp.kib)kB/nr_hugepages"
                problems.append("\(pages - max(have, 0)) more \(hp.rawValue) hugepages needed on \(place): echo \(pages) > \(file)\(hp == .size1G ? " (1G pages are reliable only at boot: hugepagesz=1G hugepages=\(pages))" : "")")
            }
        } else {
            out.append("  \(spec.memoryMiB) MiB of normal pages\(node.map { " bound to node \($0)" } ?? "") (hugepages = \"2M\" avoids TLB misses and fragmentation)")
        }
        // MemTotal comes from the host: compared without multiplying it.
        if let total = host.memory.totalKiB, spec.memoryMiB * 1024 > total / 4 * 3 + total % 4 * 3 / 4 {
            problems.append("the VM takes \(spec.memoryMiB) MiB of \(total / 1024) MiB host memory")
        }
        out.append("")

        // Devices
        out.append("Devices")
        let inSpec = Set(spec.devices.map(\.address))
        var groupsShown = Set<Int>()
        for d in spec.devices {
            guard let h = host.device(d.address) else {
                out.append("  \(d.address) [\(d.idPair)] \(d.kind.rawValue): not on this host")
                problems.append("\(d.address) is in the spec but not on this host")
                continue
            }
            let name = [h.names.vendor, h.names.device].compactMap { $0 }.joined(separator: " ")
            out.append("  \(d.address) [\(d.idPair)] \(d.kind.rawValue)\(name.isEmpty ? "" : " " + name), group \(h.iommuGroup.map(String.init) ?? "none"), driver now \(h.driver ?? "none")\(d.rom.map { ", ROM \($0)" } ?? "")")
            if h.vendorID != d.vendorID || h.deviceID != d.deviceID {
                problems.append("\(d.address) is \(hex(h.vendorID, width: 4)):\(hex(h.deviceID, width: 4)) on this host, not \(d.idPair) as the spec says")
            }
            for q in DeviceQuirk.matching(h) { out.append("    quirk \(q.id): \(q.note)") }
            let verdict = HostNeeds.verdict(h, host: host, usage: hostUsage)
            if verdict == .bridge || verdict.isHostCritical(displayHandoff: true), let why = verdict.reason {
                problems.append("\(d.address) is \(why): the host needs it; passing it takes it from the host")
            }
            guard let g = h.iommuGroup else { problems.append("\(d.address) has no IOMMU group: the IOMMU is off"); continue }
            guard groupsShown.insert(g).inserted else { continue }
            for m in host.groupMembers(of: d.address) where m.address != d.address {
                if m.isBridge { out.append("    group \(g) also holds bridge \(m.address): stays with the host (never passed)") }
                else if inSpec.contains(m.address) { out.append("    group \(g) forces along \(m.address) [\(hex(m.vendorID, width: 4)):\(hex(m.deviceID, width: 4))]: in the spec") }
                else { problems.append("group \(g) also holds \(m.address), which is not in the spec: libvirt cannot start the VM until every endpoint of the group is passed (add a [[device]])") }
            }
        }
        out.append("")

        // Countermeasures
        out.append("Guest settings")
        out.append("  machine q35, OVMF \(spec.firmware.code), NVRAM \(spec.firmware.nvram)")
        if let specFiles {
            for (what, path) in [("OVMF code", spec.firmware.code), ("OVMF NVRAM template", spec.firmware.vars)] + spec.devices.compactMap({ d in d.rom.map { ("ROM of \(d.address)", $0) } })
            where specFiles.kind(of: path) != .regular {
                // A warning, not a problem: the spec may be planned on one machine and run on another.
                out.append("  warning: \(what) \(path) is not on this host\(what.hasPrefix("OVMF") ? " (install ovmf / edk2-ovmf)" : "")")
            }
            // Every spec boots OVMF: a ROM without an x86-64 EFI image leaves the screen dark until the guest driver.
            for d in spec.devices {
                guard let rom = d.rom, specFiles.kind(of: rom) == .regular, let parsed = specFiles.roms[rom] else { continue }
                let issues: [ROMIssue]
                do { issues = try parsed.get().issues(vendor: d.vendorID, device: d.deviceID, uefiGuest: true) } catch {
                    out.append("  warning: ROM of \(d.address) \(rom) cannot be read: \(error)")
                    continue
                }
                for issue in issues { out.append("  warning: ROM of \(d.address) \(rom): \(issue)") }
            }
        }
        var cm: [String] = []
        if spec.hyperv.enlightenments { cm.append("Hyper-V enlightenments") }
        if spec.hyperv.kvmHidden { cm.append("KVM hidden") }
        if let id = spec.hyperv.vendorID { cm.append("Hyper-V vendor_id '\(id)'") }
        out.append("  " + (cm.isEmpty ? "no Hyper-V settings" : cm.joined(separator: ", ")))
        // Data-center GPUs run a driver that never checked for a hypervisor: no Code 43 to counter.
        let geforce = spec.devices.contains { d in
            d.kind == .gpu && d.vendorID == PCIVendor.nvidia.id
                && !(host.device(d.address).map(DataCenterGPU.matches) ?? DataCenterGPU.nvidiaDevices.contains(d.deviceID))
        }
        if geforce && !spec.hyperv.kvmHidden {
            problems.append("NVIDIA GPU without kvm-hidden: guest drivers before 465 stop with Code 43")
        }
        if let lg = spec.lookingGlass { out.append("  Looking Glass \(lg.width)x\(lg.height): \(lg.sizeMiB) MiB ivshmem") }
        if let os = spec.os {
            var parts = ["guest \(os.rawValue)"]
            if spec.firmware.secureBoot { parts.append("Secure Boot") }
            if spec.tpm { parts.append("TPM 2.0 (swtpm)") }
            if spec.usbTablet { parts.append("USB tablet") }
            if let sound = spec.sound { parts.append("\(sound.rawValue) sound") }
            out.append("  " + parts.joined(separator: ", "))
            if os == .windows11 && !(spec.tpm && spec.firmware.secureBoot) {
                out.append("  warning: Windows 11 setup refuses a machine without TPM 2.0 and Secure Boot")
            }
        }
        for d in spec.disks {
            out.append("  disk \(d.path) (\(d.format), \(d.bus.rawValue)\(d.sizeMiB.map { ", \(MemorySize.format(mib: $0))" } ?? ""))\(specFiles != nil && !d.isBlockDevice && specFiles?.kind(of: d.path) == nil ? ": not created yet (vfioctl define creates it)" : "")")
        }
        for (what, iso) in [("installer", spec.install.iso), ("virtio-win drivers", spec.install.virtioISO)] {
            guard let iso else { continue }
            out.append("  CD-ROM \(what): \(iso)")
            if let specFiles, specFiles.kind(of: iso) != .regular { out.append("  warning: \(iso) is not on this host") }
        }
        if spec.os?.isWindows == true, spec.disks.first?.bus == .virtio, spec.install.iso != nil, spec.install.virtioISO == nil {
            out.append("  warning: Windows setup finds no virtio disk without the virtio-win ISO ([install] virtio-iso) or bus = \"sata\"")
        }
        if let net = spec.network {
            switch net.source {
            case .network(let n): out.append("  network: \(net.model.rawValue) NIC on libvirt network '\(n)'")
            case .bridge(let b): out.append("  network: \(net.model.rawValue) NIC on host bridge \(b)")
            }
        }
        for p in spec.input {
            let name = p.split(separator: "/").last.map(String.init) ?? p
            out.append("  evdev \(p)\(host.inputDevices.contains(name) ? "" : " (not present on this host)")")
        }
        out.append("")

        // Host changes
        out.append("Host changes (vfioctl setup SPEC shows the exact edits)")
        let binding = BootBinding.of(spec, host: host)
        let wanted = BootArguments.wanted(spec, cpuVendor: cpu.vendor, binding: binding)
        // An empty "vfio-pci.ids=" asks for the key to be gone (every id is shared with a kept device).
        let missing = wanted.filter { $0 == "vfio-pci.ids=" ? !host.cmdline.values("vfio-pci.ids").isEmpty : !host.cmdline.arguments.contains($0) }
        out.append("  kernel arguments: \(wanted.map { $0 == "vfio-pci.ids=" ? "(no vfio-pci.ids=)" : $0 }.joined(separator: " "))")
        out.append(missing.isEmpty ? "    all present in /proc/cmdline" : "    not booted yet: \(missing.map { $0 == "vfio-pci.ids=" ? "(remove vfio-pci.ids=)" : $0 }.joined(separator: " "))")
        if !binding.ids.isEmpty { out.append("  modprobe.d: options vfio-pci ids=\(binding.ids.joined(separator: ","))") }
        if !binding.addresses.isEmpty {
            out.append("  modprobe.d: install vfio-pci \(AddressBindingFiles.script): driver_override for \(binding.addresses.map(\.description).joined(separator: " ")) at boot")
            for line in binding.explanations { out.append("    " + line) }
        }
        // The host already hands a shared id to vfio-pci: its own twin device goes with it at the next boot.
        let configuredIDs = Set(host.cmdline.values("vfio-pci.ids").flatMap { $0.split(separator: ",").map(String.init) })
            .union(host.modprobe.vfioPCIIDs.map(\.id))
        for id in binding.sharedWith.keys.sorted() where configuredIDs.contains(id) {
            let twins = (binding.sharedWith[id] ?? []).map(\.description).joined(separator: ", ")
            problems.append("vfio-pci.ids already names \(id): at the next boot vfio-pci also takes \(twins), which the host keeps; vfioctl setup SPEC --apply replaces it with binding by address")
        }
        for drv in spec.softdepDrivers { out.append("  modprobe.d: softdep \(drv) pre: vfio-pci") }
        out.append("  initramfs: vfio modules before the GPU drivers")
        for d in spec.devices {
            if let h = host.device(d.address), let drv = h.driver, drv != "vfio-pci" { out.append("  \(d.address) is bound to \(drv) now: vfio-pci takes it after the reboot") }
        }
        out.append("")
        if problems.isEmpty {
            out.append("No problems found.")
        } else {
            out.append("To fix (\(problems.count))")
            for p in problems { out.append("  - " + p) }
        }
        return (out.joined(separator: "\n") + "\n", problems)
    }
}
