import Foundation
import Testing
@testable import VFIOCore

@Suite struct TOMLTests {
    @Test func parsesTablesArraysOfTablesAndValues() throws {
        let doc = try TOML.parse("""
            # comment
            name = "a b" # trailing
            n = 1_024
            flag = true
            list = [1, 2,
              3, # inside
            ]
            [t]
            s = 'lit\\eral'
            [[d]]
            x = 1
            [[d]]
            x = 2
            """)
        #expect(doc.root.entry("name")?.value == .string("a b"))
        #expect(doc.root.entry("n")?.value == .integer(1024))
        #expect(doc.root.entry("flag")?.value == .bool(true))
        #expect(doc.root.entry("list")?.value == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(doc.table("t")?.entry("s")?.value == .string("lit\\eral"))
        #expect(doc.array("d").map { $0.entry("x")?.value } == [.integer(1), .integer(2)])
        #expect(doc.array("d")[1].line == 12)
    }

    @Test(arguments: [
        ("a = 1\nb = \n", "line 2: key 'b': missing value after '='"),
        ("a = \"x\n", "line 1: unterminated string"),
        ("a = 1\na = 2\n", "line 2: key 'a' is defined twice in this table"),
        ("[t]\n[t]\n", "line 2: table '[t]' is defined twice"),
        ("a = yes\n", "line 1: key 'a': 'yes' is not a value (strings need quotes)"),
        ("a = 1 2\n", "line 1: unexpected '2' after the value (one key = value per line)"),
        ("[t\n", "line 1: expected ']' to close the table header"),
        ("a = [1, 2\n", "line 2: key 'a': expected ',' or ']' in the array"),
    ])
    func errorsNameLineAndKey(input: String, message: String) {
        #expect(throws: TOMLError.self) { try TOML.parse(input) }
        do { _ = try TOML.parse(input) } catch { #expect(error.description == message) }
    }
}

@Suite struct SpecCodecTests {
    static let minimal = """
        name = "vm1"
        vcpus = 4
        memory = "8G"
        hugepages = "2M"

        [cpu]
        pin = [2, 6, 3, 7]
        emulator = "0,4"
        threads = 2

        [[device]]
        address = "0000:01:00.0"
        id = "10de:2204"
        kind = "gpu"
        host-drivers = ["nvidia"]
        """

    @Test func minimalSpecGetsDefaults() throws {
        let s = try VMSpec.parse(Self.minimal)
        #expect(s.memoryMiB == 8192)
        #expect(s.hugepages == .size2M)
        #expect(s.cpu.cores == 2 && s.cpu.sockets == 1)
        #expect(s.firmware.nvram == "/var/lib/libvirt/qemu/nvram/vm1_VARS.fd")
        #expect(s.vfioIDs == ["10de:2204"])
        #expect(s.softdepDrivers == ["nvidia"])
    }

    @Test func writerOutputReadsBackToTheSameSpec() throws {
        for c in Examples.cases {
            let (spec, notes) = try Examples.spec(c)
            let again = try VMSpec.parse(spec.toml(notes: notes))
            #expect(again == spec, "\(c.name)")
        }
    }

    @Test(arguments: [
        ("vcpus = 4", "vcpus = \"4\"", "line 2: key 'vcpus': expected an integer, found a string"),
        ("memory = \"8G\"", "memory = \"8 bananas\"", "line 3: key 'memory': '8 bananas' is not a size (e.g. \"16G\" or \"8192M\")"),
        ("hugepages = \"2M\"", "hugepages = \"4M\"", "line 4: key 'hugepages': '4M' must be \"2M\" or \"1G\" (leave it out for none)"),
        ("pin = [2, 6, 3, 7]", "pin = [2, 6, 3]", "line 7: key 'pin' in [cpu]: 3 host CPUs for 4 vCPUs (one per vCPU)"),
        ("emulator = \"0,4\"", "emulator = \"0,2\"", "line 8: key 'emulator' in [cpu]: vCPU 0 and the emulator thread (and iothreads) (host CPUs 0,2) share host CPU 2: they would wait for each other (measured: two VM threads on one shielded CPU wait 50 % of the time)"),
        ("threads = 2", "threads = 3", "line 6: [cpu]: sockets × cores × threads = 1×1×3 ≠ vcpus 4"),
        ("address = \"0000:01:00.0\"", "address = \"01:00\"", "line 12: key 'address' in [device]: '01:00' is not a PCI address (DDDD:BB:DD.F)"),
        ("kind = \"gpu\"", "kind = \"gpu\"\nvga = true", "line 15: unknown key 'vga' in [device] (known: address, host-drivers, id, kind, rom, slot-path, subsystem)"),
        ("[cpu]", "[cpux]", "line 6: unknown table '[cpux]' (known: boot, cpu, device, disk, firmware, hyperv, input, install, looking-glass, network, os, proxmox)"),
    ])
    func badInputNamesLineAndKey(from: String, to: String, message: String) {
        let text = Self.minimal.replacingOccurrences(of: from, with: to)
        do {
            _ = try VMSpec.parse(text)
            Issue.record("accepted: \(to)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func vendorIDIsLimitedToTwelveCharacters() {
        let text = Self.minimal + "\n[hyperv]\nvendor-id = \"thirteenchars\"\n"
        #expect(throws: SpecError.self) { try VMSpec.parse(text) }
        let comma = Self.minimal + "\n[hyperv]\nvendor-id = \"a,b\"\n"
        #expect(throws: SpecError.self) { try VMSpec.parse(comma) }
    }

    @Test func lookingGlassSizeFollowsTheFormula() {
        #expect(VMSpec.LookingGlass(width: 1920, height: 1080).sizeMiB == 32)
        #expect(VMSpec.LookingGlass(width: 2560, height: 1440).sizeMiB == 64)
        #expect(VMSpec.LookingGlass(width: 3840, height: 2160).sizeMiB == 128)
        #expect(VMSpec.LookingGlass(width: 1280, height: 720).sizeMiB == 32)
    }

    @Test func memorySizes() {
        #expect(MemorySize.parseMiB("16G") == 16384)
        #expect(MemorySize.parseMiB("16GiB") == 16384)
        #expect(MemorySize.parseMiB("512M") == 512)
        #expect(MemorySize.parseMiB("16") == nil)
        #expect(MemorySize.parseMiB("-1G") == nil)
    }
}
