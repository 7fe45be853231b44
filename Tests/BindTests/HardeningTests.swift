import Foundation
import Testing
@testable import VFIOCore
import VFIOFixtures
@testable import VFIOHost

/// A desktop with an NVIDIA GPU on the boot display: the proprietary stack as `/proc/modules` shows it, with
/// nvidia_drm and nvidia_modeset holding nvidia, and nvidia_uvm (CUDA) holding it too.
enum NvidiaHost {
    static let gpu = PCIAddress("0000:01:00.0")!
    static let hda = PCIAddress("0000:01:00.1")!

    static let procModules = """
        nvidia_uvm 1437696 0 - Live 0x0000000000000000 (POE)
        nvidia_drm 73728 4 - Live 0x0000000000000000 (POE)
        nvidia_modeset 1224704 6 nvidia_drm, Live 0x0000000000000000 (POE)
        nvidia 56717312 362 nvidia_uvm,nvidia_modeset, Live 0x0000000000000000 (POE)
        drm_kms_helper 315392 1 nvidia_drm, Live 0x0000000000000000
        snd_hda_intel 61440 0 - Live 0x0000000000000000
        vfio_pci 16384 0 - Live 0x0000000000000000

        """

    static func tree() -> HostTree {
        var t = HostTree()
        t.extraModules = ["vfio_pci", "nvidia_uvm"]
        t.framebuffer = nil
        t.addDevice("0000:00:00.0", vendor: 0x8086, device: 0x29c0, classCode: 0x060000, group: 0)
        let rp = t.addDevice("0000:00:1c.0", vendor: 0x1b36, device: 0x000c, classCode: 0x060400, driver: "pcieport", group: 1)
        t.addDevice("0000:01:00.0", parent: rp, vendor: 0x10de, device: 0x2684, classCode: 0x030000, driver: "nvidia", group: 7, bootVGA: true)
        t.addDevice("0000:01:00.1", parent: rp, vendor: 0x10de, device: 0x22ba, classCode: 0x040300, driver: "snd_hda_intel", group: 7)
        t.extraFiles["proc/modules"] = procModules
        return t
    }
}

@Suite struct BindHardeningTests {
    /// `modprobe -r M` as the kernel answers it: refused while a module in M's "used by" column is loaded.
    func modprobe(_ k: FakeKernel) -> RecordingCommandRunner {
        let holders = ProcParsers.moduleHolders(NvidiaHost.procModules)
        return RecordingCommandRunner { [k] argv in
            if argv.count == 3, argv[1] == "-r" {
                let inUse = (holders[argv[2]] ?? []).filter { k.files.exists("/sys/module/\($0)") }
                if !inUse.isEmpty {
                    return CommandResult(status: 1, output: "modprobe: FATAL: Module \(argv[2]) is in use by: \(inUse.joined(separator: " "))")
                }
            }
            return k.modprobe(argv)
        }
    }

