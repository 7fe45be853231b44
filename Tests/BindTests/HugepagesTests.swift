import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

/// A tree with node 0 (2M pool of 4 pages) and the global 2M pool.
final class HugepageTree {
    let root: String
    let files: RootedFileSystem
    static let node0 = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"

    init(count: Int = 4) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-hp-\(UUID().uuidString)").path
        for (path, text) in [(Self.node0, "\(count)\n"), ("/sys/devices/system/node/node0/compact", ""),
                             ("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "\(count)\n"), ("/proc/sys/vm/compact_memory", ""),
                             ("/proc/sys/vm/drop_caches", ""), ("/sys/bus/pci/devices/0000:01:00.0/numa_node", "0\n")] {
            try FileManager.default.createDirectory(atPath: root + HostPath.parent(path), withIntermediateDirectories: true)
            try text.write(toFile: root + path, atomically: true, encoding: .utf8)
        }
        files = try RootedFileSystem(root: root)
    }
    deinit { try? FileManager.default.removeItem(atPath: root) }

    func count(_ path: String = node0) -> Int? { Int((try? files.readText(path)) ?? "") }
}

/// The kernel of a fragmented host: nr_hugepages never goes above `cap`; every write is recorded.
final class CappingWriter: HostWriter, @unchecked Sendable {
    let files: RootedFileSystem
    let cap: Int
    var writes: [String] = []
    init(_ files: RootedFileSystem, cap: Int) {
        self.files = files
        self.cap = cap
    }
    func write(_ path: String, _ value: String) throws(HostWriteError) {
        writes.append("\(path)=\(value)")
        let stored = path.hasSuffix("nr_hugepages") ? String(min(Int(value) ?? 0, cap)) : value
        try RootedHostWriter(files: files).write(path, stored)
    }
}

@Suite struct HugepagePlanTests {
    @Test func planAddsThePagesOnTopOfThePoolAndCompactsTheNodeFirst() throws {
        let p = try HugepagePlanner.plan(HugepageRequest(sizeMiB: 1024, pageSize: .size2M, node: 0), current: 4, dropCaches: false)
        #expect(p.path == "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages" && p.previous == 4 && p.target == 516)
        #expect(p.preparation.map(\.path) == ["/sys/devices/system/node/node0/compact"])
        let global = try HugepagePlanner.plan(HugepageRequest(sizeMiB: 3000, pageSize: .size1G, node: nil), current: 0, dropCaches: true)
        #expect(global.path == "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages" && global.target == 3)
        #expect(global.preparation.map { "\($0.path)=\($0.value)" } == ["/proc/sys/vm/drop_caches=3", "/proc/sys/vm/compact_memory=1"])
        #expect(throws: HugepageError.self) { try HugepagePlanner.plan(HugepageRequest(sizeMiB: 1024, pageSize: .size2M, node: 0), current: Int.max, dropCaches: false) }
    }

    @Test func shortfallSaysWhatIsMissingAndHowToReserveAtBoot() throws {
        let p = try HugepagePlanner.plan(HugepageRequest(sizeMiB: 8192, pageSize: .size1G, node: 1), current: 0, dropCaches: false)
        #expect(HugepagePlanner.shortfall(p, got: 8) == nil)
        #expect(HugepagePlanner.shortfall(p, got: 5) == "got 5 of 8 1G pages on node 1: 3 missing (3G); free memory is too fragmented or too small. Retry with --drop-caches (drops the page cache host-wide), or reserve them at boot: hugepagesz=1G hugepages=8 on the kernel command line (vfioctl setup writes it for a spec with hugepages). 'vfioctl hugepages --release' gives back what was got.")
    }

    @Test func releaseRestoresExactlyAndKeepsAnotherOwnersPages() {
        let path = HugepageTree.node0
        let records = [
            HugepageRecord(kind: .allocate, id: "a", path: path, previous: 4, target: 516, label: "vm1"),
            HugepageRecord(kind: .result, id: "a", got: 516),
            HugepageRecord(kind: .allocate, id: "b", path: path, previous: 516, target: 548, label: "vm2"),
            HugepageRecord(kind: .result, id: "b", got: 540),
        ]
        let held = HugepageHeld(records: records)
        #expect(held.allocations.map(\.added) == [512, 24])
        // vm1 alone: only its 512 pages go, vm2's stay.
        #expect(HugepageReleasePlanner.plan(held, selecting: ["a"], current: [path: 540]).map(\.value) == [28])
        // Everything: newest first, each back to what it found: the pool ends at 4.
        #expect(HugepageReleasePlanner.plan(held, selecting: ["a", "b"], current: [path: 540]).map { "\($0.id)=\($0.value)" } == ["b=516", "a=4"])
        // After vm1 was released alone, vm2's counts no longer include vm1's pages: releasing it ends at 4.
        let later = HugepageHeld(records: records + [HugepageRecord(kind: .released, id: "a")])
        #expect(HugepageReleasePlanner.plan(later, selecting: ["b"], current: [path: 28]).map(\.value) == [4])
        #expect(HugepageRequest.forVM(VMSpec(name: "w", vcpus: 4, memoryMiB: 8192)) == nil)
    }
}

