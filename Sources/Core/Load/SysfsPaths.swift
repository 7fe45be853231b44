/// The sysfs and procfs paths the loaders read, built in one place so a loader, its test and the snapshot agree on
/// every spelling.
public enum SysfsPaths {
    // MARK: PCI
    public static let pciDevices = "/sys/bus/pci/devices"
    public static func pciDevice(_ a: PCIAddress) -> String { "\(pciDevices)/\(a)" }
    public static let pciDrivers = "/sys/bus/pci/drivers"
    public static func pciDriver(_ name: String) -> String { "\(pciDrivers)/\(name)" }
    /// The driver's loadable module link (absent for built-in drivers).
    public static func pciDriverModule(_ name: String) -> String { "\(pciDriver(name))/module" }

    // MARK: Modules
    public static func module(_ name: String) -> String { "/sys/module/\(name)" }
    /// Present only for a loadable module that is loaded (built-in modules have no initstate).
    public static func moduleInitState(_ name: String) -> String { "\(module(name))/initstate" }

    // MARK: Console and display
    public static let vtconsoles = "/sys/class/vtconsole"
    public static func vtconsole(_ name: String) -> String { "\(vtconsoles)/\(name)" }
    public static func platformDriver(_ name: String) -> String { "/sys/bus/platform/drivers/\(name)" }
    public static func platformDevice(_ name: String) -> String { "/sys/bus/platform/devices/\(name)" }
    public static let systemdRunning = "/run/systemd/system"
    public static let displayManagerUnit = "/etc/systemd/system/display-manager.service"

    // MARK: Class devices
    public static let blockClass = "/sys/class/block"
    public static func block(_ name: String) -> String { "\(blockClass)/\(name)" }
    public static let netClass = "/sys/class/net"
    public static func net(_ name: String) -> String { "\(netClass)/\(name)" }
    public static let inputClass = "/sys/class/input"
    public static func input(_ name: String) -> String { "\(inputClass)/\(name)" }

    // MARK: CPUs and cgroups
    public static let cpusOnline = "/sys/devices/system/cpu/online"
    public static let workqueueMask = "/sys/devices/virtual/workqueue/cpumask"
    public static let writebackMask = "/sys/bus/workqueue/devices/writeback/cpumask"

    // MARK: procfs
    public static let procMounts = "/proc/mounts"
    public static let procSwaps = "/proc/swaps"
    public static let procModules = "/proc/modules"
    public static let procFramebuffers = "/proc/fb"
    public static let procRoute = "/proc/net/route"
    public static let procInterrupts = "/proc/interrupts"
    public static let procIRQs = "/proc/irq"
    public static let defaultSMPAffinity = "/proc/irq/default_smp_affinity"
    public static func irqAffinityList(_ n: Int) -> String { "\(procIRQs)/\(n)/smp_affinity_list" }
    public static func irqEffectiveAffinityList(_ n: Int) -> String { "\(procIRQs)/\(n)/effective_affinity_list" }
    public static func task(_ pid: Int) -> String { "/proc/\(pid)" }
    public static let kernelRelease = "/proc/sys/kernel/osrelease"
}
