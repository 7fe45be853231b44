import Testing
@testable import VFIOCore

/// CPU topologies built in code: `ccx` L3 groups of `coresPerCCX` cores, siblings numbered like Linux (cpu k and
/// k + cores), optionally split over NUMA nodes.
func topology(ccx: Int, coresPerCCX: Int, smt: Bool = true, nodes: Int = 1, vendor: CPUInfo.Vendor = .amd) -> CPUInfo {
    var cpu = CPUInfo()
    cpu.vendor = vendor
    let cores = ccx * coresPerCCX
    let total = smt ? cores * 2 : cores
    for id in 0..<total {
        let core = id % cores
        let group = core / coresPerCCX
        let siblings = smt ? CPUSet([core, core + cores]) : CPUSet([core])
        let l3cores = (group * coresPerCCX)..<((group + 1) * coresPerCCX)
        let l3 = CPUSet(l3cores.flatMap { smt ? [$0, $0 + cores] : [$0] })
        let node = group * nodes / ccx
        cpu.logicalCPUs.append(LogicalCPU(id: id, coreID: core, packageID: 0, dieID: 0, threadSiblings: siblings, l3Shared: l3, node: node))
    }
    cpu.online = CPUSet(0..<total)
    if nodes > 1 {
        for n in 0..<nodes {
            cpu.numaNodes.append(NUMANode(id: n, cpus: CPUSet(cpu.logicalCPUs.filter { $0.node == n }.map(\.id)), hugepages: []))
        }
    }
    return cpu
}

@Suite struct CPUPlannerTests {
    @Test func fitsOneCCXAwayFromTheHousekeepingCore() throws {
        // Ryzen 9 3900X: 4 CCX × 3 cores. 6 vCPUs fit one CCX; CCX 0 holds core 0, so another CCX is chosen whole.
        let plan = try CPUPlanner.plan(cpu: topology(ccx: 4, coresPerCCX: 3), vcpus: 6, node: nil)
        #expect(plan.pin == [3, 15, 4, 16, 5, 17])
        #expect(plan.emulator == CPUSet([0, 12]))
        #expect(plan.threads == 2)
        #expect(plan.tradeOffs.isEmpty)
        #expect(!plan.pin.contains(0) && !plan.pin.contains(12))
    }

    @Test func moreVCPUsThanAnL3GroupIsATradeOff() throws {
        let plan = try CPUPlanner.plan(cpu: topology(ccx: 4, coresPerCCX: 3), vcpus: 8, node: nil)
        #expect(plan.pin.count == 8)
        #expect(plan.tradeOffs.contains { $0.contains("spans 2 L3 groups") })
        // Whole sibling pairs only.
        for i in stride(from: 0, to: 8, by: 2) { #expect(plan.pin[i + 1] == plan.pin[i] + 12) }
    }

    @Test func prefersTheGPUsNode() throws {
        let cpu = topology(ccx: 4, coresPerCCX: 4, nodes: 2, vendor: .intel)
        let plan = try CPUPlanner.plan(cpu: cpu, vcpus: 4, node: 1)
        #expect(plan.pin.allSatisfy { cpu.logicalCPUs[$0].node == 1 })
        #expect(plan.reasons.contains { $0.contains("NUMA node 1") })
    }

    @Test func gpuNodeTooSmallSpillsWithAnExplanation() throws {
        let cpu = topology(ccx: 2, coresPerCCX: 4, nodes: 2)
        // Node 0 has 3 free cores (core 0 stays with the host), node 1 has 4; 10 vCPUs need 5.
        let plan = try CPUPlanner.plan(cpu: cpu, vcpus: 10, node: 0)
        #expect(plan.tradeOffs.contains { $0.contains("node 0 (the GPU's) has 3 free cores for 5 needed") })
    }

    @Test func oddVCPUCountIsExplained() throws {
        let plan = try CPUPlanner.plan(cpu: topology(ccx: 1, coresPerCCX: 4), vcpus: 3, node: nil)
        #expect(plan.pin == [1, 5, 2])
        #expect(plan.threads == 1)
        #expect(plan.tradeOffs.contains { $0.contains("not a multiple of 2") })
    }

    @Test func tooManyVCPUsFailsWithTheLimit() {
        #expect(throws: PlanError("8 vCPUs need 4 cores of 2 threads but this host has 3 after keeping core {0,4} for itself; ask for at most 6 vCPUs")) {
            try CPUPlanner.plan(cpu: topology(ccx: 1, coresPerCCX: 4), vcpus: 8, node: nil)
        }
    }

