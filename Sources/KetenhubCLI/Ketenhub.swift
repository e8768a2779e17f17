import ArgumentParser

@main
struct Ketenhub: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "ketenhub",
        abstract: "Ketenhub: the integration hub of the chain approach to stalking and domestic violence.",
        version: version,
        subcommands: [DemoCommand.self, ServeCommand.self, TopicsCommand.self, BrokerCommand.self, ContractsCommand.self, MatrixCommand.self, AuditCommand.self, CredentialsCommand.self, AdapterCommand.self, SimulateCommand.self, DeliverCommand.self, RouteCommand.self, BenchCommand.self, LedgerCommand.self]
    )
}
