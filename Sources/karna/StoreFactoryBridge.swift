import KarnaServer
import Logging
import Store

/// Opens a store without migrating, for `karna migrate` to report what it applies.
enum StoreFactoryBridge {
    static func open(_ configuration: KarnaConfiguration, logger: Logger) throws -> any ResourceStore {
        try StoreFactory.open(url: configuration.databaseURL, logger: logger)
    }
}
