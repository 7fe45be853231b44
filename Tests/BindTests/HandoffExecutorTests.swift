import Foundation
import Testing
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

func executor(_ k: FakeKernel, runner: any CommandRunner = RecordingCommandRunner()) -> HandoffExecutor {
    var e = HandoffExecutor(files: k.files, writer: k, runner: runner)
    e.stepTimeout = 0.3
    return e
}

@Suite struct HandoffExecutorTests {
    let all = [L.gpu, L.hda, L.nic, L.nvme]

    @Test func bindsWaitsAndRestoresExactly() throws {
        let k = try FakeKernel(L.tree())
        let before = k.state(all)
        let e = executor(k)
        guard case .done = e.bind(try plan(k, [L.nvme])) else { Issue.record("bind failed"); return }
        #expect(k.driver(L.nvme) == "vfio-pci" && k.files.exists("/dev/vfio/9"))
        #expect(try e.journal.records().map(\.step) == ["driver_override", "unbind", "drivers_probe"])
        // Bound devices are a no-op.
        #expect(try plan(k, [L.nvme]).isNoOp)
        let writes = k.trace.count
        _ = try e.restore([])
        #expect(k.trace.dropFirst(writes).map { "\($0.path)=\($0.value)" } == [
            "/sys/bus/pci/devices/0000:03:00.0/driver_override=\n",
            "/sys/bus/pci/devices/0000:03:00.0/driver/unbind=0000:03:00.0",
            "/sys/bus/pci/drivers/nvme/bind=0000:03:00.0",
        ])
        #expect(k.state(all) == before)
        #expect(!k.files.exists("/dev/vfio/9") && !k.files.exists(e.journal.path))
        // Idempotent.
        _ = try e.restore([])
        #expect(k.trace.count == writes + 3)
    }

    @Test func restoresAnOriginalOverride() throws {
        let k = try FakeKernel(L.tree(nvmeOverride: "nvme"))
        let before = k.state(all)
        let e = executor(k)
        guard case .done = e.bind(try plan(k, [L.nvme])) else { Issue.record("bind failed"); return }
        _ = try e.restore([L.nvme])
        #expect(k.state(all) == before)
        #expect(k.trace.contains { $0.path.hasSuffix("driver_override") && $0.value == "nvme" })
    }

    @Test(arguments: 0..<6) func aWriteFailingMidwayRollsBackTheGroup(failAt: Int) throws {
        let k = try FakeKernel(L.tree())
        let before = k.state(all)
        k.failure = { i, _, _ in i == failAt ? EIO : nil }
        let e = executor(k)
        guard case .failed(let error, _, _, let rollbackError) = e.bind(try plan(k, [L.gpu], BindOptions(force: true))) else {
            Issue.record("expected a failure"); return
        }
        #expect(rollbackError == nil)
        #expect(error.description.contains("EIO"))
        #expect(k.state(all) == before)
        #expect(try e.held().isEmpty)
    }

    @Test func vfioPCINeverTakingTheDeviceTimesOutAndRollsBack() throws {
        let k = try FakeKernel(L.tree())
        k.vfioRefuses = [L.hda]
        let before = k.state(all)
        let e = executor(k)
        guard case .failed(let error, _, let rolled, nil) = e.bind(try plan(k, [L.gpu], BindOptions(force: true))) else {
            Issue.record("expected a failure"); return
        }
        #expect(error.description == "0000:01:00.1: probe → vfio-pci: 0000:01:00.1 on vfio-pci did not happen within 0.3 s")
        #expect(!rolled.done.isEmpty)
        #expect(k.state(all) == before)
    }

    @Test func rollbackLeavesEarlierBindsAlone() throws {
        let k = try FakeKernel(L.tree())
        let e = executor(k)
        guard case .done = e.bind(try plan(k, [L.nvme])) else { Issue.record("bind failed"); return }
        k.failure = { _, path, _ in path.hasSuffix("0000:01:00.1/driver/unbind") ? EBUSY : nil }
        guard case .failed = e.bind(try plan(k, [L.gpu], BindOptions(force: true))) else { Issue.record("expected a failure"); return }
        #expect(k.driver(L.nvme) == "vfio-pci" && k.driver(L.gpu) == "bochs-drm")
        #expect(try e.held().devices.map(\.address) == [L.nvme])
    }

    /// A crash (kill -9) half-way: the steps stop without rollback; a later restore reads the journal.
    @Test(arguments: 1..<6) func restoreAfterACrashReturnsTheOriginalState(crashAfter: Int) throws {
        let k = try FakeKernel(L.tree())
        let before = k.state(all)
        let p = try plan(k, [L.gpu, L.nvme], BindOptions(force: true))
        k.failure = { i, _, _ in i == crashAfter ? EINTR : nil }
        var outcome = HandoffExecutor.Outcome()
        #expect(throws: HandoffError.self) { try executor(k).apply(p.steps, outcome: &outcome) }
        k.failure = nil
        // A torn last line, as a kill during the append leaves.
        let handle = FileHandle(forWritingAtPath: k.files.realPath("/run/vfioctl/bind.journal"))!
        handle.seekToEndOfFile()
        handle.write(Data(#"{"kind":"device","st"#.utf8))
        handle.closeFile()
        _ = try executor(k).restore([])
        #expect(k.state(all) == before)
    }

    @Test func displayHandoffStepsRunInOrderAndRestoreReversesThem() throws {
        var tree = L.tree()
        tree.extraFiles = [
            "sys/class/vtconsole/vtcon0/name": "(S) dummy device\n", "sys/class/vtconsole/vtcon0/bind": "0\n",
            "sys/class/vtconsole/vtcon1/name": "(M) frame buffer device\n", "sys/class/vtconsole/vtcon1/bind": "1\n",
            "sys/bus/platform/drivers/efi-framebuffer/unbind": "", "sys/bus/platform/drivers/efi-framebuffer/bind": "",
            "sys/bus/platform/devices/efi-framebuffer.0/modalias": "platform:efi-framebuffer\n",
            "proc/fb": "0 bochs-drmdrmfb\n",
        ]
        let k = try FakeKernel(tree)
        // efi-framebuffer.0 is bound: the driver's entry for the device.
        try FileManager.default.createSymbolicLink(atPath: k.root + "/sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0",
                                                   withDestinationPath: "../../devices/efi-framebuffer.0")
        try FileManager.default.createSymbolicLink(atPath: k.root + "/sys/bus/platform/devices/efi-framebuffer.0/driver",
                                                   withDestinationPath: "../../../../bus/platform/drivers/efi-framebuffer")
        let before = k.state(all)
        let runner = RecordingCommandRunner { [k] argv in k.modprobe(argv) }
        let (host, facts) = try load(k)
        #expect(facts.boundFramebufferConsoles == ["vtcon1"])
        #expect(facts.firmwareFramebuffers == [.init(driver: "efi-framebuffer", device: "efi-framebuffer.0")])
        let p = try BindPlanner.plan([L.gpu], host: host, facts: facts, options: BindOptions(takeDisplay: true))
        #expect(p.steps.first?.waitFor == [.unheld([L.gpu])])
        #expect(p.steps.prefix(3).compactMap(\.action) == [
            .write(path: "/sys/class/vtconsole/vtcon1/bind", value: "0"),
            .write(path: "/sys/bus/platform/drivers/efi-framebuffer/unbind", value: "efi-framebuffer.0"),
        ])
        let e = executor(k, runner: runner)
        let result = e.bind(p)
        guard case .done = result else { Issue.record("bind failed: \(result)"); return }
        #expect(k.driver(L.gpu) == "vfio-pci" && k.driver(L.hda) == "vfio-pci")
        #expect(runner.commands == [["modprobe", "-r", "bochs_drm"]])
        #expect(!k.files.exists("/sys/bus/platform/devices/efi-framebuffer.0/driver"))
        #expect(try k.files.readText("/sys/class/vtconsole/vtcon1/bind") == "0")
        #expect(try e.held().items.count == 5)
        let writes = k.trace.count
        _ = try e.restore([L.hda])
        #expect(k.state(all) == before)
        #expect(try k.files.readText("/sys/class/vtconsole/vtcon1/bind") == "1")
        #expect(k.trace.dropFirst(writes).suffix(2).map(\.path) == ["/sys/bus/platform/drivers/efi-framebuffer/bind", "/sys/class/vtconsole/vtcon1/bind"])
        #expect(runner.commands.last == ["modprobe", "bochs_drm"])
        #expect(k.files.exists("/sys/bus/platform/devices/efi-framebuffer.0/driver"))
        #expect(!k.files.exists(e.journal.path))
    }
}
