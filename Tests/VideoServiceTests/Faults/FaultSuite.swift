import Testing

/// The fault suite: vidd's promise — every accepted video completed exactly once, bad input
/// refused or failed with a clear error, nothing left behind — checked while workers are
/// killed, Redis and PostgreSQL restart, S3 fails, and clients misbehave. Each scenario is a
/// suite in this folder. They transcode and kill processes, so they run one at a time (the
/// upload-limit scenarios, which only wait on sockets, are a suite of their own beside them).
///
/// `scripts/test.sh` runs the short form; `scripts/fault-suite.sh` the long one (`FaultScale`),
/// whose figures are in docs/reliability.md.
@Suite(.serialized) struct FaultSuite {}
