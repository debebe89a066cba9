/// An error reply from the server (`-ERR ...` or bulk error `!`), split into Redis's error code and
/// the rest of the message so callers can branch on the code (`WRONGPASS`, `NOPERM`, `BUSYGROUP`…).
public struct RESPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The leading upper-case word by Redis convention (`ERR`, `WRONGTYPE`, `NOPERM`); empty when the
    /// message does not start with one.
    public var code: String
    /// The text after the code.
    public var message: String
    /// True when it arrived as a RESP3 bulk error (`!`), which may contain CR/LF.
    public var isBulk: Bool

    public init(code: String, message: String, isBulk: Bool = false) {
        self.code = code
        self.message = message
        self.isBulk = isBulk
    }

    /// Splits a full error line the way Redis builds them: `CODE message`.
    public init(line: String, isBulk: Bool = false) {
        self.isBulk = isBulk
        let word = line.prefix { $0 != " " }
        if !word.isEmpty, word.allSatisfy({ ($0 >= "A" && $0 <= "Z") || $0 == "_" || ($0 >= "0" && $0 <= "9") }),
            word.first!.isLetter
        {
            code = String(word)
            message = String(line.dropFirst(word.count).drop { $0 == " " })
        } else {
            code = ""
            message = line
        }
    }

    public var description: String { code.isEmpty ? message : "\(code) \(message)" }
}
