import FHIRAPI
import FHIRCore
import Foundation
import Hummingbird
import Logging
import Store

/// Builds the Kärna application: opens and migrates the store, mounts the interfaces.
public enum KarnaApplication {
    /// Opens the store a configuration names and brings its schema up to date.
    public static func openStore(_ configuration: KarnaConfiguration, logger: Logger) async throws -> any ResourceStore {
        let store = try StoreFactory.open(url: configuration.databaseURL, logger: logger)
        let applied = try await store.migrate()
        if !applied.isEmpty { logger.info("applied migrations: \(applied.joined(separator: ", "))") }
        return store
    }

    /// The router with every interface mounted, for the server and for tests.
    public static func router(engine: FHIREngine) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("health") { _, _ in "ok\n" }
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: "Kärna \(KarnaVersion.current)\nFHIR R4 API: \(engine.baseURL)\nCapabilityStatement: \(engine.baseURL)/metadata\n")))
        }
        FHIRRoutes<BasicRequestContext>(engine: engine).register(on: router)
        return router
    }

    /// The whole application, ready to `runService()`.
    public static func build(_ configuration: KarnaConfiguration, store: any ResourceStore, logger: Logger) -> some ApplicationProtocol {
        let engine = FHIREngine(store: store, limits: configuration.limits, baseURL: configuration.baseURL, logger: logger)
        return Application(
            router: router(engine: engine),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "Karna"),
            logger: logger
        )
    }
}
