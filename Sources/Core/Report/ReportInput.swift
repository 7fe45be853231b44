/// Everything one report page shows. Built by the CLI from the host, the spec and latency files; rendering is a
/// pure function of this value.
public struct ReportInput: Sendable {
    public var host: HostModel
    /// Where the host came from (`/`, a directory, a snapshot), printed in the header.
    public var source: String
    /// Doctor's findings for the same `--device` list (`doctor --json`).
    public var doctor: DoctorReport
    public var verdicts: [PCIAddress: DeviceVerdict]
    public var spec: VMSpec?
    /// The spec's file name, for the header.
    public var specName: String?
    public var latency: [LatencySeries]
    /// `--device` addresses: the slot advisor covers them instead of the GPUs.
    public var focus: [PCIAddress]

    public init(host: HostModel, source: String, doctor: DoctorReport, verdicts: [PCIAddress: DeviceVerdict],
                spec: VMSpec? = nil, specName: String? = nil, latency: [LatencySeries] = [], focus: [PCIAddress] = []) {
        self.host = host
        self.source = source
        self.doctor = doctor
        self.verdicts = verdicts
        self.spec = spec
        self.specName = specName
        self.latency = latency
        self.focus = focus
    }

    /// Runs doctor and the per-device verdicts the way `doctor --device ...` does.
    public static func make(host: HostModel, source: String, spec: VMSpec? = nil, specName: String? = nil,
                            latency: [LatencySeries] = [], focus: [PCIAddress] = [], usage: HostUsage? = nil) -> ReportInput {
        ReportInput(host: host, source: source, doctor: Doctor.run(CheckContext(host: host, targets: focus, usage: usage)),
                    verdicts: PassVerdicts.compute(host, usage: usage), spec: spec, specName: specName, latency: latency, focus: focus)
    }
}

/// One `vfioctl latency --json` result with the name it is shown under (its file name).
public struct LatencySeries: Sendable, Equatable {
    public var label: String
    public var report: LatencyReport
    public init(label: String, report: LatencyReport) {
        self.label = label
        self.report = report
    }
}
