import Foundation
import Testing

/// `render --root`: the output is the same; the files it names are looked up under the root.
@Suite struct RenderRootTests {
    static let spec = "examples/specs/z490-rtx2060.toml"

    @Test(arguments: ["libvirt", "qemu", "proxmox"])
    func theOutputIsTheSameAndMissingFirmwareIsNamed(_ target: String) throws {
        let plain = try CLI.vfioctl(["render", target, Self.spec])
        let rooted = try CLI.vfioctl(["render", target, Self.spec, "--root", "examples/hosts/z490-three-gpus"])
        #expect(plain.status == 0 && rooted.status == 0, "\(rooted.stderr)")
        #expect(rooted.stdout == plain.stdout)
        #expect(rooted.stderr.contains("vfioctl: warning: OVMF code /usr/share/OVMF/OVMF_CODE_4M.ms.fd is not in examples/hosts/z490-three-gpus"), "\(rooted.stderr)")
        #expect(rooted.stderr.contains("OVMF NVRAM template /usr/share/OVMF/OVMF_VARS_4M.ms.fd is not in"))
    }

    @Test func firmwareUnderTheRootIsFound() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-render-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/usr/share/OVMF", withIntermediateDirectories: true)
        for f in ["OVMF_CODE_4M.ms.fd", "OVMF_VARS_4M.ms.fd"] { FileManager.default.createFile(atPath: "\(dir)/usr/share/OVMF/\(f)", contents: Data([0])) }
        let r = try CLI.vfioctl(["render", "libvirt", Self.spec, "--root", dir])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        let missing = try CLI.vfioctl(["render", "libvirt", Self.spec, "--root", dir + "/nowhere"])
        #expect(missing.status == 3 && missing.stderr.contains("nowhere"), "\(missing.stderr)")
    }
}
