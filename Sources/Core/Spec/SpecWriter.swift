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
        if let os {
            out.append("[os]                           # the guest: which devices it gets and expects")
            out.append(Self.padded("type = \(TOML.quote(os.rawValue))", "windows11, windows10 or linux"))
            out.append(Self.padded("tpm = \(tpm)", "TPM 2.0: tpm-crb on an swtpm emulator (Windows 11 requires one)"))
            out.append(Self.padded("tablet = \(usbTablet)", "USB tablet on a qemu-xhci controller: a pointer for the installer"))
            out.append(Self.padded("sound = \(TOML.quote(sound?.rawValue ?? "none"))", "ich9 (Intel HDA, an inbox driver), ich6 or none"))
            out.append("")
        }
        out.append(firmware.secureBoot
            ? "[firmware]                     # OVMF with Secure Boot, Microsoft keys enrolled; NVRAM per VM"
            : "[firmware]                     # OVMF without Secure Boot, NVRAM per VM")
        out.append("code = \(TOML.quote(firmware.code))")
        out.append("vars = \(TOML.quote(firmware.vars))")
        out.append("nvram = \(TOML.quote(firmware.nvram))")
        if firmware.secureBoot { out.append(Self.padded("secure-boot = true", "libvirt: secure loader + SMM; code/vars must be a Secure Boot build")) }
        for d in devices {
            out.append("")
            out.append("[[device]]")
            out.append("address = \(TOML.quote(d.address.description))")
            out.append("id = \(TOML.quote(d.idPair))")
            out.append("kind = \(TOML.quote(d.kind.rawValue))")
            if let rom = d.rom { out.append("rom = \(TOML.quote(rom))") }
            if !d.hostDrivers.isEmpty { out.append("host-drivers = [\(d.hostDrivers.map(TOML.quote).joined(separator: ", "))]   # softdep ... pre: vfio-pci") }
            if let identity = d.identity {
                if let sub = identity.subsystemPair { out.append(Self.padded("subsystem = \(TOML.quote(sub))", "the board's ids: doctor --spec notices a swapped card")) }
                out.append(Self.padded("slot-path = [\(identity.slotPath.map { TOML.quote($0.description) }.joined(separator: ", "))]", "bridges from the root: notices renumbered buses"))
            }
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
            if let size = d.sizeMiB { out.append(Self.padded("size = \(TOML.quote(MemorySize.format(mib: size)))", "vfioctl define creates the image when missing")) }
            if d.bus != .virtio || os != nil {
                out.append(Self.padded("bus = \(TOML.quote(d.bus.rawValue))", d.bus == .virtio
                    ? "virtio (fast; Windows setup needs the viostor driver from the virtio-win ISO) or sata (no driver needed)"
                    : "sata: Windows setup sees it without a driver; virtio is faster once viostor is installed"))
            }
        }
        if !install.isEmpty {
            out.append("")
            out.append("[install]                      # CD-ROMs; the system disk boots first, so an empty disk boots the installer")
            if let iso = install.iso { out.append("iso = \(TOML.quote(iso))") }
            if let iso = install.virtioISO { out.append(Self.padded("virtio-iso = \(TOML.quote(iso))", "drivers for virtio disk and network during setup")) }
        }
        if let network {
            out.append("")
            out.append("[network]")
            switch network.source {
            case .network(let n): out.append(Self.padded("network = \(TOML.quote(n))", "libvirt network (default: NAT); or bridge = \"br0\" for the LAN"))
            case .bridge(let b): out.append(Self.padded("bridge = \(TOML.quote(b))", "host bridge; or network = \"default\" for libvirt's NAT"))
            }
            out.append(Self.padded("model = \(TOML.quote(network.model.rawValue))", "virtio (driver on the virtio-win ISO) or e1000e"))
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

    /// `line` with `comment` at column 32, where the other comments of the file start (one space when longer).
    static func padded(_ line: String, _ comment: String) -> String {
        line + String(repeating: " ", count: max(1, 31 - line.count)) + "# " + comment
    }
}
