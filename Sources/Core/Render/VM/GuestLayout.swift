/// Where passed devices sit in the guest: one PCIe root port per host slot, functions kept together so a GPU
/// and its audio function stay one multifunction device (drivers expect that).
struct GuestSlot {
    /// 1-based root-port index (the pcie-root is 0).
    var port: Int
    var devices: [VMSpec.PassedDevice]
    /// Guest function of each device, in order.
    var functions: [Int] { Array(0..<devices.count) }
}

enum GuestLayout {
    static func slots(_ spec: VMSpec) -> [GuestSlot] {
        var out: [GuestSlot] = []
        for d in spec.devices {
            if let i = out.firstIndex(where: { $0.devices[0].address.slot == d.address.slot }) {
                out[i].devices.append(d)
            } else {
                out.append(GuestSlot(port: out.count + 1, devices: [d]))
            }
        }
        return out
    }

    /// The first GPU: the guest's primary display (`x-vga` on Proxmox).
    static func primaryGPU(_ spec: VMSpec) -> PCIAddress? { spec.devices.first { $0.kind == .gpu }?.address }

    /// Keyboards grab all input (toggle: both Ctrl keys); other event devices follow the grab.
    static func isKeyboard(_ path: String) -> Bool { path.hasSuffix("-event-kbd") }

    /// Only the first keyboard grabs: two grabbing devices would fight over the toggle.
    static func grabsAll(_ path: String, in spec: VMSpec) -> Bool { spec.input.first(where: isKeyboard) == path }

    /// `-object input-linux,...` for evdev device `index` (QEMU and Proxmox `args:`), the path comma-escaped.
    static func inputObject(_ index: Int, _ path: String, _ spec: VMSpec) -> String {
        var obj = "input-linux,id=input\(index),evdev=\(QEMURenderer.option(path))"
        if grabsAll(path, in: spec) { obj += ",grab_all=on,repeat=on,grab-toggle=ctrl-ctrl" }
        return obj
    }

    /// One CD-ROM: the installer boots (after the system disk), the driver ISO does not.
    struct CDROM { var path: String; var boots: Bool }

    static func cdroms(_ spec: VMSpec) -> [CDROM] {
        var out: [CDROM] = []
        if let iso = spec.install.iso { out.append(CDROM(path: iso, boots: true)) }
        if let iso = spec.install.virtioISO { out.append(CDROM(path: iso, boots: false)) }
        return out
    }

    /// Boot order per device (system disk 1, installer 2) whenever an installer is attached: a fresh, empty disk
    /// falls through to the installer, an installed one boots itself, with no edit between the two.
    static func perDeviceBootOrder(_ spec: VMSpec) -> Bool { spec.install.iso != nil && !spec.disks.isEmpty }

    /// SATA disks come before the CD-ROMs on the AHCI controller (sda, sdb, ... then the CDs).
    static func sataDisks(_ spec: VMSpec) -> Int { spec.disks.filter { $0.bus == .sata }.count }

    /// The target name of disk `index`: virtio disks count vda…, SATA disks sda… among themselves.
    static func diskTarget(_ spec: VMSpec, disk index: Int) -> String {
        let bus = spec.disks[index].bus
        let n = spec.disks[..<index].filter { $0.bus == bus }.count
        return bus == .virtio ? diskName(n) : sataName(n)
    }

    static func sataName(_ index: Int) -> String { "s" + diskName(index).dropFirst() }

    /// libvirt's virtio disk names: vda…vdz, vdaa…vdaz, vdba… (virDiskNameFromIndex), so a 27th disk is vdaa,
    /// not a character past "z".
    static func diskName(_ index: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var suffix: [Character] = []
        var i = max(index, 0)
        while true {
            suffix.insert(letters[i % 26], at: 0)
            i = i / 26 - 1
            if i < 0 { break }
        }
        return "vd" + String(suffix)
    }
}

enum XML {
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
