import Foundation
import Testing
@testable import VFIOCore

/// Every libvirt rendering goes through libvirt itself (DOMAIN §3): the RNG schema, `define --validate` in an
/// embedded driver (qemu.conf with user root, a hugetlbfs mount for the page size), `dumpxml`, and
/// `domxml-to-native qemu-argv`. Skips with the reason when the tools are missing.
@Suite(.serialized) struct LibvirtValidationTests {
    static func skipReason() -> String? {
        if Run.which("virsh") == nil || Run.which("virt-xml-validate") == nil {
            return "virsh/virt-xml-validate not installed (apt-get install libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 ovmf libxml2-utils)"
        }
        if getuid() == 0, (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8))?.contains("\nlibvirt-qemu:") != true {
            return "user libvirt-qemu missing: libvirt's embedded QEMU driver cannot start as root without it (apt-get install libvirt-daemon-system)"
        }
        return nil
    }

    @Test(arguments: Examples.cases)
    func libvirtAcceptsAndKeepsEverything(_ c: Examples.Case) throws {
        let (spec, _) = try Examples.spec(c)
        try validate(spec, label: c.name)
    }

    @Test func diskOnAnIothreadAndMemoryBoundToANode() throws {
        var (spec, _) = try Examples.spec(Examples.cases[1])
        spec.name = "disk-numa"
        spec.numaNode = 0
        spec.disks = [VMSpec.Disk(path: "/var/lib/libvirt/images/disk-numa.qcow2", format: "qcow2")]
        if let out = try validate(spec, label: spec.name) {
            #expect(out.contains("\"host-nodes\":[0],\"policy\":\"bind\""))
            #expect(out.contains("\"driver\":\"virtio-blk-pci\",\"iothread\":\"iothread1\""))
        }
    }

    /// The domain `vfioctl define` gives virsh: the hook owns the bind, so libvirt must keep managed='no'.
    @Test func definedDomainLeavesTheBindToTheHook() throws {
        let (spec, _) = try Examples.spec(Examples.cases[3])
        if let out = try validate(spec, label: "hook-bind", bind: .hook) {
            #expect(out.contains("managed='no'"))
            #expect(!out.contains("managed='yes'"))
        }
    }

    /// Runs the rendering through libvirt; returns virsh's output (normalized XML + QEMU argv), nil when skipped.
    @discardableResult
    func validate(_ spec: VMSpec, label c: String, bind owner: LibvirtRenderer.BindOwner = .libvirt) throws -> String? {
        if let reason = Self.skipReason() {
            print("SKIP libvirt validation of \(c): \(reason)")
            return nil
        }
        var xml = try LibvirtRenderer.render(spec, bind: owner)
        if !FileManager.default.fileExists(atPath: "/dev/kvm") {
            // Without KVM libvirt refuses type='kvm' and host-passthrough; validate the TCG twin of the same domain.
            print("NOTE \(c): no /dev/kvm; validating with type='qemu' and cpu mode='maximum'")
            xml = xml.replacingOccurrences(of: "<domain type='kvm'>", with: "<domain type='qemu'>")
                .replacingOccurrences(of: "<cpu mode='host-passthrough' check='none' migratable='off'>", with: "<cpu mode='maximum' check='none'>")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-virsh-\(c)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/domain.xml"
        try xml.write(toFile: file, atomically: true, encoding: .utf8)

        let schema = try Run.run(Run.which("virt-xml-validate")!, [file, "domain"])
        #expect(schema.status == 0, "virt-xml-validate: \(schema.out)")

        var conf = "user = \"root\"\ngroup = \"root\"\n"
        var mounted: String?
        var native = file
        if let hp = spec.hugepages {
            let mnt = dir + "/hugepages"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            if getuid() == 0, let mount = Run.which("mount"),
               (try? Run.run(mount, ["-t", "hugetlbfs", "-o", "pagesize=\(hp.rawValue)", "hugetlbfs", mnt]))?.status == 0 {
                mounted = mnt
                conf += "hugetlbfs_mount = [\"\(mnt)\"]\n"
            } else {
                // domxml-to-native needs a hugetlbfs mount of the page size; convert a copy without hugepages.
                print("NOTE \(c): no hugetlbfs mount possible (needs root); domxml-to-native runs without <memoryBacking>")
                native = dir + "/native.xml"
                let stripped = xml.replacingOccurrences(of: #"  <memoryBacking>[\s\S]*?</memoryBacking>\n"#, with: "", options: .regularExpression)
                try stripped.write(toFile: native, atomically: true, encoding: .utf8)
            }
        }
        defer { if let mounted, let umount = Run.which("umount") { _ = try? Run.run(umount, [mounted]) } }
        try conf.write(toFile: dir + "/etc/qemu.conf", atomically: true, encoding: .utf8)

        let script = "define --validate \(file); dumpxml \(spec.name); domxml-to-native qemu-argv \(native); undefine --nvram \(spec.name)"
        let r = try Run.run(Run.which("virsh")!, ["-q", "-c", "qemu:///embed?root=\(dir)", script], cwd: dir)
        #expect(r.status == 0, "virsh: \(r.out)")
        let out = r.out

        // libvirt's normalized XML keeps what matters.
        for d in spec.devices {
            #expect(out.contains("<address domain='0x\(hex(d.address.domain, width: 4))' bus='0x\(hex(d.address.bus, width: 2))' slot='0x\(hex(d.address.device, width: 2))' function='0x\(d.address.function)'/>"), "hostdev \(d.address)")
        }
        if owner == .libvirt { #expect(!out.contains("managed='no'")) }
        for (i, cpu) in spec.cpu.pin.enumerated() { #expect(out.contains("<vcpupin vcpu='\(i)' cpuset='\(cpu)'/>")) }
        #expect(out.contains("<emulatorpin cpuset='\(spec.cpu.emulator)'/>"))
        #expect(out.contains("<topology sockets='1' dies='1' cores='\(spec.cpu.cores)' threads='\(spec.cpu.threads)'/>"))

        // And QEMU's argv has the countermeasures and devices.
        for d in spec.devices { #expect(out.contains("\"driver\":\"vfio-pci\",\"host\":\"\(d.address)\""), "vfio-pci \(d.address)") }
        if spec.hyperv.kvmHidden { #expect(out.contains("kvm=off")) }
        if let id = spec.hyperv.vendorID { #expect(out.contains("hv-vendor-id=\(id)")) }
        if spec.cpu.topoext { #expect(out.contains("topoext=on")) }
        #expect(out.contains("-smp \(spec.vcpus),sockets=1,dies=1,cores=\(spec.cpu.cores),threads=\(spec.cpu.threads)"))
        for p in spec.input { #expect(out.contains("\"qom-type\":\"input-linux\",\"id\":\"input") && out.contains(p)) }
        if let lg = spec.lookingGlass {
            #expect(out.contains("\"driver\":\"ivshmem-plain\""))
            #expect(out.contains("\"size\":\(lg.sizeMiB * 1024 * 1024)"))
        }
        // The installable VM: disk, CD-ROMs in boot order, NIC, TPM, Secure Boot, tablet, sound reach QEMU.
        for d in spec.disks { #expect(out.contains(d.path), "disk \(d.path)") }
        if let iso = spec.install.iso {
            #expect(out.contains(iso) && out.contains("<boot order='2'/>"), "installer CD \(iso)")
            #expect(out.contains("\"bootindex\":1") && out.contains("\"bootindex\":2"), "boot order disk, then installer")
        }
        if let iso = spec.install.virtioISO { #expect(out.contains(iso), "virtio-win CD \(iso)") }
        if spec.disks.first?.bus == .sata { #expect(out.contains("\"driver\":\"ide-hd\"")) }
        if let net = spec.network { #expect(out.contains(net.model == .virtio ? "virtio-net-pci" : "e1000e"), "NIC") }
        if spec.tpm { #expect(out.contains("<tpm model='tpm-crb'>") && out.contains("tpm-crb"), "TPM") }
        if spec.firmware.secureBoot {
            #expect(out.contains("secure='yes'") && out.contains("<smm state='on'/>"), "Secure Boot loader and SMM")
            #expect(out.contains("smm=on") || out.contains("smm\":true") || out.contains("smm\":\"on"), "QEMU machine with SMM")
        }
        if spec.usbTablet { #expect(out.contains("qemu-xhci") && out.contains("usb-tablet"), "USB tablet") }
        if spec.sound == .ich9 { #expect(out.contains("ich9-intel-hda"), "ich9 sound") }
        for d in spec.devices where d.rom != nil { #expect(out.contains("\"romfile\":\"\(d.rom!)\"")) }
        if mounted != nil { #expect(out.contains("\"qom-type\":\"memory-backend-file\",\"id\":\"pc.ram\",\"mem-path\":\"\(dir)/hugepages")) }

        // The QEMU renderer says the same as libvirt's own conversion.
        let ours = try QEMURenderer.arguments(spec)
        let ourCPU = Set(ours[ours.firstIndex(of: "-cpu")! + 1].split(separator: ",").map { String($0).replacingOccurrences(of: "=on", with: "") })
        let theirCPU = out.split(separator: " ").drop { $0 != "-cpu" }.dropFirst().first.map { Set($0.split(separator: ",").map { String($0).replacingOccurrences(of: "=on", with: "") }) } ?? []
        for flag in ourCPU where flag.hasPrefix("hv-") || flag == "kvm=off" || flag == "topoext" {
            #expect(theirCPU.contains(flag), "libvirt's -cpu lacks \(flag)")
        }
        #expect(ours.contains("\(spec.vcpus),sockets=\(spec.cpu.sockets),dies=1,cores=\(spec.cpu.cores),threads=\(spec.cpu.threads)"))
        let ourHosts = Set(ours.filter { $0.hasPrefix("vfio-pci,host=") }.map { String($0.dropFirst(14).prefix(12)) })
        #expect(ourHosts == Set(spec.devices.map(\.address.description)))
        return out
    }

    @Test func plainDefineWouldHaveLostManagedTrueButValidateRejects() throws {
        guard Self.skipReason() == nil else { print("SKIP: \(Self.skipReason()!)"); return }
        // The pitfall from DOMAIN §3: managed='true' is not libvirt's spelling; define --validate refuses it.
        let (spec, _) = try Examples.spec(Examples.cases[0])
        let xml = try LibvirtRenderer.render(spec).replacingOccurrences(of: "managed='yes'", with: "managed='true'")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-virsh-neg-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "user = \"root\"\ngroup = \"root\"\n".write(toFile: dir + "/etc/qemu.conf", atomically: true, encoding: .utf8)
        try xml.write(toFile: dir + "/d.xml", atomically: true, encoding: .utf8)
        let r = try Run.run(Run.which("virsh")!, ["-q", "-c", "qemu:///embed?root=\(dir)", "define --validate \(dir)/d.xml"], cwd: dir)
        #expect(r.status != 0)
    }
}
