/// A configured endpoint (`GET /webhooks`); the secret is only shown when it is created.
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: String
    public var url: String
    /// nil: every event.
    public var events: [WebhookEventType]?
    public var createdAt: String
    public var disabledAt: String?
    public var disabledReason: String?

    init(row: [String?]) throws(RowDecodingError) {
        guard row.count >= 7, let id = row[0], let url = row[1], let created = row[4] else {
            throw RowDecodingError(what: "webhook endpoint", column: 0, value: nil)
        }
        self.id = id
        self.url = url
        self.events = row[3] == "true" ? nil : (row[2] ?? "").split(separator: ",").compactMap { WebhookEventType(rawValue: String($0)) }
        self.createdAt = created
        self.disabledAt = row[5]
        self.disabledReason = row[6]
    }
}

/// One delivery with its attempts (`GET /webhooks/{id}/deliveries`).
public struct WebhookDeliveryRecord: Sendable, Equatable {
    public var id: String
    public var eventType: String
    public var videoID: String?
    public var status: String
    public var attempts: Int
    public var nextAttemptAt: String
    public var createdAt: String
    public var lastError: String?
    /// The attempts as a JSON array (status code, latency, error, time of each).
    public var attemptsJSON: String
}

/// A due delivery taken by the delivery loop.
public struct ClaimedWebhookDelivery: Sendable, Equatable {
    public var id: String
    public var endpointID: String
    public var url: String
    public var secret: String
    public var payload: String
    /// The video the event is about (its signed URLs are signed again for each attempt).
    public var videoID: String?
    public var attemptsMade: Int
    public var age: Duration
}

/// The database side of webhooks: endpoints, and the delivery outbox.
public struct WebhookStore<DB: SQLTransactionalExecutor>: Sendable {
    public let db: DB
    public init(db: DB) { self.db = db }

    public func createEndpoint(id: String, url: String, secret: WebhookSecret, events: [WebhookEventType]?) async throws -> WebhookEndpoint {
        let array = events.map { "{" + $0.map(\.rawValue).joined(separator: ",") + "}" }
        guard let row = try await db.query(SQL.insertWebhookEndpoint, [id, url, secret.text, array]).first else {
            throw RowDecodingError(what: "inserted webhook endpoint", column: 0, value: nil)
        }
        return try WebhookEndpoint(row: row)
    }

    public func endpoints() async throws -> [WebhookEndpoint] {
        try await db.query(SQL.listWebhookEndpoints, []).map { row throws(RowDecodingError) in try WebhookEndpoint(row: row) }
    }

    /// False when there was no such endpoint.
    public func deleteEndpoint(id: String) async throws -> Bool {
        try await !db.query(SQL.deleteWebhookEndpoint, [id]).isEmpty
    }

    /// nil when there is no such endpoint.
    public func deliveries(endpointID: String, limit: Int) async throws -> [WebhookDeliveryRecord]? {
        guard try await !db.query(SQL.webhookEndpointExists, [endpointID]).isEmpty else { return nil }
        return try await db.query(SQL.listWebhookDeliveries, [endpointID, String(limit)]).map { row throws(RowDecodingError) in
            guard row.count >= 9, let id = row[0], let type = row[1], let status = row[3], let attempts = row[4].flatMap({ Int($0) }),
                  let next = row[5], let created = row[6] else {
                throw RowDecodingError(what: "webhook delivery", column: 0, value: row.first ?? nil)
            }
            return WebhookDeliveryRecord(id: id, eventType: type, videoID: row[2], status: status, attempts: attempts,
                                         nextAttemptAt: next, createdAt: created, lastError: row[7], attemptsJSON: row[8] ?? "[]")
        }
    }

    /// Drops delivered and given-up deliveries last changed more than `age` ago.
    public func prune(olderThan age: Duration) async throws {
        _ = try await db.query(SQL.pruneWebhookDeliveries, [String(age.components.seconds)])
    }

    /// Up to `limit` due deliveries, each leased for `lease`.
    public func claimDue(limit: Int, lease: Duration) async throws -> [ClaimedWebhookDelivery] {
        try await db.query(SQL.claimWebhookDeliveries, [String(limit), String(lease.wholeMilliseconds)]).map { row throws(RowDecodingError) in
            guard row.count >= 7, let id = row[0], let endpoint = row[1], let url = row[2], let secret = row[3], let payload = row[4],
                  let attempts = row[5].flatMap({ Int($0) }), let age = row[6].flatMap({ Int64($0) }) else {
                throw RowDecodingError(what: "claimed webhook delivery", column: 0, value: row.first ?? nil)
            }
            return ClaimedWebhookDelivery(id: id, endpointID: endpoint, url: url, secret: secret, payload: payload,
                                          videoID: row.count > 7 ? row[7] : nil, attemptsMade: attempts, age: .milliseconds(age))
        }
    }

    /// Records one attempt and the delivery's new state, in one transaction.
    public func record(attempt: WebhookAttemptRecord, state: WebhookDeliveryState, nextAttemptIn: Duration, disableEndpoint: String?) async throws {
        try await db.inTransaction { tx in
            _ = try await tx.query(SQL.insertWebhookAttempt, [
                attempt.deliveryID, String(attempt.attempt), String(attempt.startedAtMilliseconds), String(attempt.latencyMilliseconds),
                attempt.responseCode.map(String.init), String(attempt.succeeded), attempt.error,
            ])
            _ = try await tx.query(SQL.updateWebhookDelivery, [
                attempt.deliveryID, String(state.attempts), state.status.rawValue, String(nextAttemptIn.wholeMilliseconds), attempt.error,
            ])
            if let reason = disableEndpoint {
                _ = try await tx.query(SQL.disableWebhookEndpoint, [attempt.endpointID, reason])
            }
        }
    }
}

/// One attempt as recorded.
public struct WebhookAttemptRecord: Sendable, Equatable {
    public var deliveryID: String
    public var endpointID: String
    public var attempt: Int
    public var startedAtMilliseconds: Int64
    public var latencyMilliseconds: Int64
    public var responseCode: Int?
    public var succeeded: Bool
    /// Short: what went wrong (`HTTP 500`, `connection refused`, `timed out after 10 s`).
    public var error: String?
}
