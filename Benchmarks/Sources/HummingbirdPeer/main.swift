// HummingbirdPeer: Hummingbird 2 answering the same small-JSON route as HTTPBench, for wrk.
//   .build/release/HummingbirdPeer [port]    GET /json → {"message":"Hello, World!"}
import Foundation
import Hummingbird

struct Message: ResponseEncodable {
    let message: String
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8082 : 8082
let router = Router()
router.get("json") { _, _ in
    Message(message: "Hello, World!")
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
print("HummingbirdPeer listening on 127.0.0.1:\(port)")
try await app.runService()
