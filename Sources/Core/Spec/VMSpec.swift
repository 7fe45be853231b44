/// One passthrough VM, declared once. Every output (plan, libvirt XML, QEMU argv, Proxmox config, boot
/// configuration) is a pure function of this value (and, for `plan`/`setup`, of the host). The on-disk form is
/// TOML, documented in examples/specs/README.md; `vfioctl init` writes a complete one.
public struct VMSpec: Sendable, Equatable {
    public var name: String
    public var vcpus: Int
    /// Guest RAM in MiB.
    public var memoryMiB: Int
    public var hugepages: HugepageSize?
    /// Host NUMA node the guest memory is bound to (the GPU's node), nil on single-node hosts.
    public var numaNode: Int?
    public var cpu: CPUPinning
    public var firmware: Firmware
    public var devices: [PassedDevice]
    public var hyperv: HyperV
    public var lookingGlass: LookingGlass?
    /// Absolute `/dev/input/by-id/...-event-*` paths relayed with evdev (the first keyboard grabs all).
    public var input: [String]
    public var disks: [Disk]
    /// The guest OS: which devices and drivers it expects (nil: a spec from before `[os]`, rendered as it was).
    public var os: GuestOS?
    /// TPM 2.0 (`tpm-crb` on an swtpm emulator): Windows 11 setup refuses to install without one.
    public var tpm = false
    /// Install media: CD-ROMs after the system disk in the boot order.
    public var install: InstallMedia
    public var network: Network?
    /// A qemu-xhci USB controller with a USB tablet: a pointer for the installer before any GPU driver runs.
    public var usbTablet = false
    public var sound: Sound?
    public var boot: BootOptions
    public var proxmox: Proxmox

    public init(name: String, vcpus: Int, memoryMiB: Int) {
        self.name = name
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        cpu = CPUPinning()
        firmware = Firmware()
        devices = []
        hyperv = HyperV()
        input = []
        disks = []
        install = InstallMedia()
        boot = BootOptions()
        proxmox = Proxmox()
    }

    public enum HugepageSize: String, Sendable, Equatable {
        case size2M = "2M"
        case size1G = "1G"
        public var kib: Int { self == .size2M ? 2048 : 1_048_576 }
        public var mib: Int { kib / 1024 }
    }

    public struct CPUPinning: Sendable, Equatable {
        /// `pin[i]` is the host CPU of vCPU i. Consecutive vCPUs form a guest core (threads per core = `threads`).
        public var pin: [Int] = []
        /// Host CPUs of QEMU's emulator thread (and iothreads): the housekeeping CPUs.
        public var emulator: CPUSet = .empty
        public var iothreads: Int = 1
        public var sockets = 1
        public var cores = 1
        public var threads = 1
        /// AMD: expose SMT topology to the guest (`topoext`).
        public var topoext = false
        public init() {}
    }

    public struct Firmware: Sendable, Equatable {
        /// OVMF code without Secure Boot (read-only pflash).
        public var code = "/usr/share/OVMF/OVMF_CODE_4M.fd"
        /// NVRAM template copied per VM.
        public var vars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
        /// This VM's NVRAM file.
        public var nvram = ""
        /// Secure Boot: `code` and `vars` are a Secure Boot build with keys enrolled (Debian: OVMF_CODE_4M.ms.fd,
        /// OVMF_VARS_4M.ms.fd); libvirt then needs `secure='yes'` and SMM, QEMU `smm=on` and a secure pflash.
        public var secureBoot = false
        public init() {}
    }

    public struct PassedDevice: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable { case gpu, audio, usb, storage, network, other }
        public var address: PCIAddress
        public var vendorID: UInt16
        public var deviceID: UInt16
        public var kind: Kind
        /// ROM file given to the guest instead of the card's own (`<rom file=>`, `romfile=`).
        public var rom: String?
        /// Host drivers that must wait for vfio-pci (`softdep DRIVER pre: vfio-pci`).
        public var hostDrivers: [String] = []
        /// Who the device was when the spec was written, beyond `vendor:device`; nil in specs written before it
        /// was recorded. `SpecDrift` compares it with the host.
        public var identity: DeviceIdentity?

