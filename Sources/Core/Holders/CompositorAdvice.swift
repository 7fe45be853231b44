/// Display servers that open a GPU's KMS node and keep it for the whole session, each with its own way of being
/// told which GPU to use.
public enum Compositor: String, Sendable, Equatable, CaseIterable {
    case kwin
    case mutter
    case hyprland
    case wlroots
    case xorg

    /// Recognises a display server by /proc/PID/comm (15 characters at most; NixOS wraps binaries as
    /// ".NAME-wrapped", cut to ".Hyprland-wrapp").
    public init?(command: String) {
        var name = Substring(command)
        if name.hasPrefix(".") { name = name.dropFirst() }
        if let dash = name.firstRange(of: "-wrapp") { name = name[..<dash.lowerBound] }
        switch name {
        case "kwin_wayland": self = .kwin
        case "gnome-shell", "mutter": self = .mutter
        case "Hyprland": self = .hyprland
        case "sway", "river", "labwc", "wayfire", "dwl", "cage", "hikari", "qtile": self = .wlroots
        case "Xorg", "X": self = .xorg
        default: return nil
        }
    }

    public var displayName: String {
        switch self {
        case .kwin: "KWin (Plasma)"
        case .mutter: "Mutter (GNOME)"
        case .hyprland: "Hyprland"
        case .wlroots: "wlroots compositor"
        case .xorg: "Xorg"
        }
    }
}

/// How to keep one display server off the device: what to set, where, and on which GPU it should stay.
public struct CompositorAdvice: Sendable, Equatable {
    public var compositor: Compositor
    public var pid: Int
    public var command: String
    /// The GPU to pin it to; nil when the host has no other GPU with a KMS node.
    public var pinTo: DisplayGPU?
    /// What to write: an environment assignment, a config snippet or a udev rule, one line each.
    public var settings: [String]
    /// Where it goes and what makes it take effect.
    public var note: String

    /// The advice for one holder, nil when it is not a display server.
    public static func advice(for holder: Holder, facts: HolderFacts) -> CompositorAdvice? {
        guard let compositor = holder.compositor else { return nil }
        // The firmware's console GPU first: it is the one a host keeps for itself.
        let other = facts.otherGPUs.sorted { ($0.bootVGA ? 0 : 1, $0.address) < ($1.bootVGA ? 0 : 1, $1.address) }.first
        guard let other else {
            return CompositorAdvice(
                compositor: compositor, pid: holder.pid, command: holder.command, pinTo: nil, settings: [],
                note: "no other GPU with a display node: the session must stop before the device can go (single-GPU handoff: vfioctl bind --take-display)")
        }
        let stable = "cardN numbers can change between boots; check /dev/dri/by-path/pci-\(other.address)-card"
        switch compositor {
        case .kwin:
            return CompositorAdvice(
                compositor: compositor, pid: holder.pid, command: holder.command, pinTo: other,
                settings: ["KWIN_DRM_DEVICES=\(other.card)"],
                note: "in /etc/environment (or 'export' it in ~/.config/plasma-workspace/env/vfio.sh), then log in again; \(stable)")
        case .hyprland:
            return CompositorAdvice(
                compositor: compositor, pid: holder.pid, command: holder.command, pinTo: other,
                settings: ["AQ_DRM_DEVICES=\(other.card)"],
                note: "in the environment Hyprland starts with (uwsm: ~/.config/uwsm/env-hyprland as 'export AQ_DRM_DEVICES=...'), then restart Hyprland; \(stable)")
        case .wlroots:
            return CompositorAdvice(
                compositor: compositor, pid: holder.pid, command: holder.command, pinTo: other,
                settings: ["WLR_DRM_DEVICES=\(other.card)"],
                note: "in the environment \(holder.command) starts with, then restart it; \(stable)")
        case .xorg:
            var settings = ["Section \"Device\"", "    Identifier \"HostGPU\""]
            if let driver = xorgDriver(other.driver) { settings.append("    Driver \"\(driver)\"") }
            settings += ["    BusID \"\(xorgBusID(other.address))\"", "EndSection",
                         "Section \"ServerFlags\"", "    Option \"AutoAddGPU\" \"off\"", "EndSection"]
            return CompositorAdvice(
                compositor: compositor, pid: holder.pid, command: holder.command, pinTo: other, settings: settings,
                note: "in /etc/X11/xorg.conf.d/10-host-gpu.conf (BusID is decimal), then restart the display manager")
        case .mutter:
            var settings = ["ENV{DEVNAME}==\"\(other.card)\", TAG+=\"mutter-device-preferred-primary\""]
            if let card = facts.nodes.first(where: { $0.kind == .drmCard && $0.address == facts.target }) {
                settings.append("ENV{DEVNAME}==\"\(card.path)\", TAG+=\"mutter-device-ignore\"")
            }
            return CompositorAdvice(
                compositor: compositor, pid: holder.pid, command: holder.command, pinTo: other, settings: settings,
                note: "in /etc/udev/rules.d/61-mutter-vfio.rules, then 'udevadm trigger' and log in again; \(stable)")
        }
    }

    /// Xorg's BusID: "PCI:bus:device:function" in decimal, "PCI:bus@domain:device:function" outside domain 0.
    public static func xorgBusID(_ a: PCIAddress) -> String {
        a.domain == 0 ? "PCI:\(a.bus):\(a.device):\(a.function)" : "PCI:\(a.bus)@\(a.domain):\(a.device):\(a.function)"
    }

    /// The Xorg driver for a kernel driver: nvidia's own, the modesetting driver for every KMS driver.
    static func xorgDriver(_ kernelDriver: String?) -> String? {
        guard let kernelDriver else { return nil }
        return kernelDriver == "nvidia" ? "nvidia" : "modesetting"
    }
}
