import Foundation
import Testing
@testable import VFIOFixtures

@Suite struct HostTreeTests {
    @Test func everySymlinkOfAnExampleHostResolves() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fixtures-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tree = try ExampleHosts.z490ThreeGPUs().render()
        try tree.write(to: dir)
        var links = 0
        for (path, node) in tree.nodes {
            guard case .symlink = node else { continue }
            links += 1
            let resolved = dir.appendingPathComponent(path).resolvingSymlinksInPath().path
            #expect(FileManager.default.fileExists(atPath: resolved), "\(path) is dangling")
        }
        #expect(links > 100)
        let driver = try FileManager.default.destinationOfSymbolicLink(
            atPath: dir.appendingPathComponent("sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/driver").path)
        #expect(driver == "../../../../bus/pci/drivers/nvidia")
    }

    @Test func renderingIsDeterministic() throws {
        #expect(try ExampleHosts.ryzenChipsetGPU().render().nodes == ExampleHosts.ryzenChipsetGPU().render().nodes)
    }

    /// The committed trees under examples/hosts are what the definitions render (regenerate with vfioctl-mkhost).
    @Test func committedExampleHostsAreUpToDate() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for example in ExampleHosts.all {
            let root = repo.appendingPathComponent("examples/hosts/\(example.name)")
            guard FileManager.default.fileExists(atPath: root.path) else { continue }
            let tree = try example.host.render()
            for (path, node) in tree.nodes {
                let url = root.appendingPathComponent(path)
                switch node {
                case .file(let bytes):
                    let onDisk = try? Data(contentsOf: url)
                    #expect(onDisk.map(Array.init) == bytes, "\(example.name)/\(path) differs: run vfioctl-mkhost examples examples/hosts")
                case .symlink(let text):
                    #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) == text, "\(example.name)/\(path)")
                case .directory:
                    break
                }
            }
        }
    }

    @Test func hostWithoutIOMMUHasNoGroupsAndNoRemapping() throws {
        let tree = try ExampleHosts.iommuOff().render()
        #expect(!tree.nodes.keys.contains { $0.hasPrefix("sys/kernel/iommu_groups/") || $0.hasPrefix("sys/class/iommu/") })
        #expect(!tree.nodes.keys.contains { $0.hasSuffix("/iommu_group") })
        #expect(tree["sys/firmware/acpi/tables/DMAR"] == nil)
        let interrupts = try #require(tree.text("proc/interrupts"))
        #expect(interrupts.contains(" IO-APIC ") && interrupts.contains("PCI-MSI-0000:") && !interrupts.contains("IR-"))
        #expect(tree.text("sys/bus/pci/devices/0000:01:00.0/driver") == nil)
    }

    @Test func cpuTopologyFollowsLinuxNumbering() throws {
        let tree = try ExampleHosts.ryzenChipsetGPU().render()
        let cpu = "sys/devices/system/cpu"
        #expect(tree.text("\(cpu)/cpu0/topology/thread_siblings_list") == "0,12\n")
        #expect(tree.text("\(cpu)/cpu13/cache/index3/shared_cpu_list") == "0-2,12-14\n")
        #expect(tree.text("\(cpu)/cpu23/cache/index3/shared_cpu_list") == "9-11,21-23\n")
        #expect(tree.text("\(cpu)/isolated") == "3-11,15-23\n")
        #expect(tree.text("proc/irq/default_smp_affinity") == "007007\n")
        let cpuinfo = try #require(tree.text("proc/cpuinfo"))
        #expect(cpuinfo.components(separatedBy: "processor\t: ").count - 1 == 24)
        #expect(cpuinfo.contains(" svm "))
    }

    @Test func tinyHostNeedsNoArguments() throws {
        var host = HostTree()
        host.addDevice("0000:00:02.0", vendor: 0x8086, device: 0x9bc5, classCode: 0x030000, driver: "i915", bootVGA: true)
        let tree = try host.render()
        #expect(tree.text("sys/bus/pci/drivers/i915/0000:00:02.0") == nil)
        #expect(tree["sys/bus/pci/drivers/i915/0000:00:02.0"] == .symlink("../../../../devices/pci0000:00/0000:00:02.0"))
        #expect(tree.text("sys/devices/pci0000:00/0000:00:02.0/boot_vga") == "1\n")
        #expect(tree["sys/kernel/iommu_groups/0/devices/0000:00:02.0"] != nil)
        #expect(tree.text("proc/cmdline")?.contains("intel_iommu=on") == true)
    }
}