    @Test func nvidiaStackIsUnloadedHoldersFirstAndLoadedAgainInReverse() throws {
        let k = try FakeKernel(NvidiaHost.tree())
        let all = [NvidiaHost.gpu, NvidiaHost.hda]
        let before = k.state(all)
        let runner = modprobe(k)
        let (host, facts) = try load(k)
        #expect(facts.moduleHolders["nvidia"] == ["nvidia_uvm", "nvidia_modeset"])
        let p = try BindPlanner.plan([NvidiaHost.gpu], host: host, facts: facts, options: BindOptions(takeDisplay: true))
        let e = executor(k, runner: runner)
        let result = e.bind(p)
        guard case .done = result else { Issue.record("bind failed: \(result)"); return }
        #expect(runner.commands == [["modprobe", "-r", "nvidia_drm"], ["modprobe", "-r", "nvidia_modeset"],
                                    ["modprobe", "-r", "nvidia_uvm"], ["modprobe", "-r", "nvidia"]])
        #expect(k.driver(NvidiaHost.gpu) == "vfio-pci" && k.driver(NvidiaHost.hda) == "vfio-pci")
        let ran = runner.commands.count
        _ = try e.restore([])
        #expect(Array(runner.commands.dropFirst(ran)) == [["modprobe", "nvidia"], ["modprobe", "nvidia_uvm"],
                                                         ["modprobe", "nvidia_modeset"], ["modprobe", "nvidia_drm"]])
        #expect(k.state(all) == before)
        #expect(!k.files.exists(e.journal.path))
    }

    @Test func moduleStackOrdersEveryHolderBeforeWhatItHolds() {
        let holders = ProcParsers.moduleHolders(NvidiaHost.procModules)
        #expect(DisplayHandoff.moduleStack("nvidia", holders: holders) == ["nvidia_drm", "nvidia_modeset", "nvidia_uvm", "nvidia"])
        #expect(DisplayHandoff.moduleStack("amdgpu", holders: ["amdgpu": []]) == ["amdgpu"])
        // A loop in a hostile /proc/modules ends; names that are no module names never reach modprobe.
        #expect(DisplayHandoff.moduleStack("a", holders: ["a": ["b"], "b": ["a", "x;reboot"]]) == ["b", "a"])
    }

    @Test(arguments: [("gdm.service", true), ("getty@tty1.service", true), ("sys-devices-pci0000:00.device", true),
                      ("gdm.service; reboot", false), ("--now", false), ("", false), ("a b", false), ("gdm\n", false)])
    func unitNames(_ name: String, _ valid: Bool) {
        #expect(HostCommandNames.isUnit(name) == valid)
    }

    @Test(arguments: [("nvidia_drm", true), ("snd-hda-intel", true), ("-r", false), ("nvidia.ko", false), ("x;y", false), ("", false)])
    func moduleNames(_ name: String, _ valid: Bool) {
        #expect(HostCommandNames.isModule(name) == valid)
    }

    /// Run B fails while run A has journaled its first step (two binds without a lock interleave like this): B's
    /// rollback gives back only B's devices.
    @Test func failingBindRollsBackOnlyItsOwnRun() throws {
        let k = try FakeKernel(L.tree())
        let a = executor(k)
        let b = executor(k)
        let planA = try plan(k, [L.nvme])
        let planB = try plan(k, [L.gpu], BindOptions(force: true))
        var interleaved = false
        k.failure = { _, path, _ in
            guard path.hasSuffix("0000:01:00.1/driver/unbind") else { return nil }
            if !interleaved {
                interleaved = true
                var o = HandoffExecutor.Outcome()
                try? a.apply(Array(planA.steps.prefix(1)), outcome: &o)
            }
            return EBUSY
        }
        guard case .failed(_, _, _, nil) = b.bind(planB) else { Issue.record("expected a failure rolled back"); return }
        #expect(interleaved)
        #expect(k.driver(L.gpu) == "bochs-drm" && k.driver(L.hda) == "snd_hda_intel")
        #expect(k.override(L.nvme) == "vfio-pci", "run A's write stays")
        #expect(try b.held().devices.map(\.address) == [L.nvme], "run A's record stays journaled")
        k.failure = nil
        _ = try a.restore([])
        #expect(k.override(L.nvme) == nil && k.driver(L.nvme) == "nvme")
    }

    /// Under a root other than `/` no command runs on the machine: the executor's runner records them, the
    /// outcome lists them as "would run", and waits for their effects are skipped.
    @Test func treeRootRecordsCommandsInsteadOfRunningThem() throws {
        let k = try FakeKernel(L.tree())
        #expect(HostCommands.runner(for: k.files) is WouldRunCommandRunner)
        #expect(HostCommands.runner(for: try RootedFileSystem(root: "/")) is SpawnCommandRunner)
        var e = HandoffExecutor(files: k.files, writer: k)
        e.stepTimeout = 0.3
        #expect(e.runner is WouldRunCommandRunner)
        try e.journal.append([
            BindRecord(kind: .display, step: "stop-unit", address: L.gpu.description, original: "gdm.service"),
            BindRecord(kind: .display, step: "module-unload", address: L.gpu.description, original: "nvidia_drm"),
        ])
        let outcome = try e.restore([])
        #expect(outcome.wouldRun == [["modprobe", "nvidia_drm"], ["systemctl", "start", "gdm.service"]])
        #expect(outcome.done.allSatisfy { $0.hasSuffix("(not run: the root is not /)") })
        #expect(!k.files.exists(e.journal.path))
    }

    /// Unit and module names come from the journal, a file: one that is no name is refused (named), never run, and
    /// the rest of the restore still happens.
    @Test func journalValuesThatAreNoNamesNeverReachACommandLine() throws {
        let k = try FakeKernel(L.tree())
        let runner = RecordingCommandRunner()
        let e = executor(k, runner: runner)
        try e.journal.append([
            BindRecord(kind: .display, step: "module-unload", address: L.gpu.description, original: "bochs_drm"),
            BindRecord(kind: .display, step: "stop-unit", address: L.gpu.description, original: "gdm.service; reboot"),
            BindRecord(kind: .display, step: "module-unload", address: L.gpu.description, original: "-r"),
        ])
        #expect {
            _ = try e.restore([])
        } throws: { error in
            guard case HandoffError.incomplete(let done, let corrupt) = error else { return false }
            let refused = done.refused
            return corrupt.isEmpty && refused.count == 2 && refused.contains { $0.contains("'gdm.service; reboot'") }
                && refused.contains { $0.contains("'-r'") }
        }
        #expect(runner.commands == [["modprobe", "bochs_drm"]])
        #expect(try e.held().items.count == 2)
        #expect(k.files.exists(e.journal.path))
    }

    /// A corrupt line in the middle of the journal: named by file and line, everything else restored, the journal
    /// kept until `--drop-corrupt` removes the line.
    @Test func corruptMiddleLineIsNamedAndTheRestRestored() throws {
        let k = try FakeKernel(L.tree())
        let e = executor(k)
        let before = k.state([L.nvme])
        guard case .done = e.bind(try plan(k, [L.nvme])) else { Issue.record("bind failed"); return }
        let real = k.files.realPath(e.journal.path)
        var lines = try String(contentsOfFile: real, encoding: .utf8).split(separator: "\n").map(String.init)
        lines.insert("{\"kind\":\"dev", at: 1)
        try (lines.joined(separator: "\n") + "\n").write(toFile: real, atomically: false, encoding: .utf8)
        #expect {
            _ = try e.restore([])
        } throws: { error in
            guard case HandoffError.incomplete(_, let corrupt) = error else { return false }
            return corrupt.map(\.description) == ["/run/vfioctl/bind.journal:2: not a journal record: '{\"kind\":\"dev'"]
        }
        #expect(k.state([L.nvme]) == before)
        #expect(k.files.exists(e.journal.path))
        #expect(try e.dropCorrupt().map(\.line) == [2])
        _ = try e.restore([])
        #expect(!k.files.exists(e.journal.path))
    }
}
