/// A QEMU command line (as a POSIX shell script) equivalent to the libvirt rendering. QEMU cannot pin threads,
/// so the pinning is written as comments naming the thread (`debug-threads=on` names them "CPU N/KVM").
public struct QEMURenderer: VMRenderer {
    public let name = "qemu"
    public let format = "a QEMU command line"
    public let fileExtension = "sh"

    public init() {}

    /// The script names the devices to bind before it starts QEMU, whoever binds them.
    public func render(_ spec: VMSpec, host: RenderHost) throws(SpecError) -> String { try Self.render(spec) }

    /// The argv, after `spec.validate()`. Every spec value placed inside a QEMU option list (`-name`, `-drive`,
    /// `-device`, `-object`) goes through `option(_:)`, so a comma in a path cannot start a new option.
    public static func arguments(_ spec: VMSpec) throws(SpecError) -> [String] {
        try spec.validate()
        let q = option
        var a: [String] = ["qemu-system-x86_64"]
        a += ["-name", "\(q(spec.name)),debug-threads=on"]
        var machine = "q35,accel=kvm,kernel-irqchip=on,hpet=off,vmport=off"
        if spec.firmware.secureBoot { machine += ",smm=on" }
        machine += ",memory-backend=ram0"
        a += ["-machine", machine]
        var cpu = ["host", "migratable=off"]
        if spec.cpu.topoext { cpu.append("topoext=on") }
        if spec.hyperv.kvmHidden { cpu.append("kvm=off") }
        if spec.hyperv.enlightenments {
            cpu += ["hv-relaxed", "hv-vapic", "hv-spinlocks=0x1fff", "hv-vpindex", "hv-runtime", "hv-synic", "hv-stimer",
                    "hv-stimer-direct", "hv-reset", "hv-frequencies", "hv-reenlightenment", "hv-tlbflush", "hv-ipi", "hv-time"]
        }
        if let id = spec.hyperv.vendorID { cpu.append("hv-vendor-id=\(id)") }
        a += ["-cpu", cpu.joined(separator: ",")]
        a += ["-smp", "\(spec.vcpus),sockets=\(spec.cpu.sockets),dies=1,cores=\(spec.cpu.cores),threads=\(spec.cpu.threads)"]
        a += ["-m", "\(spec.memoryMiB)M"]
        var ram = "memory-backend-file,id=ram0,size=\(spec.memoryMiB)M"
        if let hp = spec.hugepages {
            ram += ",mem-path=\(hp == .size1G ? "/dev/hugepages1G" : "/dev/hugepages"),prealloc=on"
        } else {
            ram = "memory-backend-ram,id=ram0,size=\(spec.memoryMiB)M"
        }
        if let node = spec.numaNode { ram += ",host-nodes=\(node),policy=bind" }
        a += ["-object", ram]
        if spec.hugepages != nil { a += ["-overcommit", "mem-lock=on"] }
        for t in 0..<max(spec.cpu.iothreads, 0) { a += ["-object", "iothread,id=iothread\(t + 1)"] }
        // Secure Boot firmware: only SMM code may write its variables (what libvirt's secure='yes' sets).
        if spec.firmware.secureBoot { a += ["-global", "driver=cfi.pflash01,property=secure,value=on"] }
        a += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=\(q(spec.firmware.code))"]
        a += ["-drive", "if=pflash,format=raw,unit=1,file=\(q(spec.firmware.nvram))"]
        a += ["-rtc", "base=localtime,driftfix=slew", "-global", "kvm-pit.lost_tick_policy=delay"]
        a += ["-nodefaults", "-no-user-config", "-vga", "none", "-display", "none", "-serial", "none", "-parallel", "none"]
        let order = GuestLayout.perDeviceBootOrder(spec)
        var ahci = 0
        for (i, d) in spec.disks.enumerated() {
            a += ["-drive", "file=\(q(d.path)),format=\(d.format),if=none,id=disk\(i),cache=none,aio=native,discard=unmap"]
            let boot = order && i == 0 ? ",bootindex=1" : ""
            switch d.bus {
            case .virtio: a += ["-device", "virtio-blk-pci,drive=disk\(i)\(spec.cpu.iothreads > 0 ? ",iothread=iothread1" : "")\(boot)"]
            case .sata:
                // q35's built-in AHCI controller: ports ide.0 … ide.5.
                a += ["-device", "ide-hd,drive=disk\(i),bus=ide.\(ahci)\(boot)"]
                ahci += 1
            }
        }
        for (i, cd) in GuestLayout.cdroms(spec).enumerated() {
            a += ["-drive", "file=\(q(cd.path)),format=raw,if=none,id=cd\(i),media=cdrom,readonly=on"]
            a += ["-device", "ide-cd,drive=cd\(i),bus=ide.\(ahci)\(cd.boots ? ",bootindex=2" : "")"]
            ahci += 1
        }
        if spec.usbTablet { a += ["-device", "qemu-xhci,id=xhci", "-device", "usb-tablet,bus=xhci.0"] }
        if let net = spec.network {
            switch net.source {
            // A libvirt network does not exist without libvirt: QEMU's own user-mode NAT gives the same outbound access.
            case .network: a += ["-netdev", "user,id=net0"]
            // qemu-bridge-helper attaches the tap; /etc/qemu/bridge.conf must allow the bridge.
            case .bridge(let b): a += ["-netdev", "bridge,id=net0,br=\(q(b))"]
            }
            a += ["-device", "\(net.model == .virtio ? "virtio-net-pci" : "e1000e"),netdev=net0"]
        }
        if spec.tpm {
            a += ["-chardev", "socket,id=chrtpm,path=\(q(tpmSocket(spec)))", "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-crb,tpmdev=tpm0"]
        }
        if let sound = spec.sound {
            a += ["-audiodev", "none,id=audio0", "-device", sound == .ich9 ? "ich9-intel-hda" : "intel-hda", "-device", "hda-duplex,audiodev=audio0"]
        }
        for s in GuestLayout.slots(spec) {
            a += ["-device", "pcie-root-port,id=rp\(s.port),chassis=\(s.port),bus=pcie.0"]
            for (d, fn) in zip(s.devices, s.functions) {
                var dev = "vfio-pci,host=\(d.address),id=hostdev\(d.address.bus)_\(d.address.device)_\(d.address.function),bus=rp\(s.port),addr=0x0.\(fn)"
                if fn == 0 && s.devices.count > 1 { dev += ",multifunction=on" }
                if let rom = d.rom { dev += ",romfile=\(q(rom))" }
                a += ["-device", dev]
            }
        }
        for (i, path) in spec.input.enumerated() { a += ["-object", GuestLayout.inputObject(i, path, spec)] }
        if let lg = spec.lookingGlass {
            a += ["-object", "memory-backend-file,id=looking-glass,mem-path=/dev/shm/looking-glass,size=\(lg.sizeMiB)M,share=on"]
            a += ["-device", "ivshmem-plain,memdev=looking-glass"]
        }
        return a
    }

