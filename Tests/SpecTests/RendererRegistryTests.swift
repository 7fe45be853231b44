import Foundation
import Testing
@testable import VFIOCore

/// `VMRenderers.all` is the one list of renderers: the golden files, `vfioctl render`'s choices and its help come
/// from it, so a renderer added there without golden files fails here.
@Suite struct RendererRegistryTests {
    @Test(arguments: Examples.cases)
    func everyRegisteredRendererRendersEveryGoldenSpecAsBefore(_ c: Examples.Case) throws {
        let (spec, _) = try Examples.spec(c)
        for renderer in VMRenderers.all {
            Golden.check(try renderer.render(spec, host: .standalone), "\(renderer.name)/\(c.name).\(renderer.fileExtension)")
        }
    }

    @Test(arguments: Examples.cases)
    func theProtocolRendersAsTheStaticCalls(_ c: Examples.Case) throws {
        let (spec, _) = try Examples.spec(c)
        #expect(try LibvirtRenderer().render(spec, host: .hook) == LibvirtRenderer.render(spec, bind: .hook))
        #expect(try LibvirtRenderer().render(spec, host: .hook).contains("managed='no'"))
        #expect(try QEMURenderer().render(spec, host: .hook) == QEMURenderer.render(spec))
        #expect(try ProxmoxRenderer().render(spec, host: .hook) == ProxmoxRenderer.render(spec))
    }

    @Test func namesAreUniqueAndTheHelpTextsListThem() {
        let names = VMRenderers.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { VMRenderers.named($0)?.name == $0 })
        #expect(VMRenderers.named("vmware") == nil)
        #expect(VMRenderers.names == "libvirt, qemu or proxmox")
        #expect(VMRenderers.formats == "libvirt domain XML, a QEMU command line, or a Proxmox qemu-server config")
    }

    @Test func renderNamesTheRegisteredChoicesForAnUnknownTarget() throws {
        guard let r = try SpecCLITests.vfioctl(["render", "vmware", "examples/specs/z490-rtx2060.toml"]) else { return }
        #expect(r.status == 64)
        #expect(r.out.contains("The value 'vmware' is invalid for '<target>'. Please provide one of 'libvirt', 'qemu' or 'proxmox'."))
    }

    @Test func renderHelpIsBuiltFromTheRegistry() throws {
        guard let r = try SpecCLITests.vfioctl(["render", "--help"]) else { return }
        #expect(r.status == 0)
        #expect(r.out.contains("OVERVIEW: Print the VM as libvirt domain XML, a QEMU command line, or a Proxmox\nqemu-server config."))
        #expect(r.out.contains("<target>                libvirt, qemu or proxmox."))
    }
}