@Suite struct HugepageAllocatorTests {
    @Test func shortAllocationIsReportedJournaledAndReleasedExactly() throws {
        let t = try HugepageTree(count: 4)
        let w = CappingWriter(t.files, cap: 300)
        let a = HugepageAllocator(files: t.files, writer: w)
        let done = try a.allocate(HugepageRequest(sizeMiB: 1024, pageSize: .size2M, node: a.node(of: PCIAddress("0000:01:00.0")!)), label: "win11")
        #expect(done.got == 296 && done.asked == 512)
        #expect(w.writes == ["/sys/devices/system/node/node0/compact=1", "\(HugepageTree.node0)=516"])
        #expect(done.shortfall?.hasPrefix("got 296 of 512 2M pages on node 0: 216 missing (432M)") == true)
        #expect(try a.journal.records().map(\.kind) == [.allocate, .result])
        #expect(try a.release(label: "other").isEmpty)
        let released = try a.release(label: "win11")
        #expect(released == [.init(path: HugepageTree.node0, value: 4, before: 300, label: "win11")])
        #expect(t.count() == 4 && !t.files.exists(a.journal.path))
    }

    @Test func missingNodeOrPoolIsAClearError() throws {
        let t = try HugepageTree()
        let a = HugepageAllocator(files: t.files, writer: RootedHostWriter(files: t.files))
        #expect(throws: HugepageError("no NUMA node 2 (/sys/devices/system/node/node2 missing; the host has node0)")) {
            _ = try a.allocate(HugepageRequest(sizeMiB: 64, pageSize: .size2M, node: 2))
        }
        #expect(throws: HugepageError("the kernel has no 1G hugepage pool (/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages missing): the CPU lacks 1G pages (pdpe1gb) or the kernel was built without them; use --page-size 2M")) {
            _ = try a.allocate(HugepageRequest(sizeMiB: 1024, pageSize: .size1G, node: 0))
        }
        #expect(!t.files.exists(a.journal.path))
    }
}

@Suite struct HugepagesCommandTests {
    @Test func allocateOnTheDevicesNodeThenReleaseGivesTheCountBack() throws {
        let t = try HugepageTree(count: 4)
        let dry = try VfioctlBinary.run(["hugepages", "--allocate", "1G", "--device", "01:00.0", "--dry-run", "--root", t.root])
        #expect(dry.status == 0 && dry.stdout.contains("echo 516 > \(HugepageTree.node0)\n# 4 → 516 pages of 2M (512 asked)"), "\(dry.stdout)\(dry.stderr)")
        #expect(t.count() == 4)
        let r = try VfioctlBinary.run(["hugepages", "--allocate", "1G", "--device", "01:00.0", "--for", "win11", "--root", t.root])
        #expect(r.status == 0 && r.stdout.contains("got 512/512 pages of 2M on node 0 (1G of 1G asked)"), "\(r.stdout)\(r.stderr)")
        #expect(t.count() == 516)
        let rel = try VfioctlBinary.run(["hugepages", "--release", "--root", t.root])
        #expect(rel.status == 0 && rel.stdout == "  \(HugepageTree.node0): 516 → 4 (win11)\nreleased 1 allocation\n")
        #expect(t.count() == 4)
        let bad = try VfioctlBinary.run(["hugepages", "--allocate", "lots", "--root", t.root])
        #expect(bad.status == 3 && bad.stderr == "vfioctl: --allocate lots: not a size (8G, 512M)\n")
        let size = try VfioctlBinary.run(["hugepages", "--allocate", "1G", "--page-size", "4K", "--root", t.root])
        #expect(size.status == 64 && size.stderr.contains("--page-size 4K: 2M or 1G"))
    }
}
