import Foundation

/// The rest of a host: boot files, mounts, cgroups, firmware, `/dev`, network and block devices, `etc/`.
struct SystemRenderer {
    let host: HostTree
    let layout: Layout
    let modules: ModuleSet

    func render(into t: inout FileTree) {
        let cpus = Array(0..<host.cpu.logicalCount)
        let mask = Format.cpuMask(cpus, bits: cpus.count) + "\n"
        t.file("proc/cmdline", host.cmdline + "\n")
        t.file("proc/version", "Linux version \(host.kernelRelease) (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.12.12-1~bpo12+1 (2025-02-23)\n")
        t.file("proc/sys/kernel/osrelease", host.kernelRelease + "\n")
        t.file("proc/sys/kernel/hostname", host.hostname + "\n")
        t.file("proc/sys/vm/nr_hugepages", "\(host.memory.hugepages2M)\n")
        t.file("proc/fb", host.framebuffer.map { $0.procLine + "\n" } ?? "")
        t.file("proc/mounts", mounts.map { $0 + "\n" }.joined())
        t.file("proc/net/route", route)
        t.file("sys/devices/virtual/workqueue/cpumask", mask)
        t.file("sys/devices/virtual/workqueue/writeback/cpumask", mask)
        t.link("sys/bus/workqueue/devices/writeback", to: "sys/devices/virtual/workqueue/writeback")
        devFiles(into: &t)
        cgroups(cpus: cpus, into: &t)
        if host.firmware == .uefi {
            t.file("sys/firmware/efi/fw_platform_size", "64\n")
            t.file("sys/firmware/efi/systab", "ACPI20=0x9c2fe000\nACPI=0x9c2fe000\nSMBIOS=0x9d6c8000\nSMBIOS3=0x9d6c7000\n")
            t.directory("sys/firmware/efi/efivars")
            t.directory("sys/firmware/efi/runtime-map")
        }
        network(into: &t)
        block(into: &t)
        etc(into: &t)
    }

    // MARK: /proc

    /// The root filesystem's device: the second partition of the first disk.
    private var rootDevice: String {
        guard let disk = host.devices.flatMap(\.blockDevices).first else { return "/dev/sda2" }
        return "/dev/" + partition(disk, 2)
    }

    private func partition(_ disk: String, _ n: Int) -> String {
        disk.last?.isNumber == true ? "\(disk)p\(n)" : "\(disk)\(n)"
    }

    var mounts: [String] {
        var m = [
            "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0",
            "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
            "udev /dev devtmpfs rw,nosuid,relatime,size=16318420k,nr_inodes=4079605,mode=755,inode64 0 0",
            "devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000 0 0",
            "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=3267888k,mode=755,inode64 0 0",
            "\(rootDevice) / ext4 rw,relatime,errors=remount-ro 0 0",
            "securityfs /sys/kernel/security securityfs rw,nosuid,nodev,noexec,relatime 0 0",
            "tmpfs /dev/shm tmpfs rw,nosuid,nodev,inode64 0 0",
            "tmpfs /run/lock tmpfs rw,nosuid,nodev,noexec,relatime,size=5120k,inode64 0 0",
        ]
        let v1 = ["cpuset", "cpu,cpuacct", "blkio", "memory", "devices", "freezer", "net_cls,net_prio", "perf_event",
                  "hugetlb", "pids", "rdma", "misc"]
        switch host.cgroup {
        case .v2:
            m.append("cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0")
        case .v1, .hybrid:
            m.append("tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,size=4096k,nr_inodes=1024,mode=755,inode64 0 0")
            if host.cgroup == .hybrid {
                m.append("cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0")
            }
            m.append("cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0")
            for c in v1 { m.append("cgroup /sys/fs/cgroup/\(c) cgroup rw,nosuid,nodev,noexec,relatime,\(c) 0 0") }
        }
        m.append("pstore /sys/fs/pstore pstore rw,nosuid,nodev,noexec,relatime 0 0")
        if host.firmware == .uefi {
            m.append("efivarfs /sys/firmware/efi/efivars efivarfs rw,nosuid,nodev,noexec,relatime 0 0")
        }
        m.append("bpf /sys/fs/bpf bpf rw,nosuid,nodev,noexec,relatime,mode=700 0 0")
        m.append("hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0")
        if host.memory.hugepages1G > 0 {
            m.append("hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0")
        }
        m.append("mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec,relatime 0 0")
        m.append("debugfs /sys/kernel/debug debugfs rw,nosuid,nodev,noexec,relatime 0 0")
        if let disk = host.devices.flatMap(\.blockDevices).first, host.firmware == .uefi {
            m.append("/dev/\(partition(disk, 1)) /boot/efi vfat rw,relatime,fmask=0077,dmask=0077,codepage=437,iocharset=ascii,shortname=mixed,utf8,errors=remount-ro 0 0")
        }
        return m
    }

