import Foundation
import Testing
@testable import VFIOCore
import VFIOHost

/// Hostile and careless specs: every value that could add a line to a config file, an option to QEMU, or
/// overflow an Int is refused with an error naming the line, the key and the value; nothing traps.
@Suite struct HostileSpecTests {
    static let base = SpecCodecTests.minimal + "\n"

    static func parseError(_ text: String) -> String? {
        do { _ = try VMSpec.parse(text); return nil } catch { return error.description }
    }

    @Test(arguments: [
        // Module names reach /etc/modprobe.d: a newline would add `install X /bin/sh -c ...` (root at module load).
        ("[boot]\nblacklist = [\"usb_storage\\ninstall usb_storage /bin/sh -c id\"]\n",
         "line 17: key 'blacklist' in [boot]: 'usb_storage\\ninstall usb_storage /bin/sh -c id' contains the control character U+000A"),
        ("[boot]\nblacklist = [\"usb_storage install\"]\n",
         "line 17: key 'blacklist' in [boot]: 'usb_storage install' is not a kernel module name"),
        ("[boot]\nblacklist = [\"a;b\"]\n", "line 17: key 'blacklist' in [boot]: 'a;b' is not a kernel module name"),
        ("[boot]\nblacklist = [\"\"]\n", "line 17: key 'blacklist' in [boot]: '' is not a kernel module name"),
        // Proxmox configs are one `key: value` per line.
        ("[proxmox]\nstorage = \"local\\nhookscript: local:snippets/x.sh\"\n",
         "line 17: key 'storage' in [proxmox]: 'local\\nhookscript: local:snippets/x.sh' contains the control character U+000A"),
        ("[proxmox]\nstorage = \"local,size=1\"\n", "line 17: key 'storage' in [proxmox]: 'local,size=1' is not a Proxmox storage id"),
        ("[proxmox]\nstorage = \"9local\"\n", "line 17: key 'storage' in [proxmox]: '9local' is not a Proxmox storage id"),
        ("[proxmox]\nstorage = \"local-\"\n", "line 17: key 'storage' in [proxmox]: 'local-' is not a Proxmox storage id"),
        ("[firmware]\ncode = '/a\rb'\nvars = \"/v\"\n", "line 17: key 'code' in [firmware]: '/a\\rb' contains the control character U+000D"),
        ("[input]\nevdev = [\"/dev/input/by-id/kbd\\tx\"]\n", "line 17: key 'evdev' in [input]: '/dev/input/by-id/kbd\\tx' contains the control character U+0009"),
        ("[[disk]]\npath = '/img\u{7F}'\n", "line 17: key 'path' in [disk]: '/img\\u{7f}' contains the control character U+007F"),
        ("[[disk]]\npath = \"/img\u{2028}x\"\n", "line 17: key 'path' in [disk]: '/img\\u{2028}x' contains the control character U+2028"),
    ])
    func hostileStringsAreRefusedNamingLineKeyAndValue(_ appended: String, _ message: String) {
        let error = Self.parseError(Self.base + appended)
        #expect(error?.hasPrefix(message) == true, "got: \(error ?? "accepted")")
    }

