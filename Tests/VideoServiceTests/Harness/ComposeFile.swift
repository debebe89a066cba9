#if canImport(Glibc)
import Glibc
#endif

/// The `services:` section of a docker-compose file, read line by line.
///
/// Not a YAML parser: it understands the shapes docker-compose.yaml uses (two-space indentation,
/// `key: value`, block lists `- item`, flow lists `["a", "b"]`, maps one level deep) and keeps
/// every service's raw lines so that anything else can still be searched.
struct ComposeFile {
    struct Service {
        var name: String
        var scalars: [String: String] = [:]
        var lists: [String: [String]] = [:]
        var maps: [String: [String: String]] = [:]
        var rawLines: [String] = []

        /// Host ports published under `ports:` (`"HOST:CONTAINER"` or `"IP:HOST:CONTAINER"`).
        var publishedHostPorts: [Int] {
            (lists["ports"] ?? []).compactMap { mapping in
                let parts = mapping.split(separator: ":")
                return parts.count >= 2 ? Int(parts[parts.count - 2]) : nil
            }
        }

        /// A `command`/`entrypoint`-style value as a list, whether written as flow or block list.
        func arguments(_ key: String) -> [String] {
            if let list = lists[key] { return list }
            if let flow = scalars[key] { return ComposeFile.flowList(flow) ?? [flow] }
            return []
        }
    }

    var services: [String: Service] = [:]

    init(text: String) {
        var inServices = false
        var current: String?
        var block: String? // the service key whose list or map the deeper lines belong to
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = Self.withoutComment(String(rawLine))
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty { continue }
            let indent = line.prefix { $0 == " " }.count
            if indent == 0 {
                inServices = trimmed == "services:"
                current = nil
                continue
            }
            guard inServices else { continue }
            if indent == 2, trimmed.hasSuffix(":") {
                let name = String(trimmed.dropLast())
                services[name] = Service(name: name)
                current = name
                block = nil
                continue
            }
            guard let name = current else { continue }
            services[name]!.rawLines.append(trimmed)
            if indent == 4, let (key, value) = Self.keyValue(trimmed) {
                if value.isEmpty { block = key } else { services[name]!.scalars[key] = value; block = nil }
            } else if indent >= 6, let key = block {
                if trimmed.hasPrefix("- ") {
                    services[name]!.lists[key, default: []].append(Self.unquoted(String(trimmed.dropFirst(2)).trimmingSpaces()))
                } else if indent == 6, let (k, v) = Self.keyValue(trimmed) {
                    services[name]!.maps[key, default: [:]][k] = v
                }
            }
        }
    }

    /// Reads and parses the file at `path`.
    init(path: String) throws {
        guard let file = fopen(path, "rb") else { throw ComposeFileError(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        self.init(text: String(decoding: bytes, as: UTF8.self))
    }

    /// `key: value` with the value unquoted; value is empty when a block follows.
    static func keyValue(_ line: String) -> (String, String)? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let key = String(line[..<colon]).trimmingSpaces()
        let value = String(line[line.index(after: colon)...]).trimmingSpaces()
        guard !key.isEmpty, !key.contains(" ") || key.hasPrefix("\"") else { return nil }
        return (unquoted(key), value.hasPrefix("[") ? value : unquoted(value))
    }

    /// `["a", "b", c]` as its elements, or nil when `text` is not a flow list.
    static func flowList(_ text: String) -> [String]? {
        guard text.hasPrefix("["), text.hasSuffix("]") else { return nil }
        var items: [String] = []
        var item = ""
        var quote: Character?
        for c in text.dropFirst().dropLast() {
            if let q = quote {
                if c == q { quote = nil } else { item.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "," {
                items.append(item.trimmingSpaces())
                item = ""
            } else {
                item.append(c)
            }
        }
        if !item.trimmingSpaces().isEmpty || !items.isEmpty { items.append(item.trimmingSpaces()) }
        return items
    }

    static func unquoted(_ s: String) -> String {
        if s.count >= 2, let first = s.first, first == "\"" || first == "'", s.last == first {
            return String(s.dropFirst().dropLast())
        }
        return s
    }

    /// The line without a trailing `# comment` (a `#` outside quotes, after a space or at the start).
    static func withoutComment(_ line: String) -> String {
        var quote: Character?
        var previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let c = line[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#", previous == " " {
                return String(line[..<index])
            }
            previous = c
            index = line.index(after: index)
        }
        return line
    }
}

struct ComposeFileError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot read \(path): \(reason)" }
}

extension String {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