    private var interfaces: [(name: String, device: ResolvedDevice)] {
        layout.devices.flatMap { d in d.spec.netInterfaces.map { ($0, d) } }
    }

    private var defaultInterface: String? { host.defaultRouteInterface ?? interfaces.first?.name }

    /// `/proc/net/route`, every line padded to 127 characters (net/ipv4/fib_trie.c).
    var route: String {
        func pad(_ s: String) -> String { Format.rightPad(s, 127) + "\n" }
        var out = pad("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT")
        if let iface = defaultInterface {
            out += pad("\(iface)\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0")
            out += pad("\(iface)\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0")
        }
        return out
    }

    // MARK: /dev

    private func devFiles(into t: inout FileTree) {
        let virt = host.cpu.effectiveFlags.contains("vmx") || host.cpu.effectiveFlags.contains("svm")
        if host.kvm.loaded && virt { t.file("dev/kvm", "") }
        if modules.isLoaded("vfio") {
            t.file("dev/vfio/vfio", "")
            let vfioGroups = Set(layout.devices.filter { $0.spec.driver == "vfio-pci" }.compactMap(\.group))
            for g in vfioGroups.sorted() { t.file("dev/vfio/\(g)", "") }
        }
        t.directory("dev/hugepages")
        if host.memory.hugepages1G > 0 { t.directory("dev/hugepages1G") }
        for input in host.inputDevices {
            t.file("dev/input/event\(input.event)", "")
            t.link("dev/input/by-id/\(input.id)", to: "dev/input/event\(input.event)")
        }
    }

    // MARK: cgroups

