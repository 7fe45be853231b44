/// A character device number as sysfs prints it in a device's `dev` attribute ("226:1").
public struct DeviceNumber: Hashable, Sendable, CustomStringConvertible {
    public let major: UInt32
    public let minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// Parses "226:1"; nil for anything else.
    public init?(_ text: String) {
        let parts = text.trimmingASCIIWhitespace().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = UInt32(parts[0]), let minor = UInt32(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    public var description: String { "\(major):\(minor)" }

    /// The NVIDIA driver's fixed character major (NV_MAJOR_DEVICE_NUMBER): /dev/nvidiaN is 195:N.
    public static let nvidiaMajor: UInt32 = 195
}

/// A device node that leads to a PCI function: the things a process keeps open while it uses the device.
public struct DeviceNode: Hashable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// /dev/dri/cardN: KMS (what compositors and Xorg open).
        case drmCard = "drm-card"
        /// /dev/dri/renderDN: render-only access (browsers, games, video decoders).
        case drmRender = "drm-render"
        /// /dev/nvidiaN of this GPU (proprietary driver).
        case nvidia
        /// /dev/nvidiactl, /dev/nvidia-modeset, /dev/nvidia-uvm: every NVIDIA user holds them, whichever GPU it uses.
        case nvidiaShared = "nvidia-shared"
        /// /dev/snd/controlCN, pcmCNDx, hwCNDx, midiCNDx of the function's sound card.
        case sound
        /// /dev/fbN of the function's framebuffer.
        case framebuffer
        /// /dev/i2c-N of the function's I2C buses (DDC; ddcutil, RGB tools).
        case i2c
    }

    public var path: String
    public var kind: Kind
    /// The function the node belongs to (the GPU, or its HDMI audio function for sound nodes).
    public var address: PCIAddress
    /// sysfs `dev` of the node, when known: on the real host a process's open file is matched by it, so a node
    /// reached through another path (a container's /dev, a bind mount) is still found.
    public var number: DeviceNumber?

    public init(path: String, kind: Kind, address: PCIAddress, number: DeviceNumber? = nil) {
        self.path = path
        self.kind = kind
        self.address = address
        self.number = number
    }

    public var isShared: Bool { kind == .nvidiaShared }
}

/// One open file of a process that may be a device node: the fd number, the link text of /proc/PID/fd/N, and on
/// the real host the character device number `stat` gave (nil in trees and for other kinds of file).
public struct OpenFile: Hashable, Sendable {
    public var fd: Int
    public var target: String
    public var number: DeviceNumber?

    public init(fd: Int, target: String, number: DeviceNumber? = nil) {
        self.fd = fd
        self.target = target
        self.number = number
    }
}

/// A process and the candidate device files it has open (sockets, pipes and regular files already left out).
public struct ScannedProcess: Sendable, Equatable {
    public var pid: Int
    /// /proc/PID/comm (at most 15 characters).
    public var command: String
    public var files: [OpenFile]
    /// The systemd unit whose cgroup holds it (/proc/PID/cgroup: "lab-dm.service", "session-2.scope"), when it is in one.
    public var unit: String?

    public init(pid: Int, command: String, files: [OpenFile], unit: String? = nil) {
        self.pid = pid
        self.command = command
        self.files = files
        self.unit = unit
    }

    /// The innermost unit (a `.service` or `.scope` path component) of the cgroup v2 line in /proc/PID/cgroup.
    public static func unit(cgroup text: String) -> String? {
        ShieldLoader.cpusetCgroup(text, v1: false)?.split(separator: "/")
            .last { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }.map(String.init)
    }
}

/// Another GPU with a KMS node, where a compositor could be pinned instead.
public struct DisplayGPU: Sendable, Equatable {
    public var address: PCIAddress
    /// /dev/dri/cardN.
    public var card: String
    public var render: String?
    /// sysfs `driver` link name (i915, amdgpu, nvidia, ...).
    public var driver: String?
    /// sysfs `boot_vga` = 1: the firmware's console GPU.
    public var bootVGA: Bool

    public init(address: PCIAddress, card: String, render: String? = nil, driver: String? = nil, bootVGA: Bool = false) {
        self.address = address
        self.card = card
        self.render = render
        self.driver = driver
        self.bootVGA = bootVGA
    }
}

/// Everything `HolderFinder` decides from: the device's nodes, the processes' open device files and the other GPUs.
public struct HolderFacts: Sendable {
    /// The address asked about.
    public var target: PCIAddress
    /// The functions whose nodes were collected (the target and the other functions of its slot).
    public var functions: [PCIAddress]
    public var nodes: [DeviceNode]
    public var processes: [ScannedProcess]
    /// Processes whose /proc/PID/fd could not be listed (another user's, without root).
    public var uninspected: Int
    public var otherGPUs: [DisplayGPU]

    public init(target: PCIAddress, functions: [PCIAddress], nodes: [DeviceNode], processes: [ScannedProcess],
                uninspected: Int = 0, otherGPUs: [DisplayGPU] = []) {
        self.target = target
        self.functions = functions
        self.nodes = nodes
        self.processes = processes
        self.uninspected = uninspected
        self.otherGPUs = otherGPUs
    }
}

/// procfs text of the NVIDIA driver.
public enum NvidiaProcFiles {
    /// `/proc/driver/nvidia/gpus/ADDR/information`: the "Device Minor:" line gives N of /dev/nvidiaN.
    public static func deviceMinor(_ information: String) -> UInt32? {
        for line in information.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingASCIIWhitespace() == "Device Minor" {
                return UInt32(parts[1].trimmingASCIIWhitespace())
            }
        }
        return nil
    }
}
