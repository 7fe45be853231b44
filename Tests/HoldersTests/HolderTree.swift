import Foundation
import VFIOCore

/// A host tree on disk with GPUs, their nodes in sysfs and processes with /proc/PID/fd links, for the scanner
/// and the CLI (`--root`).
final class HolderTree {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-holders-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ relative: String, _ text: String) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func link(_ relative: String, _ target: String) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }

    /// A PCI function under `parent` (a sysfs device directory relative to the tree), linked from /sys/bus/pci/devices.
    @discardableResult
    func function(_ address: String, under parent: String = "sys/devices/pci0000:00", vendor: String, device: String,
                  class cls: String, driver: String? = nil, bootVGA: Bool? = nil) throws -> String {
        let dir = "\(parent)/\(address)"
        try file("\(dir)/vendor", vendor + "\n")
        try file("\(dir)/device", device + "\n")
        try file("\(dir)/class", cls + "\n")
        if let bootVGA { try file("\(dir)/boot_vga", bootVGA ? "1\n" : "0\n") }
        if let driver {
            try file("sys/bus/pci/drivers/\(driver)/new_id", "")
            try link("\(dir)/driver", relative(from: dir, to: "sys/bus/pci/drivers/\(driver)"))
        }
        try link("sys/bus/pci/devices/\(address)", relative(from: "sys/bus/pci/devices", to: dir))
        return dir
    }

    /// A DRM card with its class link, and its render node.
    func drm(_ dir: String, card: Int, render: Int) throws {
        try file("\(dir)/drm/card\(card)/dev", "226:\(card)\n")
        try file("\(dir)/drm/card\(card)/card\(card)-DP-1/status", "connected\n")
        try file("\(dir)/drm/renderD\(render)/dev", "226:\(render)\n")
        try link("sys/class/drm/card\(card)", relative(from: "sys/class/drm", to: "\(dir)/drm/card\(card)"))
        try link("sys/class/drm/card\(card)-DP-1", relative(from: "sys/class/drm", to: "\(dir)/drm/card\(card)/card\(card)-DP-1"))
        try link("sys/class/drm/renderD\(render)", relative(from: "sys/class/drm", to: "\(dir)/drm/renderD\(render)"))
    }

    func process(_ pid: Int, _ comm: String, fds: [Int: String]) throws {
        try file("proc/\(pid)/comm", comm + "\n")
        try FileManager.default.createDirectory(atPath: path + "/proc/\(pid)/fd", withIntermediateDirectories: true)
        for (fd, target) in fds { try link("proc/\(pid)/fd/\(fd)", target) }
    }

    private func relative(from dir: String, to target: String) -> String {
        let up = dir.split(separator: "/").count
        return String(repeating: "../", count: up) + target
    }

    /// An Intel iGPU (boot VGA, card0) and an NVIDIA GPU at 0000:0a:00.0 (card1, fb1, two I2C buses, /dev/nvidia0)
    /// with its HDMI audio at .1 (sound card 1), held by a compositor, PipeWire, a browser, ddcutil and nvidia-smi.
    static func twoGPUs(compositor: String = "kwin_wayland") throws -> HolderTree {
        let t = try HolderTree()
        let igpu = try t.function("0000:00:02.0", vendor: "0x8086", device: "0x9bc5", class: "0x030000", driver: "i915", bootVGA: true)
        try t.drm(igpu, card: 0, render: 128)
        let port = "sys/devices/pci0000:00/0000:00:01.0"
        try t.function("0000:00:01.0", vendor: "0x8086", device: "0x1901", class: "0x060400", driver: "pcieport")
        let gpu = try t.function("0000:0a:00.0", under: port, vendor: "0x10de", device: "0x2484", class: "0x030000", driver: "nvidia", bootVGA: false)
        try t.drm(gpu, card: 1, render: 129)
        try t.file("\(gpu)/graphics/fb1/dev", "29:1\n")
        try t.file("\(gpu)/i2c-5/i2c-dev/i2c-5/dev", "89:5\n")
        try t.file("\(gpu)/i2c-5/name", "NVIDIA i2c adapter 1\n")
        try t.file("\(gpu)/drm/card1/card1-DP-1/i2c-7/i2c-dev/i2c-7/dev", "89:7\n")
        try t.file("proc/driver/nvidia/gpus/0000:0a:00.0/information", "Model: \t\t NVIDIA GeForce RTX 3060 Ti\nIRQ:   \t\t 140\nDevice Minor: \t 0\nBus Location: \t 0000:0a:00.0\n")
        let audio = try t.function("0000:0a:00.1", under: port, vendor: "0x10de", device: "0x228b", class: "0x040300", driver: "snd_hda_intel")
        try t.file("\(audio)/sound/card1/controlC1/dev", "116:12\n")
        try t.file("\(audio)/sound/card1/pcmC1D3p/dev", "116:13\n")
        try t.file("\(audio)/sound/card1/hwC1D0/dev", "116:14\n")
        try t.file("\(audio)/sound/card1/id", "NVidia\n")

        try t.process(1, "systemd", fds: [0: "/dev/null", 3: "socket:[100]"])
        try t.process(1200, compositor, fds: [3: "/dev/dri/card0", 4: "/dev/dri/card1", 5: "anon_inode:[eventfd]", 9: "/dev/nvidiactl", 10: "/dev/nvidia-modeset", 11: "/dev/nvidia0"])
        try t.process(1500, "pipewire", fds: [30: "/dev/snd/controlC1", 31: "/dev/snd/pcmC1D3p", 32: "/dev/snd/controlC0"])
        try t.process(2100, "firefox", fds: [40: "/dev/dri/renderD129", 41: "/dev/dri/renderD128"])
        try t.process(2200, "ddcutil", fds: [3: "/dev/i2c-7"])
        try t.process(2300, "nvidia-smi", fds: [3: "/dev/nvidiactl"])
        try t.process(2400, "bash", fds: [0: "/dev/pts/0", 255: "/dev/tty1"])
        try t.file("proc/meminfo", "MemTotal: 1 kB\n")
        return t
    }
}
