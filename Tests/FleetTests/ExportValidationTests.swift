import Foundation
import Testing
import VFIOCore

/// Each engine's output read back and checked against the engine's own definition of the format (the data under
/// Tests/FleetTests/Schemas says where each came from).
@Suite struct ExportValidationTests {
    static func schema(_ name: String) -> String { Repo.path("Tests/FleetTests/Schemas/\(name)") }

    static func jsonObject(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
    }

    @Test func kubeVirtFragmentMatchesPermittedHostDevices() throws {
        let report = try ExampleFleet.report()
        let export = KubeVirtExport.render(report)
        let checker = try SchemaChecker(file: Self.schema("kubevirt-permittedhostdevices.json"))
        // The YAML the admin pastes, read by an independent reader, and the JSON form: the same document.
        let yaml = try #require(try MiniYAML.parse(export.text.components(separatedBy: "\n\n# Node").first ?? "") as? [String: Any])
        let fromJSON = try #require(try Self.jsonObject((export.json.objectValue("kubevirt") ?? .null).serialized()) as? [String: Any])
        #expect(NSDictionary(dictionary: yaml).isEqual(to: fromJSON))
        let spec = try #require(yaml["spec"])
        #expect(checker.validate(spec, definition: "v1.KubeVirtSpec") == [])
        let devices = try #require(((((yaml["spec"] as? [String: Any])?["configuration"] as? [String: Any])?["permittedHostDevices"] as? [String: Any])?["pciHostDevices"]) as? [[String: Any]])
        #expect(!devices.isEmpty)
        for d in devices {
            let selector = try #require(d["pciVendorSelector"] as? String)
            let resource = try #require(d["resourceName"] as? String)
            #expect(matches(selector, "^[0-9A-F]{4}:[0-9A-F]{4}$"), "\(selector)")
            // A Kubernetes extended resource name: DNS-subdomain prefix, "/", a qualified name of ≤ 63 characters.
            #expect(matches(resource, "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"), "\(resource)")
        }
        // Only devices passable somewhere; never the RTX 2060's or the RX 5700 XT's group-bound siblings alone.
        let selectors = Set(devices.compactMap { $0["pciVendorSelector"] as? String })
        #expect(selectors.contains("10DE:2504") && selectors.contains("10DE:1F08"))
        #expect(!selectors.contains("10DE:21C4") && !selectors.contains("1002:731F") && !selectors.contains("10DE:2206"))
    }

