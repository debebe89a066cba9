import Foundation
import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct JSONValueTests {
    @Test func escapesWhatJSONRequiresAndKeepsTheRestByteForByte() throws {
        let tricky = "a\"b\\c\nd\re\tf\u{01}g\u{1F}h é ✓ 🎬 </script>"
        let value: JSONValue = .object([("k\"ey", .string(tricky)), ("n", .integer(-42)), ("x", .number(1.5)),
                                        ("ok", .bool(true)), ("none", .null), ("list", .array([.string(""), .raw("{\"r\":1}")]))])
        #expect(value.text == #"{"k\"ey":"a\"b\\c\nd\re\tf\u0001g\u001fh é ✓ 🎬 </script>","n":-42,"x":1.5,"ok":true,"none":null,"list":["",{"r":1}]}"#)
        // Any JSON parser reads back exactly the original string.
        let parsed = try JSONSerialization.jsonObject(with: Data(value.bytes)) as? [String: Any]
        #expect(parsed?["k\"ey"] as? String == tricky)
        #expect(JSONText.string(tricky) == String(decoding: JSONValue.string(tricky).bytes, as: UTF8.self))
    }

    @Test func nonFiniteNumbersAreNull() {
        #expect(JSONValue.array([.number(.nan), .number(.infinity)]).text == "[null,null]")
    }
}
