import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Batch partners' inbox: `<root>/<organisation>/` is that organisation's drop directory (on a
/// production host its file permissions are the partner's credential). A partner writes a file under
/// a temporary name (starting with `.` or ending in `.tmp` or `.part`) and renames it when complete;
/// the hub claims a complete file by renaming it into `.claimed/` (atomic: of several hub nodes one
/// wins), takes it in, and moves it to `done/` or `rejected/` with its receipt beside it
/// (`<name>.receipt.json`).
///
/// The directory is the partner's, so nothing in it is trusted: every folder and file is reached
/// through a descriptor opened without following symbolic links (`O_NOFOLLOW`, `*at` calls), so a
/// link, FIFO or device the partner leaves is moved to `rejected/` without being opened or followed,
/// and a hub folder (`.claimed`, `done`, `rejected`) that is no longer the hub's own directory (replaced
/// by a link, or by something not owned by the hub's user) stops the inbox from being read at all. A
/// file's size is judged on the open file before a byte is read.
///
/// Thread: `scan` does blocking file calls; it runs on the task that calls it, one inbox at a time.
public struct DropDirectoryInbound: Sendable {
    public let root: URL
    let gateway: InboundGateway
    let organisations: [String]
    let interval: Duration
    let logger: Logger

    static let hubFolders = [".claimed", "done", "rejected"]

    public init(root: URL, organisations: [String], gateway: InboundGateway, interval: Duration = .milliseconds(200), logger: Logger) {
        self.root = root
        self.organisations = organisations
        self.gateway = gateway
        self.interval = interval
        self.logger = logger
    }

    public func inbox(of organisation: String) -> URL { root.appendingPathComponent(organisation) }

    /// Creates the directories, then takes in files until the task is cancelled.
    public func run() async throws {
        for organisation in organisations {
            for sub in [""] + Self.hubFolders {
                try FileManager.default.createDirectory(at: inbox(of: organisation).appendingPathComponent(sub), withIntermediateDirectories: true)
            }
        }
        while !Task.isCancelled {
            for organisation in organisations { await scan(organisation) }
            try? await Task.sleep(for: interval)
        }
    }

    /// Takes in every complete file of one inbox, oldest name first. An inbox whose hub folders are
    /// not the hub's is not read (logged once per scan).
    @discardableResult
    public func scan(_ organisation: String) async -> [Receipt] {
        let folders: InboxFolders
        do {
            folders = try InboxFolders(inbox(of: organisation))
        } catch {
            logger.error("drop directory not read", metadata: ["partner": "\(organisation)", "reason": "\(error)"])
            return []
        }
        defer { folders.close() }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: inbox(of: organisation).path)) ?? []).sorted()
        var receipts: [Receipt] = []
        for name in names where Self.isComplete(name) {
            guard let kind = folders.kind(of: name) else { continue }  // gone meanwhile
            if kind == .directory { continue }
            // Claimed first, whatever it is: of several hub nodes one wins.
            guard renameat(folders.inbox, name, folders.claimed, name) == 0 else { continue }
            let receipt: Receipt
            if kind != .regular {
                // Never opened: a FIFO would block, a device could be anything, a link leads elsewhere.
                receipt = await gateway.refuseUnread(size: 0, from: organisation, via: .directory, contentType: Self.contentType(of: name),
                                                     reason: "\(name) is \(kind.words), not a regular file; only regular files are taken, and it was not opened")
            } else {
                receipt = await take(name, from: folders, organisation: organisation)
            }
            if receipt.status == .failed {
                // Not taken in: put it back for the next scan.
                _ = renameat(folders.claimed, name, folders.inbox, name)
                continue
            }
            let folder = receipt.status == .accepted ? folders.done : folders.rejected
            _ = renameat(folders.claimed, name, folder, name)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            if let json = try? encoder.encode(receipt) { folders.write(json, named: name + ".receipt.json", in: folder) }
            receipts.append(receipt)
        }
        return receipts
    }

    /// Reads a claimed regular file through a descriptor that follows no link, judging its size on
    /// the open file first.
    private func take(_ name: String, from folders: InboxFolders, organisation: String) async -> Receipt {
        let contentType = Self.contentType(of: name)
        let limit = gateway.sizeLimit(for: organisation) ?? 0
        let descriptor = openat(folders.claimed, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            return await gateway.refuseUnread(size: 0, from: organisation, via: .directory, contentType: contentType,
                                              reason: "\(name) could not be opened as a regular file; it was not read")
        }
        defer { Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            return await gateway.refuseUnread(size: 0, from: organisation, via: .directory, contentType: contentType,
                                              reason: "\(name) is not a regular file; only regular files are taken, and it was not read")
        }
        let size = Int(status.st_size)
        if size > limit {
            return await gateway.refuseTooLarge(size: size, from: organisation, via: .directory, contentType: contentType)
        }
        // At most one byte more than the limit: a file that grows while it is read is still judged.
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < bytes.count {
            let read = bytes.withUnsafeMutableBytes { buffer in Glibc.read(descriptor, buffer.baseAddress! + count, buffer.count - count) }
            if read <= 0 { break }
            count += read
        }
        if count > limit {
            return await gateway.refuseUnread(size: count, from: organisation, via: .directory, contentType: contentType,
                                              reason: "the message grew beyond \(limit) bytes, the most messages from \(organisation) may be, while it was read")
        }
        return await gateway.receive(Array(bytes.prefix(count)), from: organisation, via: .directory, contentType: contentType)
    }

    static func isComplete(_ name: String) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix(".tmp") && !name.hasSuffix(".part") && !["done", "rejected"].contains(name)
    }

    static func contentType(of name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "csv": "text/csv"
        case "xml": "application/xml"
        case "json": "application/json"
        default: "application/octet-stream"
        }
    }
}

