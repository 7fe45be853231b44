#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// Gathers `HolderFacts` from a host: the device's nodes from sysfs (and the NVIDIA driver's procfs), every
/// process's open device files from /proc/PID/fd, and the other GPUs. All reads go through the rooted filesystem,
/// so `--root` trees work; `stat` of open files (device numbers) happens only on the real root, where
/// /proc/PID/fd/N really is the open file and not a link in a tree.
public struct HolderScanner: Sendable {
    public let files: RootedFileSystem
    /// Most fds read per process: a process with more is still reported (from those read); it cannot make the scan
    /// unbounded.
    public var maxFilesPerProcess = 1 << 16

    public init(files: RootedFileSystem) {
        self.files = files
    }

    static let devices = "/sys/bus/pci/devices"

    /// The facts for `target` and the other functions of its slot (a GPU's HDMI audio function holds its sound card).
    public func facts(for target: PCIAddress) -> HolderFacts {
        let functions = slotFunctions(target)
        let nodes = functions.flatMap(nodes(of:))
        let (processes, uninspected) = scanProcesses()
        return HolderFacts(target: target, functions: functions, nodes: nodes, processes: processes, uninspected: uninspected,
                           otherGPUs: displayGPUs().filter { $0.address.slot != target.slot })
    }

    /// Who holds `target` now: what `vfioctl holders` prints, and what bind names when an unbind hangs or fails
    /// (`report.summaryLines`).
    public func report(for target: PCIAddress) -> HolderReport {
        HolderFinder.report(facts(for: target))
    }

    /// Reports for several functions from one pass over /proc (bind asks about every function it unbinds).
    public func reports(for targets: [PCIAddress]) -> [HolderReport] {
        guard !targets.isEmpty else { return [] }
        let (processes, uninspected) = scanProcesses()
        let gpus = displayGPUs()
        return targets.map { target in
            let functions = slotFunctions(target)
            return HolderFinder.report(HolderFacts(target: target, functions: functions, nodes: functions.flatMap(nodes(of:)),
                                                   processes: processes, uninspected: uninspected,
                                                   otherGPUs: gpus.filter { $0.address.slot != target.slot }))
        }
    }

    /// Who holds each function's own nodes now, for bind: planning (`BindPlan.judgeHolders`) and the message of a
    /// step that failed or timed out.
    /// `stoppedUnit`: the display manager's unit a display handoff stops before touching the GPU.
    public func heldFunctions(_ functions: [(address: PCIAddress, driver: String)], stoppedUnit: String? = nil) -> (held: [HeldFunction], advice: [CompositorAdvice]) {
        let reports = reports(for: functions.map(\.address))
        let held = zip(functions, reports).map { f, report in HeldFunction.from(report, address: f.address, driver: f.driver, stoppedUnit: stoppedUnit) }
        var advice: [CompositorAdvice] = []
        for a in reports.flatMap(\.advice) where !advice.contains(where: { $0.pid == a.pid }) {
            // Only display servers holding a function that is unbound (not merely another function of its slot).
            if held.contains(where: { $0.holders.contains { $0.hasPrefix("\(a.command) (PID \(a.pid))") } }) { advice.append(a) }
        }
        return (held, advice)
    }

    /// For a bind step that failed or timed out: one line per function some process holds at this moment.
    public func failureNotes(_ functions: [(address: PCIAddress, driver: String)]) -> [String] {
        heldFunctions(functions).held.filter { !$0.holders.isEmpty }
            .map { "\($0.address) was held at that moment by " + $0.holders.joined(separator: "; ") }
    }

    /// The target first, then the slot's other functions present in sysfs.
    public func slotFunctions(_ target: PCIAddress) -> [PCIAddress] {
        let siblings = ((try? files.listOptionalDirectory(Self.devices)) ?? []).compactMap(PCIAddress.init)
            .filter { $0.slot == target.slot && $0 != target }.sorted()
        return [target] + siblings
    }

