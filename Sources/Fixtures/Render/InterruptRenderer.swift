/// `/proc/interrupts` and `/proc/irq/N/` as kernel/irq/proc.c prints them.
struct InterruptRenderer {
    let host: HostTree
    let layout: Layout

    /// `nr_irqs` as x86 sizes it for one 24-pin IO-APIC (arch_probe_nr_irqs), never below the highest IRQ used.
    var nrIRQs: Int { max(424 + 8 * host.cpu.logicalCount, (layout.irqs.last?.number ?? 0) + 1) }

    func render(into t: inout FileTree) {
        let cpus = host.cpu.logicalCount
        var prec = 3
        var j = 1000
        while prec < 10 && j <= nrIRQs { prec += 1; j *= 10 }

        var out = String(repeating: " ", count: prec + 8)
        for c in 0..<cpus { out += Format.rightPad("CPU\(c)", 11) }
        out += "\n"
        for irq in layout.irqs {
            out += Format.leftPad("\(irq.number)", prec) + ": "
            for c in 0..<cpus { out += Format.leftPad("\(count(irq, cpu: c))", 10) + " " }
            out += " " + Format.leftPad(irq.chip, 8)
            out += " " + Format.leftPad("\(irq.hwirq)", prec)
            out += "-" + Format.rightPad(irq.flow, 8)
            out += "  " + irq.actions.joined(separator: ", ")
            out += "\n"
        }
        let arch: [(String, String)] = [
            ("NMI", "Non-maskable interrupts"), ("LOC", "Local timer interrupts"), ("SPU", "Spurious interrupts"),
            ("PMI", "Performance monitoring interrupts"), ("IWI", "IRQ work interrupts"),
            ("RTR", "APIC ICR read retries"), ("RES", "Rescheduling interrupts"), ("CAL", "Function call interrupts"),
            ("TLB", "TLB shootdowns"), ("TRM", "Thermal event interrupts"), ("THR", "Threshold APIC interrupts"),
            ("DFR", "Deferred Error APIC interrupts"), ("MCE", "Machine check exceptions"),
            ("MCP", "Machine check polls"),
        ]
        for (k, (name, text)) in arch.enumerated() {
            out += Format.leftPad(name, prec) + ": "
            for c in 0..<cpus {
                let v = ["LOC", "RES", "CAL", "TLB"].contains(name) ? Int(Format.stableHash("\(name)\(c)") % 900_000) + 1000 : (k == 13 ? 12 : 0)
                out += Format.leftPad("\(v)", 10) + " "
            }
            out += "  \(text)\n"
        }
        out += Format.leftPad("ERR", prec) + ": " + Format.leftPad("0", 10) + "\n"
        out += Format.leftPad("MIS", prec) + ": " + Format.leftPad("0", 10) + "\n"
        t.file("proc/interrupts", out)

        let allowed = IRQPlanner(host: host).allowedCPUs
        t.file("proc/irq/default_smp_affinity", Format.cpuMask(allowed, bits: cpus) + "\n")
        for irq in layout.irqs {
            let dir = "proc/irq/\(irq.number)"
            t.file("\(dir)/smp_affinity", Format.cpuMask(irq.affinity, bits: cpus) + "\n")
            t.file("\(dir)/smp_affinity_list", Format.cpuList(irq.affinity) + "\n")
            t.file("\(dir)/effective_affinity", Format.cpuMask([irq.effectiveCPU], bits: cpus) + "\n")
            t.file("\(dir)/effective_affinity_list", "\(irq.effectiveCPU)\n")
            t.file("\(dir)/node", "\(host.cpu.numaNodes > 1 ? host.cpu.node(of: irq.effectiveCPU) : 0)\n")
            t.file("\(dir)/spurious", "count 0\nunhandled 0\nlast_unhandled 0 ms\n")
            for action in Set(irq.actions).sorted() where !action.contains("/") {
                t.directory("\(dir)/\(action)")
            }
        }
    }

    /// Deterministic counts on the CPU the IRQ is delivered to; zero elsewhere.
    private func count(_ irq: IRQ, cpu: Int) -> Int {
        guard cpu == irq.effectiveCPU else { return 0 }
        if irq.actions.contains(where: { $0.hasPrefix("vfio") }) { return 0 }
        return Int(Format.stableHash("\(irq.number)\(irq.actions.first ?? "")") % 250_000)
    }
}
