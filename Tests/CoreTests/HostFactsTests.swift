import Foundation
import Testing
@testable import VFIOCore

/// The fact layer: each scope reads its part, a part that cannot be read keeps its own error for the command that
/// needs it, and the planners give the same answer on the facts as they did reading the files themselves.
@Suite struct HostFactsTests {
    static func grubTree(_ grub: String = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n") -> MemoryFiles {
        var m = MemoryFiles()
        m.file("/etc/default/grub", grub)
        m.file("/etc/os-release", "ID=debian\n")
        m.file("/etc/initramfs-tools/modules", "# modules\n")
        m.file("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n")
        return m
    }

    /// A bundled example spec (an NVIDIA GPU and its audio function).
    static func spec() throws -> VMSpec {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try VMSpec.parse(String(contentsOf: repo.appendingPathComponent("examples/specs/z490-rtx2060.toml"), encoding: .utf8))
    }

    /// A bare /etc tree has no inventory, and says why; the boot facts are still there for `setup`.
    @Test func bootFactsLoadWithoutAnInventory() throws {
        let facts = HostFacts.load(Self.grubTree(), scope: [.model, .boot])
        #expect(throws: HostLoadError.self) { try facts.hostModel() }
        #expect(facts.host == nil)
        let boot = try #require(facts.boot)
        #expect(try BootConfig.detectBootloader(boot) == .grub)
        #expect(BootConfig.detectInitramfs(boot) == .initramfsTools)
        #expect(BootConfig.configuredArguments(boot) == ["quiet"])
    }

    /// `setup` on the facts prints what it printed reading the tree itself.
    @Test func bootPlanOnFactsEqualsThePlanOnTheTree() throws {
        let tree = Self.grubTree()
        let onFacts = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, boot: try #require(HostFacts.load(tree, scope: .boot).boot))
        let onTree = try BootConfig.plan(try Self.spec(), cpuVendor: .intel, files: tree)
        #expect(onFacts.dryRunText == onTree.dryRunText)
        #expect(onFacts.dryRunText.contains("update-grub"))
    }

    /// A configuration file vfioctl must not rewrite is read once, and refused where the plan needs it, naming it.
    @Test func unreadableConfigurationIsRefusedByThePlanNamingTheFile() throws {
        var tree = Self.grubTree()
        tree.bytes("/etc/default/grub", [0x47, 0xff, 0xfe, 0x0a])
        let boot = try #require(HostFacts.load(tree, scope: .boot).boot)
        #expect(throws: BootConfigError("/etc/default/grub", "not UTF-8 text: refusing to edit")) {
            try BootConfig.plan(try Self.spec(), cpuVendor: .intel, boot: boot)
        }
    }

    /// Shield facts on a root without a CPU list: the error shield reports, kept for it, not thrown at load.
    @Test func shieldFailureIsKeptForShield() {
        let facts = HostFacts.load(Self.grubTree(), scope: .shield)
        #expect(throws: ShieldError("/sys/devices/system/cpu/online: unreadable; is this a Linux host root?")) { try facts.shieldState() }
        #expect(facts.model == nil && facts.boot == nil)
    }

    /// The OVMF lookup on facts: a build counts only when both its code and NVRAM template are regular files.
    @Test func firmwareFactsNeedCodeAndTemplate() {
        var tree = MemoryFiles()
        tree.file("/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "x")
        #expect(OVMFPaths.find(FirmwareFiles.load(tree), secureBoot: true) == nil)
        tree.file("/usr/share/OVMF/OVMF_VARS_4M.ms.fd", "x")
        let found = OVMFPaths.find(HostFacts.load(tree, scope: .firmware).firmware ?? FirmwareFiles(), secureBoot: true)
        #expect(found?.code == "/usr/share/OVMF/OVMF_CODE_4M.ms.fd")
        #expect(OVMFPaths.find(FirmwareFiles.load(tree), secureBoot: false) == nil)
    }
}
