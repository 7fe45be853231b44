import Testing
@testable import VFIOCore

/// Inputs found by the fuzz targets in Fuzz/ (scripts/fuzz), each kept here once it was found; the raw files are
/// under Fuzz/crashers/TARGET/. An input that trapped runs first in a child process (an exit test), so a trap
/// fails that one test instead of ending the whole test run; then the result a user sees is checked in-process.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    // Fuzz/crashers/modprobe/crash-9c24b48352f6fe42: a bare "=" word in an options line trapped (index out of
    // range splitting it into key and value) while reading /etc/modprobe.d.
    @Test func modprobeOptionsWithABareEqualsSign() async {
        let survived = await #expect(processExitsWith: .success) {
            _ = ModprobeDirective.parse("options = =", file: "/etc/modprobe.d/x.conf")
            _ = ModprobeDirective.parse("options vfio-pci ids=10de:2204 =", file: "/etc/modprobe.d/x.conf")
        }
        guard survived != nil else { return }
        let directives = ModprobeDirective.parse("options vfio-pci ids=10de:2204 =\n", file: "/etc/modprobe.d/x.conf")
        // The stray "=" names no parameter; the ids on the same line still count.
        #expect(directives.vfioPCIIDs.map(\.id) == ["10de:2204"])
        #expect(directives.first?.line == 1)
    }

    // Fuzz/crashers/cpulist/crash-059a41856c8a077d: single CPUs are read without the cap that ranges have, so the
    // set prints as "333992-333993", a list the same parser refuses: a CPU list vfioctl writes must read back.
    @Test func cpuListPrintsAListThatReadsBack() {
        for text in ["333992,333993", "65535,65536", "0-3,8"] {
            guard let set = CPUSet(list: text) else { continue }
            #expect(CPUSet(list: set.description) == set, "'\(text)' read as \(set.description), which does not read back")
        }
    }

    // Fuzz/crashers/bootconfig/crash-11f4de6b8b45cf80: /etc/default/grub holding a carriage return. The line setup
    // appends follows the "\r", and "\r\n" is one Character, so the edited file no longer shows the arguments
    // just added: the next run would add them again.
    @Test func grubEditOfACarriageReturnReadsBack() throws {
        let args = ["intel_iommu=on", "iommu=pt"]
        for text in ["\r", "GRUB_TIMEOUT=5\r\n", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\r\n"] {
            let edited: String
            do { edited = try GrubDefault.merge(text, args: args, path: "/etc/default/grub") } catch {
                // Refusing the file is fine, if the refusal names it.
                #expect(error.description.hasPrefix("/etc/default/grub"))
                continue
            }
            let back = try GrubDefault.arguments(edited, path: "/etc/default/grub")
            #expect(args.allSatisfy { back.contains($0) }, "edited \(String(reflecting: text)) to \(String(reflecting: edited)), which reads back as \(back)")
        }
    }
}
