import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

@Suite struct HolderScannerTests {
    let gpu = PCIAddress("0000:0a:00.0")!
    let audio = PCIAddress("0000:0a:00.1")!

    @Test func nodesOfTheGPUAndItsAudioFunction() throws {
        let tree = try HolderTree.twoGPUs()
        let scanner = HolderScanner(files: try RootedFileSystem(root: tree.path))
        #expect(scanner.slotFunctions(gpu) == [gpu, audio])
        let nodes = scanner.nodes(of: gpu)
        #expect(nodes.map(\.path) == ["/dev/dri/card1", "/dev/dri/renderD129", "/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-modeset",
                                      "/dev/nvidia-uvm", "/dev/fb1", "/dev/i2c-5", "/dev/i2c-7"])
        #expect(nodes.map { $0.number?.description ?? "-" } == ["226:1", "226:129", "195:0", "195:255", "195:254", "-", "29:1", "89:5", "89:7"])
        #expect(nodes.filter(\.isShared).map(\.path) == ["/dev/nvidiactl", "/dev/nvidia-modeset", "/dev/nvidia-uvm"])
        #expect(scanner.nodes(of: audio).map(\.path) == ["/dev/snd/controlC1", "/dev/snd/hwC1D0", "/dev/snd/pcmC1D3p"])
        #expect(scanner.nodes(of: audio).allSatisfy { $0.kind == .sound && $0.address == audio })
    }

    @Test func otherGPUsComeFromTheDRMClassLinks() throws {
        let tree = try HolderTree.twoGPUs()
        let gpus = HolderScanner(files: try RootedFileSystem(root: tree.path)).displayGPUs()
        #expect(gpus == [
            DisplayGPU(address: PCIAddress("0000:00:02.0")!, card: "/dev/dri/card0", render: "/dev/dri/renderD128", driver: "i915", bootVGA: true),
            DisplayGPU(address: gpu, card: "/dev/dri/card1", render: "/dev/dri/renderD129", driver: "nvidia", bootVGA: false),
        ])
    }

    @Test func processesWithDeviceLinksOnlyAndTheirCommands() throws {
        let tree = try HolderTree.twoGPUs()
        let (processes, uninspected) = HolderScanner(files: try RootedFileSystem(root: tree.path)).scanProcesses()
        #expect(uninspected == 0)
        #expect(processes.map(\.pid) == [1, 1200, 1500, 2100, 2200, 2300, 2400])
        let kwin = try #require(processes.first { $0.pid == 1200 })
        #expect(kwin.command == "kwin_wayland")
        #expect(Set(kwin.files.map(\.target)) == ["/dev/dri/card0", "/dev/dri/card1", "/dev/nvidiactl", "/dev/nvidia-modeset", "/dev/nvidia0"],
                "sockets and anon inodes are left out")
        #expect(kwin.files.allSatisfy { $0.number == nil }, "no stat in a tree: its links point into the real /dev")
    }

    @Test func holdersOfTheFixtureHost() throws {
        let tree = try HolderTree.twoGPUs()
        let report = HolderFinder.report(HolderScanner(files: try RootedFileSystem(root: tree.path)).facts(for: gpu))
        #expect(report.isHeld)
        #expect(report.holders.map(\.pid) == [1200, 1500, 2100, 2200])
        #expect(report.holders.map(\.command) == ["kwin_wayland", "pipewire", "firefox", "ddcutil"])
        #expect(report.holders[0].nodes.map(\.path) == ["/dev/dri/card1", "/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-modeset"])
        #expect(report.holders[0].fds == [4, 9, 10, 11])
        #expect(report.holders[1].nodes.map(\.path) == ["/dev/snd/controlC1", "/dev/snd/pcmC1D3p"])
        #expect(report.holders[2].nodes.map(\.path) == ["/dev/dri/renderD129"], "firefox's renderD128 is the other GPU's")
        #expect(report.sharedHolders.map(\.command) == ["nvidia-smi"])
        #expect(report.summaryLines.first == "kwin_wayland (PID 1200): /dev/dri/card1, /dev/nvidia0, /dev/nvidiactl, /dev/nvidia-modeset")
        let advice = try #require(report.advice.first)
        #expect(report.advice.count == 1)
        #expect(advice.compositor == .kwin && advice.pid == 1200)
        #expect(advice.settings == ["KWIN_DRM_DEVICES=/dev/dri/card0"])
        #expect(advice.pinTo?.address == PCIAddress("0000:00:02.0"))
    }

    @Test func askingForTheAudioFunctionFindsTheSameSlot() throws {
        let tree = try HolderTree.twoGPUs()
        let report = HolderFinder.report(HolderScanner(files: try RootedFileSystem(root: tree.path)).facts(for: audio))
        #expect(report.functions == [audio, gpu])
        #expect(report.holders.map(\.command) == ["kwin_wayland", "pipewire", "firefox", "ddcutil"])
    }

    @Test func idleDeviceIsNotHeld() throws {
        let tree = try HolderTree.twoGPUs()
        let report = HolderFinder.report(HolderScanner(files: try RootedFileSystem(root: tree.path)).facts(for: PCIAddress("0000:00:01.0")!))
        #expect(!report.isHeld && report.nodes.isEmpty)
        #expect(HoldersRenderer.text(report).hasPrefix("0000:00:01.0: no device nodes"))
    }

    @Test func textOutput() throws {
        let tree = try HolderTree.twoGPUs()
        let report = HolderFinder.report(HolderScanner(files: try RootedFileSystem(root: tree.path)).facts(for: gpu))
        #expect(HoldersRenderer.text(report) == """
            0000:0a:00.0, 0000:0a:00.1: held by 4 processes
              PID      COMMAND          NODES
              1200     kwin_wayland     /dev/dri/card1, /dev/nvidia0, /dev/nvidiactl, /dev/nvidia-modeset
              1500     pipewire         /dev/snd/controlC1 (0000:0a:00.1), /dev/snd/pcmC1D3p (0000:0a:00.1)
              2100     firefox          /dev/dri/renderD129
              2200     ddcutil          /dev/i2c-7

            Shared NVIDIA nodes (every NVIDIA user holds them; they keep the nvidia module loaded, not this GPU):
              PID      COMMAND          NODES
              2300     nvidia-smi       /dev/nvidiactl

            kwin_wayland (PID 1200, KWin (Plasma)) drives this GPU. To keep it on 0000:00:02.0 (/dev/dri/card0, i915):
                KWIN_DRM_DEVICES=/dev/dri/card0
              in /etc/environment (or 'export' it in ~/.config/plasma-workspace/env/vfio.sh), then log in again; cardN numbers can change between boots; check /dev/dri/by-path/pci-0000:00:02.0-card

            """)
    }
}

@Suite struct HolderFinderTests {
    let gpu = PCIAddress("0000:0a:00.0")!
    let igpu = DisplayGPU(address: PCIAddress("0000:00:02.0")!, card: "/dev/dri/card0", render: "/dev/dri/renderD128", driver: "i915", bootVGA: true)

    func facts(_ command: String, files: [OpenFile], others: [DisplayGPU]? = nil) -> HolderFacts {
        HolderFacts(target: gpu, functions: [gpu],
                    nodes: [DeviceNode(path: "/dev/dri/card1", kind: .drmCard, address: gpu, number: DeviceNumber("226:1")),
                            DeviceNode(path: "/dev/dri/renderD129", kind: .drmRender, address: gpu, number: DeviceNumber("226:129"))],
                    processes: [ScannedProcess(pid: 42, command: command, files: files)], otherGPUs: others ?? [igpu])
    }

    @Test func deviceNumbersWinOverPathsOnTheRealHost() {
        // A container's /dev/dri/card0 that is really the host's card1, and a host card1 path that is not card1.
        let report = HolderFinder.report(facts("steam", files: [OpenFile(fd: 3, target: "/dev/dri/card0", number: DeviceNumber("226:1")),
                                                                OpenFile(fd: 4, target: "/dev/dri/renderD129", number: DeviceNumber("226:128"))]))
        #expect(report.holders.map(\.fds) == [[3]])
        #expect(report.holders.first?.nodes.map(\.path) == ["/dev/dri/card1"])
    }

    @Test func pathsWhenNumbersAreUnknown() {
        let report = HolderFinder.report(facts("steam", files: [OpenFile(fd: 7, target: "/dev/dri/renderD129")]))
        #expect(report.holders.first?.nodes.map(\.path) == ["/dev/dri/renderD129"])
    }

    @Test(arguments: [
        ("kwin_wayland", Compositor.kwin, ["KWIN_DRM_DEVICES=/dev/dri/card0"]),
        ("Hyprland", .hyprland, ["AQ_DRM_DEVICES=/dev/dri/card0"]),
        (".Hyprland-wrapp", .hyprland, ["AQ_DRM_DEVICES=/dev/dri/card0"]),
        ("sway", .wlroots, ["WLR_DRM_DEVICES=/dev/dri/card0"]),
        ("labwc", .wlroots, ["WLR_DRM_DEVICES=/dev/dri/card0"]),
        ("gnome-shell", .mutter, [#"ENV{DEVNAME}=="/dev/dri/card0", TAG+="mutter-device-preferred-primary""#,
                                  #"ENV{DEVNAME}=="/dev/dri/card1", TAG+="mutter-device-ignore""#]),
    ])
    func compositorAdvice(command: String, compositor: Compositor, settings: [String]) throws {
        let report = HolderFinder.report(facts(command, files: [OpenFile(fd: 3, target: "/dev/dri/card1")]))
        let advice = try #require(report.advice.first)
        #expect(advice.compositor == compositor)
        #expect(advice.settings == settings)
        #expect(report.holders.first?.compositor == compositor)
    }

    @Test func xorgGetsADecimalBusID() throws {
        let other = DisplayGPU(address: PCIAddress("0000:1f:00.0")!, card: "/dev/dri/card2", driver: "amdgpu")
        let report = HolderFinder.report(facts("Xorg", files: [OpenFile(fd: 3, target: "/dev/dri/card1")], others: [other]))
        let advice = try #require(report.advice.first)
        #expect(advice.settings == ["Section \"Device\"", "    Identifier \"HostGPU\"", "    Driver \"modesetting\"", "    BusID \"PCI:31:0:0\"",
                                    "EndSection", "Section \"ServerFlags\"", "    Option \"AutoAddGPU\" \"off\"", "EndSection"])
        #expect(CompositorAdvice.xorgBusID(PCIAddress("0001:0a:1f.7")!) == "PCI:10@1:31:7")
    }

    @Test func bootVGAIsPreferredAsTheHostGPU() throws {
        let dgpu = DisplayGPU(address: PCIAddress("0000:03:00.0")!, card: "/dev/dri/card2", driver: "amdgpu")
        let report = HolderFinder.report(facts("sway", files: [OpenFile(fd: 3, target: "/dev/dri/card1")], others: [dgpu, igpu]))
        #expect(report.advice.first?.pinTo == igpu)
    }

    @Test func singleGPUHostSaysTheSessionMustStop() throws {
        let report = HolderFinder.report(facts("kwin_wayland", files: [OpenFile(fd: 3, target: "/dev/dri/card1")], others: []))
        let advice = try #require(report.advice.first)
        #expect(advice.pinTo == nil && advice.settings.isEmpty)
        #expect(HoldersRenderer.text(report).contains("no other GPU with a display node: the session must stop before the device can go (single-GPU handoff: vfioctl bind --take-display)"))
    }

    @Test func ordinaryProgramsGetNoAdvice() {
        let report = HolderFinder.report(facts("obs", files: [OpenFile(fd: 3, target: "/dev/dri/renderD129")]))
        #expect(report.isHeld && report.advice.isEmpty)
    }

    @Test func nvidiaDeviceMinor() {
        #expect(NvidiaProcFiles.deviceMinor("Model: \t\t NVIDIA H200\nDevice Minor: \t 3\nBus Type: \t PCIe\n") == 3)
        #expect(NvidiaProcFiles.deviceMinor("Model: x\n") == nil)
        #expect(NvidiaProcFiles.deviceMinor("Device Minor: lots\n") == nil)
        #expect(DeviceNumber("226:1") == DeviceNumber(major: 226, minor: 1))
        #expect(DeviceNumber("226") == nil && DeviceNumber("a:b") == nil && DeviceNumber("-1:2") == nil)
    }

    @Test func jsonContract() {
        let report = HolderFinder.report(facts("Hyprland", files: [OpenFile(fd: 3, target: "/dev/dri/card1")]))
        let json = HoldersRenderer.json(report).serialized()
        #expect(json.hasPrefix(#"{"address":"0000:0a:00.0","functions":["0000:0a:00.0"],"held":true,"nodes":[{"path":"/dev/dri/card1","kind":"drm-card","address":"0000:0a:00.0","dev":"226:1","shared":false}"#))
        #expect(json.contains(#""holders":[{"pid":42,"command":"Hyprland","nodes":["/dev/dri/card1"],"fds":[3],"compositor":"hyprland"}]"#))
        #expect(json.contains(#""advice":[{"compositor":"hyprland","pid":42,"command":"Hyprland","pinTo":{"address":"0000:00:02.0","card":"/dev/dri/card0","render":"/dev/dri/renderD128","driver":"i915","bootVGA":true},"settings":["AQ_DRM_DEVICES=/dev/dri/card0"]"#))
        #expect(json.hasSuffix(#""uninspected":0}"#))
    }
}

@Suite struct RealRootScanTests {
    /// On the real root an open file is matched by its device number, whatever path the node is known by: this
    /// process opens /dev/null (1:3) and is found as the holder of a node named differently.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd"), "needs procfs"))
    func openCharacterDeviceIsFoundByNumber() throws {
        let handle = try #require(FileHandle(forReadingAtPath: "/dev/null"))
        defer { try? handle.close() }
        let pid = Int(getpid())
        let scanner = HolderScanner(files: try RootedFileSystem(root: "/"))
        let (processes, _) = scanner.scanProcesses()
        let me = try #require(processes.first { $0.pid == pid })
        #expect(me.files.contains { $0.fd == Int(handle.fileDescriptor) && $0.number == DeviceNumber(major: 1, minor: 3) })
        let node = DeviceNode(path: "/dev/renamed-null", kind: .drmRender, address: PCIAddress("0000:00:00.0")!, number: DeviceNumber("1:3"))
        let report = HolderFinder.report(HolderFacts(target: node.address, functions: [node.address], nodes: [node], processes: [me]))
        #expect(report.holders.first?.fds.contains(Int(handle.fileDescriptor)) == true)
    }
}
