extension VMSpec {
    /// The spec as TOML that `VMSpec.parse` reads back to the same value. `notes` become a comment header
    /// (why the planner chose what it chose), so the file explains itself.
    public func toml(notes: [String] = []) -> String {
        var out: [String] = ["# vfioctl VM spec (format: examples/specs/README.md). Edit, then: vfioctl plan FILE; vfioctl render libvirt FILE"]
        for n in notes { out.append("# " + n) }
        out.append("")
        out.append("name = \(TOML.quote(name))")
        out.append("vcpus = \(vcpus)")
        out.append("memory = \(TOML.quote(MemorySize.format(mib: memoryMiB)))")
        if let hugepages { out.append("hugepages = \(TOML.quote(hugepages.rawValue))            # page size; leave out for none") }
        if let numaNode { out.append("numa-node = \(numaNode)                  # host node for guest memory (the GPU's)") }
        out.append("")
        out.append("[cpu]")
        out.append("# pin[i] = host CPU of vCPU i; each run of \(cpu.threads) vCPUs is one guest core on one host core's SMT siblings")
        out.append("pin = [\(cpu.pin.map(String.init).joined(separator: ", "))]")
        out.append("emulator = \(TOML.quote(cpu.emulator.description))     # QEMU emulator thread and iothreads (housekeeping CPUs)")
        out.append("iothreads = \(cpu.iothreads)")
        out.append("sockets = \(cpu.sockets)")
        out.append("cores = \(cpu.cores)")
        out.append("threads = \(cpu.threads)")
        if cpu.topoext { out.append("topoext = true                 # AMD: guest sees SMT siblings") }
        out.append("")
        out.append("[firmware]                     # OVMF without Secure Boot, NVRAM per VM")
        out.append("code = \(TOML.quote(firmware.code))")
        out.append("vars = \(TOML.quote(firmware.vars))")
        out.append("nvram = \(TOML.quote(firmware.nvram))")
        for d in devices {
            out.append("")
            out.append("[[device]]")
            out.append("address = \(TOML.quote(d.address.description))")
            out.append("id = \(TOML.quote(d.idPair))")
            out.append("kind = \(TOML.quote(d.kind.rawValue))")
            if let rom = d.rom { out.append("rom = \(TOML.quote(rom))") }
            if !d.hostDrivers.isEmpty { out.append("host-drivers = [\(d.hostDrivers.map(TOML.quote).joined(separator: ", "))]   # softdep ... pre: vfio-pci") }
        }
        out.append("")
        out.append("[hyperv]")
        out.append("enlightenments = \(hyperv.enlightenments)")
        if let id = hyperv.vendorID { out.append("vendor-id = \(TOML.quote(id))      # ≤ 12 characters") }
        out.append("kvm-hidden = \(hyperv.kvmHidden)")
        if let lg = lookingGlass {
            out.append("")
            out.append("[looking-glass]                # shared memory: \(lg.sizeMiB) MiB")
            out.append("width = \(lg.width)")
            out.append("height = \(lg.height)")
        }
        if !input.isEmpty {
            out.append("")
            out.append("[input]")
            out.append("evdev = [")
            for p in input { out.append("  \(TOML.quote(p)),") }
            out.append("]")
        }
        for d in disks {
            out.append("")
            out.append("[[disk]]")
            out.append("path = \(TOML.quote(d.path))")
            out.append("format = \(TOML.quote(d.format))")
        }
        out.append("")
        out.append("[boot]                         # vfioctl setup")
        out.append("video-efifb-off = \(boot.videoEfifbOff)")
        out.append("isolate-cpus = \(boot.isolateCPUs)")
        out.append("blacklist = [\(boot.blacklist.map(TOML.quote).joined(separator: ", "))]")
        out.append("")
        out.append("[proxmox]")
        out.append("vmid = \(proxmox.vmid)")
        out.append("storage = \(TOML.quote(proxmox.storage))")
        return out.joined(separator: "\n") + "\n"
    }
}
