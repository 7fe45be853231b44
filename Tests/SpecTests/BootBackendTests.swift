import Testing
@testable import VFIOCore
import VFIOHost

/// Bootloaders and initramfs tools are backend values, one file each, listed once in `BootConfig`'s registries.
@Suite struct BootBackendTests {
    @Test func everyBootloaderAndInitramfsToolHasExactlyOneBackend() {
        for kind in Bootloader.allCases {
            #expect(BootConfig.bootloaders.filter { $0.kind == kind }.count == 1, "\(kind)")
        }
        for kind in InitramfsTool.allCases {
            #expect(BootConfig.initramfsTools.filter { $0.kind == kind }.count == 1, "\(kind)")
        }
    }

    /// Each fixture /etc tree is recognised by the backend named for its distribution, and only the first of the
    /// backends that recognise it decides.
    @Test(arguments: [("arch", Bootloader.grub, InitramfsTool.mkinitcpio), ("arch-systemd-boot", .systemdBoot, .booster),
                      ("debian", .grub, .initramfsTools), ("fedora", .grubbyBLS, .dracut), ("popos", .kernelstub, .initramfsTools),
                      ("proxmox", .kernelCmdline, .initramfsTools)])
    func fixtureTreesAreRecognisedByTheirBackend(_ name: String, _ loader: Bootloader, _ tool: InitramfsTool) throws {
        let boot = BootFiles.load(try RootedFileSystem(root: Repo.path("examples/etc/\(name)")))
        #expect(try BootConfig.detectBootloader(boot) == loader)
        #expect(BootConfig.detectInitramfs(boot) == tool)
        #expect(try BootConfig.bootloaders.first { try $0.recognises(boot) }?.kind == loader)
    }
}
