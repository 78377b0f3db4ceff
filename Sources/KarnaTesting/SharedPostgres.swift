import Foundation

/// One throwaway PostgreSQL server per test process, started on first use;
/// each caller gets a database of its own.
public enum SharedPostgres {
    private static let server: Result<TemporaryPostgres, TemporaryPostgres.Unavailable> = {
        do {
            return .success(try TemporaryPostgres())
        } catch let error as TemporaryPostgres.Unavailable {
            return .failure(error)
        } catch {
            return .failure(TemporaryPostgres.Unavailable(description: "\(error)"))
        }
    }()

    /// Whether a server could be started here; when not, tests say why and skip.
    public static var unavailableReason: String? {
        if case .failure(let error) = server { return error.description }
        return nil
    }

    /// A fresh, empty database's URL.
    public static func freshDatabase() throws -> String {
        let server = try server.get()
        return try server.createDatabase("karna_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "_"))")
    }
}