        public init(address: PCIAddress, vendorID: UInt16, deviceID: UInt16, kind: Kind, rom: String? = nil, hostDrivers: [String] = []) {
            self.address = address
            self.vendorID = vendorID
            self.deviceID = deviceID
            self.kind = kind
            self.rom = rom
            self.hostDrivers = hostDrivers
        }

        /// `vendor:device` as `vfio-pci.ids=` takes it.
        public var idPair: String { hex(vendorID, width: 4) + ":" + hex(deviceID, width: 4) }
    }

    /// What tells one card from another of the same model, and where it sat: sysfs `subsystem_vendor` and
    /// `subsystem_device` (the board maker's ids), and the bridges from the root complex down to the device.
    /// A BIOS update or a new card can renumber buses; the slot path tells "moved" from "replaced".
    public struct DeviceIdentity: Sendable, Equatable {
        public var subsystemVendorID: UInt16?
        public var subsystemDeviceID: UInt16?
        /// Bridge addresses from the root port down (root first); empty for a device on a root bus.
        public var slotPath: [PCIAddress]

        public init(subsystemVendorID: UInt16?, subsystemDeviceID: UInt16?, slotPath: [PCIAddress]) {
            self.subsystemVendorID = subsystemVendorID
            self.subsystemDeviceID = subsystemDeviceID
            self.slotPath = slotPath
        }

        /// The identity of a host device as sysfs shows it now.
        public init(_ d: PCIDevice) {
            self.init(subsystemVendorID: d.subsystemVendorID, subsystemDeviceID: d.subsystemDeviceID, slotPath: d.upstreamBridges.reversed())
        }

        /// `subsystem_vendor:subsystem_device`, nil when either is unknown.
        public var subsystemPair: String? {
            guard let v = subsystemVendorID, let d = subsystemDeviceID else { return nil }
            return hex(v, width: 4) + ":" + hex(d, width: 4)
        }
    }

    public struct HyperV: Sendable, Equatable {
        public var enlightenments = true
        /// Hyper-V vendor id (≤ 12 chars, no commas): NVIDIA drivers < 465 and some AMD drivers check it.
        public var vendorID: String?
        /// Hide the KVM signature (`<kvm><hidden state='on'/>`, `kvm=off`) against NVIDIA Code 43.
        public var kvmHidden = false
        public init() {}
    }

    public struct LookingGlass: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public init(width: Int, height: Int) {
            self.width = width
            self.height = height
        }

        /// DOMAIN §3: w×h×4×2 bytes + 10 MiB, rounded up to a power of two MiB (1920×1080 → 32 MiB).
        public var sizeMiB: Int {
            // Clamped to the accepted resolutions (`SpecRules`), so a value built in code cannot overflow here;
            // `VMSpec.validate()` refuses such a spec anyway.
            let w = min(max(width, 0), SpecRules.lookingGlassWidth.upperBound)
            let h = min(max(height, 0), SpecRules.lookingGlassHeight.upperBound)
            let bytes = w * h * 4 * 2 + 10 * 1024 * 1024
            let mib = (bytes + 1024 * 1024 - 1) / (1024 * 1024)
            var p = 1
            while p < mib { p *= 2 }
            return p
        }
    }

    public struct Disk: Sendable, Equatable {
        /// The bus the guest sees. virtio is the fast one, but Windows setup finds no virtio disk until its driver
        /// is loaded from the virtio-win ISO ("Load driver" → viostor); sata needs no driver during the install,
        /// at the cost of speed (a disk can move to virtio later, once the driver is installed).
        public enum Bus: String, Sendable, Equatable, CaseIterable { case virtio, sata }
        public var path: String
        public var format: String
        /// Size `vfioctl define` creates the image with (`qemu-img create`) when it does not exist; nil: never created.
        public var sizeMiB: Int?
        public var bus: Bus = .virtio
        public init(path: String, format: String = "raw", sizeMiB: Int? = nil, bus: Bus = .virtio) {
            self.path = path
            self.format = format
            self.sizeMiB = sizeMiB
            self.bus = bus
        }

        /// A block device (`/dev/...`): libvirt `type='block'`, never created.
        public var isBlockDevice: Bool { path.hasPrefix("/dev/") }
    }

    public enum GuestOS: String, Sendable, Equatable, CaseIterable {
        case windows11, windows10, linux
        public var isWindows: Bool { self != .linux }
    }

    public struct InstallMedia: Sendable, Equatable {
        /// The OS installer ISO (boots when the system disk has nothing to boot).
        public var iso: String?
        /// The virtio-win driver ISO (Windows: virtio disk, network and balloon drivers for setup).
        public var virtioISO: String?
        public init(iso: String? = nil, virtioISO: String? = nil) {
            self.iso = iso
            self.virtioISO = virtioISO
        }
        public var isEmpty: Bool { iso == nil && virtioISO == nil }
    }

    public struct Network: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            /// A libvirt virtual network (`default`: NAT on virbr0).
            case network(String)
            /// An existing host bridge (the guest on the LAN).
            case bridge(String)
        }
        public enum Model: String, Sendable, Equatable, CaseIterable { case virtio, e1000e }
        public var source: Source
        /// virtio (Windows: driver on the virtio-win ISO) or e1000e (inbox driver, slower).
        public var model: Model = .virtio
        public init(source: Source, model: Model = .virtio) {
            self.source = source
            self.model = model
        }
    }

    /// Emulated sound card: ich9 (Intel HDA on the ICH9, Windows' and Linux's inbox driver).
    public enum Sound: String, Sendable, Equatable, CaseIterable { case ich9, ich6 }

    public struct BootOptions: Sendable, Equatable {
        /// Add `video=efifb:off`: the passed GPU is the firmware's console.
        public var videoEfifbOff = false
        /// Static isolation: `isolcpus=`, `nohz_full=`, `rcu_nocbs=` for the VM's CPUs.
        public var isolateCPUs = false
        /// Drivers to blacklist outright (only when asked: a blacklist also hits other cards of the vendor).
        public var blacklist: [String] = []
        public init() {}
    }

    public struct Proxmox: Sendable, Equatable {
        public var vmid = 100
        public var storage = "local-lvm"
        public init() {}
    }

    /// Every vfio-pci id pair, unique, in device order.
    public var vfioIDs: [String] {
        var seen = Set<String>()
        return devices.map(\.idPair).filter { seen.insert($0).inserted }
    }

    /// Host drivers that must load after vfio-pci, unique, in device order.
    public var softdepDrivers: [String] {
        var seen = Set<String>()
        return devices.flatMap(\.hostDrivers).filter { seen.insert($0).inserted }
    }

    public var vmCPUs: CPUSet { CPUSet(cpu.pin) }
}

