import Foundation
import Testing

@Suite struct HoldersCommandTests {
    @Test func heldDeviceExitsOneWithHoldersAndAdvice() throws {
        let tree = try HolderTree.twoGPUs(compositor: "Hyprland")
        let r = try RunCLI.vfioctl(["holders", "0a:00.0", "--root", tree.path])
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("0000:0a:00.0, 0000:0a:00.1: held by 4 processes\n"))
        #expect(r.stdout.contains("  1200     Hyprland         /dev/dri/card1, /dev/nvidia0, /dev/nvidiactl, /dev/nvidia-modeset\n"))
        #expect(r.stdout.contains("    AQ_DRM_DEVICES=/dev/dri/card0\n"))
    }

    @Test func json() throws {
        let tree = try HolderTree.twoGPUs(compositor: "Xorg")
        let r = try RunCLI.vfioctl(["holders", "0000:0a:00.0", "--root", tree.path, "--json"])
        #expect(r.status == 1)
        let json = try RunCLI.json(r.stdout)
        #expect(json["address"] as? String == "0000:0a:00.0" && json["held"] as? Bool == true)
        let holders = try #require(json["holders"] as? [[String: Any]])
        #expect(holders.compactMap { $0["pid"] as? Int } == [1200, 1500, 2100, 2200])
        #expect(holders.first?["compositor"] as? String == "xorg")
        let advice = try #require((json["advice"] as? [[String: Any]])?.first)
        #expect((advice["settings"] as? [String])?.contains("    BusID \"PCI:0:2:0\"") == true)
    }

    @Test func idleAndMissingDevices() throws {
        let tree = try HolderTree.twoGPUs()
        let idle = try RunCLI.vfioctl(["holders", "00:01.0", "--root", tree.path])
        #expect(idle.status == 0)
        let missing = try RunCLI.vfioctl(["holders", "00:1f.3", "--root", tree.path])
        #expect(missing.status == 3)
        #expect(missing.stderr == "vfioctl: 0000:00:1f.3: no such PCI device (/sys/bus/pci/devices/0000:00:1f.3 does not exist)\n")
        let bad = try RunCLI.vfioctl(["holders", "gpu", "--root", tree.path])
        #expect(bad.status == 64 && bad.stderr.contains("The value 'gpu' is invalid for '<ADDR>'"))
    }
}
