import ArgumentParser
import Foundation
import HubAccess

/// `ketenhub credentials add|list|revoke`: the credentials file a serving hub reads, kept by an
/// operator. Only each token's digest is stored; `add` prints the token once.
struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "Manage the hub's credentials file (bearer tokens, by digest).",
        subcommands: [Add.self, List.self, Revoke.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a credential and print its token, once.",
            discussion: "The file keeps the token's SHA-256 with the principal, role, organisation, creation and expiry; a serving hub picks it up within seconds."
        )

        @Option(help: "The credentials file (created when absent).")
        var file: String

        @Option(help: "Who the token is for (a person or a partner system).")
        var principal: String

        @Option(help: "operator, privacy-officer, admin or partner.")
        var role: String

        @Option(help: "For a partner: its organisation (politie, om, 3ro, rvdk, shn, vt-<region>).")
        var organisation: String?

        @Option(help: "When the token stops working: a date (YYYY-MM-DD, start of that day UTC) or an RFC 3339 moment.")
        var expires: String?

        func run() throws {
            var store = try CredentialStore.load(file)
            var expiry: Date?
            if let expires {
                guard let date = CredentialStore.moment(expires) else {
                    throw ValidationError("--expires '\(expires)' is not a date (YYYY-MM-DD) or an RFC 3339 moment")
                }
                expiry = date
            }
            let token: String
            do {
                token = try store.add(principal: principal, role: role, organisation: organisation, expires: expiry)
            } catch let error as CredentialStoreError {
                throw ValidationError(error.description)
            }
            try store.save(file)
            let entry = store.credentials.last!
            printNow(token)
            FileHandle.standardError.write(Data("credential \(entry.id) for \(principal) (\(role)\(organisation.map { " \($0)" } ?? "")) added to \(file); the token above is shown only now\n".utf8))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the credentials (never a token or its digest).")

        @Option(help: "The credentials file.")
        var file: String

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            let store = try CredentialStore.load(file)
            let now = Date()
            let rows = store.credentials.map { entry in
                ["id": entry.id, "principal": entry.principal, "role": entry.role, "organisation": entry.organisation ?? "",
                 "createdAt": entry.createdAt, "expiresAt": entry.expiresAt ?? "", "revokedAt": entry.revokedAt ?? "",
                 "state": entry.revokedAt != nil ? "revoked" : entry.isActive(at: now) ? "active" : "expired"]
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
                printNow(String(decoding: data, as: UTF8.self))
                return
            }
            for row in rows {
                printNow([row["id"]!, row["state"]!, row["principal"]!, row["role"]! + (row["organisation"]!.isEmpty ? "" : " " + row["organisation"]!),
                          "created " + row["createdAt"]!, row["expiresAt"]!.isEmpty ? "no expiry" : "expires " + row["expiresAt"]!]
                    .joined(separator: "  "))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a principal's credentials (or one, by id); a serving hub refuses them within seconds.")

        @Option(help: "The credentials file.")
        var file: String

        @Option(help: "Revoke every active credential of this principal.")
        var principal: String?

        @Option(help: "Revoke the credential with this id (as `list` shows it).")
        var id: String?

        func validate() throws {
            if principal == nil && id == nil { throw ValidationError("name the --principal or the credential's --id") }
        }

        func run() throws {
            var store = try CredentialStore.load(file)
            let revoked = store.revoke(principal: principal, id: id)
            guard revoked > 0 else { throw ValidationError("no active credential matches") }
            try store.save(file)
            printNow("\(revoked) credential\(revoked == 1 ? "" : "s") revoked")
        }
    }
}