    @Test func schemaCheckerRejectsWhatTheAPIServerWouldDrop() throws {
        let checker = try SchemaChecker(file: Self.schema("kubevirt-permittedhostdevices.json"))
        let bad: [String: Any] = ["pciHostDevices": [["pciVendorSelector": "10DE:2504"], ["resourceName": "x/y", "pciVendorSelector": "10DE:2504", "vendor": "nvidia"]]]
        #expect(checker.validate(bad, definition: "v1.PermittedHostDevices") == [
            "$.pciHostDevices[0]: missing required resourceName",
            "$.pciHostDevices[1]: unknown property vendor",
        ])
    }

    @Test func novaEntriesUseOnlyDocumentedKeysAndValues() throws {
        let report = try ExampleFleet.report()
        let text = NovaExport.render(report).text
        let rules = try #require(try Self.jsonObject(String(contentsOfFile: Self.schema("nova-pci.json"), encoding: .utf8)) as? [String: Any])
        var seen = [String: Int]()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains(" = ") {
            let parts = line.split(separator: "=", maxSplits: 1)
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let rule = try #require(rules[key] as? [String: Any], "unknown [pci] option \(key)")
            let entry = try #require(try Self.jsonObject(String(parts[1])) as? [String: Any], "\(key) is not a JSON object: \(line)")
            seen[key, default: 0] += 1
            let keys = rule["keys"] as? [String: [String: Any]] ?? [:]
            for required in rule["required"] as? [String] ?? [] { #expect(entry[required] != nil, "\(line): missing \(required)") }
            for group in rule["exclusive"] as? [[String]] ?? [] { #expect(group.filter { entry[$0] != nil }.count <= 1, "\(line)") }
            for (k, v) in entry {
                let spec = try #require(keys[k], "\(key): undocumented key \(k)")
                let s = try #require(v as? String, "\(key).\(k) must be a string")
                if let pattern = spec["pattern"] as? String { #expect(matches(s, pattern), "\(key).\(k) = \(s)") }
                if let allowed = spec["enum"] as? [String] { #expect(allowed.contains(s), "\(key).\(k) = \(s)") }
            }
        }
        #expect(seen["alias"] ?? 0 > 0 && seen["device_spec"] ?? 0 > 0)
    }

    @Test func novaNamesTheAddressWhereTheHostKeepsATwin() throws {
        let report = try ExampleFleet.report(["x570-twin-gpus", "z490-three-gpus"])
        let nodes = try #require(NovaExport.render(report).json.objectValue("nodes").flatMap(\.arrayValue))
        func specs(_ node: String) -> [String] {
            nodes.first { $0.objectValue("name") == .string(node) }?.objectValue("device_spec")?.arrayValue?.map { $0.serialized() } ?? []
        }
        // x570 keeps 0b:00.0 (10de:2504) and port 05:00.0 (8086:1521): addresses, never the ids alone.
        #expect(specs("x570").contains(#"{"vendor_id":"10de","product_id":"2504","address":"0000:0c:00.0"}"#))
        #expect(!specs("x570").contains(#"{"vendor_id":"10de","product_id":"2504"}"#))
        #expect(!specs("x570").contains(#"{"vendor_id":"8086","product_id":"1521"}"#))
        #expect(!specs("x570").contains { $0.contains("0000:0b:00.0") || $0.contains("0000:05:00.0") })
        // z490 passes all four I350 ports and keeps none: the ids alone are exact there.
        #expect(specs("z490").contains(#"{"vendor_id":"8086","product_id":"1521"}"#))
    }

    @Test func proxmoxMappingFollowsPCIpm() throws {
        let report = try ExampleFleet.report()
        let text = try ProxmoxExport.render(report).text
        let rules = try #require(try Self.jsonObject(String(contentsOfFile: Self.schema("proxmox-pci-mapping.json"), encoding: .utf8)) as? [String: Any])
        let map = try #require(rules["map"] as? [String: Any])
        let keys = try #require(map["keys"] as? [String: String])
        var sections = 0
        var paths: [String: [String]] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            if !line.hasPrefix("\t") {
                #expect(matches(String(line), try #require(rules["sectionId"] as? String)), "section id \(line)")
                sections += 1
                continue
            }
            let body = line.dropFirst()
            let parts = body.split(separator: " ", maxSplits: 1)
            #expect((rules["sectionProperties"] as? [String] ?? []).contains(String(parts[0])), "\(line)")
            guard parts[0] == "map", parts.count == 2 else { continue }
            var props: [String: String] = [:]
            for kv in parts[1].split(separator: ",") {
                let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
                #expect(p.count == 2 && props[p[0]] == nil, "\(line)")
                if p.count == 2 { props[p[0]] = p[1] }
            }
            for required in map["required"] as? [String] ?? [] { #expect(props[required] != nil, "\(line): missing \(required)") }
            for (k, v) in props {
                let pattern = try #require(keys[k], "\(line): unknown key \(k)")
                #expect(matches(v, pattern), "\(k)=\(v)")
            }
            // PCI.pm compares with sysfs after dropping 0x: lower case only.
            #expect(props["id"] == props["id"]?.lowercased() && props["subsystem-id"] == props["subsystem-id"]?.lowercased())
            paths[props["node"] ?? "", default: []].append(props["path"] ?? "")
        }
        #expect(sections > 0)
        // Never a function the node needs: x570's boot GPU, uplink port and root NVMe; nothing of the IOMMU-less z370.
        #expect(paths["x570"]?.contains("0000:0c:00") == true)
        #expect(paths["x570"]?.contains { $0.hasPrefix("0000:0b:00") || $0 == "0000:05:00.0" || $0.hasPrefix("0000:04:00") } == false)
        #expect(paths["z370"] == nil)
    }

    @Test func proxmoxRefusesANodeNameItCannotStore() throws {
        var node = try ExampleFleet.node("x570-twin-gpus")
        node.name = "x570_lab"
        #expect(throws: FleetExportError.self) { try ProxmoxExport.render(FleetReport.evaluate([node])) }
        do { _ = try ProxmoxExport.render(FleetReport.evaluate([node])) } catch {
            #expect(error.description.contains("\"x570_lab\" is not a Proxmox VE node name"))
        }
    }
}

extension JSON {
    func objectValue(_ key: String) -> JSON? {
        if case .object(let fields) = self { return fields.first { $0.0 == key }?.1 }
        return nil
    }
    var arrayValue: [JSON]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
