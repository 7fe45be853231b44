import Foundation
import Testing
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

/// The lab-like host with the GPU's DRM card and the HDA's sound card in sysfs, and processes holding them.
func heldLabTree(_ holders: [(pid: Int, comm: String, fds: [Int: String])], tree: HostTree = L.tree()) throws -> FakeKernel {
    let k = try FakeKernel(tree)
    let gpu = k.files.realPath(PCIDriverPaths.device(L.gpu))
    let hda = k.files.realPath(PCIDriverPaths.device(L.hda))
    for (dir, name, dev) in [(gpu, "drm/card0", "226:0"), (gpu, "drm/renderD128", "226:128"), (hda, "sound/card1/controlC1", "116:2"),
                             (hda, "sound/card1/pcmC1D0p", "116:3")] {
        try FileManager.default.createDirectory(atPath: "\(dir)/\(name)", withIntermediateDirectories: true)
        try "\(dev)\n".write(toFile: "\(dir)/\(name)/dev", atomically: true, encoding: .utf8)
    }
    for h in holders {
        try FileManager.default.createDirectory(atPath: k.root + "/proc/\(h.pid)/fd", withIntermediateDirectories: true)
        try "\(h.comm)\n".write(toFile: k.root + "/proc/\(h.pid)/comm", atomically: true, encoding: .utf8)
        for (fd, target) in h.fds { try FileManager.default.createSymbolicLink(atPath: k.root + "/proc/\(h.pid)/fd/\(fd)", withDestinationPath: target) }
    }
    return k
}

