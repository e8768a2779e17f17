import CanonicalEvents
import Foundation
import KetenhubTestSupport
import PartnerAdapters

/// The shipped partner formats and their example files.
enum PartnerFixtures {
    static let directory = packageRoot.appendingPathComponent("Contracts/partners")
    static let formats = try! PartnerFormats.load(directory: directory)

    static func translator(_ partner: String) -> PartnerTranslator {
        PartnerTranslator(format: formats.formats[partner]!)
    }

    /// Native files of one kind (`examples` or `invalid`) of every partner, with their partner.
    static func files(_ kind: String) -> [(partner: String, url: URL)] {
        formats.formats.keys.sorted().flatMap { partner -> [(String, URL)] in
            let folder = directory.appendingPathComponent(partner).appendingPathComponent(kind)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return names.sorted()
                .filter { !$0.hasSuffix(".canonical.json") && !$0.hasSuffix(".error") }
                .map { (partner, folder.appendingPathComponent($0)) }
        }
    }

    static func bytes(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

    /// The expected lines of an invalid file's `.error` file.
    static func expectedProblems(_ url: URL) throws -> [String] {
        let errorFile = url.deletingPathExtension().appendingPathExtension("error")
        return try String(contentsOf: errorFile, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}
