import Foundation
import Testing
import VFIOFixtures
import VFIOTestSupport

/// A snapshot is a bug report: every command's read-only form must print on the unpacked snapshot exactly what it
/// prints on the host it was taken from, or a report about bind, shield or setup cannot be replayed.
///
/// Two differences are allowed, and normalised away before comparing:
/// - the root itself (`--root` names the tree on one side and the unpacked snapshot on the other);
/// - what the snapshot redacts: MAC addresses (written as 02:00:00:00:00:00) and serial-looking parts of
///   `/dev/input/by-id` and `/dev/disk/by-id` names (written as SERIAL).
@Suite struct SnapshotEquivalenceTests {
    /// One command's run on both roots.
    struct Outcome: CustomStringConvertible {
        var command: [String]
        var tree: CLI.Result
        var replay: CLI.Result
        var description: String { command.joined(separator: " ") }
    }

    final class Scratch {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-equiv-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// `root`'s snapshot, unpacked into `scratch`.
    static func snapshot(of root: String, in scratch: Scratch) throws -> String {
        let archive = scratch.path + "/host.tar.gz"
        let made = try CLI.vfioctl(["snapshot", "--root", root, "-o", archive])
        #expect(made.status == 0, "\(made.stderr)")
        let unpacked = scratch.path + "/replay"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        let untar = try CLI.run("/usr/bin/tar", ["-xzf", archive, "-C", unpacked])
        #expect(untar.status == 0, "\(untar.stderr)")
        return unpacked
    }