    @Test func noSMT() throws {
        let plan = try CPUPlanner.plan(cpu: topology(ccx: 1, coresPerCCX: 6, smt: false, vendor: .intel), vcpus: 4, node: nil)
        #expect(plan.pin == [1, 2, 3, 4])
        #expect(plan.emulator == CPUSet([0]))
    }
}

@Suite struct SpecBuilderTests {
    @Test func groupIsExpandedAndNvidiaGetsCountermeasures() throws {
        let (spec, notes) = try Examples.spec(Examples.cases[0])
        #expect(spec.devices.map(\.address.description) == ["0000:06:00.0", "0000:06:00.1", "0000:06:00.2", "0000:06:00.3"])
        #expect(spec.hyperv.kvmHidden && spec.hyperv.vendorID == SpecBuilder.defaultVendorID)
        #expect(spec.cpu.pin == [1, 11, 2, 12, 3, 13, 4, 14])
        #expect(spec.cpu.emulator == CPUSet([0, 10]))
        #expect(spec.input.first?.hasSuffix("-event-kbd") == true)
        #expect(notes.contains { $0.contains("comes along") })
    }

    @Test func bridgesAreNeverPassedAndAMDQuirksAreNoted() throws {
        let (spec, notes) = try Examples.spec(Examples.cases[1])
        let (_, host) = try Examples.load("z490-three-gpus")
        #expect(spec.devices.allSatisfy { !(host.device($0.address)?.isBridge ?? true) })
        #expect(spec.devices.contains { $0.address.description == "0000:01:00.0" })   // the GTX 1660 shares group 1
        #expect(notes.contains { $0.contains("amd-navi10-reset") })
        #expect(spec.devices.first { $0.address.description == "0000:04:00.0" }?.rom == "/var/lib/vfioctl/navi10.rom")
    }

    @Test func ryzenBootGPUGetsEfifbOffTopoextAnd1GPages() throws {
        let (spec, _) = try Examples.spec(Examples.cases[2])
        #expect(spec.boot.videoEfifbOff)
        #expect(spec.cpu.topoext)
        #expect(spec.hugepages == .size1G)
        #expect(spec.cpu.pin.count == 6)
    }

    @Test func iommuOffHostIsRefused() throws {
        let (session, host) = try Examples.load("iommu-off")
        let r = InitRequest(name: "x", devices: [PCIAddress("0000:01:00.0")!], vcpus: 2, memoryMiB: 1024)
        #expect(throws: PlanError.self) { try SpecBuilder.build(r, host: host, files: session.files) }
    }
}

@Suite struct PlanExplainerTests {
    @Test func goldenPlans() throws {
        for c in Examples.cases {
            let (spec, _) = try Examples.spec(c)
            let (_, host) = try Examples.load(c.host)
            Golden.check(PlanExplainer.explain(spec, host: host), "plan/\(c.name).txt")
        }
    }

    @Test func missingGroupMemberIsAProblem() throws {
        var (spec, _) = try Examples.spec(Examples.cases[0])
        spec.devices.removeLast()
        let (_, host) = try Examples.load("z490-three-gpus")
        let text = PlanExplainer.explain(spec, host: host)
        #expect(text.contains("group 11 also holds 0000:06:00.3, which is not in the spec"))
    }

    @Test func chipsetGroupProblemsAreNamed() throws {
        let (session, host) = try Examples.load("ryzen-chipset-gpu")
        let r = InitRequest(name: "chipset", devices: [PCIAddress("0000:05:00.0")!], vcpus: 4, memoryMiB: 4096)
        let (spec, _) = try SpecBuilder.build(r, host: host, files: session.files)
        #expect(spec.devices.contains { $0.address.description == "0000:02:00.1" })   // SATA comes along
        let (_, problems) = PlanExplainer.report(spec, host: host)
        #expect(problems.contains { $0.contains("default route") })
        // sda is not mounted: the SATA controller comes along without taking anything from the host (HostNeeds).
        #expect(!problems.contains { $0.contains("0000:02:00.1 is") })
    }

