import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct EnvironmentFileTests {
    @Test func readsSystemdSyntax() throws {
        let text = """
            # a comment
            ; another comment
              VIDD_LISTEN=0.0.0.0:9000
            VIDD_REDIS_URL = redis://:pw@localhost:6379
            VIDD_TITLE="a \\"quoted\\" value"
            VIDD_SINGLE='literal \\n here'
            VIDD_EMPTY=
            VIDD_LONG=one \\
            two
            VIDD_CRLF=yes\r

            VIDD_LISTEN=127.0.0.1:1
            """
        let env = try EnvironmentFile.parse(text)
        #expect(env["VIDD_LISTEN"] == "127.0.0.1:1", "a later assignment wins")
        #expect(env["VIDD_REDIS_URL"] == "redis://:pw@localhost:6379")
        #expect(env["VIDD_TITLE"] == "a \"quoted\" value")
        #expect(env["VIDD_SINGLE"] == "literal \\n here")
        #expect(env["VIDD_EMPTY"] == "")
        #expect(env["VIDD_LONG"] == "one two")
        #expect(env["VIDD_CRLF"] == "yes")
        #expect(env.count == 7)
    }

    @Test(arguments: [
        ("JUST A LINE", 1, "expected KEY=VALUE"),
        ("\n\n1ABC=x", 3, "invalid variable name \"1ABC\""),
        ("A=\"open", 1, "unterminated double quote"),
        ("# c\nB='open", 2, "unterminated single quote"),
    ])
    func reportsTheLine(text: String, line: Int, reason: String) {
        #expect(throws: EnvironmentFile.ParseError(line: line, reason: reason)) { try EnvironmentFile.parse(text) }
    }
}
