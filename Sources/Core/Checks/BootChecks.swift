/// The bootloader configuration against what actually booted (DOMAIN §2.13).
enum BootChecks {
    /// Arguments whose absence or presence changes passthrough; others (quiet, splash) are not compared.
    static let relevantKeys: Set<String> = [
        "intel_iommu", "amd_iommu", "iommu", "vfio-pci.ids", "vfio_pci.ids", "video", "isolcpus", "nohz_full", "rcu_nocbs",
        "irqaffinity", "pcie_acs_override", "hugepages", "hugepagesz", "default_hugepagesz", "intremap",
        "vfio_iommu_type1.allow_unsafe_interrupts", "kvm.ignore_msrs", "transparent_hugepage",
    ]

    static func relevant(_ args: [String]) -> Set<String> {
        // "=" or "=x" (a damaged command line) splits into nothing before the "=": the key is then empty.
        Set(args.filter { relevantKeys.contains(String($0.prefix { $0 != "=" })) })
    }

    static let argumentsApplied = Check(id: "boot.args-applied", title: "Configured kernel arguments are the booted ones") { ctx in
        guard let configured = ctx.host.configuredBoot else {
            return [Finding(status: .skipped, title: "No bootloader configuration found under /etc")]
        }
        let file = configured.bootloader.configurationFile
        let want = relevant(configured.arguments)
        let booted = relevant(ctx.host.cmdline.arguments)
        let ev = [Evidence(file, want.sorted().joined(separator: " ").nonEmpty ?? "(no passthrough arguments)"),
                  Evidence("/proc/cmdline", booted.sorted().joined(separator: " ").nonEmpty ?? "(no passthrough arguments)")]
        var findings: [Finding] = []
        let pending = want.subtracting(booted).sorted()
        if !pending.isEmpty {
            findings.append(Finding(status: .warn, title: "Configured but not booted: \(pending.joined(separator: " "))", evidence: ev,
                                    explanation: "The bootloader configuration has arguments the running kernel did not get: the host was not rebooted, or the boot menu was not regenerated after the edit.",
                                    fix: "\(configured.bootloader.regenerateCommand) && reboot"))
        }
        let lost = booted.subtracting(want).sorted()
        if !lost.isEmpty {
            findings.append(Finding(status: .warn, title: "Booted but no longer configured: \(lost.joined(separator: " "))", evidence: ev,
                                    explanation: "The running kernel got arguments that \(file) no longer has; the next boot (or a kernel upgrade) loses them.",
                                    fix: "Add them back to \(file) (vfioctl setup SPEC --apply), then \(configured.bootloader.regenerateCommand)."))
        }
        return findings.nonEmptyOr(Finding(status: .pass, title: "\(file) and /proc/cmdline agree on the passthrough arguments", evidence: ev))
    }
}

extension Bootloader {
    /// The file a user edits for kernel arguments with this bootloader.
    var configurationFile: String {
        switch self {
        case .grub: "/etc/default/grub"
        case .kernelCmdline: "/etc/kernel/cmdline"
        case .kernelstub: "/etc/kernelstub/configuration"
        case .grubbyBLS, .systemdBoot: "/boot/loader/entries/*.conf"
        }
    }

    var regenerateCommand: String {
        switch self {
        case .grub: "update-grub || grub-mkconfig -o /boot/grub/grub.cfg"
        case .kernelCmdline: "proxmox-boot-tool refresh || kernel-install add $(uname -r) /boot/vmlinuz-$(uname -r)"
        case .kernelstub: "kernelstub -v"
        case .grubbyBLS: "grubby --update-kernel=ALL --args=\"...\""
        case .systemdBoot: "bootctl update"
        }
    }
}
