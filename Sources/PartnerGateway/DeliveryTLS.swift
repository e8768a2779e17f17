import Foundation
import NIOSSL

/// How the hub proves itself to a partner's HTTPS endpoint, and which of the partner's certificates
/// it trusts, where the system's trust store and no client certificate are not enough: Digikoppeling
/// asks both ends of a connection between government organisations to show a PKIoverheid certificate
/// (mutual TLS), and a partner's endpoint may be signed by a private root the system does not carry.
///
/// With `trustRoots` the endpoint must be signed by one of these and by nothing else (the system's
/// roots are not consulted for this partner); with `certificate` and `privateKey` the hub presents
/// that certificate. The files are read, and the key checked against the certificate, when the
/// value is made: a node refuses to start on a file that is missing, unreadable or not PEM.
public struct DeliveryTLS: Sendable, CustomStringConvertible {
    /// The three settings, for a refusal to name the one that is wrong.
    public enum Setting: String, Sendable {
        case trustRoots, certificate, privateKey

        /// As `ketenhub deliver` spells it.
        public var optionName: String { ["trustRoots": "trust-roots", "privateKey": "private-key"][rawValue] ?? rawValue }
    }

    /// Why the settings were refused: the setting at fault, if one is, and what is wrong with it,
    /// naming its file but never quoting the file's content.
    public struct Refusal: Error, CustomStringConvertible {
        public let setting: Setting?
        public let description: String
    }

    public let configuration: TLSConfiguration
    /// The files, for logs and the delivery status's transport (never the key's content).
    public let description: String

    public init(trustRoots: URL?, certificate: URL?, privateKey: URL?) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        var parts: [String] = []
        if let trustRoots {
            configuration.trustRoots = .certificates(try Self.certificates(trustRoots, .trustRoots, what: "trusted root"))
            parts.append("trusting \(trustRoots.path)")
        }
        switch (certificate, privateKey) {
        case (let certificate?, let privateKey?):
            configuration.certificateChain = try Self.certificates(certificate, .certificate, what: "client certificate").map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKey.path, format: .pem))
            } catch {
                throw Refusal(setting: .privateKey,
                              description: "\(privateKey.path): \(Self.readable(privateKey) ? "not a PEM private key (unencrypted)" : "the file cannot be read")")
            }
            parts.append("as \(certificate.path)")
        case (nil, nil):
            break
        default:
            throw Refusal(setting: certificate == nil ? .certificate : .privateKey,
                          description: "a client certificate needs its private key, and a private key its certificate")
        }
        guard !parts.isEmpty else { throw Refusal(setting: nil, description: "give trusted roots, a client certificate with its key, or both") }
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            guard let certificate, let privateKey else { throw Refusal(setting: nil, description: "the TLS settings are refused: \(error)") }
            throw Refusal(setting: .privateKey, description: "\(privateKey.path) is not the private key of the client certificate \(certificate.path)")
        }
        self.configuration = configuration
        description = parts.joined(separator: " ")
    }

    private static func certificates(_ file: URL, _ setting: Setting, what: String) throws -> [NIOSSLCertificate] {
        guard readable(file) else { throw Refusal(setting: setting, description: "\(file.path): the \(what) file cannot be read") }
        guard let certificates = try? NIOSSLCertificate.fromPEMFile(file.path), !certificates.isEmpty else {
            throw Refusal(setting: setting, description: "\(file.path): the \(what) file holds no PEM certificate")
        }
        return certificates
    }

    private static func readable(_ file: URL) -> Bool { FileManager.default.isReadableFile(atPath: file.path) }
}
