/// One host CPU per VM thread. The shield keeps host work off the VM's CPUs but cannot keep the VM's own threads
/// apart: two busy threads on one CPU each wait for it half of the time (measured in the lab, shape S2: two
/// busy-loop stand-ins on one shielded CPU, kernel schedstat run-queue wait 50 % each). `CPUPlanner` never plans
/// that; the spec parser and `VMSpec.validate` (and so `plan`) refuse a hand-edited spec that does, in these words.
public enum PinningRules {
    public static let measured = "they would wait for each other (measured: two VM threads on one shielded CPU wait 50 % of the time)"

    /// Every host CPU that two vCPUs share, or a vCPU and the emulator thread (and iothreads, which run on the
    /// emulator's CPUs), each as a sentence; empty when every VM thread has a CPU to itself.
    public static func conflicts(pin: [Int], emulator: CPUSet, iothreads: Int? = nil) -> [String] {
        var out: [String] = []
        var first: [Int: Int] = [:]
        for (vcpu, cpu) in pin.enumerated() {
            if let other = first[cpu] {
                // Three or more on one CPU: one sentence per pair with the first, so each vCPU is named.
                out.append("vCPU \(other) and vCPU \(vcpu) share host CPU \(cpu): \(measured)")
            } else {
                first[cpu] = vcpu
            }
        }
        // nil: not known yet (the parser reads `iothreads` after `emulator`); they run on the emulator's CPUs.
        let threads = switch iothreads {
        case nil: "the emulator thread (and iothreads)"
        case 0?: "the emulator thread"
        case 1?: "the emulator thread and the iothread"
        case let n?: "the emulator thread and \(n) iothreads"
        }
        for (vcpu, cpu) in pin.enumerated() where emulator.contains(cpu) && first[cpu] == vcpu {
            out.append("vCPU \(vcpu) and \(threads) (host CPUs \(emulator)) share host CPU \(cpu): \(measured)")
        }
        return out
    }
}
