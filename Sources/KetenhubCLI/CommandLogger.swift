import Foundation
import Logging

/// A command's logger: at `level`, unless the KETENHUB_LOG environment variable names another.
func commandLogger(_ label: String, level: Logger.Level) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["KETENHUB_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? level
    return logger
}
