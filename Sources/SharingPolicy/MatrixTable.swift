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
    /// False while a privacy lawyer of the disclosing partner has not confirmed the basis.
    public var legalBasisConfirmed: Bool
    public var purpose: String
    /// The purpose as the data subject is told it (`purposes.yaml`).
    public var purposeDefinition: String?
    public var conditions: String
    public var fields: [String]
    public var validFrom: String?
    public var validUntil: String?

    public static func rows(of matrix: SharingMatrix) -> [MatrixTableRow] {
        matrix.allRules.flatMap { rule in
            rule.events.map { event in
                MatrixTableRow(eventType: event, recipient: rule.recipient, scope: rule.region ?? "national", ruleId: rule.id,
                               producers: rule.producers, disclosure: rule.disclosure.rawValue, legalBasis: rule.legalBasisText,
                               legalBasisCitation: rule.allLegalBases.compactMap { matrix.legalBases[$0]?.citation }.joined(separator: "; "),
                               legalBasisConfirmed: rule.allLegalBases.allSatisfy { matrix.legalBases[$0]?.confirmed ?? false },
                               purpose: rule.purpose, purposeDefinition: matrix.purposes[rule.purpose]?.definition,
                               conditions: MatrixDiff.describe(rule.conditions), fields: rule.fields,
                               validFrom: rule.validFrom, validUntil: rule.validUntil)
            }
        }.sorted { ($0.eventType, $0.recipient, $0.scope, $0.ruleId) < ($1.eventType, $1.recipient, $1.scope, $1.ruleId) }
    }
}