/// One inbox and the hub's folders in it, as open directory descriptors: once opened, renaming or
/// replacing a folder's path cannot redirect what the hub moves or writes.
struct InboxFolders {
    enum Kind: Equatable {
        case regular, directory, symbolicLink, fifo, device, socket

        var words: String {
            switch self {
            case .regular: "a regular file"
            case .directory: "a directory"
            case .symbolicLink: "a symbolic link"
            case .fifo: "a FIFO"
            case .device: "a device"
            case .socket: "a socket"
            }
        }
    }

    struct NotTheHubs: Error, CustomStringConvertible {
        var description: String
    }

    let inbox: Int32
    let claimed: Int32
    let done: Int32
    let rejected: Int32

    init(_ url: URL) throws {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        let inbox = open(url.path, flags)
        guard inbox >= 0 else { throw NotTheHubs(description: "the inbox cannot be opened as a directory") }
        var opened: [Int32] = []
        for name in DropDirectoryInbound.hubFolders {
            let folder = openat(inbox, name, flags)
            var status = stat()
            guard folder >= 0, fstat(folder, &status) == 0, status.st_uid == geteuid() else {
                if folder >= 0 { Glibc.close(folder) }
                (opened + [inbox]).forEach { _ = Glibc.close($0) }
                throw NotTheHubs(description: "\(name) in the inbox is not a directory of the hub's (replaced by a link or by another user's?): nothing is moved into it")
            }
            opened.append(folder)
        }
        self.inbox = inbox
        (claimed, done, rejected) = (opened[0], opened[1], opened[2])
    }

    func close() { [inbox, claimed, done, rejected].forEach { _ = Glibc.close($0) } }

    /// What `name` in the inbox is, not following a link; nil if it is not there.
    func kind(of name: String) -> Kind? {
        var status = stat()
        guard fstatat(inbox, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        default: return .device
        }
    }

    /// Writes a receipt into one of the hub's folders, replacing none but a file of its own name;
    /// a receipt that cannot be written is left out (the message's fate is in its folder and the log).
    func write(_ data: Data, named name: String, in folder: Int32) {
        try? FolderFiles.write(data, named: name, in: folder)
    }
}
