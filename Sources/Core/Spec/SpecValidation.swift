extension VMSpec {
    /// Checks every value against `SpecRules`, for specs that did not come through `VMSpec.parse` (built by
    /// `SpecBuilder` or in code). The renderers and `setup` call it first, so nothing they write can carry a value
    /// the parser would refuse. The error names the key (line 0: there is no file).
    public func validate() throws(SpecError) {
        func check(_ problem: String?) throws(SpecError) { if let problem { throw SpecError(line: 0, problem) } }
        func path(_ key: String, _ value: String, _ table: String) throws(SpecError) {
            try check(SpecRules.text(key, value, in: table))
            if !value.hasPrefix("/") { throw SpecError(line: 0, "\(SpecRules.label(key, table)): '\(value)' must be an absolute path") }
        }
        try check(SpecRules.name(name))
        if !SpecRules.vcpus.contains(vcpus) { throw SpecError(line: 0, "key 'vcpus': \(vcpus) is outside \(SpecRules.vcpus.lowerBound)…\(SpecRules.vcpus.upperBound)") }
        try check(SpecRules.memoryMiB(memoryMiB))
        if let hugepages, memoryMiB % hugepages.mib != 0 {
            throw SpecError(line: 0, "key 'hugepages': memory \(MemorySize.format(mib: memoryMiB)) is not a multiple of \(hugepages.rawValue) pages")
        }
        if let numaNode, !(0...1023).contains(numaNode) { throw SpecError(line: 0, "key 'numa-node': \(numaNode) is outside 0…1023") }

        if cpu.pin.count != vcpus { throw SpecError(line: 0, "key 'pin' in [cpu]: \(cpu.pin.count) host CPUs for \(vcpus) vCPUs (one per vCPU)") }
        if let bad = cpu.pin.first(where: { !(0...SpecRules.maxCPU).contains($0) }) {
            throw SpecError(line: 0, "key 'pin' in [cpu]: CPU \(bad) is outside 0…\(SpecRules.maxCPU)")
        }
        if let shared = PinningRules.conflicts(pin: cpu.pin, emulator: .empty).first { throw SpecError(line: 0, "key 'pin' in [cpu]: \(shared)") }
        if let bad = cpu.emulator.cpus.first(where: { !(0...SpecRules.maxCPU).contains($0) }) {
            throw SpecError(line: 0, "key 'emulator' in [cpu]: CPU \(bad) is outside 0…\(SpecRules.maxCPU)")
        }
        if let shared = PinningRules.conflicts(pin: cpu.pin, emulator: cpu.emulator, iothreads: cpu.iothreads).first {
            throw SpecError(line: 0, "key 'emulator' in [cpu]: \(shared)")
        }
        for (key, value, range) in [("iothreads", cpu.iothreads, 0...16), ("sockets", cpu.sockets, 1...16), ("threads", cpu.threads, 1...4), ("cores", cpu.cores, 1...512)]
        where !range.contains(value) {
            throw SpecError(line: 0, "key '\(key)' in [cpu]: \(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        // In range, the product is at most 16 × 512 × 4: no overflow.
        if cpu.sockets * cpu.cores * cpu.threads != vcpus {
            throw SpecError(line: 0, "[cpu]: sockets × cores × threads = \(cpu.sockets)×\(cpu.cores)×\(cpu.threads) ≠ vcpus \(vcpus)")
        }

        try path("code", firmware.code, "firmware")
        try path("vars", firmware.vars, "firmware")
        try path("nvram", firmware.nvram, "firmware")

        if devices.count > SpecRules.maxDevices { throw SpecError(line: 0, "[[device]]: \(devices.count) devices, at most \(SpecRules.maxDevices)") }
        if Set(devices.map(\.address)).count != devices.count { throw SpecError(line: 0, "key 'address' in [device]: a device is listed twice") }
        for d in devices {
            if let rom = d.rom { try path("rom", rom, "device") }
            for m in d.hostDrivers { try check(SpecRules.moduleName("host-drivers", m, in: "device")) }
            if let identity = d.identity { try check(SpecRules.slotPath(identity.slotPath.map(\.description))) }
        }
        if let id = hyperv.vendorID { try check(SpecRules.vendorID(id)) }
        if let lg = lookingGlass {
            if !SpecRules.lookingGlassWidth.contains(lg.width) { throw SpecError(line: 0, "key 'width' in [looking-glass]: \(lg.width) is outside \(SpecRules.lookingGlassWidth.lowerBound)…\(SpecRules.lookingGlassWidth.upperBound)") }
            if !SpecRules.lookingGlassHeight.contains(lg.height) { throw SpecError(line: 0, "key 'height' in [looking-glass]: \(lg.height) is outside \(SpecRules.lookingGlassHeight.lowerBound)…\(SpecRules.lookingGlassHeight.upperBound)") }
        }
        for p in input {
            try check(SpecRules.text("evdev", p, in: "input"))
            if !p.hasPrefix("/dev/input/") { throw SpecError(line: 0, "key 'evdev' in [input]: '\(p)' is not under /dev/input/") }
        }
        if disks.count > SpecRules.maxDisks { throw SpecError(line: 0, "[[disk]]: \(disks.count) disks, at most \(SpecRules.maxDisks)") }
        for d in disks {
            try path("path", d.path, "disk")
            if !["raw", "qcow2"].contains(d.format) { throw SpecError(line: 0, "key 'format' in [disk]: '\(SpecRules.visible(d.format))' must be \"raw\" or \"qcow2\"") }
            if let size = d.sizeMiB, !(1...SpecRules.maxMemoryMiB).contains(size) { throw SpecError(line: 0, "key 'size' in [disk]: \(size) MiB is outside 1 MiB…64 TiB") }
        }
        if let iso = install.iso { try path("iso", iso, "install") }
        if let iso = install.virtioISO { try path("virtio-iso", iso, "install") }
        // q35's AHCI controller has six ports: SATA disks and CD-ROMs share them.
        let sata = disks.filter { $0.bus == .sata }.count + (install.iso == nil ? 0 : 1) + (install.virtioISO == nil ? 0 : 1)
        if sata > 6 { throw SpecError(line: 0, "[[disk]]/[install]: \(sata) SATA disks and CD-ROMs, but q35's AHCI controller has 6 ports (use bus = \"virtio\")") }
        if let network {
            switch network.source {
            case .network(let n): try check(SpecRules.networkName("network", n, bridge: false))
            case .bridge(let b): try check(SpecRules.networkName("bridge", b, bridge: true))
            }
        }
        for m in boot.blacklist { try check(SpecRules.moduleName("blacklist", m, in: "boot")) }
        if !(100...999_999_999).contains(proxmox.vmid) { throw SpecError(line: 0, "key 'vmid' in [proxmox]: \(proxmox.vmid) is outside 100…999999999") }
        try check(SpecRules.storageID(proxmox.storage))
    }
}
