import CanonicalEvents
import Foundation

/// Translates a partner's native messages to canonical events, and canonical events to its native
/// messages, with the tables of its `PartnerFormat`. A message is taken whole or not at all: every
/// problem of every record is reported, each at its place in the native message.
public struct PartnerTranslator: Sendable {
    public let format: PartnerFormat
    private let catalogue: ContractCatalogue

    public init(format: PartnerFormat, catalogue: ContractCatalogue = .embedded) {
        self.format = format
        self.catalogue = catalogue
    }

    // MARK: - Inbound

    /// The canonical events of a native message, in record order. `organisation` is the sender as
    /// authenticated by the transport; without it (a developer testing an export) the message's own
    /// sender is taken, and must still be one that uses this format.
    ///
    /// A record may carry the sender's own reference instead of a chain case id: `cases` gives the
    /// chain case of each such reference (the gateway resolves them first, from `caseClaims`); a
    /// reference without one is a problem of the record.
    public func translate(_ bytes: [UInt8], from organisation: String? = nil, cases: [String: String] = [:]) throws(AdapterRefusal) -> [CloudEvent] {
        let root = try parse(bytes)
        return try events(in: root, sender: try checkSender(root, authenticated: organisation), cases: cases)
    }

    /// Which chain case each record of the message says it belongs to, in record order: read before
    /// the records are translated, so that the gateway can resolve references to cases. Records
    /// that do not say are left out (translating them reports why).
    public func caseClaims(_ bytes: [UInt8], from organisation: String) throws(AdapterRefusal) -> [CaseClaim] {
        let root = try parse(bytes)
        _ = try checkSender(root, authenticated: organisation)
        return root.nodes(at: NativePath(format.message.records)).compactMap { record in
            guard let kind = record.values(at: NativePath(format.message.kind)).first?.value, let mapping = format.mapping(forKind: kind) else { return nil }
            let caseId = record.values(at: NativePath(mapping.caseId)).first?.value
            // A reference that is not well-formed is not looked up: translating the record reports it.
            let reference = mapping.reference.flatMap { record.values(at: NativePath($0)).first }.flatMap { CaseClaim.isWellFormed($0.value) ? $0 : nil }
            guard caseId != nil || reference != nil else { return nil }
            return CaseClaim(recordId: record.values(at: NativePath(format.message.recordId)).first?.value, event: mapping.event,
                             ketencaseid: caseId, reference: reference?.value, referenceName: mapping.reference ?? "",
                             location: reference?.location ?? record.location,
                             year: record.values(at: NativePath(mapping.time)).first.flatMap { Int($0.value.prefix(4)) })
        }
    }

    /// The canonical events of a delivery the hub wrote in this format (sender `hub`): how a
    /// partner's back-office reads what it receives, with the same table. Their source is the hub;
    /// the producing organisation travels beside the message (`ce-source`).
    public func readDelivery(_ bytes: [UInt8]) throws(AdapterRefusal) -> [CloudEvent] {
        let root = try parse(bytes)
        if let path = format.message.sender, let claimed = root.values(at: NativePath(path)).first, claimed.value != "hub" {
            throw AdapterRefusal(location: claimed.location, "a delivery comes from the hub, this message says it is from \(claimed.value)")
        }
        return try events(in: root, sender: "hub", cases: [:])
    }

    private func events(in root: NativeNode, sender: String, cases: [String: String]) throws(AdapterRefusal) -> [CloudEvent] {
        let records = root.nodes(at: NativePath(format.message.records))
        if records.isEmpty { throw AdapterRefusal(location: root.location, "the message holds no \(format.message.records) records") }
        var events: [CloudEvent] = []
        var problems: [AdapterProblem] = []
        for record in records {
            var reader = RecordReader(format: format, record: record, cases: cases, delivery: sender == "hub")
            let event = reader.event(source: "urn:ketenhub:\(sender)")
            problems += reader.problems
            guard let event else { continue }
            let invalid = reader.locate(catalogue.validate(event: event.structured))
            if invalid.isEmpty && reader.problems.isEmpty { events.append(event) } else { problems += invalid }
        }
        if !problems.isEmpty { throw AdapterRefusal(problems) }
        return events
    }

