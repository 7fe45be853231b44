/// Every doctor check, in report order. Ids are stable contracts (tests, JSON consumers): add, never rename.
public enum CheckRegistry {
    public static let all: [Check] = [
        HostChecks.readable,
        PlatformChecks.cpuVirtualization,
        PlatformChecks.nestedGuest,
        PlatformChecks.kvmAvailable,
        PlatformChecks.apicVirtualization,
        IOMMUChecks.enabled,
        IOMMUChecks.kernelArguments,
        IOMMUChecks.interruptRemapping,
        IOMMUChecks.unsafeInterrupts,
        IOMMUChecks.acsOverride,
        IOMMUChecks.sharedGroups,
        DeviceChecks.notBridge,
        DeviceChecks.groupIsolation,
        DeviceChecks.driver,
        DeviceChecks.bootDisplay,
        DeviceChecks.reset,
        DeviceChecks.quirks,
        FirmwareChecks.resizableBAR,
        FirmwareChecks.above4G,
        SpecChecks.identity,
        SpecChecks.rom,
        DeviceChecks.bootBinding,
        BootChecks.argumentsApplied,
        HostChecks.vfioModules,
        HostChecks.hugepages,
        HostChecks.transparentHugepages,
        HostChecks.isolation,
        HostChecks.topology,
        HostChecks.uefi,
        HostChecks.cgroups,
    ]

    public static func check(_ id: String) -> Check? { all.first { $0.id == id } }
}