@Suite struct BindHoldersTests {
    @Test func heldFunctionsAreRefusedByNameUnlessForced() throws {
        let k = try heldLabTree([(4242, "holdcard", [3: "/dev/dri/card0"]), (4300, "pipewire", [7: "/dev/snd/controlC1", 8: "/dev/snd/pcmC1D0p"]),
                                 (4400, "bash", [0: "/dev/pts/0"])])
        let (host, _) = try load(k, groupsOf: [L.gpu])
        var p = try plan(k, [L.gpu])
        let unbinding = p.holderChecks(host: host, facts: BindFacts.load(k.files, host: host))
        #expect(unbinding.map(\.address) == [L.gpu, L.hda] && unbinding.map(\.driver) == ["bochs-drm", "snd_hda_intel"])
        #expect(unbinding.allSatisfy { $0.module == nil })
        let found = HolderScanner(files: k.files).heldFunctions(unbinding.map { ($0.address, $0.driver) })
        p.judgeHolders(found.held, options: BindOptions())
        #expect(!p.allowed)
        #expect(p.refusals.map(\.description).filter { $0.contains("held by") } == [
            "0000:01:00.0 is held by holdcard (PID 4242): /dev/dri/card0: unbinding it from bochs-drm pulls the device from under them (a compositor loses its screen); close them first ('vfioctl holders 0000:01:00.0' shows them, and how to keep a compositor on another GPU)",
            "0000:01:00.1 is held by pipewire (PID 4300): /dev/snd/controlC1, /dev/snd/pcmC1D0p: snd_hda_intel's unbind waits until every open sound file is closed: the write to unbind hangs; close them first ('vfioctl holders 0000:01:00.1' shows them, and how to keep a compositor on another GPU)",
        ])
        #expect(found.advice.isEmpty)
        var forced = try plan(k, [L.gpu], BindOptions(force: true))
        forced.judgeHolders(found.held, options: BindOptions(force: true))
        #expect(forced.allowed && forced.refusals.contains { $0.description.hasPrefix("0000:01:00.1 is held by pipewire") })
    }

    @Test func nobodyHoldingMeansNoRefusal() throws {
        let k = try heldLabTree([(4400, "bash", [0: "/dev/pts/0", 3: "/dev/dri/card9"])])
        let (host, _) = try load(k, groupsOf: [L.nvme])
        var p = try plan(k, [L.nvme])
        let checks = p.holderChecks(host: host, facts: BindFacts.load(k.files, host: host))
        p.judgeHolders(HolderScanner(files: k.files).heldFunctions(checks.map { ($0.address, $0.driver) }).held, options: BindOptions())
        #expect(p.allowed && p.refusals.isEmpty)
    }

    @Test func displayServersOnlyWarnDuringAHandoffOtherHoldersStillRefuse() throws {
        var p = try plan(try FakeKernel(L.tree()), [L.gpu], BindOptions(takeDisplay: true))
        #expect(p.allowed)
        let kwin = HeldFunction(address: L.gpu, driver: "amdgpu", holders: ["kwin_wayland (PID 900): /dev/dri/card0"], onlyDisplayServers: true)
        p.judgeHolders([kwin], options: BindOptions(takeDisplay: true))
        #expect(p.allowed && p.holderWarnings.count == 1 && p.holderWarnings[0].hasSuffix("(the display manager is stopped first, which should close them)"))
        let steam = HeldFunction(address: L.gpu, driver: "amdgpu", holders: ["steam (PID 901): /dev/dri/renderD128"], onlyDisplayServers: false)
        p.judgeHolders([steam], options: BindOptions(takeDisplay: true))
        #expect(!p.allowed && p.refusals.last == .held(steam))
        #expect(p.refusals.last?.description.contains("amdgpu's unbind with open card or render nodes hangs") == true)
        #expect(HeldFunction.consequence(driver: "nvidia").hasPrefix("the nvidia driver's unbind waits until every handle is closed"))
    }

    @Test func aFailedUnbindNamesTheHoldersAtThatMoment() throws {
        let k = try heldLabTree([(4300, "pipewire", [7: "/dev/snd/controlC1"])])
        k.failure = { _, path, _ in path.hasSuffix("0000:01:00.1/driver/unbind") ? EBUSY : nil }
        let p = try plan(k, [L.gpu], BindOptions(force: true))
        var e = executor(k)
        let scanner = HolderScanner(files: k.files)
        let functions = [(address: L.gpu, driver: "bochs-drm"), (address: L.hda, driver: "snd_hda_intel")]
        e.explainFailure = { _ in scanner.failureNotes(functions) }
        guard case .failed(let error, let done, _, let rollbackError) = e.bind(p) else { Issue.record("bind did not fail"); return }
        #expect(error.description.contains("0000:01:00.1/driver/unbind") && rollbackError == nil)
        #expect(done.notes == ["0000:01:00.1 was held at that moment by pipewire (PID 4300): /dev/snd/controlC1"])
        #expect(k.driver(L.gpu) == "bochs-drm" && k.driver(L.hda) == "snd_hda_intel")
    }

    /// The handoff unloads the VGA's module: a process holding its card node makes `modprobe -r` fail after the
    /// console is gone (and on hosts without a system console driver the framebuffer console cannot be bound
    /// again), so the plan refuses it by name, and the run checks again right before the console is touched.
    @Test func aHandoffRefusesAHolderOfTheModulesDevicesBeforeTouchingTheConsole() throws {
        var tree = L.tree()
        tree.extraFiles = ["sys/class/vtconsole/vtcon0/name": "(M) frame buffer device\n", "sys/class/vtconsole/vtcon0/bind": "1\n"]
        let k = try heldLabTree([(4242, "holdcard", [3: "/dev/dri/card0"])], tree: tree)
        let (host, facts) = try load(k)
        var p = try BindPlanner.plan([L.gpu], host: host, facts: facts, options: BindOptions(takeDisplay: true))
        let checks = p.holderChecks(host: host, facts: facts)
        let module = try #require(checks.first { $0.address == L.gpu }?.module)
        let found = HolderScanner(files: k.files).heldFunctions(checks.map { ($0.address, $0.driver) })
        p.judgeHolders(zip(found.held, checks).map { held, check in
            var h = held
            h.unloadedModule = check.module
            return h
        }, options: BindOptions(takeDisplay: true))
        #expect(!p.allowed)
        #expect(p.refusals.map(\.description).contains(
            "0000:01:00.0 is held by holdcard (PID 4242): /dev/dri/card0: the display handoff unloads \(module), which fails while they keep it open; close them first ('vfioctl holders 0000:01:00.0' shows them, and how to keep a compositor on another GPU)"))

        // Forced through, the run stops at the check, before the console: nothing to roll back, the console stays.
        let forced = try BindPlanner.plan([L.gpu], host: host, facts: facts, options: BindOptions(force: true, takeDisplay: true))
        let gate = try #require(forced.steps.firstIndex { $0.waitFor.contains(.unheld([L.gpu])) })
        let console = try #require(forced.steps.firstIndex { $0.action == .write(path: "/sys/class/vtconsole/vtcon0/bind", value: "0") })
        #expect(gate < console)
        let before = k.state([L.gpu, L.hda])
        let runner = RecordingCommandRunner { [k] argv in k.modprobe(argv) }
        var e = executor(k, runner: runner)
        let scanner = HolderScanner(files: k.files)
        e.explainFailure = { _ in scanner.failureNotes([(address: L.gpu, driver: "bochs-drm")]) }
        guard case .failed(let error, let done, _, let rollbackError) = e.bind(forced) else { Issue.record("bind did not fail"); return }
        #expect(error.description.hasSuffix("no process holds a device node of 0000:01:00.0 did not happen within 0.3 s"))
        #expect(rollbackError == nil && runner.commands.isEmpty)
        #expect(done.notes == ["0000:01:00.0 was held at that moment by holdcard (PID 4242): /dev/dri/card0"])
        #expect(try k.files.readText("/sys/class/vtconsole/vtcon0/bind") == "1")
        #expect(k.state([L.gpu, L.hda]) == before)
    }

    /// A process in the display manager's own unit (a greeter, a display server the tool does not know by name)
    /// goes when the handoff stops that unit: with --take-display it is a warning, not a refusal; any other
    /// process is still refused.
    @Test func aHandoffCountsTheDisplayManagersUnitAsStoppedFirst() throws {
        var tree = L.tree()
        tree.extraFiles = ["sys/class/vtconsole/vtcon0/name": "(M) frame buffer device\n", "sys/class/vtconsole/vtcon0/bind": "1\n"]
        let k = try heldLabTree([(500, "python3", [3: "/dev/dri/card0"]), (600, "sleep", [4: "/dev/dri/card0"])], tree: tree)
        try "0::/system.slice/lab-dm.service\n".write(toFile: k.root + "/proc/500/cgroup", atomically: true, encoding: .utf8)
        try "0::/user.slice/user-0.slice/session-1.scope\n".write(toFile: k.root + "/proc/600/cgroup", atomically: true, encoding: .utf8)
        #expect(ScannedProcess.unit(cgroup: "12:cpuset:/\n0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope\n") == "app-x.scope")
        #expect(ScannedProcess.unit(cgroup: "0::/\n") == nil)
        let (host, facts) = try load(k)
        let p = try BindPlanner.plan([L.gpu], host: host, facts: facts, options: BindOptions(takeDisplay: true))
        let checks = p.holderChecks(host: host, facts: facts)
        let scanner = HolderScanner(files: k.files)
        let both = scanner.heldFunctions(checks.map { ($0.address, $0.driver) }, stoppedUnit: "lab-dm.service").held.first { $0.address == L.gpu }
        #expect(both?.holders == ["python3 (PID 500, lab-dm.service): /dev/dri/card0", "sleep (PID 600): /dev/dri/card0"] && both?.onlyDisplayServers == false)
        try FileManager.default.removeItem(atPath: k.root + "/proc/600")
        var q = p
        let dm = scanner.heldFunctions(checks.map { ($0.address, $0.driver) }, stoppedUnit: "lab-dm.service").held
        #expect(dm.first { $0.address == L.gpu }?.onlyDisplayServers == true)
        q.judgeHolders(dm, options: BindOptions(takeDisplay: true))
        #expect(q.allowed && q.holderWarnings == ["0000:01:00.0 is held by python3 (PID 500, lab-dm.service): /dev/dri/card0: unbinding it from bochs-drm pulls the device from under them (a compositor loses its screen); close them first ('vfioctl holders 0000:01:00.0' shows them, and how to keep a compositor on another GPU) (the display manager is stopped first, which should close them)"])
        // Without the handoff the same process is refused.
        #expect(scanner.heldFunctions(checks.map { ($0.address, $0.driver) }).held.first { $0.address == L.gpu }?.onlyDisplayServers == false)
    }
}
