/// A PostgreSQL type OID.
public struct PGOID: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// 0: let the server infer the parameter's type (what libpq does for untyped text).
    public static let unspecified = PGOID(0)
    public static let bool = PGOID(16)
    public static let bytea = PGOID(17)
    public static let char = PGOID(18)
    public static let name = PGOID(19)
    public static let int8 = PGOID(20)
    public static let int2 = PGOID(21)
    public static let int4 = PGOID(23)
    public static let text = PGOID(25)
    public static let oid = PGOID(26)
    public static let json = PGOID(114)
    public static let float4 = PGOID(700)
    public static let float8 = PGOID(701)
    public static let unknown = PGOID(705)
    public static let bpchar = PGOID(1042)
    public static let varchar = PGOID(1043)
    public static let date = PGOID(1082)
    public static let time = PGOID(1083)
    public static let timestamp = PGOID(1114)
    public static let timestamptz = PGOID(1184)
    public static let interval = PGOID(1186)
    public static let numeric = PGOID(1700)
    public static let uuid = PGOID(2950)
    public static let jsonb = PGOID(3802)
    public static let void = PGOID(2278)

    public static let boolArray = PGOID(1000)
    public static let byteaArray = PGOID(1001)
    public static let nameArray = PGOID(1003)
    public static let int2Array = PGOID(1005)
    public static let int4Array = PGOID(1007)
    public static let textArray = PGOID(1009)
    public static let bpcharArray = PGOID(1014)
    public static let varcharArray = PGOID(1015)
    public static let int8Array = PGOID(1016)
    public static let float4Array = PGOID(1021)
    public static let float8Array = PGOID(1022)
    public static let oidArray = PGOID(1028)
    public static let timestampArray = PGOID(1115)
    public static let dateArray = PGOID(1182)
    public static let timestamptzArray = PGOID(1185)
    public static let intervalArray = PGOID(1187)
    public static let numericArray = PGOID(1231)
    public static let uuidArray = PGOID(2951)
    public static let jsonArray = PGOID(199)
    public static let jsonbArray = PGOID(3807)

    /// Element type of the array types above (nil for anything else).
    public var arrayElementType: PGOID? { Self.elementOf[self] }

    static let elementOf: [PGOID: PGOID] = [
        .boolArray: .bool, .byteaArray: .bytea, .nameArray: .name, .int2Array: .int2, .int4Array: .int4,
        .textArray: .text, .bpcharArray: .bpchar, .varcharArray: .varchar, .int8Array: .int8,
        .float4Array: .float4, .float8Array: .float8, .oidArray: .oid, .timestampArray: .timestamp,
        .dateArray: .date, .timestamptzArray: .timestamptz, .intervalArray: .interval,
        .numericArray: .numeric, .uuidArray: .uuid, .jsonArray: .json, .jsonbArray: .jsonb,
    ]

    /// Types whose binary form this module decodes; results of other types are requested as text.
    public var hasBinaryCodec: Bool {
        switch self {
        case .bool, .bytea, .char, .name, .int8, .int2, .int4, .text, .oid, .json, .float4, .float8, .unknown,
             .bpchar, .varchar, .date, .timestamp, .timestamptz, .interval, .numeric, .uuid, .jsonb:
            return true
        default:
            return arrayElementType?.hasBinaryCodec ?? false
        }
    }

    public var description: String {
        switch self {
        case .bool: "bool"
        case .bytea: "bytea"
        case .char: "char"
        case .name: "name"
        case .int8: "int8"
        case .int2: "int2"
        case .int4: "int4"
        case .text: "text"
        case .oid: "oid"
        case .json: "json"
        case .float4: "float4"
        case .float8: "float8"
        case .unknown: "unknown"
        case .bpchar: "bpchar"
        case .varchar: "varchar"
        case .date: "date"
        case .time: "time"
        case .timestamp: "timestamp"
        case .timestamptz: "timestamptz"
        case .interval: "interval"
        case .numeric: "numeric"
        case .uuid: "uuid"
        case .jsonb: "jsonb"
        default: arrayElementType.map { "\($0)[]" } ?? "oid \(rawValue)"
        }
    }
}
