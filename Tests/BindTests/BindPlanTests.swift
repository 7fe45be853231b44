import Testing
@testable import VFIOCore
import VFIOFixtures
@testable import VFIOHost

typealias L = LabLikeHost

/// `groupsOf`: what `vfioctl bind` loads (only the targets' groups); nil loads every device.
func load(_ k: FakeKernel, groupsOf targets: [PCIAddress]? = nil) throws -> (HostModel, BindFacts) {
    let host = try HostLoader(k.files).load(.inventory, groupsOf: targets)
    return (host, BindFacts.load(k.files, host: host))
}

func plan(_ k: FakeKernel, _ targets: [PCIAddress], _ options: BindOptions = BindOptions(), wholeHost: Bool = false) throws -> BindPlan {
    let (host, facts) = try load(k, groupsOf: wholeHost ? nil : targets)
    return try BindPlanner.plan(targets, host: host, facts: facts, options: options)
}

@Suite struct BindPlanTests {
    @Test func nvmeIsTheDriverctlSequence() throws {
        let k = try FakeKernel(L.tree())
        let p = try plan(k, [L.nvme])
        #expect(p.allowed && p.refusals.isEmpty && p.groups == [9] && p.devices == [L.nvme])
        #expect(p.steps.compactMap(\.action) == [
            .write(path: "/sys/bus/pci/devices/0000:03:00.0/driver_override", value: "vfio-pci"),
            .write(path: "/sys/bus/pci/devices/0000:03:00.0/driver/unbind", value: "0000:03:00.0"),
            .write(path: "/sys/bus/pci/drivers_probe", value: "0000:03:00.0"),
        ])
        #expect(p.steps.last?.waitFor == [.exists("/dev/vfio/9")])
        // Each write is journaled first with the originals.
        #expect(p.steps.compactMap(\.record).allSatisfy { $0.originalDriver == "nvme" && $0.originalOverride == nil && $0.group == 9 })
    }

    @Test func groupMembersComeAlongAndTheBootDisplayNeedsTakeDisplay() throws {
        let k = try FakeKernel(L.tree())
        let p = try plan(k, [L.gpu])
        #expect(p.devices == [L.gpu, L.hda])
        #expect(!p.allowed && p.refusals == [.display(L.gpu, reason: "the host's boot display")])
        let taken = try plan(k, [L.gpu], BindOptions(takeDisplay: true))
        #expect(taken.allowed)
    }

    @Test func refusesBridgesTheChipsetGroupTheRootDiskAndTheDefaultRoute() throws {
        let k = try FakeKernel(L.tree())
        #expect(try plan(k, [L.rootPort]).refusals == [.bridge(L.rootPort)])
        let chipset = try plan(k, [L.sata])
        #expect(!chipset.allowed)
        #expect(chipset.refusals.map(\.description).joined(separator: "\n").contains("ISA/LPC bridge"))
        #expect(chipset.refusals.contains { if case .hostCritical(_, L.smbus, _) = $0 { true } else { false } })
        #expect(chipset.refusals.contains { if case .hostCritical(L.sata, L.sata, let why) = $0 { why.contains("root filesystem (/ on /dev/sda2)") } else { false } })
        #expect(try plan(k, [L.nic]).refusals.map(\.description) == ["0000:02:00.0 is the network controller carrying the default route (eth0): the host needs it"])
        let forced = try plan(k, [L.nic], BindOptions(force: true))
        #expect(forced.allowed && forced.refusals.count == 1)
        // A display refusal is not enough to let the chipset group through.
        #expect(!(try plan(k, [L.sata], BindOptions(takeDisplay: true))).allowed)
    }

    /// bind reads only the targets' groups: for every function, alone and with the display handed over, the plan
    /// is the one the whole host gives.
    @Test func planFromTheTargetsGroupsEqualsThePlanFromTheWholeHost() throws {
        for tree in [L.tree(), L.tree(iommu: false)] {
            let k = try FakeKernel(tree)
            let all = try HostLoader(k.files).load(.inventory)
            for d in all.devices {
                for options in [BindOptions(), BindOptions(takeDisplay: true)] {
                    let scoped = try plan(k, [d.address], options), whole = try plan(k, [d.address], options, wholeHost: true)
                    #expect(scoped.steps == whole.steps && scoped.refusals == whole.refusals && scoped.devices == whole.devices, "\(d.address)")
                }
            }
            let (host, _) = try load(k, groupsOf: [L.gpu])
            let group = all.groupMembers(of: L.gpu).map(\.address)
            #expect(host.devices.map(\.address) == (group.isEmpty ? [L.gpu] : group))
        }
    }

    /// The DRM module is unloaded only when its driver folder lists nothing but devices being handed over.
    @Test func theDRMModuleStaysWhenItHoldsAnotherDeviceOrCannotBeListed() throws {
        let k = try FakeKernel(L.tree())
        let (host, facts) = try load(k, groupsOf: [L.gpu])
        let display = try #require(host.device(L.gpu))
        let drv = try #require(display.driver)
        #expect(facts.driverDevices[drv] == [L.gpu])
        func unloads(_ f: BindFacts) -> Bool {
            !DisplayHandoff.steps(for: display, devices: [L.gpu, L.hda], host: host, facts: f).unloadedModules.isEmpty
        }
        #expect(unloads(facts))
        var other = facts
        other.driverDevices[drv] = [L.gpu, L.nvme]          // a second GPU on the same driver
        #expect(!unloads(other))
        var unlisted = facts
        unlisted.driverDevices[drv] = nil                   // the folder could not be read
        #expect(!unloads(unlisted))
    }

    @Test func refusesWithoutIOMMUOrInterruptRemapping() throws {
        #expect(try plan(try FakeKernel(L.tree(iommu: false)), [L.nvme]).refusals == [.noIOMMU])
        #expect(try plan(try FakeKernel(L.tree(interruptRemapping: false)), [L.nvme]).refusals == [.noInterruptRemapping])
    }

    @Test func unknownDeviceIsAnError() throws {
        let k = try FakeKernel(L.tree())
        #expect(throws: BindPlanError.self) { try plan(k, [PCIAddress("0000:09:00.0")!]) }
    }

    @Test func journalFoldsToTheOriginalsAndClosesRestoredItems() {
        let r = { (a: String, d: String?) in BindRecord(kind: .device, step: "unbind", address: a, group: 7, originalDriver: d) }
        var records = [r("0000:01:00.0", "bochs-drm"), r("0000:01:00.0", "ignored"), r("0000:01:00.1", "snd_hda_intel")]
        #expect(HeldState(records: records).devices.map(\.originalDriver) == ["bochs-drm", "snd_hda_intel"])
        records.append(BindRecord(kind: .restored, step: "0000:01:00.0"))
        #expect(HeldState(records: records).devices.map(\.address) == [L.hda])
        records.append(r("0000:01:00.0", "vfio-pci"))
        #expect(HeldState(records: records).devices.map(\.originalDriver) == ["snd_hda_intel", "vfio-pci"])
        // restore ADDR brings the rest of the group along.
        #expect(HeldState(records: records).selecting([L.hda]).count == 2)
        #expect(HeldState(records: records).selecting([L.nvme]).isEmpty)
    }

    @Test func restoreClearsTheOverrideBeforeBindingTheOriginalDriver() {
        let held = HeldState.Item.device(.init(address: L.nvme, group: 9, originalDriver: "nvme", originalOverride: nil))
        let steps = RestorePlanner.plan([held], current: [L.nvme: .init(driver: "vfio-pci", driverOverride: "vfio-pci")]) { _ in true }
        #expect(steps.compactMap(\.action) == [
            .write(path: "/sys/bus/pci/devices/0000:03:00.0/driver_override", value: "\n"),
            .write(path: "/sys/bus/pci/devices/0000:03:00.0/driver/unbind", value: "0000:03:00.0"),
            .write(path: "/sys/bus/pci/drivers/nvme/bind", value: "0000:03:00.0"),
        ])
        #expect(steps.last?.closes == [BindRecord(kind: .restored, step: "0000:03:00.0", address: "0000:03:00.0", group: 9)])
        // Already as it was: no write, only the close.
        let again = RestorePlanner.plan([held], current: [L.nvme: .init(driver: "nvme", driverOverride: nil)]) { _ in true }
        #expect(again.compactMap(\.action).isEmpty && again.count == 1 && again[0].closes.count == 1)
    }
}
