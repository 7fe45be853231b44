import Foundation
import Testing
@testable import VFIOCore

@Suite struct RendererGoldenTests {
    @Test(arguments: Examples.cases)
    func allRenderersMatchTheirGoldenFiles(_ c: Examples.Case) throws {
        let (spec, notes) = try Examples.spec(c)
        Golden.check(spec.toml(notes: notes), "spec/\(c.name).toml")
        Golden.check(try LibvirtRenderer.render(spec), "libvirt/\(c.name).xml")
        Golden.check(try QEMURenderer.render(spec), "qemu/\(c.name).sh")
        Golden.check(try ProxmoxRenderer.render(spec), "proxmox/\(c.name).conf")
    }

    @Test func committedExampleSpecsRender() throws {
        let dir = Repo.path("examples/specs")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for f in files where f.hasSuffix(".toml") {
            let spec = try VMSpec.parse(String(contentsOfFile: dir + "/" + f, encoding: .utf8))
            #expect(try LibvirtRenderer.render(spec).contains("<name>\(spec.name)</name>"))
        }
    }

    @Test func qemuHasTheCountermeasures() throws {
        let (spec, _) = try Examples.spec(Examples.cases[0])
        let argv = try QEMURenderer.arguments(spec)
        let cpu = argv[argv.firstIndex(of: "-cpu")! + 1]
        #expect(cpu.contains("kvm=off") && cpu.contains("hv-vendor-id=0123456789ab"))
        #expect(argv.contains("vfio-pci,host=0000:06:00.0,id=hostdev6_0_0,bus=rp1,addr=0x0.0,multifunction=on"))
        #expect(argv.contains { $0.hasPrefix("input-linux,") && $0.contains("grab_all=on") })
        #expect(argv.contains("memory-backend-file,id=looking-glass,mem-path=/dev/shm/looking-glass,size=32M,share=on"))
    }

    @Test func proxmoxPassesTheWholeSlotWithXVGA() throws {
        let (spec, _) = try Examples.spec(Examples.cases[0])
        let conf = try ProxmoxRenderer.render(spec)
        #expect(conf.contains("hostpci0: 0000:06:00,pcie=1,x-vga=1\n"))
        #expect(conf.contains("cpu: host,hidden=1,hv-vendor-id=0123456789ab\n"))
        #expect(conf.contains("affinity: 1-4,11-14\n"))
    }

    @Test func unifiedDiff() {
        let d = UnifiedDiff.render(old: "a\nb\nc\n", new: "a\nB\nc\nd\n", oldName: "x", newName: "y")
        #expect(d == "--- x\n+++ y\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n")
        #expect(UnifiedDiff.render(old: "", new: "x\n", oldName: "/dev/null", newName: "y") == "--- /dev/null\n+++ y\n@@ -0,0 +1,1 @@\n+x\n")
    }
}
