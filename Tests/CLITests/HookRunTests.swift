import Foundation
import Testing

/// `vfioctl hook run`, what the installed hook execs for a VM with a spec, on a copy of the lab's host tree.
@Suite struct HookRunTests {
    final class Tree {
        let dir: String
        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-hookrun-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir + "/specs", withIntermediateDirectories: true)
            _ = try CLI.run("/bin/cp", ["-a", "examples/hosts/lab-q35", dir + "/root"])
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func spec(_ vm: String, device: String) throws {
            let r = try CLI.vfioctl(["init", "--root", dir + "/root", "--name", vm, "--device", device, "--vcpus", "1", "--memory", "1G"])
            try #require(r.status == 0, "\(r.stderr)")
            try Data(r.stdout.utf8).write(to: URL(fileURLWithPath: "\(dir)/specs/\(vm).toml"))
        }

        func hook(_ args: [String]) throws -> CLI.Result {
            try CLI.vfioctl(["hook", "run", "--root", dir + "/root", "--specs", dir + "/specs", "--"] + args)
        }

        /// Every file of the root with its contents, links with their targets: what a step may have changed
        /// (the runtime lock file aside, which every changing command creates).
        func contents() throws -> String {
            try CLI.run("/bin/sh", ["-c", """
                cd '\(dir)/root' && find . -path ./run/vfioctl/lock -prune -o -type f -print | sort | xargs -d '\\n' md5sum
                find . -type l | sort | while read -r l; do echo "$l -> $(readlink "$l")"; done
                """]).stdout
        }
    }

    @Test func unmanagedVMsAndOtherEventsChangeNothing() throws {
        let tree = try Tree()
        try tree.spec("lab", device: "03:00.0")
        let before = try tree.contents()
        for args in [["other", "prepare", "begin", "-"], ["other", "release", "end", "-"], ["lab", "stopped", "end", "-"],
                     ["lab", "migrate", "begin", "-"], ["lab", "reconnect", "begin", "-"]] {
            let r = try tree.hook(args)
            #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(args): \(r.stderr)")
        }
        #expect(try tree.contents() == before)
    }

    /// The root port above the NVMe is a bridge: bind refuses it, so prepare exits 1 (libvirt does not start the
    /// VM), says so with the hook's prefix, and changes nothing.
    @Test func aRefusedBindStopsTheVMAndChangesNothing() throws {
        let tree = try Tree()
        try tree.spec("bad", device: "03:00.0")
        let spec = "\(tree.dir)/specs/bad.toml"
        // The spec names the root port as it is (its ids, no recorded identity), so the drift check passes it on
        // to bind, which refuses a bridge.
        let sysfs = "\(tree.dir)/root/sys/bus/pci/devices/0000:00:1c.2/"
        let ids = try ["vendor", "device"].map { try String(contentsOfFile: sysfs + $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2) }
        let text = try String(contentsOfFile: spec, encoding: .utf8).replacingOccurrences(of: "0000:03:00.0", with: "0000:00:1c.2")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("subsystem =") && !$0.hasPrefix("slot-path =") }
            .map { $0.hasPrefix("id = ") ? "id = \"\(ids[0]):\(ids[1])\"" : String($0) }
            .joined(separator: "\n")
        try Data(text.utf8).write(to: URL(fileURLWithPath: spec))
        let before = try tree.contents()
        let r = try tree.hook(["bad", "prepare", "begin", "-"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("vfioctl hook: bad prepare/begin: bind 0000:00:1c.2 failed"), "\(r.stderr)")
        #expect(try tree.contents() == before)
    }

    @Test func anUnreadableSpecStopsTheVM() throws {
        let tree = try Tree()
        try Data("name = [\n".utf8).write(to: URL(fileURLWithPath: "\(tree.dir)/specs/broken.toml"))
        let r = try tree.hook(["broken", "prepare", "begin", "-"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("vfioctl hook: broken prepare/begin: cannot read \(tree.dir)/specs/broken.toml"), "\(r.stderr)")
        // At release the VM is gone whatever happens: the event succeeds and says what is left to do.
        #expect(try tree.hook(["broken", "release", "end", "-"]).status == 0)
    }

    @Test func aBadVMNameIsAUsageError() throws {
        let tree = try Tree()
        let r = try tree.hook(["-x", "prepare", "begin", "-"])
        #expect(r.status == 64 && r.stderr.contains("'-x': not a VM name"), "\(r.stderr)")
    }
}
