/// Which pseudonymous persons an event's data names in a role, by the contracts' fields: the
/// router (whose consent counts) and the ledger (which cases share a person) read events alike.
public enum EventPersons {
    /// The pseudonymous persons an event names in a role: for victims, the persons with that role,
    /// the protected persons of the event and of its conditions, and an informatiewens's victim;
    /// for suspects, the persons with that role, the event's suspect and the person a huisverbod
    /// excludes. These are the persons the event concerns, whose consent counts for it.
    public static func persons(in data: JSONValue, role: PersonRole) -> Set<String> {
        var found: Set<String> = []
        for person in data["persons"]?.arrayValue ?? [] where person["role"]?.stringValue == role.rawValue {
            if let id = person["id"]?.stringValue { found.insert(id) }
        }
        switch role {
        case .slachtoffer:
            found.formUnion((data["protectedPersons"]?.arrayValue ?? []).compactMap(\.stringValue))
            for list in ["conditions", "veiligheidsvoorwaarden", "bijzondereVoorwaarden"] {
                for condition in data[list]?.arrayValue ?? [] {
                    found.formUnion((condition["protectedPersons"]?.arrayValue ?? []).compactMap(\.stringValue))
                }
            }
            found.formUnion((data["breachedCondition"]?["protectedPersons"]?.arrayValue ?? []).compactMap(\.stringValue))
            if let victim = data["victim"]?.stringValue { found.insert(victim) }
        case .verdachte:
            for name in ["suspect", "excludedPerson"] { if let id = data[name]?.stringValue { found.insert(id) } }
            if data["role"]?.stringValue == role.rawValue, let person = data["person"]?.stringValue { found.insert(person) }
        default:
            break
        }
        return found
    }
}