    public static func render(_ spec: VMSpec) throws(SpecError) -> String {
        let args = try arguments(spec).map(shellQuote)
        var out = ["#!/bin/sh", "# vfioctl render qemu: VM \"\(spec.name)\"."]
        out.append("# Before starting: bind \(spec.devices.map(\.address.description).joined(separator: " ")) to vfio-pci.")
        out.append("# QEMU cannot pin threads itself; after start, pin each thread named \"CPU N/KVM\":")
        for (i, cpu) in spec.cpu.pin.enumerated() { out.append("#   vCPU \(i) -> host CPU \(cpu)") }
        out.append("#   emulator and iothreads -> host CPUs \(spec.cpu.emulator)")
        if spec.tpm {
            // QEMU talks to a TPM emulator it does not start itself (libvirt starts swtpm for its domains).
            let state = "/var/lib/vfioctl/swtpm/\(spec.name)"
            out.append("# TPM 2.0: swtpm keeps the TPM state in \(state).")
            out.append("mkdir -p \(shellQuote(state))")
            out.append("swtpm socket --tpm2 --daemon --tpmstate dir=\(shellQuote(state)) --ctrl type=unixio,path=\(shellQuote(tpmSocket(spec))) --terminate")
        }
        var line = "exec " + args[0]
        var i = 1
        while i < args.count {
            out.append(line + " \\")
            line = "  " + args[i]
            if args[i].hasPrefix("-"), i + 1 < args.count, !args[i + 1].hasPrefix("-") {
                line += " " + args[i + 1]
                i += 1
            }
            i += 1
        }
        out.append(line)
        return out.joined(separator: "\n") + "\n"
    }

    /// The swtpm control socket of the VM (the name is `[A-Za-z0-9._-]`, so the path needs no quoting).
    static func tpmSocket(_ spec: VMSpec) -> String { "/run/vfioctl-swtpm-\(spec.name).sock" }

    /// QEMU's own escaping inside an option list (QemuOpts, `-device`/`-drive`/`-object`): a comma in a value
    /// is written twice ("a,,b" is the value "a,b").
    public static func option(_ value: String) -> String { value.replacingAll(",", with: ",,") }

    static func shellQuote(_ s: String) -> String {
        let safe = s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_=.,/:+@%".contains($0)) }
        return safe ? s : "'" + s.replacingAll("'", with: "'\\''") + "'"
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for ch in self { if ch == target { out += replacement } else { out.append(ch) } }
        return out
    }
}