    /// Every node that leads to one PCI function: DRM card and render nodes, NVIDIA nodes, sound card nodes,
    /// framebuffer, I2C buses (the function's own and its DRM connectors').
    public func nodes(of address: PCIAddress) -> [DeviceNode] {
        let dir = "\(Self.devices)/\(address)"
        var out: [DeviceNode] = []
        func add(_ path: String, _ kind: DeviceNode.Kind, dev: String?) {
            let number = dev.flatMap { try? files.readText($0) }.flatMap(DeviceNumber.init)
            out.append(DeviceNode(path: path, kind: kind, address: address, number: number))
        }
        let drm = list("\(dir)/drm")
        for name in drm where isNumbered(name, "card") { add("/dev/dri/\(name)", .drmCard, dev: "\(dir)/drm/\(name)/dev") }
        for name in drm where isNumbered(name, "renderD") { add("/dev/dri/\(name)", .drmRender, dev: "\(dir)/drm/\(name)/dev") }
        if let information = try? files.readText("/proc/driver/nvidia/gpus/\(address)/information"),
           let minor = NvidiaProcFiles.deviceMinor(information) {
            out.append(DeviceNode(path: "/dev/nvidia\(minor)", kind: .nvidia, address: address,
                                  number: DeviceNumber(major: DeviceNumber.nvidiaMajor, minor: minor)))
            out.append(DeviceNode(path: "/dev/nvidiactl", kind: .nvidiaShared, address: address,
                                  number: DeviceNumber(major: DeviceNumber.nvidiaMajor, minor: 255)))
            out.append(DeviceNode(path: "/dev/nvidia-modeset", kind: .nvidiaShared, address: address,
                                  number: DeviceNumber(major: DeviceNumber.nvidiaMajor, minor: 254)))
            // nvidia-uvm's major is dynamic: matched by path only.
            out.append(DeviceNode(path: "/dev/nvidia-uvm", kind: .nvidiaShared, address: address))
        }
        for card in list("\(dir)/sound") where isNumbered(card, "card") {
            let number = card.dropFirst("card".count)
            for name in list("\(dir)/sound/\(card)")
            where name == "controlC\(number)" || ["pcmC", "hwC", "midiC"].contains(where: { name.hasPrefix("\($0)\(number)D") }) {
                add("/dev/snd/\(name)", .sound, dev: "\(dir)/sound/\(card)/\(name)/dev")
            }
        }
        for name in list("\(dir)/graphics") where isNumbered(name, "fb") { add("/dev/\(name)", .framebuffer, dev: "\(dir)/graphics/\(name)/dev") }
        var buses: [(String, String)] = list(dir).filter { isNumbered($0, "i2c-") }.map { ($0, "\(dir)/\($0)") }
        for card in drm where isNumbered(card, "card") {
            for connector in list("\(dir)/drm/\(card)") where connector.hasPrefix("\(card)-") {
                buses += list("\(dir)/drm/\(card)/\(connector)").filter { isNumbered($0, "i2c-") }
                    .map { ($0, "\(dir)/drm/\(card)/\(connector)/\($0)") }
            }
        }
        var seen = Set<String>()
        for (name, busDir) in buses where seen.insert(name).inserted {
            add("/dev/\(name)", .i2c, dev: "\(busDir)/i2c-dev/\(name)/dev")
        }
        return out
    }

    /// Every process's open files that may be device nodes: on the real root the character devices (by `stat`),
    /// in a tree the links into /dev. Returns the processes that have any, and how many could not be inspected.
    public func scanProcesses() -> (processes: [ScannedProcess], uninspected: Int) {
        var processes: [ScannedProcess] = []
        var uninspected = 0
        for name in list("/proc") {
            guard let pid = Int(name), pid > 0 else { continue }
            let fdDir = "/proc/\(pid)/fd"
            let fds: [String]
            do { fds = try files.listDirectory(fdDir) } catch {
                // A process that exited meanwhile is simply gone; one we may not look into is counted.
                if error.reason == .permissionDenied { uninspected += 1 }
                continue
            }
            var open: [OpenFile] = []
            for fdName in fds.prefix(maxFilesPerProcess) {
                guard let fd = Int(fdName), let target = try? files.readLink("\(fdDir)/\(fdName)"), target.hasPrefix("/") else { continue }
                if files.isRealRoot {
                    guard let number = Self.characterDevice(files.realPath("\(fdDir)/\(fdName)")) else { continue }
                    open.append(OpenFile(fd: fd, target: target, number: number))
                } else if target.hasPrefix("/dev/") {
                    open.append(OpenFile(fd: fd, target: target))
                }
            }
            guard !open.isEmpty else { continue }
            let command = (try? files.readText("/proc/\(pid)/comm")) ?? "?"
            let unit = (try? files.readText("/proc/\(pid)/cgroup")).flatMap(ScannedProcess.unit(cgroup:))
            processes.append(ScannedProcess(pid: pid, command: command, files: open, unit: unit))
        }
        return (processes, uninspected)
    }

    /// GPUs with a KMS node (/sys/class/drm/cardN), with their PCI function, driver and boot_vga.
    public func displayGPUs() -> [DisplayGPU] {
        var out: [DisplayGPU] = []
        for card in list("/sys/class/drm") where isNumbered(card, "card") {
            guard let address = files.pciFunction(behind: "/sys/class/drm/\(card)") else { continue }
            let dir = "\(Self.devices)/\(address)"
            let render = list("\(dir)/drm").first { isNumbered($0, "renderD") }.map { "/dev/dri/\($0)" }
            let driver = (try? files.readLinkName("\(dir)/driver")) ?? nil
            let bootVGA = ((try? files.readOptionalText("\(dir)/boot_vga")) ?? nil) == "1"
            out.append(DisplayGPU(address: address, card: "/dev/dri/\(card)", render: render, driver: driver, bootVGA: bootVGA))
        }
        return out.sorted { $0.address < $1.address }
    }

    private func list(_ path: String) -> [String] { (try? files.listOptionalDirectory(path)) ?? [] }

    /// "card1" is numbered with prefix "card"; "card1-DP-1" is not.
    private func isNumbered(_ name: String, _ prefix: String) -> Bool {
        name.hasPrefix(prefix) && name.count > prefix.count && name.dropFirst(prefix.count).allSatisfy(\.isASCIIDigit)
    }

    /// The device number of a character device (following the /proc/PID/fd magic link to the open file itself);
    /// nil for anything else or when it cannot be stat'ed.
    static func characterDevice(_ realPath: String) -> DeviceNumber? {
        var st = stat()
        guard stat(realPath, &st) == 0, st.st_mode & S_IFMT == S_IFCHR else { return nil }
        // glibc's encoding of dev_t (sys/sysmacros.h major()/minor(), macros Swift cannot call).
        let dev = UInt64(st.st_rdev)
        let major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~UInt64(0xFFF))
        let minor = (dev & 0xFF) | ((dev >> 12) & ~UInt64(0xFF))
        return DeviceNumber(major: UInt32(truncatingIfNeeded: major), minor: UInt32(truncatingIfNeeded: minor))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
