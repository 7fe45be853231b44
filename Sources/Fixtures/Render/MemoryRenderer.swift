/// `/proc/meminfo`, hugepage pools (global and per node), transparent hugepages
/// (Documentation/admin-guide/mm/hugetlbpage.rst, transhuge.rst).
struct MemoryRenderer {
    let host: HostTree

    func render(into t: inout FileTree) {
        let m = host.memory
        let nodes = max(1, host.cpu.numaNodes)
        let hugeKiB = m.hugepages2M * 2048 + m.hugepages1G * 1_048_576
        let free = max(0, m.totalKiB - hugeKiB - 2_400_000)
        func kb(_ label: String, _ value: Int) -> String {
            Format.rightPad(label + ":", 16) + Format.leftPad("\(value)", 8) + " kB"
        }
        func count(_ label: String, _ value: Int) -> String {
            Format.rightPad(label + ":", 16) + Format.leftPad("\(value)", 8)
        }
        let lines = [
            kb("MemTotal", m.totalKiB), kb("MemFree", free), kb("MemAvailable", free + 1_200_000),
            kb("Buffers", 98_304), kb("Cached", 1_536_000), kb("SwapCached", 0),
            kb("Active", 1_024_000), kb("Inactive", 900_000), kb("Unevictable", 0), kb("Mlocked", 0),
            kb("SwapTotal", 0), kb("SwapFree", 0), kb("Dirty", 128), kb("Writeback", 0),
            kb("AnonPages", 640_000), kb("Mapped", 300_000), kb("Shmem", 40_000), kb("KReclaimable", 120_000),
            kb("Slab", 250_000), kb("SReclaimable", 120_000), kb("SUnreclaim", 130_000),
            kb("KernelStack", 12_000), kb("PageTables", 14_000), kb("CommitLimit", (m.totalKiB - hugeKiB) / 2),
            kb("Committed_AS", 3_000_000), kb("VmallocTotal", 34_359_738_367), kb("VmallocUsed", 60_000),
            kb("VmallocChunk", 0), kb("Percpu", 20_000), kb("HardwareCorrupted", 0),
            kb("AnonHugePages", 0), kb("ShmemHugePages", 0), kb("FileHugePages", 0),
            count("HugePages_Total", m.hugepages2M), count("HugePages_Free", m.hugepages2M),
            count("HugePages_Rsvd", 0), count("HugePages_Surp", 0),
            kb("Hugepagesize", 2048), kb("Hugetlb", hugeKiB),
            kb("DirectMap4k", 400_000), kb("DirectMap2M", 8_000_000), kb("DirectMap1G", 25_165_824),
        ]
        t.file("proc/meminfo", lines.joined(separator: "\n") + "\n")

        for (size, total) in [("2048kB", m.hugepages2M), ("1048576kB", m.hugepages1G)] {
            let dir = "sys/kernel/mm/hugepages/hugepages-\(size)"
            t.file("\(dir)/nr_hugepages", "\(total)\n")
            t.file("\(dir)/free_hugepages", "\(total)\n")
            t.file("\(dir)/resv_hugepages", "0\n")
            t.file("\(dir)/surplus_hugepages", "0\n")
            t.file("\(dir)/nr_overcommit_hugepages", "0\n")
            for node in 0..<nodes {
                let share = total / nodes + (node < total % nodes ? 1 : 0)
                let ndir = "sys/devices/system/node/node\(node)/hugepages/hugepages-\(size)"
                t.file("\(ndir)/nr_hugepages", "\(share)\n")
                t.file("\(ndir)/free_hugepages", "\(share)\n")
                t.file("\(ndir)/surplus_hugepages", "0\n")
            }
        }
        for node in 0..<nodes {
            let nodeKiB = m.totalKiB / nodes
            t.file("sys/devices/system/node/node\(node)/meminfo",
                   "Node \(node) MemTotal:       \(Format.leftPad("\(nodeKiB)", 8)) kB\n"
                   + "Node \(node) MemFree:        \(Format.leftPad("\(free / nodes)", 8)) kB\n")
        }
        t.file("sys/kernel/mm/transparent_hugepage/enabled", m.thpEnabled + "\n")
        t.file("sys/kernel/mm/transparent_hugepage/defrag", m.thpDefrag + "\n")
        t.file("sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "2097152\n")
    }
}
