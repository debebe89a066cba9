// Placeholder until the Transcode issue fills it.
import CFFmpeg
public enum TranscodeLibrary { public static var avformatVersion: UInt32 { avformat_version() } }
