import Foundation
import Logging

/// Batch partners' inbox: `<root>/<organisation>/` is that organisation's drop directory (on a
/// production host its file permissions are the partner's credential). A partner writes a file under
/// a temporary name (starting with `.` or ending in `.tmp` or `.part`) and renames it when complete;
/// the hub claims a complete file by renaming it into `.claimed/` (atomic: of several hub nodes one
/// wins), takes it in, and moves it to `done/` or `rejected/` with its receipt beside it
/// (`<name>.receipt.json`).
public struct DropDirectoryInbound: Sendable {
    public let root: URL
    let gateway: InboundGateway
    let organisations: [String]
    let interval: Duration
    let logger: Logger

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
            for sub in ["", ".claimed", "done", "rejected"] {
                try FileManager.default.createDirectory(at: inbox(of: organisation).appendingPathComponent(sub), withIntermediateDirectories: true)
            }
        }
        while !Task.isCancelled {
            for organisation in organisations { await scan(organisation) }
            try? await Task.sleep(for: interval)
        }
    }

    /// Takes in every complete file of one inbox, oldest name first.
    @discardableResult
    public func scan(_ organisation: String) async -> [Receipt] {
        let inbox = inbox(of: organisation)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: inbox.path)) ?? []).sorted()
        var receipts: [Receipt] = []
        for name in names where Self.isComplete(name) {
            let source = inbox.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let claimed = inbox.appendingPathComponent(".claimed").appendingPathComponent(name)
            guard rename(source.path, claimed.path) == 0 else { continue }  // another node took it
            let bytes = (try? Data(contentsOf: claimed)).map(Array.init) ?? []
            let receipt = await gateway.receive(bytes, from: organisation, via: .directory, contentType: Self.contentType(of: name))
            if receipt.status == .failed {
                // Not taken in: put it back for the next scan.
                _ = rename(claimed.path, source.path)
                continue
            }
            let folder = inbox.appendingPathComponent(receipt.status == .accepted ? "done" : "rejected")
            _ = rename(claimed.path, folder.appendingPathComponent(name).path)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try? encoder.encode(receipt).write(to: folder.appendingPathComponent(name + ".receipt.json"), options: .atomic)
            receipts.append(receipt)
        }
        return receipts
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
