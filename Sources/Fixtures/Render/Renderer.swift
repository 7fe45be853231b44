/// Turns a ``HostTree`` into files. Each part of the tree has its own file in this folder.
struct Renderer {
    let host: HostTree

    func render() throws -> FileTree {
        let layout = try Layout(host: host)
        var tree = FileTree()
        let modules = ModuleSet(host: host, layout: layout)
        PCIRenderer(host: host, layout: layout, modules: modules).render(into: &tree)
        IOMMURenderer(host: host, layout: layout).render(into: &tree)
        CPURenderer(host: host).render(into: &tree)
        MemoryRenderer(host: host).render(into: &tree)
        InterruptRenderer(host: host, layout: layout).render(into: &tree)
        modules.render(into: &tree)
        SystemRenderer(host: host, layout: layout, modules: modules).render(into: &tree)
        for (path, text) in host.extraFiles.sorted(by: { $0.key < $1.key }) { tree.file(path, text) }
        return tree
    }
}
