import CanonicalEvents
import Foundation
import HubTopology
import HubAccess
import Hummingbird
import Kafka
import Logging

/// The partners' HTTP endpoints on the hub's server:
/// - `POST /partners/{organisation}/messages`: a native message; the answer is its `Receipt`
///   (202 accepted, 422 refused, 413 too large, 503 send again);
/// - `POST /partners/{organisation}/acknowledgements`: `{"deliveryId", "ketencaseid", "status", "reason"}`, published as
///   a canonical acknowledgement event (202); only the delivery's recipient may (403 for another's delivery, 404 for an
///   unknown one, 422 for a wrong chain case, 413 above 64 KiB). A refused one is dead-lettered (stage `acknowledgement`)
///   and its answer names the dead letter.
/// Every call needs `Authorization: Bearer <token>` of that very organisation (401 without, 403 for another's).
public struct HTTPInbound: Sendable {
    let gateway: InboundGateway
    let credentials: any CredentialLookup
    let acknowledgements: AcknowledgementPublisher

    public init(gateway: InboundGateway, credentials: any CredentialLookup, acknowledgements: AcknowledgementPublisher) {
        self.gateway = gateway
        self.credentials = credentials
        self.acknowledgements = acknowledgements
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("partners/:organisation/messages") { request, context in
            try await self.message(request, organisation: context.parameters.require("organisation"))
        }
        router.post("partners/:organisation/acknowledgements") { request, context in
            try await self.acknowledgement(request, organisation: context.parameters.require("organisation"))
        }
    }

    private func message(_ request: Request, organisation: String) async throws -> Response {
        if let refusal = authorise(request, for: organisation) { return refusal }
        let contentType = request.headers[.contentType] ?? "application/octet-stream"
        guard let limit = gateway.sizeLimit(for: organisation) else {
            return Response.json(.notFound, ["error": "\(organisation) has no partner format"])
        }
        // Too large is decided before reading: on the announced length, else while reading.
        let announced = request.headers[.contentLength].flatMap { Int($0) }
        if let announced, announced > limit {
            let receipt = await gateway.refuseTooLarge(size: announced, from: organisation, via: .http, contentType: contentType)
            return Response.json(.contentTooLarge, receipt)
        }
        guard case .complete(let body) = try await BoundedBody.read(request, upTo: limit) else {
            let receipt = await gateway.refuseUnread(size: limit + 1, from: organisation, via: .http, contentType: contentType,
                                                     reason: "the message is more than \(limit) bytes, the most messages from \(organisation) may be")
            return Response.json(.contentTooLarge, receipt)
        }
        let receipt = await gateway.receive(Array(buffer: body), from: organisation, via: .http, contentType: contentType)
        switch receipt.status {
        case .accepted: return Response.json(.accepted, receipt)
        case .rejected: return Response.json(.unprocessableContent, receipt)
        case .failed: return Response.json(.serviceUnavailable, receipt)
        }
    }

    /// An acknowledgement is a few hundred bytes (its reason at most 2,000 characters).
    static let acknowledgementLimit = 64 * 1024

    private func acknowledgement(_ request: Request, organisation: String) async throws -> Response {
        if let refusal = authorise(request, for: organisation) { return refusal }
        let contentType = request.headers[.contentType] ?? "application/json"
        guard case .complete(let body) = try await BoundedBody.read(request, upTo: Self.acknowledgementLimit) else {
            return await refuse([], declaredSize: Self.acknowledgementLimit + 1, organisation, contentType, .contentTooLarge,
                                "an acknowledgement may be at most \(Self.acknowledgementLimit) bytes")
        }
        let bytes = Array(buffer: body)
        guard let ack = try? JSONDecoder().decode(AcknowledgementPublisher.Submission.self, from: Data(bytes)) else {
            return await refuse(bytes, organisation, contentType, .badRequest,
                                "expected {\"deliveryId\": ..., \"ketencaseid\": ..., \"status\": \"received|processed|rejected\", \"reason\": ...}")
        }
        do {
            let event = try await acknowledgements.publish(ack, from: organisation)
            return Response.json(.accepted, ["acknowledgement": event.id])
        } catch let error as AcknowledgementPublisher.Invalid {
            return await refuse(bytes, organisation, contentType, .unprocessableContent, error.reason)
        } catch let error as AcknowledgementPublisher.NotOwn {
            return await refuse(bytes, organisation, contentType, .forbidden, error.reason)
        } catch let error as AcknowledgementPublisher.Unknown {
            return await refuse(bytes, organisation, contentType, .notFound, error.reason)
        } catch {
            return Response.json(.serviceUnavailable, ["error": "the hub could not record the acknowledgement now; send it again"])
        }
    }

    /// A refused acknowledgement: dead-lettered, and answered with the reason and the dead letter's
    /// id; a 503 (send again) if the dead letter could not be written, as for a refused message.
    private func refuse(_ bytes: [UInt8], declaredSize: Int? = nil, _ organisation: String, _ contentType: String,
                        _ status: HTTPResponse.Status, _ reason: String) async -> Response {
        guard let deadLetterId = await gateway.refuseAcknowledgement(bytes, declaredSize: declaredSize, from: organisation,
                                                                     contentType: contentType, reason: reason) else {
            return Response.json(.serviceUnavailable, ["error": "the hub could not record the refusal now; send it again", "refusal": reason])
        }
        return Response.json(status, ["error": reason, "deadLetterId": deadLetterId])
    }

    /// The refusal of a caller who may not post for `organisation` (its body left unread), or nil.
    private func authorise(_ request: Request, for organisation: String) -> Response? {
        guard let sender = credentials.principal(forAuthorization: request.headers[.authorization]) else {
            return .json(.unauthorized, ["error": "a valid bearer token is needed"])
        }
        guard sender.role.organisation != organisation else { return nil }
        return .json(.forbidden, ["error": "the credential of \(sender.name) may not post for \(organisation)"])
    }
}
