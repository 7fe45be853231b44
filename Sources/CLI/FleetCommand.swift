import ArgumentParser
import FoundationEssentials
import VFIOCore
import VFIOHost

/// `vfioctl fleet`: many hosts, from their snapshots, for the engines that run passthrough at scale.
struct Fleet: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check many hosts from their snapshots and export passthrough configuration for KubeVirt, OpenStack Nova or Proxmox VE.",
        subcommands: [FleetDoctor.self, FleetExportCommand.self])

    /// Opens every snapshot (a `vfioctl snapshot` tarball or a host tree) and names its node from its hostname
    /// file, or from the snapshot's file name when it has none.
    static func load(_ snapshots: [String]) throws -> [FleetNode] {
        guard !snapshots.isEmpty else { throw CLIError("no SNAPSHOT given (vfioctl snapshot -o HOST.tar.gz on each host, then list them)") }
        var nodes: [FleetNode] = []
        var seen: [String: String] = [:]
        for path in snapshots {
            let session: HostSession
            do { session = try HostSession(root: path) } catch { throw CLIError(error.description) }
            let facts = session.facts(.bind)
            let host: HostModel
            do { host = try facts.hostModel() } catch { throw CLIError("\(path): \(error)") }
            let fromFile = host.hostname
            let name = fromFile ?? nodeName(fromPath: path)
            guard FleetNodeName.isValid(name) else {
                let source = fromFile == nil ? "its file name (it has no hostname file)" : "its hostname (\(FleetNodeName.sources.joined(separator: " or ")))"
                throw CLIError("\(path): the node name from \(source) is \"\(escapingControls(name))\", not a host name (letters, digits, '.', '-', '_')")
            }
            if let other = seen[name] {
                throw CLIError("\(path) and \(other) both name node \"\(escapingControls(name))\" (their hostname): one node per snapshot")
            }
            seen[name] = path
            nodes.append(FleetNode(name: name, host: host, facts: facts.bind ?? BindFacts.load(session.files, host: host)))
        }
        return nodes
    }

    /// `hosts/x570.tar.gz` → `x570`.
    static func nodeName(fromPath path: String) -> String {
        var base = path.split(separator: "/").last.map(String.init) ?? path
        for suffix in [".tar.gz", ".tgz", ".tar"] where base.hasSuffix(suffix) {
            base = String(base.dropLast(suffix.count))
            break
        }
        return base
    }
}

struct FleetDoctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Table of node × device model: passable, passable with its group, blocked and why, or not present; plus host-level blockers.",
        discussion: "Exit status: 0 some device passes, 1 no device passes on any node, 2 a node cannot pass anything (no IOMMU, no interrupt remapping), 3 vfioctl itself failed.")

    @Argument(help: ArgumentHelp("Snapshots (vfioctl snapshot tarballs) or host trees, one per node.", valueName: "SNAPSHOT"))
    var snapshots: [String] = []
    @Flag(help: "Print the table as JSON.") var json = false

    func run() throws {
        let report = FleetReport.evaluate(try Fleet.load(snapshots))
        Output.write(json ? FleetDoctorRenderer.json(report).serialized(pretty: true) : FleetDoctorRenderer.text(report))
        let status = FleetDoctorRenderer.exitStatus(report)
        if status != 0 { throw ExitCode(status) }
    }
}

struct FleetExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an engine's passthrough configuration for every node: kubevirt (permittedHostDevices and node preparation), nova ([pci] alias and device_spec), proxmox (/etc/pve/mapping/pci.cfg).")

    enum Engine: String, ExpressibleByArgument, CaseIterable {
        case kubevirt, nova, proxmox
    }

    @Argument(help: ArgumentHelp("kubevirt, nova or proxmox.", valueName: "ENGINE")) var engine: Engine
    @Argument(help: ArgumentHelp("Snapshots (vfioctl snapshot tarballs) or host trees, one per node.", valueName: "SNAPSHOT"))
    var snapshots: [String] = []
    @Option(name: .customLong("id"), help: ArgumentHelp("Export only this device model (repeatable); default: every model passable on some node.", valueName: "VVVV:DDDD"))
    var ids: [String] = []
    @Flag(help: "Print the export as JSON.") var json = false

    func run() throws {
        var only = Set<PCIID>()
        for text in ids {
            guard let id = PCIID(text) else { throw CLIError("--id \(text): not a vendor:device id (expected VVVV:DDDD, e.g. 10de:2504)") }
            only.insert(id)
        }
        var report = FleetReport.evaluate(try Fleet.load(snapshots))
        if !only.isEmpty {
            for id in only.sorted() where !report.models.contains(where: { $0.id == id }) {
                throw CLIError("--id \(id): no node has such a device (vfioctl fleet doctor lists the models)")
            }
            report = report.restricted(to: only)
        }
        let export: FleetExport
        switch engine {
        case .kubevirt: export = KubeVirtExport.render(report)
        case .nova: export = NovaExport.render(report)
        case .proxmox:
            do { export = try ProxmoxExport.render(report) } catch { throw CLIError(error.description) }
        }
        if json {
            Output.write(export.json.serialized(pretty: true))
        } else {
            if !export.text.isEmpty { Output.write(export.text) }
            // The Proxmox file takes no comments we can rely on: what the admin still does goes to stderr.
            if engine == .proxmox { for note in export.notes { writeStandardError("vfioctl: \(note)\n") } }
        }
        if report.exportable.isEmpty {
            writeStandardError("vfioctl: no device is passable on any node (vfioctl fleet doctor shows why)\n")
            throw ExitCode(1)
        }
    }
}
