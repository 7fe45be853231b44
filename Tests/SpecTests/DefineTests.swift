import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

/// `vfioctl init`'s guest flags and `vfioctl define` end to end through the built binary, on trees: nothing is
/// run there (the commands are recorded), every file define writes is journaled and undone byte for byte.
@Suite(.serialized) struct DefineTests {
    static let vfioctl = SpecCLITests.vfioctl
    static let initBase = ["init", "--root", "examples/hosts/z490-three-gpus", "--name", "w11", "--device", "06:00.0", "--vcpus", "4", "--memory", "8G"]

    @Test(arguments: [
        (["--disk", "lots"], "--disk lots: 'lots' is not a size (e.g. 128G or 128G,/var/lib/libvirt/images/win11.qcow2)"),
        (["--disk", "64G,images/w11.qcow2"], "--disk: key 'path' in [disk]: 'images/w11.qcow2' must be an absolute path"),
        (["--iso", "Win11.iso"], "--iso: key 'iso' in [install]: 'Win11.iso' must be an absolute path"),
        (["--virtio-iso", "/srv/virtio-win.iso", "--os", "linux"], "--virtio-iso: the virtio-win ISO holds Windows drivers"),
        (["--network", "bridge:"], "--network bridge:: give the host bridge's name, e.g. bridge:br0"),
        (["--network", "bridge:averyveryverylongbridge"], "must be 1–15 letters, digits, '-', '_' or '.' (a host bridge name)"),
        (["--os", "windows7"], "--os windows7: expected one of windows11, windows10, linux"),
        (["--disk-bus", "scsi"], "--disk-bus scsi: expected virtio or sata"),
    ])
    func initRefusesBadGuestFlags(_ flags: [String], _ message: String) throws {
        guard let r = try Self.vfioctl(Self.initBase + flags) else { return }
        #expect(r.status == 3, "\(flags)")
        #expect(r.out.contains(message), "\(r.out)")
    }

    @Test func initWritesTheGuestFlagsIntoTheSpec() throws {
        guard let r = try Self.vfioctl(Self.initBase + ["--os", "windows10", "--disk", "64G,/srv/vm/w11.img", "--disk-bus", "sata",
                                                        "--iso", "/srv/iso/Win10.iso", "--virtio-iso", "/srv/iso/virtio-win.iso", "--network", "bridge:br0"]) else { return }
        #expect(r.status == 0, "\(r.out)")
        let spec = try VMSpec.parse(r.out)
        #expect(spec.os == .windows10 && !spec.tpm && !spec.firmware.secureBoot)
        #expect(spec.disks == [VMSpec.Disk(path: "/srv/vm/w11.img", format: "raw", sizeMiB: 65536, bus: .sata)])
        #expect(spec.install == VMSpec.InstallMedia(iso: "/srv/iso/Win10.iso", virtioISO: "/srv/iso/virtio-win.iso"))
        #expect(spec.network == VMSpec.Network(source: .bridge("br0")))
        #expect(spec.usbTablet && spec.sound == .ich9)
    }

    @Test func specRefusesBadNewSectionsNamingTheLine() throws {
        let base = try String(contentsOfFile: Repo.path("examples/specs/z490-win11-install.toml"), encoding: .utf8)
        for (from, to, message) in [
            ("network = \"default\"", "network = \"de fault\"", "key 'network' in [network]: 'de fault' must be 1–64 letters"),
            ("network = \"default\"", "bridge = \"br0\"\nnetwork = \"default\"", "[network]: give exactly one of"),
            ("iso = \"/var/lib", "iso = \"var/lib", "key 'iso' in [install]: 'var/lib/libvirt/images/Win11_24H2_English_x64.iso' must be an absolute path"),
            ("type = \"windows11\"", "type = \"dos\"", "key 'type' in [os]: 'dos' must be one of windows11, windows10, linux"),
            ("size = \"128G\"", "size = \"lots\"", "key 'size' in [disk]: 'lots' is not a size"),
            ("bus = \"virtio\"", "bus = \"scsi\"", "key 'bus' in [disk]: 'scsi' must be \"virtio\" or \"sata\""),
        ] {
            let text = base.replacingOccurrences(of: from, with: to)
            #expect(text != base, "\(from)")
            #expect { try VMSpec.parse(text) } throws: { ($0 as? SpecError)?.message.contains(message) == true && ($0 as? SpecError)!.line > 0 }
        }
    }

    @Test func qemuIsGivenQuotedCommasInIsoPathsAndProxmoxRefusesThem() throws {
        var (spec, _) = try Examples.spec(Examples.cases[3])
        spec.install.iso = "/srv/iso/a,b.iso"
        #expect(try QEMURenderer.arguments(spec).contains("file=/srv/iso/a,,b.iso,format=raw,if=none,id=cd0,media=cdrom,readonly=on"))
        #expect { try ProxmoxRenderer.render(spec) } throws: { "\($0)".contains("'/srv/iso/a,b.iso' has a ','") }
    }

