/// The wire format of a value.
public enum PGFormat: Int16, Sendable, Equatable {
    case text = 0
    case binary = 1
}
