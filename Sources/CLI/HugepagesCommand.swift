import ArgumentParser
import VFIOCore
import VFIOHost

struct Hugepages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hugepages",
        abstract: "Reserve hugepages now, on a NUMA node (journaled), or give them back.",
        discussion: """
            --allocate SIZE compacts the node's memory (/sys/devices/system/node/nodeN/compact), raises the pool's \
            nr_hugepages by SIZE worth of pages, reads back how many the kernel gave and reports got/asked. The node: \
            --node N, else the node of --device ADDR (sysfs numa_node), else the global pool. The count before is \
            journaled under /run/vfioctl first; --release writes it back exactly. Without either, prints the pools. \
            --drop-caches also drops the page cache first (host-wide, not undone: every other workload re-reads its \
            files), for a fragmented host. 1G pages are best reserved at boot (hugepagesz=1G hugepages=N; vfioctl setup).
            Exit status: 0 done, 1 fewer pages than asked (kept: --release gives them back), 2 refused, 3 failed.
            """)

    @OptionGroup var root: RootOptions
    @Option(help: ArgumentHelp("Memory to reserve (8G, 512M).", valueName: "SIZE")) var allocate: String?
    @Flag(help: "Give back what --allocate reserved (with --for: only that owner's).") var release = false
    @Option(help: ArgumentHelp("NUMA node (default: --device's node, else the global pool).", valueName: "N")) var node: Int?
    @Option(help: ArgumentHelp("Take the NUMA node of this PCI function (the GPU).", valueName: "ADDR")) var device: PCIAddress?
    @Option(help: ArgumentHelp("Page size: 2M or 1G.", valueName: "SIZE")) var pageSize: String = "2M"
    @Option(name: .customLong("for"), help: ArgumentHelp("Owner recorded with the allocation (the hook passes the VM name).", valueName: "NAME"))
    var owner: String?
    @Flag(help: "Drop the page cache before compacting (host-wide; helps a fragmented host).") var dropCaches = false
    @Flag(help: "Print the writes, change nothing.") var dryRun = false

    func validate() throws {
        if allocate != nil && release { throw ValidationError("--allocate and --release: give one") }
        if VMSpec.HugepageSize(rawValue: pageSize.uppercased()) == nil { throw ValidationError("--page-size \(pageSize): 2M or 1G") }
        if let node, node < 0 || node > 1023 { throw ValidationError("--node \(node): a node number 0-1023") }
        if node != nil && device != nil { throw ValidationError("--node and --device: give one") }
        if let owner, owner.isEmpty || owner.count > 200 { throw ValidationError("--for: a name of 1-200 characters") }
    }

    func run() throws {
        let session = try root.open()
        let size = VMSpec.HugepageSize(rawValue: pageSize.uppercased()) ?? .size2M
        let allocator = HugepageAllocator(files: session.files, writer: dryRun ? DryRunWriter() : RootedHostWriter(files: session.files))
        if let device, !session.files.exists("/sys/bus/pci/devices/\(device)") {
            throw CLIError("\(device): no such PCI device (/sys/bus/pci/devices/\(device) does not exist)")
        }
        let chosenNode = node ?? device.flatMap(allocator.node(of:))
        guard allocate != nil || release else { return try show(allocator, node: chosenNode, size: size) }
        try HostChange.refuseSnapshot(session, "change hugepages", dryRun: dryRun)
        let lock = dryRun ? nil : try HostChange.lock(session, command: "hugepages " + (release ? "--release" : "--allocate"))
        defer { withExtendedLifetime(lock) {} }
        if release { return try releasePages(allocator) }
        guard let text = allocate else { return }
        let mib: Int
        switch MemorySize.mib(text) {
        case .success(let m): mib = m
        case .failure(.tooLarge): throw CLIError("--allocate \(text): larger than any host's memory")
        case .failure: throw CLIError("--allocate \(text): not a size (8G, 512M)")
        }
        let request = HugepageRequest(sizeMiB: mib, pageSize: size, node: chosenNode)
        if dryRun {
            let plan: HugepagePlan
            do { plan = try allocator.plan(request, dropCaches: dropCaches) } catch { throw CLIError(error.description) }
            print("dry run: the count before is journaled in \(allocator.journal.path) before the write")
            for (path, value) in plan.preparation where session.files.exists(path) { print("echo \(value) > \(path)") }
            print("echo \(plan.target) > \(plan.path)")
            print("# \(plan.previous) → \(plan.target) pages of \(size.rawValue) (\(request.pages) asked)")
            return
        }
        let done: HugepageAllocator.Allocation
        do { done = try allocator.allocate(request, label: owner, dropCaches: dropCaches) } catch { throw CLIError(error.description) }
        for w in done.writes { print("  wrote \(w.replacingFirst("=", with: " ← "))") }
        let whereText = chosenNode.map { "node \($0)" } ?? "the global pool"
        print("got \(done.got)/\(done.asked) pages of \(size.rawValue) on \(whereText) (\(MemorySize.format(mib: done.got * size.mib)) of \(MemorySize.format(mib: mib)) asked); "
            + "\(done.plan.path) now \(done.plan.previous + done.got), was \(done.plan.previous)")
        if let short = done.shortfall {
            writeStandardError("vfioctl: \(short)\n")
            throw ExitCode(1)
        }
    }

    func releasePages(_ allocator: HugepageAllocator) throws {
        if dryRun {
            let held: HugepageHeld
            do { held = try allocator.held() } catch { throw CLIError(error.description) }
            let open = held.allocations.filter { owner == nil || $0.label == owner }
            if open.isEmpty { print("nothing to release"); return }
            var current: [String: Int] = [:]
            for a in open where current[a.path] == nil { current[a.path] = (try? allocator.count(a.path)) ?? a.target }
            for step in HugepageReleasePlanner.plan(held, selecting: Set(open.map(\.id)), current: current) { print("echo \(step.value) > \(step.path)") }
            return
        }
        let released: [HugepageAllocator.Released]
        do { released = try allocator.release(label: owner) } catch { throw CLIError("release failed: \(error)") }
        if released.isEmpty { print("nothing to release" + (owner.map { " for \($0)" } ?? "")); return }
        for r in released { print("  \(r.path): \(r.before) → \(r.value)" + (r.label.map { " (\($0))" } ?? "")) }
        print("released \(released.count) allocation\(released.count == 1 ? "" : "s")")
    }

    func show(_ allocator: HugepageAllocator, node: Int?, size: VMSpec.HugepageSize) throws {
        let path = HugepagePaths.count(node: node, pageSize: size)
        let count: Int
        do { count = try allocator.count(path) } catch { throw CLIError(error.description) }
        let free = (try? allocator.count(HugepagePaths.free(node: node, pageSize: size))).map { ", \($0) free" } ?? ""
        print("\(path): \(count) pages of \(size.rawValue)\(free)")
        let held = (try? allocator.held().allocations) ?? []
        for a in held { print("  held by vfioctl: \(a.path) \(a.previous) → \(a.reached ?? a.target)" + (a.label.map { " (\($0))" } ?? "")) }
    }
}

extension String {
    fileprivate func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let i = firstIndex(of: target) else { return self }
        return String(self[..<i]) + replacement + String(self[index(after: i)...])
    }
}
