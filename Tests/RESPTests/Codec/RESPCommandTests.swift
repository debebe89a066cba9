import Testing
@testable import RESP

@Suite struct RESPCommandTests {
    @Test func encodesStringsBytesAndIntegers() {
        var cmd = RESPCommand("SET", "k\u{e9}y", [UInt8]([0, 13, 10, 255]))
        cmd.append(-42)
        cmd.append(UInt64.max)
        #expect(cmd.argumentCount == 5)
        let expected: [UInt8] = Array("*5\r\n$3\r\nSET\r\n$4\r\nk\u{e9}y\r\n$4\r\n".utf8) + [0, 13, 10, 255]
            + Array("\r\n$3\r\n-42\r\n$20\r\n18446744073709551615\r\n".utf8)
        #expect(cmd.bytes == expected)
        #expect(cmd.encodedLength == expected.count)
        #expect(cmd.name == "SET")
    }

    @Test(arguments: [(0, "0"), (7, "7"), (-1, "-1"), (10, "10"), (Int.max, "9223372036854775807"), (Int.min, "-9223372036854775808")])
    func integerDigits(_ value: Int, _ text: String) {
        #expect(RESPCommand.decimalDigits(value) == Array(text.utf8))
    }

    @Test func doublesUseRedisSpelling() {
        var cmd = RESPCommand()
        cmd.append(1.5)
        cmd.append(Double.infinity)
        cmd.append(-Double.infinity)
        cmd.append(3.0)
        #expect(cmd.bytes == Array("*4\r\n$3\r\n1.5\r\n$4\r\n+inf\r\n$4\r\n-inf\r\n$1\r\n3\r\n".utf8))
    }

    @Test func emptyArgumentAndLargeArgument() {
        let big = [UInt8](repeating: 0x61, count: 70_000)
        let cmd = RESPCommand("SET", "", big)
        let wire = cmd.bytes
        #expect(wire.starts(with: Array("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$70000\r\n".utf8)))
        #expect(wire.count == cmd.encodedLength)
    }

    @Test func encodedCommandDecodesBackAsArrayOfBulks() throws {
        let cmd = RESPCommand("XADD", "s", "MAXLEN", "~", 1000, "*", "field", [UInt8]([1, 2]))
        var reader = RESPReader()
        reader.feed(cmd.bytes)
        let value = try reader.next()
        #expect(value == .array(["XADD", "s", "MAXLEN", "~", "1000", "*", "field"].map { .bulkString(Array($0.utf8)) } + [.bulkString([1, 2])]))
    }

    /// QUIT in any case, alone; nothing else.
    @Test(arguments: [("QUIT", true), ("quit", true), ("QuIt", true), ("QUITS", false), ("QUI", false), ("PING", false)])
    func quitIsRecognised(_ name: String, _ isQuit: Bool) {
        #expect(RESPCommand(name).isQuit == isQuit)
    }

    @Test func quitWithAnArgumentIsNotQuit() {
        #expect(!RESPCommand("QUIT", "now").isQuit)
        #expect(!RESPCommand().isQuit)
    }
}