    /// Parses the message with every guard in front: size first, then UTF-8, then the syntax.
    func parse(_ bytes: [UInt8]) throws(AdapterRefusal) -> NativeNode {
        do {
            try InputGuard.checkSize(bytes, limit: format.maxBytes, partner: format.partner)
            let text = try InputGuard.utf8Text(bytes)
            switch format.syntax {
            case .xml:
                let root = try XMLSyntax.parse(text)
                guard root.name == format.message.root else {
                    throw AdapterRefusal(location: root.location, "expected a \(format.message.root) message, found \(root.name)")
                }
                return root
            case .json:
                return try JSONSyntax.parse(text, root: format.message.root)
            case .csv:
                return try CSVSyntax.parse(text, delimiter: Character(format.delimiter ?? ";"), columns: format.columns ?? [])
            }
        } catch let refusal as AdapterRefusal {
            throw refusal
        } catch {
            throw AdapterRefusal("\(error)")
        }
    }

    /// The organisation the message is from: the authenticated one, which the message may not contradict.
    private func checkSender(_ root: NativeNode, authenticated: String?) throws(AdapterRefusal) -> String {
        let claimed = format.message.sender.flatMap { root.values(at: NativePath($0)).first }
        let implicit = format.organisations.count == 1 && !format.organisations[0].hasSuffix("*") ? format.organisations[0] : nil
        guard let sender = authenticated ?? claimed?.value ?? implicit else {
            throw AdapterRefusal(location: root.location, "the message does not say which organisation sent it (\(format.message.sender ?? "sender"))")
        }
        if let claimed, claimed.value != sender {
            throw AdapterRefusal(location: claimed.location, "the message says it is from \(claimed.value), but it was sent with the credential of \(sender)")
        }
        guard format.serves(sender) else {
            throw AdapterRefusal("\(sender) does not exchange messages in the \(format.partner) format")
        }
        return sender
    }

    // MARK: - Outbound

    /// A native message holding `events`, one record each: from the hub (deliveries) or, for a
    /// partner's own messages (the simulator, a partner's developer), from that partner.
    public func render(_ events: [CloudEvent], sender: String = "hub") throws(AdapterRefusal) -> String {
        var root = NativeNode(name: format.message.root)
        if let path = format.message.sender { root.set(sender, at: NativePath(path)) }
        let recordsPath = NativePath(format.message.records).elements
        for event in events {
            let name = Self.eventName(of: event)
            guard let mapping = format.mapping(forEvent: name, delivery: sender == "hub") else {
                throw AdapterRefusal(location: event.id, "the \(format.partner) format has no mapping for \(name) events")
            }
            let writer = RecordWriter(format: format)
            root.append(writer.record(for: event, mapping: mapping, named: recordsPath.last ?? "record"), under: Array(recordsPath.dropLast()))
        }
        switch format.syntax {
        case .xml: return XMLSyntax.render(root)
        case .json: return JSONSyntax.render(root)
        case .csv: return CSVSyntax.render(root, delimiter: Character(format.delimiter ?? ";"), columns: format.columns ?? [])
        }
    }

    /// The native tree of a message, for comparing a rendered message with the one it came from.
    public func tree(of bytes: [UInt8]) throws(AdapterRefusal) -> NativeNode { try parse(bytes) }
}

/// What one record says about its chain case: its id, the sender's own reference, or both.
public struct CaseClaim: Sendable, Hashable {
    public var recordId: String?
    /// The canonical event name of the record.
    public var event: String
    public var ketencaseid: String?
    public var reference: String?
    /// The reference's name in the partner's format (`BVHNummer`, `dossiernummer`), for messages to the partner.
    public var referenceName: String
    /// Where the reference is in the message (or the record, without one).
    public var location: String
    /// The year of the record's time: the year of a case it opens.
    public var year: Int?

    /// What the contracts accept as a partner's reference (`partnerref`): letters, digits, spaces and
    /// `. _ : / -`, starting with a letter or digit, at most 128 characters.
    public static func isWellFormed(_ reference: String) -> Bool {
        reference.utf8.count <= 128 && reference.first.map { $0.isASCII && ($0.isLetter || $0.isNumber) } == true
            && reference.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || " ._:/-".contains($0)) }
    }

    public init(recordId: String?, event: String, ketencaseid: String?, reference: String?, referenceName: String, location: String, year: Int?) {
        self.recordId = recordId
        self.event = event
        self.ketencaseid = ketencaseid
        self.reference = reference
        self.referenceName = referenceName
        self.location = location
        self.year = year
    }
}
