import HTTPClientCodec
import HTTPFetch
import VideoCore

/// URL ingest's download: fetches a video's `source_url` through the SSRF guard (every redirect
/// hop checked, connections only to checked addresses) and streams the body into storage under
/// the video's source key as it arrives — never the whole file in memory or on local disk.
/// A source over `maxBytes` stops there; like any failure mid-way, it leaves nothing stored
/// (the file backend drops its temporary file, S3 aborts the multipart upload).
struct SourceIngest: Sendable {
    /// How a failed download ends the job.
    enum Failure: Error, Sendable {
        /// Retrying cannot help (refused by the guard, 404, too large…): the video fails now.
        case permanent(FailureCode, String, refusedRule: String?)
        /// Network, server or storage trouble: retried by redelivery.
        case transient(String)
    }

    let fetcher: HTTPFetcher
    let dialer: GuardedDialer
    let maxBytes: Int64

    init(settings: Configuration.IngestSettings) {
        var options = HTTPFetcher.Options()
        options.stallTimeout = settings.stallTimeout
        options.totalTimeout = settings.timeout
        options.maxBodyBytes = settings.maxBytes
        options.tls = .client(caFile: settings.caFile)
        options.userAgent = "vidd-ingest"
        self.fetcher = HTTPFetcher(options: options)
        self.dialer = GuardedDialer(policy: settings.policy)
        self.maxBytes = settings.maxBytes
    }

    static let maxRedirects = 5

    /// Stores the source at `key` and returns it. `progress` gets the bytes stored so far and the
    /// declared size (when there is one) as the body arrives.
    func ingest(_ urlText: String, into storage: any Storage, key: String,
                progress: @escaping @Sendable (_ bytes: Int64, _ total: Int64?) -> Void) async throws -> ObjectInfo {
        let url: HTTPURL
        do { url = try dialer.policy.check(text: urlText) } catch { throw Failure.permanent(.sourceRefused, "source_url \(error)", refusedRule: error.rule.rawValue) }
        let response: HTTPFetchResponse
        do {
            response = try await fetcher.fetch(HTTPFetchRequest(url: url, maxRedirects: Self.maxRedirects), dialer: dialer)
        } catch {
            throw Self.classify(error)
        }
        guard response.status == 200 else {
            response.close()
            let where_ = response.redirects.isEmpty ? "" : " (after \(response.redirects.count) redirects)"
            let message = "source_url answered \(response.status) \(response.head.reason)\(where_): \(response.url)"
            // The server may recover from these; from anything else a retry gets the same answer.
            if [408, 425, 429].contains(response.status) || response.status >= 500 { throw Failure.transient(message) }
            throw Failure.permanent(.sourceUnavailable, message, refusedRule: nil)
        }
        // Asked for identity (HTTPFetcher only decodes that): a compressed body stored as the
        // source would fail later as "not a video", with nothing saying why.
        if let coding = response.head.headers["Content-Encoding"]?.trimmingBlanks().lowercased(), !coding.isEmpty, coding != "identity" {
            response.close()
            throw Failure.permanent(.sourceUnavailable, "source_url answered with Content-Encoding \(RequestText.shown(coding, limit: 40)) although "
                + "it was asked for the file as is (Accept-Encoding: identity); serve it uncompressed: \(response.url)", refusedRule: nil)
        }
        let total = response.contentLength
        progress(0, total)
        let type = response.head.headers["Content-Type"].flatMap { $0.lowercased().hasPrefix("video/") ? $0 : nil }
        let stored: ObjectInfo
        do {
            stored = try await storage.put(key: key, chunks: CountedChunks(base: response.body, total: total, progress: progress),
                                           contentType: type ?? "application/octet-stream")
        } catch let error as HTTPFetchError {
            throw Self.classify(error)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Failure.transient("storing the source: \(error)")
        }
        if stored.size == 0 {
            _ = try? await storage.delete(key: key)
            throw Failure.permanent(.emptyFile, "source_url returned an empty body: \(response.url)", refusedRule: nil)
        }
        return stored
    }

    static func classify(_ error: any Error) -> any Error {
        switch error {
        case let refusal as OutboundRefusal:
            return Failure.permanent(.sourceRefused, "source_url \(refusal)", refusedRule: refusal.rule.rawValue)
        case let e as HTTPFetchError:
            switch e {
            case .bodyTooLarge:
                return Failure.permanent(.limitExceeded, "source_url: \(e)", refusedRule: nil)
            // A response vidd cannot read (a transfer coding it does not decode, not HTTP at all)
            // comes the same on every retry; one cut short is `connectionLost`.
            case .tooManyRedirects, .invalidRedirect, .redirectWithoutLocation, .tls, .malformedResponse:
                return Failure.permanent(.sourceUnavailable, "source_url: \(e)", refusedRule: nil)
            case .noAddresses, .connectFailed, .stalled, .deadlineExceeded, .connectionLost:
                return Failure.transient("source_url: \(e)")
            }
        case is CancellationError:
            return error
        default:
            return Failure.transient("source_url: \(error)")
        }
    }
}

/// The response body on its way to storage, counted for progress.
struct CountedChunks<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == [UInt8] {
    typealias Element = [UInt8]
    let base: Base
    let total: Int64?
    let progress: @Sendable (Int64, Int64?) -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let total: Int64?
        let progress: @Sendable (Int64, Int64?) -> Void
        var count: Int64 = 0

        mutating func next() async throws -> [UInt8]? {
            guard let chunk = try await base.next() else { return nil }
            count += Int64(chunk.count)
            progress(count, total)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), total: total, progress: progress) }
}