    @Test func dryRunOnAnExampleHostShowsTheEditsAndCommands() throws {
        guard let r = try Self.vfioctl(["define", "--root", "examples/hosts/z490-three-gpus", "--dry-run", "--user", "alice", "examples/specs/z490-win11-install.toml"]) else { return }
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains("--- /dev/null\n+++ b/etc/vfioctl/vms/z490-win11-install.toml\n"))
        #expect(r.out.contains("+++ b/etc/vfioctl/vms/z490-win11-install.xml\n"))
        #expect(r.out.contains("+    <hostdev mode='subsystem' type='pci' managed='no'>"))
        #expect(r.out.contains("+++ b/etc/tmpfiles.d/10-looking-glass.conf\n") && r.out.contains("+f /dev/shm/looking-glass 0660 alice kvm -"))
        #expect(r.out.contains("  qemu-img create -f qcow2 /var/lib/libvirt/images/z490-win11-install.qcow2 131072M\n"))
        #expect(r.out.contains("  virsh define /etc/vfioctl/vms/z490-win11-install.xml\n"))
        #expect(r.out.contains("and install the libvirt hook /etc/libvirt/hooks/qemu.d/vfioctl"))
        #expect(r.out.contains("vfioctl setup examples/specs/z490-win11-install.toml --apply (boot configuration is not done yet), then reboot"))
        #expect(r.out.contains("/etc/libvirt/qemu.conf is missing"))
    }

    /// A Debian /etc with libvirt's qemu.conf (defaults commented out, as shipped) and AppArmor on.
    static func tree() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-define-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: Repo.path("examples/etc/debian"), toPath: dir)
        try FileManager.default.createDirectory(atPath: dir + "/etc/libvirt", withIntermediateDirectories: true)
        try "# Master configuration file for the QEMU driver.\n#cgroup_device_acl = [\n#    \"/dev/null\", \"/dev/full\", \"/dev/zero\",\n#]\n#user = \"libvirt-qemu\"\n"
            .write(toFile: dir + "/etc/libvirt/qemu.conf", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/sys/module/apparmor/parameters", withIntermediateDirectories: true)
        try "Y\n".write(toFile: dir + "/sys/module/apparmor/parameters/enabled", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/etc/apparmor.d/local/abstractions", withIntermediateDirectories: true)
        try "# Site-specific additions and overrides for 'abstractions/libvirt-qemu'\n".write(toFile: dir + "/etc/apparmor.d/local/abstractions/libvirt-qemu", atomically: true, encoding: .utf8)
        return dir
    }

    @Test func applyRecordsTheCommandsAndUndoRestoresEveryByte() throws {
        let dir = try Self.tree()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = SetupTests.snapshot(dir)
        guard let r = try Self.vfioctl(["define", "--root", dir, "--user", "alice", "examples/specs/z490-win11-install.toml"]) else { return }
        #expect(r.status == 0, "\(r.out)")
        let spec = try String(contentsOfFile: dir + "/etc/vfioctl/vms/z490-win11-install.toml", encoding: .utf8)
        #expect(spec == (try String(contentsOfFile: Repo.path("examples/specs/z490-win11-install.toml"), encoding: .utf8)))
        let conf = try String(contentsOfFile: dir + "/etc/libvirt/qemu.conf", encoding: .utf8)
        #expect(conf.contains("cgroup_device_acl = [\n    \"/dev/null\",") && conf.contains("    \"/dev/input/by-id/usb-Corsair_K70_RGB_Gaming_Keyboard-event-kbd\",\n"))
        let aa = try String(contentsOfFile: dir + "/etc/apparmor.d/local/abstractions/libvirt-qemu", encoding: .utf8)
        #expect(aa.contains("# vfioctl define z490-win11-install: begin\n/dev/input/event* rw,\n/dev/shm/looking-glass rw,\n# vfioctl define z490-win11-install: end\n"))
        #expect(FileManager.default.isExecutableFile(atPath: dir + "/etc/libvirt/hooks/qemu.d/vfioctl"))
        // Nothing ran on this tree: qemu-img and virsh are recorded in the journal.
        #expect(r.out.contains("[1/2] qemu-img create -f qcow2 /var/lib/libvirt/images/z490-win11-install.qcow2 131072M\n  not run: --root is not / (recorded in /var/lib/vfioctl/define/"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/var/lib/libvirt/images/z490-win11-install.qcow2"))
        let journals = try FileManager.default.contentsOfDirectory(atPath: dir + "/var/lib/vfioctl/define")
        let manifest = try String(contentsOfFile: dir + "/var/lib/vfioctl/define/\(journals[0])/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"virsh\",\n") && manifest.contains("\"qemu-img\",\n") && manifest.contains("\"simulated\" : true"))

        // Again: the files are already as define writes them.
        guard let again = try Self.vfioctl(["define", "--root", dir, "--user", "alice", "--dry-run", "examples/specs/z490-win11-install.toml"]) else { return }
        #expect(again.out.contains("files: all already as define writes them"))

        guard let u = try Self.vfioctl(["define", "--undo", "--root", dir]) else { return }
        #expect(u.status == 0, "\(u.out)")
        #expect(u.out.contains("run: virsh undefine --nvram z490-win11-install\n  not run"))
        var after = SetupTests.snapshot(dir)
        // The hook stays (it serves every VM with a spec), and so does the journal.
        after = after.filter { !$0.key.hasPrefix("var/lib/vfioctl") && !$0.key.hasPrefix("etc/libvirt/hooks") }
        #expect(after == before)
    }

    /// The second of three commands fails: the third is not run, the message shows the output's end and what is
    /// left, and the journal records both results.
    @Test func aFailingCommandStopsTheSequenceShowsItsOutputAndIsJournaled() throws {
        let dir = try SetupTests.copy("debian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = try RootedFileSystem(root: dir)
        let writer = BootConfigWriter(files: fs)
        let plan = try BootConfig.plan(try SetupTests.spec(), cpuVendor: .intel, files: fs)
        let journal = try writer.apply(plan.edits, vm: "z490-rtx2060")
        let runner = RecordingCommandRunner { argv in
            argv.last == "update-initramfs -u -k all" ? CommandResult(status: 1, output: "update-initramfs: Generating /boot/initrd.img-6.1.0-18-amd64\nE: /usr/share/initramfs-tools/hooks/zz failed with return 1.\n") : CommandResult(status: 0, output: "ok\n")
        }
        var shown: [String] = []
        let sequence = CommandSequence(runner: runner, writer: writer, journal: journal, timeout: 5)
        #expect {
            try sequence.run([(["/bin/sh", "-c", "update-grub"], "update-grub"), (["/bin/sh", "-c", "update-initramfs -u -k all"], "update-initramfs -u -k all"),
                              (["/bin/sh", "-c", "true"], "true")], undo: "vfioctl setup --revert") { shown.append($0) }
        } throws: { error in
            let m = "\(error)"
            return m.hasPrefix("update-initramfs -u -k all: exit status 1. Its output:\n") && m.contains("  | E: /usr/share/initramfs-tools/hooks/zz failed with return 1.")
                && m.contains("not run yet: true") && m.hasSuffix("or undo with vfioctl setup --revert")
        }
        #expect(shown == ["[1/3] update-grub", "  done", "[2/3] update-initramfs -u -k all"])
        #expect(runner.commands.count == 2)
        let name = String(journal.split(separator: "/").last!)
        let manifest = try String(contentsOfFile: dir + "/var/lib/vfioctl/setup/\(name)/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"status\" : 1") && manifest.contains("zz failed with return 1.") && manifest.contains("\"status\" : 0"))
    }

    @Test func qemuConfKeepsAnExistingListAndAddsOnlyWhatIsMissing() throws {
        let conf = "user = \"root\"\ncgroup_device_acl = [\n    \"/dev/null\", \"/dev/kvm\",\n    \"/dev/input/a\" ]   # mine\n"
        let new = try QemuConf.allowing(["/dev/input/a", "/dev/input/b"], in: conf)
        #expect(new == "user = \"root\"\ncgroup_device_acl = [\n    \"/dev/null\",\n    \"/dev/kvm\",\n    \"/dev/input/a\",\n    \"/dev/input/b\"\n]\n")
        #expect(try QemuConf.allowing(["/dev/input/a"], in: conf) == conf)
        #expect { try QemuConf.allowing(["/dev/input/a\"b"], in: conf) } throws: { "\($0)".contains("quote or backslash") }
        #expect { try QemuConf.allowing(["/dev/input/b"], in: "cgroup_device_acl = [ \"/dev/null\" ] user = 1\n") } throws: { "\($0)".contains("/etc/libvirt/qemu.conf:1: text after") }
    }

    @Test func setupApplyRecordsTheRegenerateCommandsOnATree() throws {
        let dir = try SetupTests.copy("debian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let r = try Self.vfioctl(["setup", "examples/specs/z490-rtx2060.toml", "--root", dir, "--apply"]) else { return }
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains("[1/2] update-grub\n  not run: --root is not / (recorded in /var/lib/vfioctl/setup/"))
        #expect(r.out.contains("[2/2] update-initramfs -u -k all\n  not run"))
        let journals = try FileManager.default.contentsOfDirectory(atPath: dir + "/var/lib/vfioctl/setup")
        let manifest = try String(contentsOfFile: dir + "/var/lib/vfioctl/setup/\(journals[0])/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"update-initramfs -u -k all\""))
        // Revert puts the originals back and regenerates from them with the same commands (recorded here).
        guard let undo = try Self.vfioctl(["setup", "--revert", "--root", dir]) else { return }
        #expect(undo.status == 0, "\(undo.out)")
        #expect(undo.out.contains("[1/2] update-grub\n  not run: --root is not /") && undo.out.contains("[2/2] update-initramfs -u -k all\n  not run"), "\(undo.out)")
        let reverted = try String(contentsOfFile: dir + "/var/lib/vfioctl/setup/\(journals[0])/manifest.json", encoding: .utf8)
        #expect(reverted.components(separatedBy: "\"update-initramfs -u -k all\"").count - 1 == 3, "regenerate list, apply's run and revert's run")
        guard let p = try Self.vfioctl(["setup", "examples/specs/z490-rtx2060.toml", "--root", dir, "--apply", "--no-regenerate"]) else { return }
        #expect(p.out.contains("now run:\n  update-grub\n  update-initramfs -u -k all\n"))
        // Applied without regenerating, the revert can still say what to run.
        guard let q = try Self.vfioctl(["setup", "--revert", "--no-regenerate", "--root", dir]) else { return }
        #expect(q.status == 0 && q.out.hasSuffix("now run:\n  update-grub\n  update-initramfs -u -k all\nthen reboot.\n"), "\(q.out)")
    }
    @Test func setupRevertRefusesAJournalWhoseCommandsOrPathsWereEdited() throws {
        let dir = try SetupTests.copy("debian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let r = try Self.vfioctl(["setup", "examples/specs/z490-rtx2060.toml", "--root", dir, "--apply", "--no-regenerate"]) else { return }
        #expect(r.status == 0, "\(r.out)")
        let name = try FileManager.default.contentsOfDirectory(atPath: dir + "/var/lib/vfioctl/setup")[0]
        let path = dir + "/var/lib/vfioctl/setup/\(name)/manifest.json"
        let manifest = try String(contentsOfFile: path, encoding: .utf8)
        let grub = try String(contentsOfFile: dir + "/etc/default/grub", encoding: .utf8)
        for (edited, says) in [
            (manifest.replacingOccurrences(of: "\"update-grub\"", with: "\"update-grub; touch /tmp/owned\""),
             "its regenerate command \"update-grub; touch /tmp/owned\" is not one vfioctl setup writes"),
            (manifest.replacingOccurrences(of: "\"0.orig\"", with: "\"../../../../etc/shadow\""), "names the journal file \"../../../../etc/shadow\""),
            (manifest.replacingOccurrences(of: #""\/etc\/default\/grub""#, with: #""\/etc\/..\/root\/.bashrc""#), "names the host path \"/etc/../root/.bashrc\""),
        ] {
            #expect(edited != manifest)
            try edited.write(toFile: path, atomically: true, encoding: .utf8)
            guard let undo = try Self.vfioctl(["setup", "--revert", "--root", dir]) else { return }
            #expect(undo.status != 0 && undo.out.contains("/var/lib/vfioctl/setup/\(name)/manifest.json: \(says)"), "\(undo.out)")
            #expect(try String(contentsOfFile: dir + "/etc/default/grub", encoding: .utf8) == grub, "nothing restored")
        }
        #expect(BootConfig.regenerateCommands.contains("update-grub") && BootConfig.regenerateCommands.contains("mkinitcpio -P"))
    }
    @Test func defineRefusesAHostWithoutKVMBeforeWritingAnything() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-define-nokvm-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: Repo.path("examples/hosts/z490-three-gpus"), toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/dev/kvm")
        guard let dry = try Self.vfioctl(["define", "--root", dir, "--dry-run", "examples/specs/z490-rtx2060.toml"]) else { return }
        #expect(dry.status == 0 && dry.out.contains("warning: /dev/kvm does not exist on this host: libvirt refuses a KVM domain"), "\(dry.out)")
        guard let r = try Self.vfioctl(["define", "--root", dir, "examples/specs/z490-rtx2060.toml"]) else { return }
        #expect(r.status != 0 && r.out.contains("define z490-rtx2060: /dev/kvm does not exist on this host") && r.out.contains("Nothing was written"), "\(r.out)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/etc/vfioctl") && !FileManager.default.fileExists(atPath: dir + "/var/lib/vfioctl"))
    }
}
