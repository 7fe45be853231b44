import Foundation
import Testing
@testable import VFIOCore
import VFIOHost

/// Boot configuration on fixture /etc trees (examples/etc/DISTRO): dry-run goldens, apply → idempotent → revert
/// round trips that restore every byte, and refusals on files vfioctl does not understand.
@Suite struct SetupTests {
    static let distros = ["arch", "arch-systemd-boot", "debian", "fedora", "popos", "proxmox"]

    static func spec(_ name: String = "z490-rtx2060") throws -> VMSpec {
        try VMSpec.parse(String(contentsOfFile: Repo.path("examples/specs/\(name).toml"), encoding: .utf8))
    }

    /// A private copy of a fixture tree (tests never write into the checkout).
    static func copy(_ distro: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-setup-\(distro)-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: Repo.path("examples/etc/\(distro)"), toPath: dir)
        return dir
    }

    /// Every file and directory under `dir` with its bytes, journal excluded.
    static func snapshot(_ dir: String) -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: dir)
        while let rel = e?.nextObject() as? String {
            if rel.hasPrefix("var") { continue }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir) {
                out[rel] = isDir.boolValue ? Data("<dir>".utf8) : FileManager.default.contents(atPath: dir + "/" + rel)
            }
        }
        return out
    }

    @Test(arguments: distros)
    func dryRunMatchesGolden(_ distro: String) throws {
        let fs = try RootedFileSystem(root: Repo.path("examples/etc/\(distro)"))
        let plan = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: fs)
        Golden.check(plan.dryRunText, "setup/\(distro).diff")
    }

    @Test(arguments: distros)
    func applyIsIdempotentAndRevertRestoresEveryByte(_ distro: String) throws {
        let dir = try Self.copy(distro)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = Self.snapshot(dir)
        let fs = try RootedFileSystem(root: dir)
        let spec = try Self.spec()
        let plan = try BootConfig.plan(spec, cpuVendor: .intel, files: fs)
        #expect(!plan.edits.isEmpty)
        let writer = BootConfigWriter(files: fs)
        let journal = try writer.apply(plan.edits, vm: spec.name)
        #expect(FileManager.default.fileExists(atPath: dir + journal + "/manifest.json"))
        for e in plan.edits { #expect(FileManager.default.contents(atPath: dir + e.path) == Data(e.new.utf8)) }

        // The configured arguments now hold everything, and a second plan changes nothing.
        let configured = BootConfig.configuredArguments(fs) ?? []
        for a in BootArguments.wanted(spec, cpuVendor: .intel) { #expect(configured.contains(a), "\(distro): \(a)") }
        #expect(try BootConfig.plan(spec, cpuVendor: .intel, files: fs).edits.isEmpty)

        let (_, restored, _) = try writer.revert()
        #expect(Set(restored) == Set(plan.edits.map(\.path)))
        #expect(Self.snapshot(dir) == before)
        #expect(throws: SetupError.self) { try writer.revert() }   // nothing left to revert
    }

    @Test func debianKernelBefore62GetsVfioVirqfdAndArchDoesNot() throws {
        let debian = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: RootedFileSystem(root: Repo.path("examples/etc/debian")))
        #expect(debian.edits.first { $0.path == "/etc/initramfs-tools/modules" }?.new.contains("vfio_virqfd") == true)
        let arch = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: RootedFileSystem(root: Repo.path("examples/etc/arch")))
        #expect(arch.edits.first { $0.path == "/etc/mkinitcpio.conf" }?.new.contains("MODULES=(vfio_pci vfio vfio_iommu_type1 btrfs)") == true)
        #expect(arch.edits.allSatisfy { !$0.new.contains("vfio_virqfd") })
    }

    @Test func proxmoxUpdatesTheExistingVfioIdsLineInPlace() throws {
        let plan = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: RootedFileSystem(root: Repo.path("examples/etc/proxmox")))
        let vfio = plan.edits.first { $0.path == "/etc/modprobe.d/vfio.conf" }
        #expect(vfio?.new == "options vfio-pci ids=10de:1f08,10de:10f9,10de:1ada,10de:1adb disable_vga=1\n")
        #expect(plan.edits.first { $0.path == "/etc/modprobe.d/vfioctl.conf" }?.new.contains("options vfio-pci") == false)
        #expect(plan.commands == ["proxmox-boot-tool refresh", "update-initramfs -u -k all"])
    }

    @Test(arguments: [
        ("arch", "/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=3 quiet\"", "GRUB_CMDLINE_LINUX_DEFAULT=\"$EXTRA quiet\"", "uses shell expansion"),
        ("arch", "/etc/default/grub", "GRUB_CMDLINE_LINUX=\"\"", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"", "is set a second time"),
        ("debian", "/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet \\", "continues on the next line"),
        ("arch", "/etc/mkinitcpio.conf", "MODULES=(btrfs)", "MODULES=(\n  btrfs\n)", "not a one-line array"),
        ("proxmox", "/etc/kernel/cmdline", "boot=zfs", "boot=zfs\nquiet", "more than one line"),
        ("popos", "/etc/kernelstub/configuration", "\"user\"", "\"usr\"", "no \"user\" section"),
    ])
    func refusesFilesItDoesNotUnderstand(distro: String, path: String, from: String, to: String, message: String) throws {
        let dir = try Self.copy(distro)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: dir + path, encoding: .utf8)
        #expect(text.contains(from))
        try text.replacingOccurrences(of: from, with: to).write(toFile: dir + path, atomically: true, encoding: .utf8)
        do {
            _ = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: RootedFileSystem(root: dir))
            Issue.record("accepted \(path) with \(to)")
        } catch {
            #expect("\(error)".hasPrefix(path), "\(error)")
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func refusesToOverwriteAForeignVfioctlConf() throws {
        let dir = try Self.copy("debian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/etc/modprobe.d", withIntermediateDirectories: true)
        try "blacklist nouveau\n".write(toFile: dir + "/etc/modprobe.d/vfioctl.conf", atomically: true, encoding: .utf8)
        #expect(throws: BootConfigError.self) { try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: RootedFileSystem(root: dir)) }
    }

    @Test func applyRefusesWhenAFileChangedAfterThePlanAndRevertRefusesAfterAHandEdit() throws {
        let dir = try Self.copy("debian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = try RootedFileSystem(root: dir)
        let plan = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: fs)
        try "GRUB_TIMEOUT=1\n".write(toFile: dir + "/etc/default/grub", atomically: true, encoding: .utf8)
        #expect(throws: SetupError.self) { try BootConfigWriter(files: fs).apply(plan.edits, vm: "x") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/etc/modprobe.d/vfioctl.conf"))

        let fresh = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: fs)
        _ = try BootConfigWriter(files: fs).apply(fresh.edits, vm: "x")
        try "GRUB_TIMEOUT=2\n".write(toFile: dir + "/etc/default/grub", atomically: true, encoding: .utf8)
        #expect(throws: SetupError.self) { try BootConfigWriter(files: fs).revert() }
    }

    @Test func amdHostsGetNoIntelIommuAndIsolationIsOptional() throws {
        var spec = try Self.spec()
        #expect(!BootArguments.wanted(spec, cpuVendor: .amd).contains("intel_iommu=on"))
        spec.boot.isolateCPUs = true
        #expect(BootArguments.wanted(spec, cpuVendor: .intel).contains("nohz_full=1-4,11-14"))
        #expect(BootArguments.merge(["quiet", "vfio-pci.ids=1:2", "iommu=pt"], ["iommu=pt", "vfio-pci.ids=3:4"]) == ["quiet", "vfio-pci.ids=3:4", "iommu=pt"])
    }
}