public enum MemorySize {
    /// Why a size was refused.
    public enum Problem: Error, Sendable, Equatable {
        case notASize
        case tooLarge
    }

    /// "16G", "16GiB", "8192M", "512MiB", "1T" → MiB; nil when not a size or above `SpecRules.maxMemoryMiB`.
    public static func parseMiB(_ text: String) -> Int? { try? mib(text).get() }

    /// The same, saying why: sizes come from files and the command line, so the arithmetic is checked and capped
    /// (`SpecRules.maxMemoryMiB`) rather than trusted.
    public static func mib(_ text: String) -> Result<Int, Problem> {
        var digits = ""
        var unit = ""
        for ch in text.trimmingASCIIWhitespace() {
            if ch.isASCII && ch.isNumber && unit.isEmpty { digits.append(ch) } else { unit.append(ch) }
        }
        guard !digits.isEmpty else { return .failure(.notASize) }
        let factor: Int
        switch unit.uppercased().trimmingASCIIWhitespace() {
        case "G", "GB", "GIB": factor = 1024
        case "M", "MB", "MIB": factor = 1
        case "T", "TB", "TIB": factor = 1024 * 1024
        default: return .failure(.notASize)
        }
        // More digits than Int holds is still a size, just too large.
        guard let n = Int(digits) else { return .failure(.tooLarge) }
        guard n > 0 else { return .failure(.notASize) }
        let (mib, overflow) = n.multipliedReportingOverflow(by: factor)
        guard !overflow, mib <= SpecRules.maxMemoryMiB else { return .failure(.tooLarge) }
        return .success(mib)
    }

    public static func format(mib: Int) -> String {
        mib % 1024 == 0 ? "\(mib / 1024)G" : "\(mib)M"
    }
}
