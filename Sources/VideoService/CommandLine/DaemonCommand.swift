import VideoAPI
import VideoCore
import VideoWorker

/// `vidd`'s command line: which command, its options, and `--help` text for each.
///
///     vidd serve     [--env-file PATH]           the HTTP API
///     vidd worker    [--env-file PATH] [--concurrency N]
///     vidd all       [--env-file PATH] [--concurrency N]   API and worker in one process
///     vidd migrate   [--env-file PATH]           apply database migrations, then exit
///     vidd probe     FILE [options]              (Transcode's own options follow)
///     vidd transcode INPUT OUTPUT_DIR [options]
///     vidd version
public enum DaemonCommand: Sendable, Equatable {
    public struct ServiceOptions: Sendable, Equatable {
        /// An EnvironmentFile (systemd syntax) read before the process environment.
        public var environmentFile: String?
        /// Overrides VIDD_WORKER_CONCURRENCY (worker and all).
        public var concurrency: Int?
        public init(environmentFile: String? = nil, concurrency: Int? = nil) {
            self.environmentFile = environmentFile
            self.concurrency = concurrency
        }
    }

    case serve(ServiceOptions)
    case worker(ServiceOptions)
    case all(ServiceOptions)
    case migrate(ServiceOptions)
    /// The arguments after `probe`, for Transcode's command (it owns their meaning).
    case probe(arguments: [String])
    case transcode(arguments: [String])
    case version
    /// Print `text` to stdout and exit 0.
    case help(String)

    public static let commands = ["serve", "worker", "all", "migrate", "probe", "transcode", "version"]

