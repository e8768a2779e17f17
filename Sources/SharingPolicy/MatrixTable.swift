/// The matrix as a privacy officer reads it: one row per event type, recipient and rule, with the
/// disclosure, legal basis, purpose and conditions (the console's table, the API's `GET /api/matrix`).
public struct MatrixTableRow: Sendable, Codable, Hashable {
    public var eventType: String
    public var recipient: String
    /// `national`, or the region of a regional rule set.
    public var scope: String
    public var ruleId: String
    public var producers: [String]
    public var disclosure: String
    public var legalBasis: String
    public var legalBasisCitation: String?
    public var purpose: String
    public var conditions: String
    public var fields: [String]
    public var validFrom: String?
    public var validUntil: String?

    public static func rows(of matrix: SharingMatrix) -> [MatrixTableRow] {
        matrix.allRules.flatMap { rule in
            rule.events.map { event in
                MatrixTableRow(eventType: event, recipient: rule.recipient, scope: rule.region ?? "national", ruleId: rule.id,
                               producers: rule.producers, disclosure: rule.disclosure.rawValue, legalBasis: rule.legalBasis,
                               legalBasisCitation: matrix.legalBases[rule.legalBasis]?.citation, purpose: rule.purpose,
                               conditions: MatrixDiff.describe(rule.conditions), fields: rule.fields,
                               validFrom: rule.validFrom, validUntil: rule.validUntil)
            }
        }.sorted { ($0.eventType, $0.recipient, $0.scope, $0.ruleId) < ($1.eventType, $1.recipient, $1.scope, $1.ruleId) }
    }
}