    private func cgroups(cpus: [Int], into t: inout FileTree) {
        let all = Format.cpuList(cpus) + "\n"
        let nodes = Format.cpuList(Array(0..<max(1, host.cpu.numaNodes))) + "\n"
        let slices = ["init.scope", "system.slice", "user.slice", "machine.slice"]
        switch host.cgroup {
        case .v2:
            let root = "sys/fs/cgroup"
            t.file("\(root)/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
            t.file("\(root)/cgroup.subtree_control", "cpuset cpu io memory pids\n")
            t.file("\(root)/cgroup.procs", "")
            t.file("\(root)/cpuset.cpus.effective", all)
            t.file("\(root)/cpuset.mems.effective", nodes)
            for s in slices {
                t.file("\(root)/\(s)/cgroup.controllers", "cpuset cpu io memory pids\n")
                t.file("\(root)/\(s)/cgroup.procs", "")
                t.file("\(root)/\(s)/cpuset.cpus", "\n")
                t.file("\(root)/\(s)/cpuset.cpus.effective", all)
                t.file("\(root)/\(s)/cpuset.cpus.partition", "member\n")
                t.file("\(root)/\(s)/cpuset.mems", "\n")
            }
        case .v1, .hybrid:
            let root = "sys/fs/cgroup/cpuset"
            t.file("\(root)/cpuset.cpus", all)
            t.file("\(root)/cpuset.mems", nodes)
            t.file("\(root)/cpuset.cpu_exclusive", "1\n")
            t.file("\(root)/tasks", "")
            t.file("\(root)/cgroup.procs", "")
            for s in slices where s != "init.scope" {
                t.file("\(root)/\(s)/cpuset.cpus", "\n")
                t.file("\(root)/\(s)/cpuset.mems", "\n")
                t.file("\(root)/\(s)/tasks", "")
            }
            for c in ["cpu,cpuacct", "memory", "pids", "devices", "systemd"] { t.directory("sys/fs/cgroup/\(c)") }
            if host.cgroup == .hybrid { t.file("sys/fs/cgroup/unified/cgroup.controllers", "\n") }
        }
    }

    // MARK: Network and block devices

    private func network(into t: inout FileTree) {
        t.file("sys/devices/virtual/net/lo/address", "00:00:00:00:00:00\n")
        t.file("sys/devices/virtual/net/lo/operstate", "unknown\n")
        t.file("sys/devices/virtual/net/lo/mtu", "65536\n")
        t.link("sys/class/net/lo", to: "sys/devices/virtual/net/lo")
        let up = defaultInterface
        for (name, d) in interfaces {
            let dir = "sys/\(d.path)/net/\(name)"
            let h = Format.stableHash("\(d.address)/\(name)")
            let oui = d.spec.vendor == 0x8086 ? "a8:a1:59" : d.spec.vendor == 0x10ec ? "04:42:1a" : "02:1b:21"
            let tail = (0..<3).map { Format.hex((h >> (8 * UInt64($0))) & 0xff, digits: 2, prefix: false) }
            t.file("\(dir)/address", "\(oui):\(tail.joined(separator: ":"))\n")
            t.file("\(dir)/operstate", (name == up ? "up" : "down") + "\n")
            if name == up { t.file("\(dir)/carrier", "1\n") }
            t.file("\(dir)/mtu", "1500\n")
            t.file("\(dir)/type", "1\n")
            t.link("\(dir)/device", to: "sys/\(d.path)")
            t.link("sys/class/net/\(name)", to: dir)
        }
    }

    private func block(into t: inout FileTree) {
        var ata = 0
        var minor = 0
        for d in layout.devices {
            for disk in d.spec.blockDevices {
                let dir: String
                let major: Int
                if disk.hasPrefix("nvme") {
                    let controller = disk.range(of: "n", options: .backwards).map { String(disk[..<$0.lowerBound]) } ?? disk
                    dir = "sys/\(d.path)/nvme/\(controller)/\(disk)"
                    t.link("sys/class/nvme/\(controller)", to: "sys/\(d.path)/nvme/\(controller)")
                    major = 259
                } else {
                    dir = "sys/\(d.path)/ata\(ata + 1)/host\(ata)/target\(ata):0:0/\(ata):0:0:0/block/\(disk)"
                    ata += 1
                    major = 8
                }
                let sectors = 1_953_525_168
                t.file("\(dir)/dev", "\(major):\(minor)\n")
                t.file("\(dir)/size", "\(sectors)\n")
                t.file("\(dir)/removable", "0\n")
                t.file("\(dir)/ro", "0\n")
                t.link("sys/class/block/\(disk)", to: dir)
                minor += 1
                for p in 1...2 {
                    let name = partition(disk, p)
                    t.file("\(dir)/\(name)/partition", "\(p)\n")
                    t.file("\(dir)/\(name)/start", p == 1 ? "2048\n" : "1050624\n")
                    t.file("\(dir)/\(name)/size", p == 1 ? "1048576\n" : "\(sectors - 1_050_624 - 2048)\n")
                    t.file("\(dir)/\(name)/dev", "\(major):\(minor)\n")
                    t.link("sys/class/block/\(name)", to: "\(dir)/\(name)")
                    minor += 1
                }
            }
        }
    }

    // MARK: etc

    /// The kernel arguments a bootloader adds: the cmdline without `BOOT_IMAGE=`, `root=`, `ro`/`rw`.
    var bootArgs: String {
        host.cmdline.split(separator: " ").filter { a in
            !(a.hasPrefix("BOOT_IMAGE=") || a.hasPrefix("root=") || a.hasPrefix("initrd=") || a == "ro" || a == "rw")
        }.joined(separator: " ")
    }

    private func etc(into t: inout FileTree) {
        t.file("etc/hostname", host.hostname + "\n")
        t.file("etc/os-release", """
            PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
            NAME="Debian GNU/Linux"
            VERSION_ID="12"
            VERSION="12 (bookworm)"
            VERSION_CODENAME=bookworm
            ID=debian

            """)
        switch host.bootloader {
        case .grub(let args):
            t.file("etc/default/grub", """
                # If you change this file, run 'update-grub' afterwards to update
                # /boot/grub/grub.cfg.
                GRUB_DEFAULT=0
                GRUB_TIMEOUT=5
                GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
                GRUB_CMDLINE_LINUX_DEFAULT="\(args ?? bootArgs)"
                GRUB_CMDLINE_LINUX=""

                """)
        case .systemdBoot(let args):
            let root = host.cmdline.split(separator: " ").first { $0.hasPrefix("root=") }.map(String.init) ?? "root=/dev/sda2"
            t.file("etc/kernel/cmdline", "\(root) ro \(args ?? bootArgs)\n")
        case .none:
            break
        }
        let vfioBound = layout.devices.filter { $0.spec.driver == "vfio-pci" && $0.spec.driverOverride == nil }
        if !vfioBound.isEmpty && !host.cmdline.contains("vfio-pci.ids=") {
            let ids = Set(vfioBound.map { "\(Format.hex($0.spec.vendor, digits: 4, prefix: false)):\(Format.hex($0.spec.device, digits: 4, prefix: false))" })
            var lines = ["options vfio-pci ids=\(ids.sorted().joined(separator: ","))"]
            let vendors = Set(vfioBound.map(\.spec.vendor))
            if vendors.contains(0x10de) { lines += ["softdep nvidia pre: vfio-pci", "softdep nouveau pre: vfio-pci"] }
            if vendors.contains(0x1002) { lines += ["softdep amdgpu pre: vfio-pci", "softdep radeon pre: vfio-pci"] }
            if vfioBound.contains(where: { $0.spec.classCode >> 8 == 0x0403 }) { lines.append("softdep snd_hda_intel pre: vfio-pci") }
            t.file("etc/modprobe.d/vfio.conf", lines.joined(separator: "\n") + "\n")
        }
    }
}