    static func normalised(_ text: String, root: String) -> String {
        var out = text.replacingOccurrences(of: CLI.repo.path + "/" + root, with: "ROOT").replacingOccurrences(of: root, with: "ROOT")
        let rules: [(String, String)] = [
            ("(?<![0-9A-Fa-f:])[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}(?![0-9A-Fa-f:])", "MAC"),
            ("(?<=_)[0-9A-Fa-f]*[0-9][0-9A-Fa-f]*(?=-)", "SERIAL"),
        ]
        for (pattern, replacement) in rules {
            guard let re = try? NSRegularExpression(pattern: pattern) else { continue }
            out = re.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out), withTemplate: replacement)
        }
        return out
    }

    /// The display functions of a host (the endpoints a user binds first), from `list --json`.
    static func gpuLikeEndpoints(_ root: String) throws -> [String] {
        let list = try CLI.vfioctl(["list", "--json", "--root", root])
        let object = try CLI.json(list.stdout)
        let devices = object["devices"] as? [[String: Any]] ?? []
        return devices.compactMap { d -> String? in
            guard let address = d["address"] as? String, let cls = d["class"] as? String else { return nil }
            return cls.hasPrefix("0x03") || cls.hasPrefix("03") ? address : nil
        }
    }

    /// The commands compared on `root`: each command's read-only form; `spec` is the spec `init` wrote for the
    /// host's first display function (nil when init refuses, as on a host without IOMMU groups).
    static func commands(_ root: String, spec: String?, gpus: [String]) -> [[String]] {
        var out: [[String]] = [["list"], ["list", "--json"], ["doctor"], ["restore", "--dry-run"],
                               ["shield", "--dry-run", "--cpus", "1"]]
        for gpu in gpus {
            out.append(["bind", "--dry-run", gpu])
            out.append(["bind", "--dry-run", "--json", gpu])
        }
        if let gpu = gpus.first {
            out.append(["init", "--name", "equiv", "--device", gpu, "--vcpus", "2", "--memory", "4G"])
        }
        if let spec {
            out.append(["setup", "--dry-run", spec])
            out.append(["plan", spec])
        }
        return out
    }

    @Test(arguments: CLI.exampleHosts)
    func everyCommandPrintsTheSameOnTheSnapshot(_ root: String) throws {
        let scratch = try Scratch()
        let replay = try Self.snapshot(of: root, in: scratch)
        let gpus = try Self.gpuLikeEndpoints(root)
        // The spec setup and plan are given: init's own, written from the tree (a spec names no root); where init
        // refuses (no IOMMU groups), a bundled example spec, whose devices the host may lack.
        var spec = CLI.repo.path + "/examples/specs/ryzen-rtx3080.toml"
        if let gpu = gpus.first {
            let made = try CLI.vfioctl(["init", "--root", root, "--name", "equiv", "--device", gpu, "--vcpus", "2", "--memory", "4G"])
            if made.status == 0 {
                let path = scratch.path + "/equiv.toml"
                try made.stdout.write(toFile: path, atomically: true, encoding: .utf8)
                spec = path
            }
        }
        var outcomes: [Outcome] = []
        for command in Self.commands(root, spec: spec, gpus: gpus) {
            outcomes.append(Outcome(command: command, tree: try CLI.vfioctl(command + ["--root", root]),
                                    replay: try CLI.vfioctl(command + ["--root", replay])))
        }
        #expect(outcomes.count >= 5)
        for o in outcomes {
            #expect(o.tree.status == o.replay.status, "\(root): \(o): exit \(o.tree.status) on the tree, \(o.replay.status) on the snapshot\n\(o.replay.stderr)")
            let tree = Self.normalised(o.tree.stdout, root: root), snap = Self.normalised(o.replay.stdout, root: replay)
            #expect(tree == snap, "\(root): \(o): stdout differs\n--- tree\n\(tree)\n--- snapshot\n\(snap)")
        }
    }

    /// The lab's machine with what the example hosts lack: a vtconsole on the framebuffer, a firmware framebuffer,
    /// a display manager under systemd, OVMF with Secure Boot, GRUB on Debian. The single-GPU handoff, init's
    /// firmware choice and setup's edits then depend on facts beyond the inventory.
    static func displayHost(in scratch: Scratch) throws -> String {
        let root = scratch.path + "/lab"
        try LabLikeHost.tree().write(to: URL(fileURLWithPath: root))
        let fm = FileManager.default
        func write(_ path: String, _ text: String) throws {
            try fm.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: root + path, atomically: true, encoding: .utf8)
        }
        func link(_ path: String, _ target: String) throws {
            try fm.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: root + path, withDestinationPath: target)
        }
        try write("/sys/class/vtconsole/vtcon1/bind", "1\n")
        try write("/sys/class/vtconsole/vtcon1/name", "(M) frame buffer device\n")
        try write("/sys/bus/platform/devices/efi-framebuffer.0/uevent", "DRIVER=efi-framebuffer\n")
        try link("/sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0", "../../../../bus/platform/devices/efi-framebuffer.0")
        try fm.createDirectory(atPath: root + "/run/systemd/system", withIntermediateDirectories: true)
        try link("/etc/systemd/system/display-manager.service", "/lib/systemd/system/gdm3.service")
        for f in ["OVMF_CODE_4M.ms.fd", "OVMF_VARS_4M.ms.fd"] { try write("/usr/share/OVMF/" + f, "firmware\n") }
        try write("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        try write("/etc/os-release", "ID=debian\n")
        try write("/etc/initramfs-tools/modules", "# modules\n")
        return root
    }

    @Test func displayHandoffInitAndSetupPrintTheSameOnTheSnapshot() throws {
        let scratch = try Scratch()
        let root = try Self.displayHost(in: scratch)
        let replay = try Self.snapshot(of: root, in: scratch)
        let gpu = LabLikeHost.gpu.description
        let made = try CLI.vfioctl(["init", "--root", root, "--name", "equiv", "--device", gpu, "--vcpus", "2", "--memory", "4G"])
        #expect(made.status == 0, "\(made.stderr)")
        // Init found the tree's Secure Boot OVMF, so the note that it is missing is absent.
        #expect(made.stdout.contains("/usr/share/OVMF/OVMF_CODE_4M.ms.fd") && !made.stdout.contains("not found on this host"))
        let spec = scratch.path + "/equiv.toml"
        try made.stdout.write(toFile: spec, atomically: true, encoding: .utf8)
        let commands: [[String]] = [
            ["bind", "--dry-run", "--take-display", gpu], ["bind", "--dry-run", "--json", "--take-display", gpu],
            ["init", "--name", "equiv", "--device", gpu, "--vcpus", "2", "--memory", "4G"],
            ["setup", "--dry-run", spec], ["plan", spec], ["shield", "--dry-run", "--cpus", "1"],
        ]
        for command in commands {
            let tree = try CLI.vfioctl(command + ["--root", root]), snap = try CLI.vfioctl(command + ["--root", replay])
            let c = command.joined(separator: " ")
            #expect(tree.status == snap.status, "\(c): exit \(tree.status) on the tree, \(snap.status) on the snapshot\n\(snap.stderr)")
            #expect(Self.normalised(tree.stdout, root: root) == Self.normalised(snap.stdout, root: replay),
                    "\(c): stdout differs\n--- tree\n\(tree.stdout)\n--- snapshot\n\(snap.stdout)")
        }
    }
}