    @Test(arguments: [
        ("kind = \"gpu\"", "kind = \"gpu\"\nrom = \"/x.rom\\nhookscript: x\"", "line 15: key 'rom' in [device]: '/x.rom\\nhookscript: x' contains the control character U+000A"),
        ("host-drivers = [\"nvidia\"]", "host-drivers = [\"nvidia\\ninstall nvidia /bin/sh\"]", "line 15: key 'host-drivers' in [device]: 'nvidia\\ninstall nvidia /bin/sh' contains the control character"),
        ("host-drivers = [\"nvidia\"]", "host-drivers = [\"nvidia pre: x\"]", "line 15: key 'host-drivers' in [device]: 'nvidia pre: x' is not a kernel module name"),
        ("name = \"vm1\"", "name = \"vm1\\nx\"", "line 1: key 'name': 'vm1\\nx' contains the control character U+000A"),
        ("name = \"vm1\"", "name = \"vm 1\"", "line 1: key 'name': 'vm 1' must be 1–64 letters, digits, '-', '_' or '.'"),
        ("name = \"vm1\"", "name = \"..\"", "line 1: key 'name': '..' must be"),
        // Sizes that overflowed Int (trap, exit 132) in the parser, the planner or the libvirt renderer.
        ("memory = \"8G\"", "memory = \"9223372036854775807G\"", "line 3: key 'memory': '9223372036854775807G' is more than 64T"),
        ("memory = \"8G\"", "memory = \"99999999999T\"", "line 3: key 'memory': '99999999999T' is more than 64T"),
        ("memory = \"8G\"", "memory = \"9007199254740992M\"", "line 3: key 'memory': '9007199254740992M' is more than 64T"),
        ("memory = \"8G\"", "memory = \"99999999999999999999999999M\"", "line 3: key 'memory': '99999999999999999999999999M' is more than 64T"),
        ("memory = \"8G\"", "memory = \"65537G\"", "line 3: key 'memory': '65537G' is more than 64T"),
        ("vcpus = 4", "vcpus = 99999999999999999999", "line 2: key 'vcpus': 99999999999999999999 does not fit in a 64-bit integer"),
        ("vcpus = 4", "vcpus = 9223372036854775807", "line 2: key 'vcpus': 9223372036854775807 is outside 1…512"),
        ("emulator = \"0,4\"", "emulator = \"0-4294967295\"", "line 8: key 'emulator' in [cpu]: '0-4294967295' is not a CPU list"),
        ("emulator = \"0,4\"", "emulator = \"\(Array(repeating: "0-8191", count: 3).joined(separator: ","))\"", "line 8: key 'emulator' in [cpu]:"),
        ("pin = [2, 6, 3, 7]", "pin = [2, 6, 3, 9223372036854775807]", "line 7: key 'pin' in [cpu]: CPU 9223372036854775807 is outside 0…8191"),
        ("pin = [2, 6, 3, 7]", "pin = [2, 6, 3, 8192]", "line 7: key 'pin' in [cpu]: CPU 8192 is outside 0…8191"),
    ])
    func hostileValuesAreRefusedNamingLineKeyAndValue(_ from: String, _ to: String, _ message: String) {
        let text = Self.base.replacingOccurrences(of: from, with: to)
        #expect(text != Self.base)
        let error = Self.parseError(text)
        #expect(error?.hasPrefix(message) == true, "got: \(error ?? "accepted")")
    }

    @Test func deeplyNestedArraysAreAnErrorNotAStackOverflow() {
        let text = "a = " + String(repeating: "[", count: 100_000) + "\n"
        #expect(Self.parseError(text) == "line 1: key 'a': arrays nested deeper than 8")
    }

    @Test func aCRLFSpecParsesLikeItsLFTwin() throws {
        // Comments at line ends ran to the end of a CRLF file: "\r\n" is one Swift Character, not "\n".
        let lf = Self.base + "[boot]   # trailing comment\nblacklist = [\"nouveau\"]  # another\n"
        let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(crlf.utf8.filter { $0 == 13 }.count == lf.utf8.filter { $0 == 10 }.count)
        #expect(try VMSpec.parse(crlf) == VMSpec.parse(lf))
        for f in ["z490-rtx2060.toml"] {
            let text = try String(contentsOfFile: Repo.path("examples/specs/\(f)"), encoding: .utf8)
            #expect(try VMSpec.parse(text.replacingOccurrences(of: "\n", with: "\r\n")) == VMSpec.parse(text))
        }
        // Errors keep their line numbers.
        let bad = crlf.replacingOccurrences(of: "vcpus = 4", with: "vcpus = \"4\"")
        #expect(Self.parseError(bad) == "line 2: key 'vcpus': expected an integer, found a string")
    }

    // MARK: - Renderers