    public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        /// The usage of the command concerned (or the general one).
        public var usage: String
        public var description: String { "vidd: \(message)\n\n\(usage)" }
    }

    /// `arguments` without the program name (`CommandLine.arguments.dropFirst()`).
    public static func parse(_ arguments: [String]) throws(UsageError) -> DaemonCommand {
        guard let command = arguments.first else { return .help(usage) }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "-h", "--help", "help":
            if let topic = rest.first {
                guard let text = help(for: topic) else { throw UsageError(message: "no command \(topic)", usage: usage) }
                return .help(text)
            }
            return .help(usage)
        case "version", "--version", "-V":
            if rest.contains(where: isHelpFlag) { return .help(help(for: "version")!) }
            guard rest.isEmpty else { throw UsageError(message: "version takes no arguments", usage: help(for: "version")!) }
            return .version
        case "probe", "transcode":
            // `--help` is answered here only when it comes first, so Transcode can own its options.
            if rest.first.map(isHelpFlag) == true { return .help(help(for: command)!) }
            let minimum = command == "probe" ? 1 : 2
            guard rest.filter({ !$0.hasPrefix("-") }).count >= minimum else {
                throw UsageError(message: "\(command) needs \(command == "probe" ? "a FILE" : "INPUT and OUTPUT_DIR")", usage: help(for: command)!)
            }
            return command == "probe" ? .probe(arguments: rest) : .transcode(arguments: rest)
        case "serve", "worker", "all", "migrate":
            if rest.contains(where: isHelpFlag) { return .help(help(for: command)!) }
            let options = try parseServiceOptions(rest, command: command)
            switch command {
            case "serve": return .serve(options)
            case "worker": return .worker(options)
            case "all": return .all(options)
            default: return .migrate(options)
            }
        default:
            throw UsageError(message: "unknown command \(command)", usage: usage)
        }
    }

    static func isHelpFlag(_ a: String) -> Bool { a == "-h" || a == "--help" }

    static func parseServiceOptions(_ args: [String], command: String) throws(UsageError) -> ServiceOptions {
        var options = ServiceOptions()
        let usageText = help(for: command)!
        let takesConcurrency = command == "worker" || command == "all"
        var i = 0
        while i < args.count {
            var arg = args[i]
            var inlineValue: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                inlineValue = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                i += 1
                guard i < args.count else { throw UsageError(message: "\(arg) needs a value", usage: usageText) }
                return args[i]
            }
            switch arg {
            case "--env-file":
                options.environmentFile = try value()
            case "--concurrency" where takesConcurrency:
                let v = try value()
                guard let n = Int(v), (1...64).contains(n) else {
                    throw UsageError(message: "--concurrency must be a whole number from 1 to 64, not \(v)", usage: usageText)
                }
                options.concurrency = n
            default:
                throw UsageError(message: "\(command): unexpected argument \(args[i])", usage: usageText)
            }
            i += 1
        }
        return options
    }

    public static let usage = """
        usage: vidd <command> [options]

        commands:
          serve      run the HTTP API
          worker     run a transcoding worker
          all        run the API and a worker in one process (single machine)
          migrate    apply database migrations and exit
          probe      print what a media file contains
          transcode  transcode a file to the MP4 ladder and HLS locally
          version    print the version

        `vidd <command> --help` describes a command. Configuration comes from VIDD_* environment
        variables (see `vidd serve --help`), optionally read from an EnvironmentFile (--env-file).
        """

    static let environmentHelp = """
        environment (defaults in brackets; --env-file values are overridden by the environment):
          VIDD_LISTEN [127.0.0.1:8080]             VIDD_REDIS_URL [redis://127.0.0.1:6379]
          VIDD_DATABASE_URL [postgres://vidd@127.0.0.1:5432/vidd]
          VIDD_STORAGE [file:///var/lib/vidd/storage] (s3 or file:///path)
          VIDD_S3_ENDPOINT, VIDD_S3_REGION [us-east-1], VIDD_S3_ACCESS_KEY, VIDD_S3_SECRET_KEY,
          VIDD_S3_BUCKET [videos]                  VIDD_API_TOKENS (comma-separated bearer tokens)
          VIDD_WORKER_CONCURRENCY [1]              VIDD_LEASE_SECONDS [60]
          VIDD_MAX_ATTEMPTS [3]                    VIDD_X264_PRESET [veryfast]
          VIDD_SHUTDOWN_GRACE_SECONDS [30]         VIDD_LOG_FORMAT [logfmt] (or json)
          VIDD_LOG_LEVEL [info]                    VIDD_JOB_STREAM [video:jobs]
          VIDD_JOB_GROUP [video-workers]           VIDD_DEAD_LETTER_STREAM [video:jobs:dead]
          VIDD_PROGRESS_KEY_PREFIX [progress:]     VIDD_PROGRESS_CHANNEL_PREFIX [video:progress:]
          VIDD_PROGRESS_ALL_CHANNEL [video:progress:all]
          VIDD_MAX_UPLOAD_BYTES [21474836480] (20 GiB; 413 beyond)
          VIDD_BODY_TIMEOUT_SECONDS [30]           (an upload silent this long is cut off)
          VIDD_HTTP_EVENT_LOOPS [1]                (threads the API serves connections on)
          VIDD_SOURCE_PREFIXES [source/]           (key prefixes a JSON submission may name)
          VIDD_WORK_DIR [$TMPDIR, else /tmp]       (workers' per-job directories)
          VIDD_TUS_MAX_SIZE [68719476736] (bytes)  VIDD_TUS_EXPIRY_SECONDS [86400]
          VIDD_TUS_PART_SIZE_MIB [8]
          VIDD_HEALTH_LISTEN [none]                `vidd worker`: HOST:PORT for /healthz, /readyz, /metrics
        VIDD_REDIS_URL may be redis-sentinel://[user:pass@]host:26379,host:26379/mymaster (Sentinel);
        VIDD_DATABASE_URL may list hosts: postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write.
          VIDD_INGEST_ALLOW (CIDRs and host names a source_url may reach despite the SSRF guard)
          VIDD_INGEST_MAX_BYTES [VIDD_MAX_UPLOAD_BYTES] VIDD_INGEST_CA_FILE (PEM; default: system store)
          VIDD_INGEST_TIMEOUT_SECONDS [3600]       VIDD_INGEST_STALL_SECONDS [30]
          VIDD_RATE_LIMIT_SUBMIT, VIDD_RATE_LIMIT_READ (N/s, N/min or N/h; unset: no limit)
          VIDD_TRUSTED_PROXIES (CIDRs)             VIDD_RATE_LIMIT_KEY_PREFIX [vidd:ratelimit:]
          VIDD_PROGRESS_HISTORY [1000]             VIDD_PROGRESS_FEED_HISTORY [10000] (events kept for Last-Event-ID)
          VIDD_SIGNING_KEYS (comma-separated, ≥ 32 characters; first signs, all verify: private videos)
          VIDD_SIGNED_URL_TTL_SECONDS [3600]       (how long a signed media URL lives)
          VIDD_WEBHOOK_CONCURRENCY [8]             VIDD_WEBHOOK_TIMEOUT_SECONDS [10] (per attempt)
        """

    public static func help(for command: String) -> String? {
        switch command {
        case "serve":
            return "usage: vidd serve [--env-file PATH]\n\nRuns the HTTP API on VIDD_LISTEN. Applies pending migrations first.\n\n" + environmentHelp
        case "worker":
            return "usage: vidd worker [--env-file PATH] [--concurrency N]\n\nTakes jobs from the Redis stream and transcodes them. SIGTERM: stops taking jobs, lets the\ncurrent ones finish within VIDD_SHUTDOWN_GRACE_SECONDS, leaves the rest for another worker.\n\n" + environmentHelp
        case "all":
            return "usage: vidd all [--env-file PATH] [--concurrency N]\n\nRuns the API and a worker in one process: the default for a single machine.\n\n" + environmentHelp
        case "migrate":
            return "usage: vidd migrate [--env-file PATH]\n\nApplies pending database migrations (safe while other vidd processes start) and exits.\n\n" + environmentHelp
        case "probe":
            return "usage: vidd probe FILE [options]\n\nPrints the streams, duration, size and rotation of a media file."
        case "transcode":
            return "usage: vidd transcode INPUT OUTPUT_DIR [options]\n\nTranscodes INPUT to the MP4 ladder, HLS, poster and storyboard in OUTPUT_DIR, without the service."
        case "version":
            return "usage: vidd version\n\nPrints the version."
        default:
            return nil
        }
    }
}
