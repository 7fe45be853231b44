import Foundation
import Testing
@testable import VFIOCore
import VFIOHost

/// CRLF configuration files: read as lines (Swift's "\r\n" is one Character, so splitting on "\n" saw one line),
/// edited in place, and written back with CRLF, in the file and in the diff preview.
@Suite struct LineEndingTests {
    static let grubLF = """
        GRUB_DEFAULT=0
        GRUB_TIMEOUT=5
        GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"
        GRUB_CMDLINE_LINUX=""

        """
    static let grubCRLF = grubLF.replacingOccurrences(of: "\n", with: "\r\n")

    static func crlfLines(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.indices.allSatisfy { bytes[$0] != 10 || ($0 > 0 && bytes[$0 - 1] == 13) }
    }

    @Test func sharedSplitterReadsEveryLineEnding() {
        #expect(ConfigLines("a\r\nb\r\n").lines == ["a", "b"])
        #expect(ConfigLines("a\nb").lines == ["a", "b"])
        #expect(ConfigLines("a\r\nb\r\n").ending == "\r\n")
        #expect(ConfigLines("a\nb\r\n").ending == "\n")
        #expect(ConfigLines("a\r\n\r\nb\r\n").lines == ["a", "", "b"])
        for text in ["a\r\nb\r\n", "a\nb\n", "a\r\nb", "", "x\n\n", "é\r\n"] {
            let f = ConfigLines(text)
            #expect(f.joined(f.lines) == (text.isEmpty ? "\n" : text), "\(text.debugDescription)")
        }
    }

    @Test func crlfGrubGetsOneCmdlineAndStaysCRLF() throws {
        let args = ["intel_iommu=on", "iommu=pt"]
        let lf = try GrubDefault.merge(Self.grubLF, args: args, path: "/etc/default/grub")
        let crlf = try GrubDefault.merge(Self.grubCRLF, args: args, path: "/etc/default/grub")
        #expect(crlf == lf.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(ConfigLines(crlf).lines.filter { $0.hasPrefix("GRUB_CMDLINE_LINUX_DEFAULT=") } == ["GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash intel_iommu=on iommu=pt\""])
        #expect(Self.crlfLines(crlf))
        #expect(try GrubDefault.arguments(crlf, path: "/etc/default/grub") == ["quiet", "splash", "intel_iommu=on", "iommu=pt"])
    }

    @Test func everyEditorKeepsCRLF() throws {
        let args = ["iommu=pt"]
        let bls = try BLSEntry.merge("title Linux\r\nlinux /vmlinuz\r\noptions root=/dev/sda1 quiet\r\n", args: args, path: "/boot/loader/entries/a.conf")
        #expect(bls == "title Linux\r\nlinux /vmlinuz\r\noptions root=/dev/sda1 quiet iommu=pt\r\n")
        #expect(try KernelCmdlineFile.merge("root=/dev/sda1 quiet\r\n", args: args, path: "/etc/kernel/cmdline") == "root=/dev/sda1 quiet iommu=pt\r\n")
        #expect(try Mkinitcpio.merge("# x\r\nMODULES=(i915)\r\nHOOKS=(base)\r\n", modules: ["vfio_pci"]) == "# x\r\nMODULES=(vfio_pci i915)\r\nHOOKS=(base)\r\n")
        #expect(try Booster.merge("compress: zstd\r\nmodules_force_load: a\r\n", modules: ["vfio_pci"]) == "compress: zstd\r\nmodules_force_load: vfio_pci,a\r\n")
        let modules = InitramfsToolsModules.merge("# list\r\nvfio\r\n", modules: ["vfio_pci", "vfio"])
        #expect(modules.hasPrefix("# list\r\nvfio\r\n# vfioctl setup:") && modules.hasSuffix("\r\nvfio_pci\r\n") && Self.crlfLines(modules))
        let stub = try Kernelstub.merge("{\r\n  \"user\": {\r\n    \"kernel_options\": [\r\n      \"quiet\"\r\n    ]\r\n  }\r\n}\r\n", args: args)
        #expect(stub == "{\r\n  \"user\": {\r\n    \"kernel_options\": [\r\n      \"quiet\",\r\n      \"iommu=pt\"\r\n    ]\r\n  }\r\n}\r\n")
        // modprobe.d: a CRLF file is lines, not one long line.
        let d = ModprobeDirective.parse("options vfio-pci ids=10de:2204\r\nsoftdep nvidia pre: vfio-pci\r\noptions x =\r\n", file: "f")
        #expect(d.map(\.module) == ["vfio_pci", "nvidia", "x"])
        #expect(d.vfioPCIIDs.map(\.id) == ["10de:2204"])
    }

