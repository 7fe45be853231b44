import Foundation
import Testing

@Suite struct BindHoldersCommandTests {
    @Test func bindNamesTheHoldersOfAnNvidiaGPUAndHowToMoveTheCompositor() throws {
        let tree = try HolderTree.twoGPUs()
        let r = try RunCLI.vfioctl(["bind", "0a:00.0", "--dry-run", "--root", tree.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("  - 0000:0a:00.0 is held by kwin_wayland (PID 1200): /dev/dri/card1, /dev/nvidia0; firefox (PID 2100): /dev/dri/renderD129; ddcutil (PID 2200): /dev/i2c-7: the nvidia driver's unbind waits until every handle is closed: the write to unbind hangs and the GPU stays half-removed; close them first ('vfioctl holders 0000:0a:00.0' shows them, and how to keep a compositor on another GPU)\n"), "\(r.stderr)")
        #expect(r.stderr.contains("kwin_wayland (PID 1200, KWin (Plasma)) drives this GPU. To keep it on 0000:00:02.0 (/dev/dri/card0, i915):\n    KWIN_DRM_DEVICES=/dev/dri/card0\n"))
        // nvidia-smi holds only the shared nodes: not named.
        #expect(!r.stderr.contains("nvidia-smi"))
    }

    @Test func forceWarnsAndTheAudioFunctionNamesPipeWire() throws {
        let tree = try HolderTree.twoGPUs()
        let r = try RunCLI.vfioctl(["bind", "0a:00.1", "--dry-run", "--force", "--root", tree.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("warning: binding despite:\n"))
        #expect(r.stderr.contains("  - 0000:0a:00.1 is held by pipewire (PID 1500): /dev/snd/controlC1, /dev/snd/pcmC1D3p: snd_hda_intel's unbind waits until every open sound file is closed"))
        #expect(r.stdout.contains("echo -n '0000:0a:00.1' > /sys/bus/pci/devices/0000:0a:00.1/driver/unbind"))
    }

    @Test func jsonListsTheHolderRefusal() throws {
        let tree = try HolderTree.twoGPUs()
        let r = try RunCLI.vfioctl(["bind", "0a:00.0", "--dry-run", "--json", "--root", tree.path])
        #expect(r.status == 2)
        let refusals = try #require(try RunCLI.json(r.stdout)["refusals"] as? [[String: Any]])
        #expect(refusals.contains { ($0["reason"] as? String)?.hasPrefix("0000:0a:00.0 is held by kwin_wayland (PID 1200)") == true && $0["hostCritical"] as? Bool == false })
    }

    /// `--take-display` asked for the boot display: the display is said as what happens, not as a warning that
    /// tells the user to add the flag they gave.
    @Test func aHandoffStatesTheDisplayInsteadOfWarningAboutIt() throws {
        let r = try RunCLI.vfioctl(["bind", "06:00.0", "--dry-run", "--take-display", "--root", "examples/hosts/ryzen-chipset-gpu"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("display handoff: 0000:06:00.0 is the host's boot display: its screen stays dark until 'vfioctl restore' gives it back\n"), "\(r.stderr)")
        #expect(!r.stderr.contains("binding despite") && !r.stderr.contains("use --take-display"), "\(r.stderr)")
        let plain = try RunCLI.vfioctl(["bind", "06:00.0", "--dry-run", "--root", "examples/hosts/ryzen-chipset-gpu"])
        #expect(plain.status == 2 && plain.stderr.contains("use --take-display for the single-GPU handoff"))
    }
}
