import ArgumentParser
import FoundationEssentials
import Glibc
import VFIOCore
import VFIOHost

struct Hook: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The libvirt hook: bind and shield VMs that have a spec in /etc/vfioctl/vms, restore them at release.",
        subcommands: [Install.self, Devices.self])

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install /etc/libvirt/hooks/qemu.d/vfioctl (safe to run again; VMs without a spec are never touched).",
            discussion: """
                For a VM NAME with a spec /etc/vfioctl/vms/NAME.toml, libvirt's prepare runs vfioctl bind on its devices \
                (the VM does not start if that fails) and vfioctl shield --spec --vm NAME; started moves QEMU in with shield --move; \
                release runs vfioctl unshield --vm NAME (other VMs keep their shields) and vfioctl restore. Restart libvirtd once after the first install.
                """)

        @OptionGroup var root: RootOptions
        @Flag(help: "Print the hook and where it would go, change nothing.") var dryRun = false
        @Option(help: ArgumentHelp("The vfioctl the hook runs (default: this binary).", valueName: "PATH")) var binary: String?

        func run() throws {
            let exe = binary ?? Self.thisBinary()
            let script = HookScript.render(vfioctl: exe)
            if dryRun {
                print("would write \(HookScript.path) (mode 0755), for VMs with a spec in \(HookScript.specDirectory)/NAME.toml:\n")
                Output.write(script)
                return
            }
            let session = try root.open()
            try HostChange.refuseSnapshot(session, "install the hook", dryRun: false)
            let files = session.files
            do {
                switch try HookInstaller(files: files).install(script: script) {
                case .unchanged: print("\(HookScript.path) is already installed and current")
                case .updated: print("updated \(HookScript.path)")
                case .installed:
                    print("installed \(HookScript.path); specs go in \(HookScript.specDirectory)/NAME.toml")
                    print("restart libvirtd once so it sees the hook: systemctl restart libvirtd")
                }
            } catch { throw CLIError(error.description) }
        }

        static func thisBinary() -> String {
            let path = CommandLine.arguments[0]
            if path.hasPrefix("/") { return path }
            return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/usr/local/bin/vfioctl"
        }
    }

    /// The PCI addresses of a spec, one line: what the hook hands to bind and restore.
    struct Devices: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a spec's PCI addresses (used by the hook).", shouldDisplay: false)
        @Argument(help: ArgumentHelp("The VM spec.", valueName: "SPEC")) var spec: String

        func run() throws {
            print(try SpecFile.load(spec).devices.map { $0.address.description }.joined(separator: " "))
        }
    }
}