    @Test func gpuOnTheOtherNodeIsExplained() throws {
        var (spec, _) = try Examples.spec(Examples.cases[0])
        var (_, host) = try Examples.load("z490-three-gpus")
        host.cpu = topology(ccx: 2, coresPerCCX: 5, nodes: 2, vendor: .intel)
        let gpu = host.devices.firstIndex { $0.address == spec.devices[0].address }!
        host.devices[gpu].numaNode = 1
        spec.numaNode = 0
        let (text, problems) = PlanExplainer.report(spec, host: host)
        #expect(text.contains("trade-off: the GPU is on node 1 but vCPUs run on node 0"))
        #expect(problems.contains("guest memory is bound to node 0 but the GPU is on node 1: set numa-node = 1"))
    }
}

/// One host CPU per VM thread: the planner never shares one, and a hand-edited spec that does is refused (by the
/// parser with its line, by `plan` for a spec built in code) with the measured cost.
@Suite struct PinningRuleTests {
    @Test func plannerGivesEveryVMThreadItsOwnCPU() throws {
        let shapes: [CPUInfo] = [topology(ccx: 4, coresPerCCX: 3), topology(ccx: 1, coresPerCCX: 4),
                                 topology(ccx: 1, coresPerCCX: 6, smt: false, vendor: .intel),
                                 topology(ccx: 2, coresPerCCX: 5, nodes: 2, vendor: .intel), topology(ccx: 2, coresPerCCX: 1)]
        for cpu in shapes {
            let most = (cpu.cores.count - 1) * cpu.threadsPerCore
            for vcpus in 1...max(1, most) {
                let plan = try CPUPlanner.plan(cpu: cpu, vcpus: vcpus, node: cpu.numaNodes.isEmpty ? nil : 1)
                #expect(Set(plan.pin).count == vcpus, "\(vcpus) vCPUs: \(plan.pin)")
                #expect(plan.emulator.intersection(CPUSet(plan.pin)).isEmpty, "\(vcpus) vCPUs: emulator \(plan.emulator), pin \(plan.pin)")
                #expect(PinningRules.conflicts(pin: plan.pin, emulator: plan.emulator, iothreads: 1).isEmpty)
            }
        }
    }

    @Test func sharedCPUsAreNamedWithTheirCost() {
        #expect(PinningRules.conflicts(pin: [2, 4, 5, 5], emulator: CPUSet([0]), iothreads: 1)
            == ["vCPU 2 and vCPU 3 share host CPU 5: they would wait for each other (measured: two VM threads on one shielded CPU wait 50 % of the time)"])
        #expect(PinningRules.conflicts(pin: [2, 3], emulator: CPUSet([0, 3]), iothreads: 2)
            == ["vCPU 1 and the emulator thread and 2 iothreads (host CPUs 0,3) share host CPU 3: they would wait for each other (measured: two VM threads on one shielded CPU wait 50 % of the time)"])
        #expect(PinningRules.conflicts(pin: [2, 3, 4], emulator: CPUSet([0, 1]), iothreads: 1).isEmpty)
    }

    @Test func handEditedSpecSharingACPUIsRefusedByLine() {
        let text = SpecCodecTests.minimal.replacingOccurrences(of: "pin = [2, 6, 3, 7]", with: "pin = [2, 6, 5, 5]")
        do {
            _ = try VMSpec.parse(text)
            Issue.record("accepted pin = [2, 6, 5, 5]")
        } catch {
            #expect(error.description == "line 7: key 'pin' in [cpu]: vCPU 2 and vCPU 3 share host CPU 5: they would wait for each other (measured: two VM threads on one shielded CPU wait 50 % of the time)")
        }
    }

    @Test func planSaysSoForASpecBuiltInCode() throws {
        var (spec, _) = try Examples.spec(Examples.cases[0])
        let (_, host) = try Examples.load(Examples.cases[0].host)
        spec.cpu.pin[1] = spec.cpu.pin[0]
        let (text, problems) = PlanExplainer.report(spec, host: host)
        let want = "vCPU 0 and vCPU 1 share host CPU \(spec.cpu.pin[0]): they would wait for each other (measured: two VM threads on one shielded CPU wait 50 % of the time)"
        #expect(problems.contains { $0.hasSuffix(want) }, "\(problems)")
        #expect(text.contains(want))
    }
}
