import VideoCore

/// What `/openapi.json` says about the tus routes beyond the generic shape: the tus headers each
/// takes and returns, its bodies, and its refusals.
enum TusOpenAPI {
    static func header(_ name: String, _ description: String, required: Bool = false, schema: JSONValue = ["type": "string"]) -> JSONValue {
        ["name": .string(name), "in": "header", "required": .bool(required), "description": .string(description), "schema": schema]
    }

    static let tusResumable = header("Tus-Resumable", "The tus version the client speaks: 1.0.0 (412 with Tus-Version otherwise)", required: true,
                                     schema: ["type": "string", "enum": .array(TusProtocol.supportedVersions.map { .string($0) })])
    static let methodOverride = header("X-HTTP-Method-Override", "Taken as the request's method (for clients that cannot send PATCH or DELETE)")
    static let offset = header("Upload-Offset", "Where the bytes go: the upload's current offset, from HEAD (409 otherwise)", required: true,
                               schema: ["type": "integer", "minimum": 0])
    static let checksum = header("Upload-Checksum", "\"<algorithm> <base64 digest>\" of this body (\(TusProtocol.checksumAlgorithms.joined(separator: ", "))): a mismatch is refused with 460 and nothing of the body is kept")

    static func parameters(_ handler: APIRoute.Handler) -> [JSONValue] {
        switch handler {
        case .tusCreate:
            return [tusResumable,
                    header("Upload-Length", "Size of the whole upload in bytes (at most Tus-Max-Size: 413 otherwise)", schema: ["type": "integer", "minimum": 1]),
                    header("Upload-Defer-Length", "1: the length is not known yet and comes with a later PATCH", schema: ["type": "string", "enum": ["1"]]),
                    header("Upload-Metadata", "Comma-separated \"key base64(value)\" pairs; filename (or name) names the stored source, title titles the video, filetype its type, visibility (public or private) who may see it"),
                    checksum, methodOverride]
        case .tusHead, .tusTerminate:
            return [tusResumable, methodOverride]
        case .tusAppend:
            return [tusResumable, offset, checksum,
                    header("Upload-Length", "Sets the length of an upload created with Upload-Defer-Length: 1", schema: ["type": "integer", "minimum": 1]),
                    methodOverride]
        default:
            return []
        }
    }

    static func requestBody(_ handler: APIRoute.Handler) -> JSONValue? {
        let content = JSONValue.object([(TusProtocol.offsetContentType, ["schema": ["type": "string", "format": "binary"]])])
        switch handler {
        case .tusAppend: return ["required": true, "content": content]
        case .tusCreate: return ["required": false, "description": "creation-with-upload: the first bytes of the upload", "content": content]
        default: return nil
        }
    }

    static func responseHeader(_ description: String, _ type: String = "string") -> JSONValue {
        ["description": .string(description), "schema": ["type": .string(type)]]
    }

    static let expires = responseHeader("When the unfinished upload is swept if nothing more arrives (RFC 9110 date)")
    static let tusResumableOut = responseHeader("1.0.0, on every response")

    static func success(_ handler: APIRoute.Handler) -> JSONValue {
        switch handler {
        case .tusOptions:
            return ["description": "What the server supports", "headers": [
                "Tus-Version": responseHeader("Supported versions, preferred first"),
                "Tus-Extension": responseHeader(TusProtocol.extensions.joined(separator: ",")),
                "Tus-Max-Size": responseHeader("Largest upload in bytes (VIDD_TUS_MAX_SIZE)", "integer"),
                "Tus-Checksum-Algorithm": responseHeader(TusProtocol.checksumAlgorithms.joined(separator: ",")),
            ]]
        case .tusCreate:
            return ["description": "Created. The upload's id (the last segment of Location) is also the id of the video it becomes", "headers": [
                "Location": responseHeader("/uploads/{id}"),
                "Upload-Offset": responseHeader("With creation-with-upload: the offset after the bytes that were kept", "integer"),
                "Upload-Expires": expires, "Tus-Resumable": tusResumableOut,
            ]]
        case .tusHead:
            return ["description": "The upload's state (no body; Cache-Control: no-store)", "headers": [
                "Upload-Offset": responseHeader("Bytes stored: resume here", "integer"),
                "Upload-Length": responseHeader("Size of the upload, when known", "integer"),
                "Upload-Defer-Length": responseHeader("1 while the length is not known"),
                "Upload-Metadata": responseHeader("As sent at creation"),
                "Upload-Expires": expires, "Tus-Resumable": tusResumableOut,
            ]]
        case .tusAppend:
            return ["description": "Appended; when Upload-Offset reaches Upload-Length the upload becomes a video (GET /videos/{id})", "headers": [
                "Upload-Offset": responseHeader("The new offset", "integer"), "Upload-Expires": expires, "Tus-Resumable": tusResumableOut,
            ]]
        case .tusTerminate:
            return ["description": "Terminated: later requests get 410", "headers": ["Tus-Resumable": tusResumableOut]]
        default:
            return ["description": "OK"]
        }
    }

    static func errors(_ handler: APIRoute.Handler) -> [Int] {
        switch handler {
        case .tusCreate: [412, 413, 415, 422, 460, 503]
        case .tusHead, .tusTerminate: [410, 412, 503]
        case .tusAppend: [409, 410, 412, 413, 415, 460, 503]
        default: []
        }
    }
}
