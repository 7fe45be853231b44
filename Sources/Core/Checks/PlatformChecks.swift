/// CPU virtualization and KVM (DOMAIN §2.1, §2.10).
enum PlatformChecks {
    static let cpuVirtualization = Check(id: "cpu.virtualization", title: "CPU virtualization (VT-x/AMD-V)") { ctx in
        let cpu = ctx.host.cpu
        guard cpu.flagsKnown else { return [unknownFlags(ctx.host, "vmx/svm")] }
        let ev = Evidence("/proc/cpuinfo", "flags: \(cpu.hasVMX ? "vmx" : cpu.hasSVM ? "svm" : "no vmx/svm")\(cpu.isVirtualMachine ? ", hypervisor" : "")")
        if cpu.hasVirtualization {
            return [Finding(status: .pass, title: "CPU supports hardware virtualization (\(cpu.hasVMX ? "Intel VT-x" : "AMD-V"))", evidence: [ev])]
        }
        let nested = cpu.isVirtualMachine ? " This host is itself a VM: the outer hypervisor must expose nested virtualization." : ""
        return [Finding(status: .fail, title: "CPU virtualization extensions are not available", evidence: [ev],
                        explanation: "KVM needs vmx (Intel) or svm (AMD) in the CPU flags.\(nested)",
                        fix: cpu.isVirtualMachine ? "Enable nested virtualization on the outer host (e.g. kvm_intel nested=1 and -cpu host)."
                                                  : "Enable Intel VT-x / AMD SVM in the firmware setup (BIOS/UEFI) and reboot.")]
    }

    static let nestedGuest = Check(id: "cpu.nested-guest", title: "Running on bare metal") { ctx in
        guard ctx.host.cpu.flagsKnown else { return [unknownFlags(ctx.host, "hypervisor")] }
        guard ctx.host.cpu.isVirtualMachine else {
            return [Finding(status: .pass, title: "Host runs on bare metal (no hypervisor flag)")]
        }
        return [Finding(status: .warn, title: "This host is itself a virtual machine",
                        evidence: [Evidence("/proc/cpuinfo", "flags contain 'hypervisor'")],
                        explanation: "Passthrough inside a VM needs a virtual IOMMU and nested virtualization from the outer hypervisor; devices are only as isolated as the outer host makes them.",
                        fix: "Run vfioctl on the physical host, or give this VM a vIOMMU (QEMU: -device intel-iommu,intremap=on,caching-mode=on).")]
    }

    /// A flag cannot be judged when /proc/cpuinfo shows no flags line: say so with what was read, never guess.
    static func unknownFlags(_ host: HostModel, _ flag: String) -> Finding {
        let seen = host.readProblems.first { $0.path == "/proc/cpuinfo" }?.message ?? "no 'flags' line"
        return Finding(status: .warn, title: "Cannot tell from /proc/cpuinfo whether the CPU has \(flag)",
                       evidence: [Evidence("/proc/cpuinfo", seen)],
                       explanation: "The file has no flags line, so the CPU's features are unknown, not absent.",
                       fix: "grep -m1 -w -e vmx -e svm -e hypervisor /proc/cpuinfo   # on the host itself; attach a snapshot if it prints flags")
    }

    static let kvmAvailable = Check(id: "kvm.available", title: "KVM is usable") { ctx in
        let kvm = ctx.host.kvm
        var ev = [Evidence("/dev/kvm", kvm.deviceNode ? "present" : "missing")]
        if let m = kvm.module { ev.append(Evidence("/sys/module/\(m)", "loaded")) }
        if kvm.deviceNode {
            return [Finding(status: .pass, title: "/dev/kvm exists\(kvm.module.map { " (\($0))" } ?? "")", evidence: ev)]
        }
        let module = ctx.host.cpu.vendor == .amd ? "kvm_amd" : "kvm_intel"
        return [Finding(status: .fail, title: "/dev/kvm does not exist", evidence: ev,
                        explanation: "Without KVM the VM runs in software emulation, far too slow for a GPU guest.",
                        fix: "modprobe \(module)   # and check dmesg for 'disabled by bios'")]
    }

    static let apicVirtualization = Check(id: "kvm.apicv", title: "APIC virtualization (APICv/AVIC)") { ctx in
        let kvm = ctx.host.kvm
        guard let module = kvm.module, let on = kvm.apicVirtualization else {
            return [Finding(status: .skipped, title: "APICv/AVIC state not shown (kvm_intel/kvm_amd not loaded)")]
        }
        let param = module == "kvm_intel" ? "enable_apicv" : "avic"
        let ev = Evidence("/sys/module/\(module)/parameters/\(param)", on ? "on" : "off")
        if on {
            return [Finding(status: .pass, title: "\(module == "kvm_intel" ? "APICv" : "AVIC") is enabled", evidence: [ev],
                            explanation: "Keep it on: Hyper-V SynIC without hv-avic (or hv-evmcs on Intel) disables it per VM.")]
        }
        return [Finding(status: .info, title: "\(module == "kvm_intel" ? "APICv" : "AVIC") is disabled", evidence: [ev],
                        explanation: "Interrupts to the guest then cost VM exits; GPU guests with many interrupts feel it.",
                        fix: "echo 'options \(module) \(param)=1' > /etc/modprobe.d/kvm-apic.conf   # then reload \(module) or reboot")]
    }
}