@Suite struct ConfigEditorTests {
    @Test func boosterMergesIntoAnExistingList() throws {
        #expect(try Booster.merge("compression: zstd\nmodules_force_load: nvme\n", modules: ["vfio_pci", "vfio"]) == "compression: zstd\nmodules_force_load: vfio_pci,vfio,nvme\n")
        #expect(try Booster.merge("compression: zstd\n", modules: ["vfio_pci"]) == "compression: zstd\nmodules_force_load: vfio_pci\n")
        #expect(throws: BootConfigError.self) { try Booster.merge("modules_force_load: [a, b]\n", modules: ["vfio"]) }
    }

    @Test func grubKeepsSingleQuotesAndExport() throws {
        let out = try GrubDefault.merge("export GRUB_CMDLINE_LINUX_DEFAULT='quiet splash'\n", args: ["iommu=pt"], path: "/etc/default/grub")
        #expect(out == "export GRUB_CMDLINE_LINUX_DEFAULT='quiet splash iommu=pt'\n")
    }

    @Test func grubReplacesOldIdsInsteadOfDuplicating() throws {
        let out = try GrubDefault.merge("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet vfio-pci.ids=1002:67df\"\n", args: ["vfio-pci.ids=10de:1f08"], path: "/etc/default/grub")
        #expect(out == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet vfio-pci.ids=10de:1f08\"\n")
    }

    @Test func grubWithoutTheKeyGetsOne() throws {
        #expect(try GrubDefault.merge("GRUB_TIMEOUT=5\n", args: ["iommu=pt"], path: "/etc/default/grub") == "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt\"\n")
    }

    @Test func systemdBootWithoutProxmoxUsesKernelInstall() throws {
        let dir = try SetupTests.copy("proxmox")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/etc/kernel/proxmox-boot-uuids")
        let plan = try BootConfig.plan(try SetupTests.spec(), cpuVendor: .intel, files: RootedFileSystem(root: dir))
        #expect(plan.bootloader == .kernelCmdline)
        #expect(plan.commands.first?.hasPrefix("kernel-install add") == true)
    }

    @Test func noBootloaderIsAnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-empty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: BootConfigError.self) { try BootConfig.plan(try SetupTests.spec(), cpuVendor: .intel, files: RootedFileSystem(root: dir)) }
    }
}