    @Test func diffPreviewShowsTheCRLFLinesAsTheyAre() {
        let d = UnifiedDiff.render(old: "a\r\nb\r\nc\r\n", new: "a\r\nB\r\nc\r\n", oldName: "x", newName: "y")
        #expect(d == "--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\r\n-b\r\n+B\r\n c\r\n")
        // An edit that lost the CRs would show every line as changed.
        #expect(UnifiedDiff.render(old: "a\r\n", new: "a\n", oldName: "x", newName: "y") == "--- x\n+++ y\n@@ -1,1 +1,1 @@\n-a\r\n+a\n")
    }

    @Test func hugeFilesDiffWithoutAQuadraticTable() {
        let old = (0..<5000).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let new = old.replacingOccurrences(of: "line 2500\n", with: "changed\n")
        let d = UnifiedDiff.render(old: old, new: new, oldName: "x", newName: "y")
        #expect(d == "--- x\n+++ y\n@@ -2498,7 +2498,7 @@\n line 2497\n line 2498\n line 2499\n-line 2500\n+changed\n line 2501\n line 2502\n line 2503\n")
    }

    @Test func setupOnACRLFDebianTreeWritesCRLF() throws {
        let dir = try SetupTests.copy("debian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for rel in ["/etc/default/grub", "/etc/initramfs-tools/modules"] {
            let text = try String(contentsOfFile: dir + rel, encoding: .utf8)
            try text.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: dir + rel, atomically: true, encoding: .utf8)
        }
        let fs = try RootedFileSystem(root: dir)
        let plan = try BootConfig.plan(try SetupTests.spec(), cpuVendor: .intel, files: fs)
        let grub = try #require(plan.edits.first { $0.path == "/etc/default/grub" })
        #expect(ConfigLines(grub.new).lines.filter { $0.contains("GRUB_CMDLINE_LINUX_DEFAULT=") }.count == 1)
        #expect(Self.crlfLines(grub.new))
        // The preview changes only the cmdline line, and shows it with its CR.
        let changed = ConfigLines.rawLines(grub.diff).filter { ($0.hasPrefix("-") || $0.hasPrefix("+")) && !$0.hasPrefix("---") && !$0.hasPrefix("+++") }
        #expect(changed.count == 2 && changed.allSatisfy { $0.contains("GRUB_CMDLINE_LINUX_DEFAULT=") && $0.hasSuffix("\r") })
        let modules = try #require(plan.edits.first { $0.path == "/etc/initramfs-tools/modules" })
        #expect(Self.crlfLines(modules.new))
        // Applied, the files on disk are CRLF, and a second plan finds nothing to do.
        _ = try BootConfigWriter(files: fs).apply(plan.edits, vm: "crlf")
        #expect(Self.crlfLines(try String(contentsOfFile: dir + "/etc/default/grub", encoding: .utf8)))
        #expect(try BootConfig.plan(try SetupTests.spec(), cpuVendor: .intel, files: fs).edits.isEmpty)
    }

    @Test(arguments: SetupTests.distros)
    func everyFixtureConvertedToCRLFIsEditedInPlaceAndStaysCRLF(_ distro: String) throws {
        let dir = try SetupTests.copy(distro)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var converted: [String] = []
        for top in ["etc", "boot"] {
            let e = FileManager.default.enumerator(atPath: dir + "/" + top)
            while let rel = e?.nextObject() as? String {
                let path = "/\(top)/\(rel)"
                guard let text = try? String(contentsOfFile: dir + path, encoding: .utf8), text.contains("\n") else { continue }
                try text.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: dir + path, atomically: true, encoding: .utf8)
                converted.append(path)
            }
        }
        let fs = try RootedFileSystem(root: dir)
        let spec = try SetupTests.spec()
        let lf = try BootConfig.plan(spec, cpuVendor: .intel, files: RootedFileSystem(root: Repo.path("examples/etc/\(distro)")))
        let plan = try BootConfig.plan(spec, cpuVendor: .intel, files: fs)
        // The same edits as on the LF tree, line for line, each in the file's own line ending.
        #expect(plan.edits.map(\.path) == lf.edits.map(\.path))
        for (e, l) in zip(plan.edits, lf.edits) {
            #expect(ConfigLines(e.new).lines == ConfigLines(l.new).lines, "\(e.path)")
            if converted.contains(e.path) { #expect(Self.crlfLines(e.new), "\(e.path) lost its CRLF") }
        }
        _ = try BootConfigWriter(files: fs).apply(plan.edits, vm: spec.name)
        let configured = BootConfig.configuredArguments(fs) ?? []
        for a in BootArguments.wanted(spec, cpuVendor: .intel) { #expect(configured.contains(a), "\(distro): \(a)") }
        #expect(!configured.contains { $0.contains("\r") })
        #expect(try BootConfig.plan(spec, cpuVendor: .intel, files: fs).edits.isEmpty)
    }

    @Test func oversizedConfigFilesAreRefusedNotRewritten() throws {
        let dir = try SetupTests.copy("debian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try String(repeating: "# padding\n", count: 120_000).write(toFile: dir + "/etc/default/grub", atomically: true, encoding: .utf8)
        #expect(throws: BootConfigError("/etc/default/grub", "larger than 1048576 bytes: not a configuration file vfioctl edits")) {
            try BootConfig.plan(try SetupTests.spec(), cpuVendor: .intel, files: RootedFileSystem(root: dir))
        }
    }

    @Test func modprobeOutputHoldsOnlyVfioctlLines() throws {
        let dir = try SetupTests.copy("debian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = try RootedFileSystem(root: dir)
        var spec = try SetupTests.spec()
        spec.boot.blacklist = ["nouveau", "snd-hda-intel"]
        let plan = try BootConfig.plan(spec, cpuVendor: .intel, files: fs)
        let conf = try #require(plan.edits.first { $0.path == "/etc/modprobe.d/vfioctl.conf" })
        for line in ConfigLines(conf.new).lines {
            let words = line.split(separator: " ")
            let ours = line.hasPrefix("# Written by vfioctl setup")
                || (words.count == 3 && words[0] == "options" && words[1] == "vfio-pci" && words[2].hasPrefix("ids="))
                || (words.count == 4 && words[0] == "softdep" && words[2] == "pre:" && words[3] == "vfio-pci")
                || (words.count == 2 && words[0] == "blacklist")
            #expect(ours, "not a vfioctl line: \(line)")
        }
        // Hostile module names never get that far: the spec (even one built in code) is refused first.
        for hostile in ["usb_storage\ninstall usb_storage /bin/sh -c id", "a b", "x;y", "nvidia\r"] {
            var bad = try SetupTests.spec()
            bad.boot.blacklist = [hostile]
            #expect(throws: BootConfigError.self) { try BootConfig.plan(bad, cpuVendor: .intel, files: fs) }
            bad = try SetupTests.spec()
            bad.devices[0].hostDrivers = [hostile]
            do { _ = try BootConfig.plan(bad, cpuVendor: .intel, files: fs); Issue.record("accepted \(hostile.debugDescription)") } catch {
                #expect(error.description.hasPrefix("VM spec: key 'host-drivers' in [device]: '\(SpecRules.visible(hostile))'"))
            }
        }
    }
}
