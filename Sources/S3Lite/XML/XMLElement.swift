/// A parsed XML element: S3 responses are small documents read whole, so a tree is enough.
public struct XMLElement: Sendable, Hashable {
    /// Local name (any `prefix:` dropped; S3 uses one default namespace).
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLElement]
    /// Concatenated character data directly inside this element, entities decoded.
    public var text: String

    public init(name: String, attributes: [String: String] = [:], children: [XMLElement] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    public func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
    /// Text of the first child called `name`.
    public func string(_ name: String) -> String? { child(name)?.text }

    /// Serializes (for request bodies such as CompleteMultipartUpload and Delete).
    public func serialized() -> String {
        var out = "<\(name)"
        for (k, v) in attributes.sorted(by: { $0.key < $1.key }) { out += " \(k)=\"\(XMLParser.escape(v))\"" }
        out += ">"
        out += XMLParser.escape(text)
        for c in children { out += c.serialized() }
        out += "</\(name)>"
        return out
    }
}
