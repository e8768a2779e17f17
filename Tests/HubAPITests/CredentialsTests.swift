import CanonicalEvents
import DeliveryLedger
import Foundation
import HubAccess
import HubAPI
import Hummingbird
import KetenhubTestSupport
import Testing

/// Credentials that outlive a process (#15): `ketenhub credentials add|list|revoke` keep digests in a
/// file, and a serving API picks up an added, revoked or expired credential within seconds.
@Suite("Credentials file")
struct CredentialsTests {
    static func add(_ file: String, _ principal: String, _ role: String, _ extra: [String] = []) async throws -> String {
        let (status, output, errors) = try await runKetenhub(["credentials", "add", "--file", file, "--principal", principal, "--role", role] + extra)
        #expect(status == 0, "\(errors)")
        #expect(errors.contains("the token above is shown only now"))
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls until the API answers `status` for the token (at most `seconds`).
    static func eventually(_ url: URL, token: String, answers status: Int, within seconds: Double = 5) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await OperatorAPITests.raw(url, "/api/alerts", token: token).status == status { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    @Test("add prints a token once and stores its digest; list never shows a token; wrong input is refused with why")
    func commands() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("credentials") + ".json").path
        let token = try await Self.add(file, "politie-bo", "partner", ["--organisation", "politie", "--expires", "2030-01-01"])
        #expect(token.hasPrefix("kh_") && token.count > 30)
        let stored = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!stored.contains(token) && stored.contains(Credentials.digest(token)), "only the digest is kept")
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o600)
        let schema = SchemaSet(documents: ["credentials.schema.json": try JSONValue.parse(Data(contentsOf: packageRoot.appendingPathComponent("Contracts/config/credentials.schema.json")))])
        #expect(schema.validate(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: file))), against: "credentials.schema.json") == [])
        let listed = try await runKetenhub(["credentials", "list", "--file", file])
        #expect(listed.status == 0)
        #expect(listed.output.contains("active  politie-bo  partner politie") && listed.output.contains("expires 2030-01-01T00:00:00Z"))
        #expect(!listed.output.contains(token) && !listed.output.contains(Credentials.digest(token)))
        for (arguments, message) in [(["--role", "partner"], "a partner credential names its organisation"),
                                     (["--role", "root"], "role must be one of operator, privacy-officer, admin, partner"),
                                     (["--role", "operator", "--organisation", "politie"], "only a partner credential names an organisation"),
                                     (["--role", "admin", "--expires", "2001-01-01"], "the expiry lies in the past"),
                                     (["--role", "admin", "--expires", "soon"], "--expires 'soon' is not a date")] {
            let refused = try await runKetenhub(["credentials", "add", "--file", file, "--principal", "x"] + arguments)
            #expect(refused.status != 0 && refused.errors.contains(message), "\(arguments): \(refused.errors)")
        }
        #expect(try CredentialStore.load(file).credentials.count == 1, "nothing stored for a refusal")
        let revoked = try await runKetenhub(["credentials", "revoke", "--file", file, "--principal", "politie-bo"])
        #expect(revoked.status == 0 && revoked.output == "1 credential revoked\n")
        #expect(try await runKetenhub(["credentials", "revoke", "--file", file, "--principal", "politie-bo"]).status != 0, "nothing left to revoke")
        #expect(try await runKetenhub(["credentials", "list", "--file", file]).output.contains("revoked  politie-bo"))
    }

    @Test("a serving API takes an added credential, refuses a revoked or expired one within seconds, and keeps the last good file")
    func whileServing() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("credentials") + ".json").path
        let operatorToken = try await Self.add(file, "ops-1", "operator")
        let credentials = try ReloadingCredentials(path: file)
        let router = Router(context: BasicRequestContext.self)
        OperatorAPI(ledger: try await OperatorAPITests.ledger(.sqlite), credentials: credentials, actions: OperatorAPITests.actions).addRoutes(to: router)
        try await serve(router) { url in
            #expect(try await OperatorAPITests.raw(url, "/api/alerts", token: operatorToken).status == 200)
            // Added while serving: accepted within seconds, without a restart.
            let admin = try await Self.add(file, "admin-1", "admin")
            #expect(try await Self.eventually(url, token: admin, answers: 200))
            // Revoked while serving: refused within seconds.
            #expect(try await runKetenhub(["credentials", "revoke", "--file", file, "--principal", "ops-1"]).status == 0)
            #expect(try await Self.eventually(url, token: operatorToken, answers: 401))
            // Expiring while serving: refused once its moment has passed, the file unchanged.
            // Ten seconds: adding it starts a process, which a loaded machine can take seconds over.
            let expiry = ISO8601DateFormatter().string(from: Date().addingTimeInterval(10))
            let shortLived = try await Self.add(file, "ops-2", "operator", ["--expires", expiry])
            #expect(try await Self.eventually(url, token: shortLived, answers: 200))
            #expect(try await Self.eventually(url, token: shortLived, answers: 401, within: 20))
            // A half-written file keeps the last good credentials, and says why.
            try "{\"credentials\": [".write(toFile: file, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .milliseconds(1_200))
            #expect(try await OperatorAPITests.raw(url, "/api/alerts", token: admin).status == 200)
            #expect(credentials.problem?.contains("not a credentials file") == true)
        }
    }

    @Test("an expiry that cannot be read leaves its credential inactive, a long one unread by Foundation's parser (which ended the process)")
    func unreadableExpiry() {
        func entry(expiring expiresAt: String?) -> CredentialStore.Entry {
            var fields: [String: String] = ["id": "0123456789ab", "principal": "ops", "role": "operator", "digest": "00", "createdAt": "2026-01-01T00:00:00Z"]
            fields["expiresAt"] = expiresAt
            return try! JSONDecoder().decode(CredentialStore.Entry.self, from: JSONEncoder().encode(fields))
        }
        let now = Date()
        #expect(entry(expiring: nil).isActive(at: now))
        #expect(entry(expiring: "2999-01-01T00:00:00Z").isActive(at: now))
        #expect(entry(expiring: "2999-01-01").isActive(at: now))
        #expect(!entry(expiring: "2000-01-01T00:00:00Z").isActive(at: now))
        #expect(!entry(expiring: "soon").isActive(at: now))
        #expect(!entry(expiring: "2999-01-01T00:00:00." + String(repeating: "9", count: 40) + "Z").isActive(at: now))
    }
}
