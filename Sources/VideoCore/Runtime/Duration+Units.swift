extension Duration {
    /// Whole milliseconds (truncated toward zero): the unit of Redis arguments, SQL intervals,
    /// SSE `retry:` and log fields.
    package var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Seconds as a fraction: metrics, SQL intervals and log fields.
    package var fractionalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
