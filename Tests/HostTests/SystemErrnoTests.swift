import Foundation
import SystemPackage
import Testing
import VFIOCore
@testable import VFIOHost

/// Errors of the Host layer carry swift-system's `Errno`, and what a user reads names the path, strerror's text and
/// glibc's name of the errno (no table of a dozen names kept by hand).
@Suite struct SystemErrnoTests {
    final class Dir {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-errno-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func aWriteToAMissingAttributeNamesThePathAndTheErrnoText() throws {
        let dir = try Dir()
        let writer = RootedHostWriter(files: try RootedFileSystem(root: dir.path))
        let error = #expect(throws: HostWriteError.self) { try writer.write("/sys/bus/pci/drivers_probe", "0000:01:00.0") }
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.description == "writing '0000:01:00.0' to /sys/bus/pci/drivers_probe: No such file or directory (ENOENT)")
    }

    @Test func aWriteToADirectoryNamesEISDIR() throws {
        let dir = try Dir()
        try FileManager.default.createDirectory(atPath: dir.path + "/sys", withIntermediateDirectories: true)
        let writer = RootedHostWriter(files: try RootedFileSystem(root: dir.path))
        let error = #expect(throws: HostWriteError.self) { try writer.write("/sys", "1") }
        #expect(error?.description == "writing '1' to /sys: Is a directory (EISDIR)")
    }

    /// The old hand-written table knew twelve names and printed "errno 110" for the rest.
    @Test func everyErrnoGlibcNamesIsNamed() {
        #expect(HostWriteError(path: "/run/vfioctl/lock", value: "", errno: .timedOut).description == "/run/vfioctl/lock: Connection timed out (ETIMEDOUT)")
        #expect(HostWriteError(path: "/sys/x", value: "1", errno: Errno(rawValue: ENXIO)).description == "writing '1' to /sys/x: No such device or address (ENXIO)")
        #expect(HostWriteError(path: "/sys/x", value: "1", errno: EBUSY).errno == .resourceBusy)
        #expect(Errno(rawValue: 4095).name == "errno 4095")
        #expect(Errno.notPermitted.sentence == "Operation not permitted (EPERM)")
    }

    @Test func vfioErrorsReadAsTheKernelSaysThem() {
        #expect(VFIOErrno(EBUSY).description == "Device or resource busy (EBUSY)")
        #expect(VFIOErrno(.resourceBusy) == VFIOErrno(EBUSY))
        #expect(VFIOErrno(ENOTTY).description == "Inappropriate ioctl for device (ENOTTY)")
    }

    @Test func anAtomicWriteThatCannotCreateNamesTheTemporaryAndTheErrnoText() throws {
        let dir = try Dir()
        let target = dir.path + "/missing/grub"
        let error = #expect(throws: HostWriteError.self) { try AtomicFile.write(Array("x".utf8), to: target) }
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.description == "\(target): cannot create \(target).vfioctl-new: No such file or directory")
    }

    @Test func aJournalThatIsADirectoryIsRefusedWithItsName() throws {
        let dir = try Dir()
        let files = try RootedFileSystem(root: dir.path)
        let journal = Journal<ShieldRecord>(files: files, name: "shield")
        try FileManager.default.createDirectory(atPath: dir.path + journal.path, withIntermediateDirectories: true)
        let error = #expect(throws: HostWriteError.self) { try journal.read() }
        #expect(error?.description.hasPrefix(journal.path + ": ") == true)
        #expect(error?.errno == .isDirectory || error?.description.contains("not a regular file") == true)
    }

    @Test func aMissingFileReadsAsBefore() throws {
        let dir = try Dir()
        let files = try RootedFileSystem(root: dir.path)
        #expect(throws: FileReadError(path: "/proc/cmdline", reason: .notFound)) { try files.readBytes("/proc/cmdline") }
        #expect(FileReadError(path: "/proc/cmdline", reason: .notFound).description == "/proc/cmdline: no such file or directory")
    }

    @Test func aCommandThatCannotStartNamesTheProgramAndTheErrnoText() {
        let result = SpawnCommandRunner().run(["/nonexistent/vfioctl-helper"], timeout: 5)
        #expect(result.status == nil)
        #expect(result.output == "/nonexistent/vfioctl-helper: No such file or directory")
    }

    @Test func affinityGoesThroughTheCShim() throws {
        let mine = try #require(GNUCalls.affinity(0))
        #expect(!mine.isEmpty)
        #expect(GNUCalls.setAffinity(0, [-1]) == .invalidArgument)
        #expect(GNUCalls.setAffinity(0, mine) == nil)
        #expect(GNUCalls.currentCPU() >= 0)
    }

    @Test func noSilgenNameIsLeftInSources() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources").path
        let found = try #require(FileManager.default.enumerator(atPath: sources))
        var offenders: [String] = []
        var seen = 0
        for case let relative as String in found where relative.hasSuffix(".swift") {
            seen += 1
            let text = try String(contentsOfFile: sources + "/" + relative, encoding: .utf8)
            if text.contains("@_silgen_" + "name") { offenders.append(relative) }
        }
        #expect(seen > 100)
        #expect(offenders == [], "declare C functions in Sources/CVFIO instead")
    }
}

@Suite struct HostEffectsTests {
    @Test func theCrashVariableIsReadOnceIntoAValue() {
        #expect(FaultInjection.fromEnvironment { ["VFIOCTL_CRASH_AFTER_WRITES": "3"][$0] }.crashAfterWrites == 3)
        #expect(FaultInjection.fromEnvironment { ["VFIOCTL_CRASH_AFTER_WRITES": "three"][$0] } == .none)
        #expect(FaultInjection.fromEnvironment { _ in nil } == .none)
        let faults = FaultInjection(crashAfterWrites: 3)
        #expect(!faults.crashes(after: 2) && faults.crashes(after: 3))
        #expect(!FaultInjection.none.crashes(after: 1_000))
        #expect(HostEffects.standard.faults == .none)
    }

    @Test func theMonotonicClockMovesForward() {
        let clock = MonotonicClock()
        let a = clock.now()
        #expect(clock.now() >= a && a > 0)
    }
}
