import ArgumentParser
import VFIOCore

/// The commands the libvirt hook runs at every VM start and stop (`bind`, `restore`, `shield`, `unshield`) parse
/// their plain forms here, without ArgumentParser: building its parser (reflection over every property wrapper)
/// costs more than a whole bind's sysfs work on a slow machine. Only the forms ArgumentParser would read the same
/// way are accepted: long options by their declared names (`--opt value` or `--opt=value`), flags, positional
/// arguments. Anything else (help, short options, `--`, an unknown or repeated option, a missing value, a bad
/// number, a value of the wrong type, a failed `validate()`) returns nil, and the arguments go through
/// ArgumentParser, which prints its usage errors (exit 64).
/// CLITests check that both parsers agree.
struct FastArguments {
    var flags: Set<String> = []
    var options: [String: String] = [:]
    var lists: [String: [String]] = [:]
    var positionals: [String] = []

    /// `flags`, `options` (one value) and `lists` (values up to the next option) are long names with their dashes.
    init?(_ arguments: [String], flags knownFlags: Set<String>, options knownOptions: Set<String> = [],
          lists knownLists: Set<String> = []) {
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            guard arg.hasPrefix("-") else {
                positionals.append(arg)
                continue
            }
            guard arg.hasPrefix("--"), arg != "--" else { return nil }
            let parts = arg.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let inline = parts.count == 2 ? String(parts[1]) : nil
            if knownFlags.contains(name) {
                guard inline == nil, flags.insert(name).inserted else { return nil }
            } else if knownOptions.contains(name) {
                guard options[name] == nil else { return nil }
                if let inline {
                    options[name] = inline
                } else {
                    guard i < arguments.count, !arguments[i].hasPrefix("-") else { return nil }
                    options[name] = arguments[i]
                    i += 1
                }
            } else if knownLists.contains(name) {
                guard lists[name] == nil else { return nil }
                var values: [String] = inline.map { [$0] } ?? []
                while inline == nil, i < arguments.count, !arguments[i].hasPrefix("-") {
                    values.append(arguments[i])
                    i += 1
                }
                guard !values.isEmpty else { return nil }
                lists[name] = values
            } else {
                return nil
            }
        }
    }

    var root: RootOptions {
        var r = RootOptions()
        r.root = options["--root"] ?? "/"
        return r
    }
}

extension Bind {
    static func fastParse(_ arguments: [String]) -> Bind? {
        guard let a = FastArguments(arguments, flags: ["--dry-run", "--force", "--take-display"], options: ["--root"]),
              !a.positionals.isEmpty else { return nil }
        guard let addresses: [PCIAddress] = typed(a.positionals) else { return nil }
        var c = Bind()
        c.root = a.root
        c.addresses = addresses
        c.dryRun = a.flags.contains("--dry-run")
        c.force = a.flags.contains("--force")
        c.takeDisplay = a.flags.contains("--take-display")
        c.json = false
        c.watchdog = nil
        c.confirm = false
        c.watchdogRun = nil
        return validated(c)
    }
}

extension Restore {
    static func fastParse(_ arguments: [String]) -> Restore? {
        guard let a = FastArguments(arguments, flags: ["--dry-run", "--drop-corrupt"], options: ["--root"]) else { return nil }
        guard let addresses: [PCIAddress] = typed(a.positionals) else { return nil }
        var c = Restore()
        c.root = a.root
        c.addresses = addresses
        c.dryRun = a.flags.contains("--dry-run")
        c.dropCorrupt = a.flags.contains("--drop-corrupt")
        return validated(c)
    }
}

extension Shield {
    static func fastParse(_ arguments: [String]) -> Shield? {
        guard let a = FastArguments(arguments, flags: ["--dry-run", "--status"], options: ["--root", "--cpus", "--spec", "--vm"],
                                    lists: ["--move"]),
              a.positionals.isEmpty else { return nil }
        var pids: [Int] = []
        for text in a.lists["--move"] ?? [] {
            guard let pid = Int(text) else { return nil }
            pids.append(pid)
        }
        var cpus: CPUSet?
        if let text = a.options["--cpus"] {
            guard let set = CPUSet(argument: text) else { return nil }
            cpus = set
        }
        var c = Shield()
        c.root = a.root
        c.cpus = cpus
        c.spec = a.options["--spec"]
        c.vm = a.options["--vm"]
        c.dryRun = a.flags.contains("--dry-run")
        c.move = pids
        c.status = a.flags.contains("--status")
        return validated(c)
    }
}

extension Unshield {
    static func fastParse(_ arguments: [String]) -> Unshield? {
        guard let a = FastArguments(arguments, flags: ["--drop-corrupt"], options: ["--root", "--vm"]), a.positionals.isEmpty else { return nil }
        var c = Unshield()
        c.root = a.root
        c.vm = a.options["--vm"]
        c.dropCorrupt = a.flags.contains("--drop-corrupt")
        return validated(c)
    }
}

/// Each value as its argument type, or nil when one is not (ArgumentParser then names it).
private func typed<T: ExpressibleByArgument>(_ texts: [String]) -> [T]? {
    var out: [T] = []
    for text in texts {
        guard let value = T(argument: text) else { return nil }
        out.append(value)
    }
    return out
}

/// The command when its `validate()` passes; nil sends the arguments to ArgumentParser, which reports the error.
private func validated<C: ParsableCommand>(_ command: C) -> C? {
    var checked = command
    return (try? checked.validate()) == nil ? nil : command
}
