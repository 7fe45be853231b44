import Testing
import VFIOCore
@testable import VFIOHost

func modelHost(class code: UInt32 = 0x010802) -> HostModel {
    var host = HostModel()
    var d = PCIDevice(address: nvmeAddress, vendorID: 0x1b36, deviceID: 0x0010, pciClass: PCIClass(code: code))
    d.driver = "vfio-pci"
    d.iommuGroup = 9
    host.devices = [d]
    host.iommu.groups = [IOMMUGroup(id: 9, devices: [nvmeAddress])]
    return host
}

@Suite struct DeepVerifierTests {
    @Test func nvmeIdentifyAndAnInterruptCompletedRead() {
        let twin = FakeNVMeTwin()
        let marker = Array("vfioctl-deep-42\n".utf8)
        twin.disk.replaceSubrange(0..<marker.count, with: marker)
        let report = VFIODeepVerifier(api: twin).verify(nvmeAddress, host: modelHost())
        #expect(report.passed, "\(report.steps)")
        #expect(report.steps.map(\.name) == ["session", "bar", "config", "msi-x", "identify", "read", "reset"])
        #expect(report.nvme == VFIODeepVerifier.NVMeFacts(serial: "LAB0001", model: "QEMU NVMe Ctrl", firmware: "9.2.0",
                                                           namespaceBytes: 1 << 20, blockSize: 512, firstBlockText: "vfioctl-deep-42", interruptVector: 1))
        #expect(report.steps[5].detail == "LBA 0 (512 bytes) by DMA, completed by MSI-X vector 1: 'vfioctl-deep-42'")
        #expect(twin.config[0x3C] == 0, "Interrupt Line restored after the round trip")
        #expect(twin.log.contains("reset"))
        #expect(twin.mappings.isEmpty && twin.openFDs.isEmpty && twin.mappedRegions == 0, "everything released")
        let json = report.json(address: nvmeAddress, plain: VFIOVerifier.Report(), deep: true).serialized()
        #expect(json.contains(#""serial":"LAB0001","model":"QEMU NVMe Ctrl","firmware":"9.2.0","namespace_bytes":1048576"#))
    }

    @Test func aDeviceItCannotDriveSaysWhatWasNotChecked() {
        let twin = FakeNVMeTwin()
        let report = VFIODeepVerifier(api: twin).verify(nvmeAddress, host: modelHost(class: 0x020000))
        #expect(report.passed)
        #expect(report.nvme == nil)
        #expect(report.steps.first { $0.name == "msi-x" }?.detail == "4 vectors; vector 0 wired to an eventfd, which a vfio-pci loopback trigger signalled")
        #expect(report.notChecked == ["a device-raised interrupt and DMA: vfioctl drives only NVMe controllers (class 01:08:02)"])
        #expect(twin.openFDs.isEmpty)
    }

    @Test func aFailingControllerFailsTheIdentifyStep() {
        let twin = FakeNVMeTwin()
        twin.fatalAfter = 0
        var verifier = VFIODeepVerifier(api: twin)
        verifier.options.commandTimeoutMilliseconds = 100
        let report = verifier.verify(nvmeAddress, host: modelHost())
        #expect(!report.passed)
        #expect(report.steps.last?.name == "identify")
        #expect(report.steps.last?.detail.contains("Identify Controller: no completion within 100 ms; controller fatal status (CSTS.CFS") == true)
        #expect(twin.openFDs.isEmpty && twin.mappings.isEmpty)
    }
}
