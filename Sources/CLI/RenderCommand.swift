import ArgumentParser
import VFIOCore
import VFIOHost

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the VM as \(VMRenderers.formats).",
        discussion: """
            With --root (a directory or a snapshot of the host the VM will run on), the files the output names (OVMF \
            code and NVRAM template, ROM files) are looked up under that root; the missing ones are named on standard \
            error. The output is the same either way: it names the paths as the host sees them.
            """)

    /// A renderer of `VMRenderers.all`, by name.
    struct Target: ExpressibleByArgument {
        let renderer: any VMRenderer
        init?(argument: String) {
            guard let renderer = VMRenderers.named(argument) else { return nil }
            self.renderer = renderer
        }
        static var allValueStrings: [String] { VMRenderers.all.map(\.name) }
        static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
    }

    @OptionGroup var root: RootOptions
    @Argument(help: ArgumentHelp("\(VMRenderers.names).")) var target: Target
    @Argument(help: ArgumentHelp("The VM spec (TOML).", valueName: "SPEC")) var spec: String
    @Flag(help: "libvirt: the vfioctl hook binds the devices (managed='no'), as vfioctl define renders it; default managed='yes', libvirt binds them.")
    var hook = false

    func run() throws {
        let host: RenderHost = hook ? .hook : .standalone
        let renderer = target.renderer
        let text = try SpecFile.render(spec) { vm throws(SpecError) in try renderer.render(vm, host: host) }
        // The machine running render is not the VM's host unless --root says so: on `/` nothing is looked up.
        if root.root != "/" {
            let session = try root.open()
            for line in Self.missingFiles(try SpecFile.load(spec), in: session) { writeStandardError("vfioctl: warning: \(line)\n") }
        }
        Output.write(text)
    }

    /// The files the rendered VM opens at start that are not under the root (regular files only).
    static func missingFiles(_ vm: VMSpec, in session: HostSession) -> [String] {
        let named = [("OVMF code", vm.firmware.code), ("OVMF NVRAM template", vm.firmware.vars)]
            + vm.devices.compactMap { d in d.rom.map { ("ROM of \(d.address)", $0) } }
        return named.filter { session.files.kind(of: $0.1) != .regular }.map { what, path in
            "\(what) \(path) is not in \(session.rootArgument)" + (what.hasPrefix("OVMF") ? " (install ovmf / edk2-ovmf there)" : "")
        }
    }
}
