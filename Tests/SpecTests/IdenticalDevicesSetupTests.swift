import Foundation
import Testing
@testable import VFIOCore
import VFIOHost

/// Identical devices at boot on the x570-twin-gpus example: two RTX 3060 with the same ids (the host keeps
/// 0b:00.x) and a quad-port I350 whose first port is the uplink. `vfio-pci.ids=` would take the host's card and
/// port, so setup binds the passed functions by address, for every initramfs tool, and reverts byte for byte.
@Suite struct IdenticalDevicesSetupTests {
    static let host = "x570-twin-gpus"

    /// The x570 host tree with a distro's /etc laid over it, in a private temporary directory.
    static func tree(_ distro: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-twin-\(distro)-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: Repo.path("examples/hosts/\(host)"), toPath: dir)
        try? FileManager.default.removeItem(atPath: dir + "/etc/default")
        let source = Repo.path("examples/etc/\(distro)")
        let e = FileManager.default.enumerator(atPath: source)
        while let rel = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: source + "/" + rel, isDirectory: &isDir)
            if isDir.boolValue {
                try FileManager.default.createDirectory(atPath: dir + "/" + rel, withIntermediateDirectories: true)
            } else {
                try? FileManager.default.removeItem(atPath: dir + "/" + rel)
                try FileManager.default.copyItem(atPath: source + "/" + rel, toPath: dir + "/" + rel)
            }
        }
        return dir
    }

    static func spec(_ devices: [String], hugepages: Bool = false, memory: Int = 16384) throws -> (VMSpec, HostModel) {
        let (session, host) = try Examples.load(Self.host)
        var r = InitRequest(name: "twin", devices: devices.compactMap(PCIAddress.init), vcpus: 8, memoryMiB: memory)
        r.hugepages = hugepages
        return (try SpecBuilder.build(r, host: host, files: session.files).0, host)
    }

    /// Every `ids=` list and `vfio-pci.ids=` argument the edits would leave.
    static func idLists(_ plan: BootPlan) -> [String] {
        plan.edits.flatMap { e in
            e.new.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "\"" }).filter { $0.hasPrefix("ids=") || $0.hasPrefix("vfio-pci.ids=") }.map(String.init)
        }
    }

    @Test(arguments: ["debian", "arch", "fedora"])
    func twinGPUIsBoundByAddressNeverByID(_ distro: String) throws {
        let (spec, host) = try Self.spec(["0000:0c:00.0"])
        let root = try Self.tree(distro)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try RootedFileSystem(root: root)
        let plan = try BootConfig.plan(spec, cpuVendor: .amd, files: files, host: host)

        #expect(plan.binding.addresses.map(\.description) == ["0000:0c:00.0", "0000:0c:00.1"])
        #expect(plan.binding.ids.isEmpty)
        for list in Self.idLists(plan) {
            #expect(!list.contains("10de:2504") && !list.contains("10de:228e"), "\(distro): \(list) would capture the host's 0b:00.x")
        }
        let modprobe = try #require(plan.edits.first { $0.path == "/etc/modprobe.d/vfioctl.conf" })
        #expect(modprobe.new.contains("install vfio-pci /usr/local/sbin/vfioctl-vfio-pci-override $CMDLINE_OPTS"))
        #expect(modprobe.new.contains("softdep nvidia pre: vfio-pci"))
        let script = try #require(plan.edits.first { $0.path == "/usr/local/sbin/vfioctl-vfio-pci-override" })
        #expect(script.new.contains("for dev in 0000:0c:00.0 0000:0c:00.1; do"))
        #expect(!script.new.contains("0000:0b:00"))
        #expect(plan.dryRunText.contains("10de:2504 is also the id of 0000:0b:00.0, which the host keeps"))

        // The script must reach the initramfs, where the GPU driver may load: one way per tool.
        switch distro {
        case "debian":
            let hook = try #require(plan.edits.first { $0.path == "/etc/initramfs-tools/hooks/vfioctl" })
            #expect(hook.new.contains("copy_file script /usr/local/sbin/vfioctl-vfio-pci-override"))
        case "arch":
            let conf = try #require(plan.edits.first { $0.path == "/etc/mkinitcpio.conf" })
            #expect(conf.new.contains("FILES=(/usr/local/sbin/vfioctl-vfio-pci-override)"))
        default:
            let conf = try #require(plan.edits.first { $0.path == "/etc/dracut.conf.d/10-vfioctl.conf" })
            #expect(conf.new.contains("install_items+=\" /usr/local/sbin/vfioctl-vfio-pci-override \""))
        }

        // Apply: the script is executable; revert gives back every byte.
        let before = SetupTests.snapshot(root)
        _ = try BootConfigWriter(files: files).apply(plan.edits, vm: spec.name)
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/usr/local/sbin/vfioctl-vfio-pci-override")
        #expect((attributes[.posixPermissions] as? Int) == 0o755)
        if distro == "debian" {
            let hook = try FileManager.default.attributesOfItem(atPath: root + "/etc/initramfs-tools/hooks/vfioctl")
            #expect((hook[.posixPermissions] as? Int) == 0o755)
        }
        #expect(try BootConfig.plan(spec, cpuVendor: .amd, files: files, host: host).edits.isEmpty, "\(distro): applying twice changes nothing")
        _ = try BootConfigWriter(files: files).revert()
        #expect(SetupTests.snapshot(root) == before)
    }

    @Test func onePortOfAQuadNICIsBoundByAddressAndTheUplinkStays() throws {
        let (spec, host) = try Self.spec(["0000:05:00.1"])
        let root = try Self.tree("debian")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let plan = try BootConfig.plan(spec, cpuVendor: .amd, files: try RootedFileSystem(root: root), host: host)
        #expect(plan.binding.addresses.map(\.description) == ["0000:05:00.1"])
        #expect(plan.binding.sharedWith["8086:1521"]?.map(\.description) == ["0000:05:00.0", "0000:05:00.2", "0000:05:00.3"])
        for list in Self.idLists(plan) { #expect(!list.contains("8086:1521")) }
        let script = try #require(plan.edits.first { $0.path == "/usr/local/sbin/vfioctl-vfio-pci-override" })
        #expect(script.new.contains("for dev in 0000:05:00.1; do"))
    }

    @Test func aDeviceWithoutATwinKeepsItsID() throws {
        let (spec, host) = try Self.spec(["0000:04:00.0"])
        let binding = BootBinding.of(spec, host: host)
        #expect(binding.addresses.isEmpty)
        #expect(binding.ids == ["144d:a80a"])
    }

    @Test func anOldSharedIDIsRemovedFromTheKernelArguments() throws {
        let (spec, host) = try Self.spec(["0000:0c:00.0"])
        let root = try Self.tree("debian")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let grub = root + "/etc/default/grub"
        var text = try String(contentsOfFile: grub, encoding: .utf8)
        text = text.replacingOccurrences(of: "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet", with: "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet vfio-pci.ids=10de:2504,10de:228e")
        try text.write(toFile: grub, atomically: true, encoding: .utf8)
        let plan = try BootConfig.plan(spec, cpuVendor: .amd, files: try RootedFileSystem(root: root), host: host)
        let edit = try #require(plan.edits.first { $0.path == "/etc/default/grub" })
        #expect(!edit.new.contains("vfio-pci.ids"))
        #expect(edit.new.contains("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet"))
    }

    @Test func mkinitcpioWithoutModconfIsRefusedNamingTheFile() throws {
        let (spec, host) = try Self.spec(["0000:0c:00.0"])
        let root = try Self.tree("arch")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let conf = root + "/etc/mkinitcpio.conf"
        let text = try String(contentsOfFile: conf, encoding: .utf8).replacingOccurrences(of: " modconf", with: "")
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        #expect {
            try BootConfig.plan(spec, cpuVendor: .amd, files: try RootedFileSystem(root: root), host: host)
        } throws: { ($0 as? BootConfigError)?.description.hasPrefix("/etc/mkinitcpio.conf: HOOKS has no modconf") == true }
    }

    @Test func boosterCannotBindByAddressAndSaysSo() throws {
        let (spec, host) = try Self.spec(["0000:0c:00.0"])
        let root = try Self.tree("arch-systemd-boot")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect {
            try BootConfig.plan(spec, cpuVendor: .amd, files: try RootedFileSystem(root: root), host: host)
        } throws: { ($0 as? BootConfigError)?.description.contains("booster does not run modprobe's install commands") == true }
    }

    @Test func oneGiBPagesAreReservedAtBootWithoutLoweringTheCount() throws {
        let (spec, host) = try Self.spec(["0000:0c:00.0"], hugepages: true, memory: 8192)
        #expect(spec.hugepages == .size1G)
        let root = try Self.tree("debian")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let grub = root + "/etc/default/grub"
        let text = try String(contentsOfFile: grub, encoding: .utf8)
            .replacingOccurrences(of: "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet", with: "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet hugepagesz=1G hugepages=24")
        try text.write(toFile: grub, atomically: true, encoding: .utf8)
        let kept = try BootConfig.plan(spec, cpuVendor: .amd, files: try RootedFileSystem(root: root), host: host)
        #expect(kept.edits.first { $0.path == "/etc/default/grub" }.map { $0.new.contains("hugepages=24") } ?? true)
        try text.replacingOccurrences(of: "hugepages=24", with: "hugepages=4").write(toFile: grub, atomically: true, encoding: .utf8)
        let raised = try BootConfig.plan(spec, cpuVendor: .amd, files: try RootedFileSystem(root: root), host: host)
        let edit = try #require(raised.edits.first { $0.path == "/etc/default/grub" })
        #expect(edit.new.contains("hugepagesz=1G hugepages=8"))
    }

    @Test func doctorWarnsWhenConfiguredIDsTakeTheHostsTwin() throws {
        var (_, host) = try Examples.load(Self.host)
        host.cmdline = KernelCommandLine(host.cmdline.raw + " vfio-pci.ids=10de:2504,10de:228e")
        let report = Doctor.run(CheckContext(host: host, targets: [PCIAddress("0000:0c:00.0")!]))
        let warn = try #require(report.findings.first { $0.check == "boot.vfio-ids" && $0.status == .warn })
        #expect(warn.subjects.map(\.description) == ["0000:0b:00.0", "0000:0b:00.1"])
    }
}
