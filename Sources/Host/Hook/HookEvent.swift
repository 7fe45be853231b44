import Glibc
import SystemPackage
import VFIOCore

/// One call of the libvirt QEMU hook: `VM OPERATION SUB-OPERATION EXTRA`, the domain XML on standard input
/// (libvirt's hooks.html, "QEMU guest"). Only the three events vfioctl acts on have a case; libvirt's others
/// (migrate, restore, reconnect, attach, stopped/end, ...) are `.other` and leave the host alone.
public enum HookEvent: Sendable, Equatable {
    /// prepare/begin: before QEMU starts; a non-zero exit stops the VM from starting.
    case prepare
    /// started/begin: QEMU runs, its pid is in `/run/libvirt/qemu/VM.pid`.
    case started
    /// release/end: QEMU is gone and libvirt has released its resources.
    case release
    case other

    public init(operation: String, subOperation: String) {
        switch (operation, subOperation) {
        case ("prepare", "begin"): self = .prepare
        case ("started", "begin"): self = .started
        case ("release", "end"): self = .release
        default: self = .other
        }
    }

    /// Where libvirt keeps the pid of a running domain's QEMU.
    public static func pidPath(vm: String) -> String { "/run/libvirt/qemu/\(vm).pid" }

    /// The QEMU pid libvirt wrote for `vm`, read under the root; nil when there is none or it is not a pid.
    public static func qemuPID(vm: String, files: RootedFileSystem) -> Int? {
        guard let bytes = try? files.readBytes(pidPath(vm: vm)), bytes.count < 32,
              let pid = Int(String(decoding: bytes, as: UTF8.self).trimmingWhitespace()), pid > 0 else { return nil }
        return pid
    }

    /// Reads standard input to its end and discards it: libvirt writes the domain XML there and a writer whose
    /// reader left early sees EPIPE. Bounded (libvirt's domain XML is a few kB), so a stdin that never ends cannot
    /// hold an event: after `limit` bytes the rest is left unread. A terminal (someone running `hook run` by hand)
    /// is left alone.
    public static func drainStandardInput(limit: Int = 16 << 20) {
        guard isatty(0) == 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var total = 0
        while total < limit {
            // EINTR is retried by FileDescriptor; an error or the end stops the drain.
            let n = (try? buffer.withUnsafeMutableBytes { try FileDescriptor.standardInput.read(into: $0) }) ?? 0
            if n <= 0 { return }
            total += n
        }
    }
}

private extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }
}