    @Test func qemuDoublesCommasInEveryEmbeddedValue() throws {
        let text = Self.base.replacingOccurrences(of: "kind = \"gpu\"", with: "kind = \"gpu\"\nrom = \"/x.rom,x-igd-opregion=on\"")
            + "[firmware]\ncode = \"/fw/a,b.fd\"\nvars = \"/fw/v.fd\"\nnvram = \"/nv/a,readonly=off\"\n"
            + "[[disk]]\npath = \"/img/d,format=qcow2\"\n"
            + "[input]\nevdev = [\"/dev/input/by-id/k,x-event-kbd\"]\n"
        let spec = try VMSpec.parse(text)
        let argv = try QEMURenderer.arguments(spec)
        #expect(argv.contains { $0.hasSuffix(",romfile=/x.rom,,x-igd-opregion=on") })
        #expect(argv.contains("if=pflash,format=raw,unit=0,readonly=on,file=/fw/a,,b.fd"))
        #expect(argv.contains("if=pflash,format=raw,unit=1,file=/nv/a,,readonly=off"))
        #expect(argv.contains("file=/img/d,,format=qcow2,format=raw,if=none,id=disk0,cache=none,aio=native,discard=unmap"))
        #expect(argv.contains("input-linux,id=input0,evdev=/dev/input/by-id/k,,x-event-kbd,grab_all=on,repeat=on,grab-toggle=ctrl-ctrl"))
        // No value adds an option: every "x-igd-opregion" sits behind a doubled comma.
        #expect(!argv.joined(separator: " ").contains("rom,x-igd"))
        // The script form quotes nothing away.
        #expect(try QEMURenderer.render(spec).contains("romfile=/x.rom,,x-igd-opregion=on"))
    }

