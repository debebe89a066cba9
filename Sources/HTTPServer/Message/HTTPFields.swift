/// An ordered list of header (or trailer) fields as received, with case-insensitive lookup.
/// Order and duplicates are kept because some fields (Set-Cookie, list fields) depend on them.
public struct HTTPFields: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public private(set) var fields: [Field] = []

    public init() {}
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { Field(name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }
    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    public mutating func append(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every field with this name by one field (or removes them when `value` is nil).
    public subscript(name: String) -> String? {
        get { fields.first { HTTPFields.namesEqual($0.name, name) }?.value }
        set {
            if let index = fields.firstIndex(where: { HTTPFields.namesEqual($0.name, name) }) {
                if let newValue {
                    fields[index].value = newValue
                    fields.removeAll { HTTPFields.namesEqual($0.name, name) && $0.value != newValue }
                } else {
                    fields.removeAll { HTTPFields.namesEqual($0.name, name) }
                }
            } else if let newValue {
                fields.append(Field(name: name, value: newValue))
            }
        }
    }

    public func values(_ name: String) -> [String] {
        fields.filter { HTTPFields.namesEqual($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool {
        fields.contains { HTTPFields.namesEqual($0.name, name) }
    }

    /// Field names are ASCII tokens (the parser guarantees it), so an ASCII case fold is exact.
    static func namesEqual(_ a: String, _ b: String) -> Bool {
        let a = a.utf8, b = b.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { asciiLower($0) == asciiLower($1) }
    }
}

@inline(__always) func asciiLower(_ c: UInt8) -> UInt8 {
    c &- 0x41 < 26 ? c | 0x20 : c
}
