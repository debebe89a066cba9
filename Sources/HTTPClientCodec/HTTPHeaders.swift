/// An ordered list of HTTP header fields with case-insensitive lookup.
public struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    public private(set) var fields: [Field] = []

    public init() {}
    public init(_ pairs: [(String, String)]) { fields = pairs.map { Field(name: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    public mutating func add(_ name: String, _ value: String) { fields.append(Field(name: name, value: value)) }

    /// Replaces every field named `name` with one field (or removes them all when `value` is nil).
    public mutating func set(_ name: String, _ value: String?) {
        fields.removeAll { Self.equalNames($0.name, name) }
        if let value { fields.append(Field(name: name, value: value)) }
    }

    public mutating func remove(_ name: String) { set(name, nil) }

    /// The first value of `name`.
    public subscript(name: String) -> String? { fields.first { Self.equalNames($0.name, name) }?.value }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] { fields.filter { Self.equalNames($0.name, name) }.map(\.value) }

    public func contains(_ name: String) -> Bool { fields.contains { Self.equalNames($0.name, name) } }

    public var isEmpty: Bool { fields.isEmpty }
    public var count: Int { fields.count }
    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    public var description: String { fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }

    static func equalNames(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) where p != q {
            if p | 0x20 != q | 0x20 || !((p | 0x20) >= 97 && (p | 0x20) <= 122) { return false }
        }
        return true
    }
}
