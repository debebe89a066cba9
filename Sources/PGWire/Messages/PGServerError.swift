/// An ErrorResponse or NoticeResponse, with every field the server sent.
///
/// `description` prints severity, SQLSTATE, message, detail and hint — what a person reading a
/// log needs (postgres-nio #354 was about hiding these behind a generic text).
public struct PGServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Field codes of the protocol ("Error and Notice Message Fields").
    public enum Field: UInt8, Sendable, CaseIterable {
        case localizedSeverity = 0x53  // S
        case severity = 0x56           // V
        case sqlState = 0x43           // C
        case message = 0x4D            // M
        case detail = 0x44             // D
        case hint = 0x48               // H
        case position = 0x50           // P
        case internalPosition = 0x70   // p
        case internalQuery = 0x71      // q
        case whereContext = 0x57       // W
        case schemaName = 0x73         // s
        case tableName = 0x74          // t
        case columnName = 0x63         // c
        case dataTypeName = 0x64       // d
        case constraintName = 0x6E     // n
        case file = 0x46               // F
        case line = 0x4C               // L
        case routine = 0x52            // R
    }

    /// Every field by its code, including codes this client does not know (kept, not dropped).
    public var fields: [UInt8: String]

    public init(fields: [UInt8: String]) { self.fields = fields }

    public subscript(_ field: Field) -> String? { fields[field.rawValue] }

    /// Non-localized severity when the server sent it (9.6+), else the localized one.
    public var severity: String { self[.severity] ?? self[.localizedSeverity] ?? "ERROR" }
    /// The five-character SQLSTATE, e.g. "23505" for unique_violation.
    public var sqlState: String { self[.sqlState] ?? "XX000" }
    public var message: String { self[.message] ?? "" }
    public var detail: String? { self[.detail] }
    public var hint: String? { self[.hint] }
    /// 1-based character position in the query text.
    public var position: Int? { self[.position].flatMap { Int($0) } }
    public var internalPosition: Int? { self[.internalPosition].flatMap { Int($0) } }
    public var internalQuery: String? { self[.internalQuery] }
    public var whereContext: String? { self[.whereContext] }
    public var schemaName: String? { self[.schemaName] }
    public var tableName: String? { self[.tableName] }
    public var columnName: String? { self[.columnName] }
    public var dataTypeName: String? { self[.dataTypeName] }
    public var constraintName: String? { self[.constraintName] }
    public var file: String? { self[.file] }
    public var line: Int? { self[.line].flatMap { Int($0) } }
    public var routine: String? { self[.routine] }

    public var description: String {
        var s = "\(severity) \(sqlState): \(message)"
        if let detail { s += " DETAIL: \(detail)" }
        if let hint { s += " HINT: \(hint)" }
        if let position { s += " (at character \(position))" }
        return s
    }
}
