import FoundationEssentials

extension HTTPResponse {
    /// A JSON response (`application/json`).
    public static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok, encoder: JSONEncoder = JSONEncoder()) throws -> HTTPResponse {
        let data = try encoder.encode(value)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: .bytes(Array(data)))
    }
}

extension HTTPRequest {
    /// Decodes a JSON body of at most `maxBytes` (413 beyond); a body that does not decode is a 400
    /// naming the decoding error.
    public func decodeJSON<T: Decodable>(_ type: T.Type, maxBytes: Int = 1 << 20, decoder: JSONDecoder = JSONDecoder()) async throws -> T {
        let bytes = try await body.collect(upTo: maxBytes)
        do {
            return try decoder.decode(T.self, from: Data(bytes))
        } catch {
            throw HTTPError(.badRequest, "invalid JSON body: \(error)")
        }
    }
}
