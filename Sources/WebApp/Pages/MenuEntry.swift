import Access

/// One entry of the main menu, contributed by the part of the app whose pages it opens, and shown to
/// the positions that may use them (the modules refuse the rest anyway).
public struct MenuEntry: Sendable {
    public let title: String
    public let path: String
    /// The layout key a page of this entry sets (`nav:`), which marks the entry as the current page.
    public let nav: String
    public let isShown: @Sendable (Permissions) -> Bool

    public init(title: String, path: String, nav: String, isShown: @escaping @Sendable (Permissions) -> Bool) {
        self.title = title
        self.path = path
        self.nav = nav
        self.isShown = isShown
    }
}

extension WebApp {
    /// Entries of pages that are the platform's own (log review, administration).
    static var platformMenu: [MenuEntry] {
        [
            MenuEntry(title: "Logguppföljning", path: "/loggranskning", nav: "navLogReview") { $0.auditReview },
            MenuEntry(title: "Administration", path: "/admin/enheter", nav: "navAdmin") { $0.administer },
        ]
    }

    /// The menu in its order: each module's entries, then the platform's.
    var menu: [MenuEntry] { modules.flatMap(\.menu) + Self.platformMenu }

    /// The menu as the layout template lists it for this user on this page.
    func menuContext(_ permissions: Permissions, current nav: String?) -> [[String: Any]] {
        menu.filter { $0.isShown(permissions) }.map { entry in
            ["title": entry.title, "path": entry.path, "current": entry.nav == nav] as [String: Any]
        }
    }
}