    @Test func proxmoxRefusesARomNameItsPropertyStringsCannotHold() throws {
        let text = Self.base.replacingOccurrences(of: "kind = \"gpu\"", with: "kind = \"gpu\"\nrom = \"/roms/x.rom,x-vga=0\"")
        let spec = try VMSpec.parse(text)
        #expect(throws: SpecError(line: 0, "key 'rom' in [device]: '/roms/x.rom,x-vga=0' has a ',' in its file name, which Proxmox's romfile= cannot carry (rename the file)")) {
            try ProxmoxRenderer.render(spec)
        }
        // A comma in a directory name is harmless there: only the file name is written.
        let dir = try VMSpec.parse(Self.base.replacingOccurrences(of: "kind = \"gpu\"", with: "kind = \"gpu\"\nrom = \"/a,b/x.rom\""))
        #expect(try ProxmoxRenderer.render(dir).contains(",romfile=x.rom\n"))
    }

    @Test func libvirtEscapesAttributeAndTextValues() throws {
        let text = Self.base.replacingOccurrences(of: "kind = \"gpu\"", with: "kind = \"gpu\"\nrom = \"/r/a'b\\\"c<d>&e.rom\"")
            + "[firmware]\ncode = \"/fw/<code>&.fd\"\nvars = \"/fw/v'.fd\"\n"
            + "[[disk]]\npath = \"/img/'/><evil/>\"\n"
        let xml = try LibvirtRenderer.render(try VMSpec.parse(text))
        #expect(xml.contains("<rom bar='on' file='/r/a&apos;b&quot;c&lt;d&gt;&amp;e.rom'/>"))
        #expect(xml.contains("<loader readonly='yes' type='pflash'>/fw/&lt;code&gt;&amp;.fd</loader>"))
        #expect(xml.contains("<nvram template='/fw/v&apos;.fd'>"))
        #expect(xml.contains("<source file='/img/&apos;/&gt;&lt;evil/&gt;'/>"))
        #expect(!xml.contains("<evil"))
    }

    @Test func renderersRefuseSpecsBuiltInCodeInsteadOfTrapping() throws {
        var spec = try VMSpec.parse(Self.base)
        spec.memoryMiB = Int.max
        #expect(throws: SpecError(line: 0, "key 'memory': \(Int.max) MiB is outside 1 MiB…64 TiB")) { try LibvirtRenderer.render(spec) }
        #expect(throws: SpecError.self) { try QEMURenderer.arguments(spec) }
        #expect(throws: SpecError.self) { try ProxmoxRenderer.render(spec) }
        var sockets = try VMSpec.parse(Self.base)
        sockets.cpu.sockets = 0
        #expect(throws: SpecError.self) { try ProxmoxRenderer.render(sockets) }
        var modules = try VMSpec.parse(Self.base)
        modules.boot.blacklist = ["usb_storage\ninstall usb_storage /bin/sh -c id"]
        #expect(throws: SpecError.self) { try LibvirtRenderer.render(modules) }
        var lg = try VMSpec.parse(Self.base)
        lg.lookingGlass = .init(width: Int.max, height: Int.max)
        _ = lg.lookingGlass?.sizeMiB    // clamped, never traps
        #expect(throws: SpecError.self) { try QEMURenderer.render(lg) }
    }

    @Test func moreThanTwentySixDisksGetLibvirtsNames() throws {
        #expect(GuestLayout.diskName(0) == "vda")
        #expect(GuestLayout.diskName(25) == "vdz")
        #expect(GuestLayout.diskName(26) == "vdaa")
        #expect(GuestLayout.diskName(27 * 26 - 1) == "vdzz")
        #expect(GuestLayout.diskName(27 * 26) == "vdaaa")
        var text = Self.base
        for i in 0..<30 { text += "[[disk]]\npath = \"/img/\(i)\"\n" }
        let xml = try LibvirtRenderer.render(try VMSpec.parse(text))
        #expect(xml.contains("<target dev='vdad' bus='virtio'/>"))
        var many = Self.base
        for i in 0...SpecRules.maxDisks { many += "[[disk]]\npath = \"/img/\(i)\"\n" }
        #expect(Self.parseError(many)?.hasSuffix("[[disk]]: more than 64 disks") == true)
    }

    // MARK: - Planner

    @Test func plannerAndBuilderNeverTrapOnHugeHostOrRequestNumbers() throws {
        var (session, host) = try Examples.load("z490-three-gpus")
        host.memory.hugepages = [HugePagePool(sizeKiB: 1_048_576, total: Int.max, free: nil, node: nil),
                                 HugePagePool(sizeKiB: 2048, total: Int.min, free: nil, node: nil)]
        host.memory.totalKiB = Int.max
        var r = InitRequest(name: "vm", devices: [PCIAddress("0000:06:00.0")!], vcpus: 4, memoryMiB: 8192)
        r.hugepages = true
        let (spec, _) = try SpecBuilder.build(r, host: host, files: session.files)
        #expect(spec.hugepages == .size1G)
        _ = PlanExplainer.report(spec, host: host)
        var twoMeg = spec
        twoMeg.hugepages = .size2M
        let (text, _) = PlanExplainer.report(twoMeg, host: host)
        #expect(text.contains("4096 more 2M hugepages needed"))

        for (vcpus, memory) in [(Int.max, 8192), (4, Int.max), (0, 8192), (4, 0)] {
            let bad = InitRequest(name: "vm", devices: [PCIAddress("0000:06:00.0")!], vcpus: vcpus, memoryMiB: memory)
            #expect(throws: PlanError.self) { try SpecBuilder.build(bad, host: host, files: session.files) }
        }
        #expect(throws: PlanError.self) { try CPUPlanner.plan(cpu: host.cpu, vcpus: Int.max, node: nil) }
        var huge = spec
        huge.memoryMiB = Int.max
        let (_, problems) = PlanExplainer.report(huge, host: host)
        #expect(problems == ["key 'memory': \(Int.max) MiB is outside 1 MiB…64 TiB"])
    }

    @Test func initRefusesNamesWithTheParsersMessage() throws {
        for name in ["bad name", "a/b", "x\ny", "", String(repeating: "a", count: 65)] {
            let request = InitRequest(name: name, devices: [], vcpus: 2, memoryMiB: 1024)
            let parsed = Self.parseError(Self.base.replacingOccurrences(of: "name = \"vm1\"", with: "name = \(TOML.quote(name))"))
            #expect(throws: SpecError.self) { try request.validate() }
            do { try request.validate() } catch {
                // The parser says the same, after its line number.
                #expect(parsed == "line 1: " + error.message)
            }
        }
    }
}
