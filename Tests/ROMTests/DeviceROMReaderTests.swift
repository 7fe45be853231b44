import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

/// A writer that checks, at the moment of each write, what the journal already holds (the promise: journal first).
final class JournalCheckingWriter: HostWriter, @unchecked Sendable {
    let journal: Journal<ROMRecord>
    var failOn: String?
    private(set) var writes: [(path: String, value: String, journaled: [ROMRecord])] = []

    init(journal: Journal<ROMRecord>, failOn: String? = nil) {
        self.journal = journal
        self.failOn = failOn
    }

    func write(_ path: String, _ value: String) throws(HostWriteError) {
        writes.append((path, value, (try? journal.records()) ?? []))
        if value == failOn { throw HostWriteError(path: path, value: value, errno: EIO) }
    }
}

@Suite struct DeviceROMReaderTests {
    let address = PCIAddress("0000:01:00.0")!
    let romPath = "/sys/bus/pci/devices/0000:01:00.0/rom"

    func tree() throws -> (TempDir, RootedFileSystem, Journal<ROMRecord>) {
        let dir = try TempDir()
        try dir.write("sys/bus/pci/devices/0000:01:00.0/rom", SyntheticROM.gpuROM() + [UInt8](repeating: 0xFF, count: 1024))
        let fs = try RootedFileSystem(root: dir.path)
        return (dir, fs, Journal<ROMRecord>(files: fs, name: "rom"))
    }

    @Test func enableIsJournaledBeforeTheWriteAndDisabledAfterTheRead() throws {
        let (dir, fs, journal) = try tree()
        defer { withExtendedLifetime(dir) {} }
        let writer = JournalCheckingWriter(journal: journal)
        let reader = DeviceROMReader(files: fs, writer: writer, togglesROM: true)
        let bytes = try reader.read(address)
        #expect(ROMParser.parse(bytes).images.count == 2)
        #expect(writer.writes.map(\.value) == ["1", "0"])
        #expect(writer.writes.allSatisfy { $0.path == romPath })
        #expect(writer.writes[0].journaled == [ROMRecord(kind: .enabled, address: "0000:01:00.0", path: romPath, pid: getpid())])
        #expect(try journal.records().isEmpty, "a clean run leaves no journal")
        #expect(fs.kind(of: journal.path) == nil)
    }

    @Test func failedDisableLeavesARecordThatTheNextRunActsOn() throws {
        let (dir, fs, journal) = try tree()
        defer { withExtendedLifetime(dir) {} }
        let failing = JournalCheckingWriter(journal: journal, failOn: "0")
        #expect {
            try DeviceROMReader(files: fs, writer: failing, togglesROM: true).read(address)
        } throws: { error in
            "\(error)".contains("disabling the ROM again") && "\(error)".contains("/run/vfioctl/rom.journal")
        }
        #expect(DeviceROMReader.stillEnabled(try journal.records()).map(\.path) == [romPath])

        let good = JournalCheckingWriter(journal: journal)
        let recovered = try DeviceROMReader(files: fs, writer: good, togglesROM: true).recover()
        #expect(recovered == ["0000:01:00.0"])
        #expect(good.writes.map(\.value) == ["0"])
        #expect(try journal.records().isEmpty)
    }

    @Test func crashAfterEnableIsRecoveredBeforeTheNextRead() throws {
        let (dir, fs, journal) = try tree()
        defer { withExtendedLifetime(dir) {} }
        // What a kill -9 between "1" and "0" leaves behind.
        try journal.append(ROMRecord(kind: .enabled, address: "0000:02:00.0", path: "/sys/bus/pci/devices/0000:02:00.0/rom"))
        let writer = JournalCheckingWriter(journal: journal)
        _ = try DeviceROMReader(files: fs, writer: writer, togglesROM: true).read(address)
        #expect(writer.writes.map { "\($0.path)=\($0.value)" } == [
            "/sys/bus/pci/devices/0000:02:00.0/rom=0", "\(romPath)=1", "\(romPath)=0",
        ])
        #expect(try journal.records().isEmpty)
    }

    @Test func romAnotherLiveProcessIsReadingIsLeftToIt() throws {
        let (dir, fs, journal) = try tree()
        defer { withExtendedLifetime(dir) {} }
        let other = "/sys/bus/pci/devices/0000:02:00.0/rom"
        try journal.append(ROMRecord(kind: .enabled, address: "0000:02:00.0", path: other, pid: getppid()))
        let writer = JournalCheckingWriter(journal: journal)
        _ = try DeviceROMReader(files: fs, writer: writer, togglesROM: true).read(address)
        #expect(writer.writes.map(\.value) == ["1", "0"], "the other reader's ROM is not disabled under it")
        #expect(DeviceROMReader.stillEnabled(try journal.records()).map(\.path) == [other])
    }

    @Test func failedEnableClosesItsRecord() throws {
        let (dir, fs, journal) = try tree()
        defer { withExtendedLifetime(dir) {} }
        let writer = JournalCheckingWriter(journal: journal, failOn: "1")
        #expect(throws: ROMReadError.self) { try DeviceROMReader(files: fs, writer: writer, togglesROM: true).read(address) }
        #expect(writer.writes.map(\.value) == ["1"])
        #expect(DeviceROMReader.stillEnabled(try journal.records()).isEmpty)
    }

    @Test func treeRootsReadTheFileWithoutWriting() throws {
        let (dir, fs, journal) = try tree()
        let writer = JournalCheckingWriter(journal: journal)
        let reader = DeviceROMReader(files: fs, writer: writer)
        #expect(!reader.togglesROM)
        #expect(ROMParser.parse(try reader.read(address)).trailingBytes == 1024)
        #expect(writer.writes.isEmpty)
        #expect(dir.read("sys/bus/pci/devices/0000:01:00.0/rom")?.count == 6144, "the tree's ROM is untouched")
    }

    @Test func deviceWithoutROMAttributeNamesThePath() throws {
        let (dir, fs, journal) = try tree()
        defer { withExtendedLifetime(dir) {} }
        let reader = DeviceROMReader(files: fs, writer: JournalCheckingWriter(journal: journal), togglesROM: true)
        #expect {
            try reader.read(PCIAddress("0000:05:00.0")!)
        } throws: { error in
            "\(error)" == "0000:05:00.0 has no expansion ROM (/sys/bus/pci/devices/0000:05:00.0/rom does not exist): the device exposes no ROM BAR"
        }
    }

    @Test func emptyROMReadIsAnError() throws {
        let dir = try TempDir()
        try dir.write("sys/bus/pci/devices/0000:01:00.0/rom", [])
        let fs = try RootedFileSystem(root: dir.path)
        #expect {
            try DeviceROMReader(files: fs, writer: DryRunWriter()).read(address)
        } throws: { error in "\(error)".contains("the ROM read back empty") }
    }

    @Test func dumpWritesTheStrippedROM() throws {
        let dir = try TempDir()
        let plain = SyntheticROM.gpuROM()
        let dump = SyntheticROM.vendorHeader() + plain
        try dir.write("dump.rom", dump)
        let bytes = try ROMFiles.read(dir.path + "/dump.rom")
        let rom = ROMParser.parse(bytes)
        try ROMFiles.write(rom.stripped(bytes), to: dir.path + "/out.rom")
        #expect(dir.read("out.rom") == plain)
    }
}
