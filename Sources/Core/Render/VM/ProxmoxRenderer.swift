/// A Proxmox VE `qemu-server` config (`/etc/pve/qemu-server/VMID.conf`, see `man qm.conf`). Proxmox has no
/// emulator-thread pinning or SMT topology setting: `affinity:` keeps the VM on its CPUs and the rest is noted.
public struct ProxmoxRenderer: VMRenderer {
    public let name = "proxmox"
    public let format = "a Proxmox qemu-server config"
    public let fileExtension = "conf"

    public init() {}

    /// Proxmox binds the devices itself at VM start (`hostpci`): the host's bind owner changes nothing here.
    public func render(_ spec: VMSpec, host: RenderHost) throws(SpecError) -> String { try Self.render(spec) }

    /// The config, after `spec.validate()`. Values that Proxmox's line format cannot carry are refused rather
    /// than written: `qm.conf` is one `key: value` per line and property strings (`hostpci0: ...,romfile=X`) have
    /// no escape for ','.
    public static func render(_ spec: VMSpec) throws(SpecError) -> String {
        try spec.validate()
        for d in spec.devices {
            if let rom = d.rom, romFile(rom).contains(",") {
                throw SpecError(line: 0, "key 'rom' in [device]: '\(rom)' has a ',' in its file name, which Proxmox's romfile= cannot carry (rename the file)")
            }
        }
        for (key, path) in [("iso", spec.install.iso), ("virtio-iso", spec.install.virtioISO)] + spec.disks.map({ ("path", Optional($0.path)) }) {
            if let path, path.contains(",") {
                throw SpecError(line: 0, "key '\(key)': '\(path)' has a ',', which a Proxmox drive property string cannot carry (rename the file)")
            }
        }
        var out: [String] = []
        out.append("# vfioctl render proxmox: /etc/pve/qemu-server/\(spec.proxmox.vmid).conf for VM \"\(spec.name)\"")
        out.append("# vCPU threads are confined to the affinity set; Proxmox cannot pin the emulator thread (host CPUs \(spec.cpu.emulator)).")
        if spec.devices.contains(where: { $0.rom != nil }) {
            out.append("# romfile= is relative to /usr/share/kvm/: copy the ROM there.")
        }
        // A disk with a size is a new one, allocated on the storage (STORAGE:GiB, as qm set takes it); a disk without
        // one already exists and is imported.
        for d in spec.disks where d.sizeMiB == nil { out.append("# disk \(d.path): import with qm disk import \(spec.proxmox.vmid) \(d.path) \(spec.proxmox.storage)") }
        if case .network(let n)? = spec.network?.source {
            out.append("# network '\(n)' is a libvirt network; Proxmox attaches the guest to the bridge vmbr0 instead.")
        }
        if spec.sound != nil { out.append("# audio0 has no host backend (driver=none): the guest sees a sound card, the host plays nothing.") }
        out.append("affinity: \(spec.vmCPUs)")
        out.append("agent: 1")
        var extra: [String] = []
        for (i, path) in spec.input.enumerated() { extra += ["-object", GuestLayout.inputObject(i, path, spec)] }
        if let lg = spec.lookingGlass {
            extra += ["-object", "memory-backend-file,id=looking-glass,mem-path=/dev/shm/looking-glass,size=\(lg.sizeMiB)M,share=on",
                      "-device", "ivshmem-plain,memdev=looking-glass"]
        }
        // qemu-server splits args: like a shell (PVE::Tools::split_args), so quote what a shell would split.
        if !extra.isEmpty { out.append("args: " + extra.map(QEMURenderer.shellQuote).joined(separator: " ")) }
        out.append("balloon: 0")
        out.append("bios: ovmf")
        var bootOrder: [String] = []
        var counters: [VMSpec.Disk.Bus: Int] = [:]
        var diskLines: [String] = []
        for d in spec.disks {
            let n = counters[d.bus, default: 0]
            counters[d.bus] = n + 1
            let key = "\(d.bus == .virtio ? "virtio" : "sata")\(n)"
            if bootOrder.isEmpty { bootOrder.append(key) }
            let volume = d.sizeMiB.map { "\(spec.proxmox.storage):\(max(1, ($0 + 1023) / 1024))" } ?? d.path
            diskLines.append("\(key): \(volume),discard=on\(d.bus == .virtio && spec.cpu.iothreads > 0 ? ",iothread=1" : "")")
        }
        // Proxmox takes absolute ISO paths as volumes (root only); the CDs sit on IDE, the way Proxmox attaches them.
        if let iso = spec.install.iso {
            diskLines.append("ide2: \(iso),media=cdrom")
            bootOrder.append("ide2")
        }
        if let iso = spec.install.virtioISO { diskLines.append("ide3: \(iso),media=cdrom") }
        if !bootOrder.isEmpty { out.append("boot: order=\(bootOrder.joined(separator: ";"))") }
        out.append("cores: \(spec.vcpus / spec.cpu.sockets)")
        var cpu = "host"
        if spec.hyperv.kvmHidden { cpu += ",hidden=1" }
        if let id = spec.hyperv.vendorID { cpu += ",hv-vendor-id=\(id)" }
        if spec.cpu.topoext { cpu += ",flags=+topoext" }
        out.append("cpu: \(cpu)")
        out.append("efidisk0: \(spec.proxmox.storage):1,efitype=4m,pre-enrolled-keys=\(spec.firmware.secureBoot ? 1 : 0)")
        let primary = GuestLayout.primaryGPU(spec)
        var index = 0
        for s in GuestLayout.slots(spec) {
            let slot = s.devices[0].address.slot
            let wholeSlot = s.devices.count > 1 && s.devices.contains { $0.address.function == 0 }
            let entries: [(String, VMSpec.PassedDevice)] = wholeSlot
                ? [(String(slot.description.dropLast(2)), s.devices[0])]
                : s.devices.map { ($0.address.description, $0) }
            for (addr, d) in entries {
                var line = "hostpci\(index): \(addr),pcie=1"
                if d.address.slot == primary?.slot { line += ",x-vga=1" }
                if let rom = wholeSlot ? s.devices.first(where: { $0.rom != nil })?.rom : d.rom {
                    line += ",romfile=\(romFile(rom))"
                }
                out.append(line)
                index += 1
            }
        }
        if let hp = spec.hugepages { out.append("hugepages: \(hp == .size1G ? 1024 : 2)") }
        out += diskLines
        out.append("machine: q35")
        out.append("memory: \(spec.memoryMiB)")
        out.append("name: \(spec.name)")
        if let net = spec.network {
            let bridge: String
            switch net.source {
            case .network: bridge = "vmbr0"
            case .bridge(let b): bridge = b
            }
            out.append("net0: \(net.model == .virtio ? "virtio" : "e1000e"),bridge=\(bridge)")
        }
        out.append("numa: \(spec.hugepages != nil || spec.numaNode != nil ? 1 : 0)")
        if let node = spec.numaNode {
            out.append("numa0: cpus=0-\(spec.vcpus - 1),hostnodes=\(node),memory=\(spec.memoryMiB),policy=bind")
        }
        let ostype: String
        switch spec.os {
        case .windows10?: ostype = "win10"
        case .linux?: ostype = "l26"
        default: ostype = "win11"
        }
        out.append("ostype: \(ostype)")
        if let sound = spec.sound { out.append("audio0: device=\(sound == .ich9 ? "ich9-intel-hda" : "intel-hda"),driver=none") }
        out.append("scsihw: virtio-scsi-single")
        out.append("sockets: \(spec.cpu.sockets)")
        out.append("tablet: \(spec.usbTablet ? 1 : 0)")
        if spec.tpm { out.append("tpmstate0: \(spec.proxmox.storage):1,version=v2.0") }
        out.append("vga: none")
        return out.joined(separator: "\n") + "\n"
    }

    /// romfile= is a name under /usr/share/kvm/.
    static func romFile(_ rom: String) -> String { rom.split(separator: "/").last.map(String.init) ?? rom }
}
