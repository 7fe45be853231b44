import ArgumentParser
import VFIOCore
import VFIOHost

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List IOMMU groups and their devices (lspci -nn style), or the host as JSON.")

    @OptionGroup var root: RootOptions
    @Flag(help: "Print the stable JSON contract (see README).") var json = false

    func run() throws {
        // The text list prints identities only; JSON carries every device detail.
        let (_, host) = try root.load(json ? .deviceDetails : .inventory)
        if json {
            Output.write(ListRenderer.json(host).serialized(pretty: true))
        } else {
            Output.write(ListRenderer.text(host))
        }
    }
}
