import Access

/// One entry of the main menu, contributed by the part of the app whose pages it opens, and shown to
/// the positions that may use them (the modules refuse the rest anyway).
struct MenuEntry: Sendable {
    let title: String
    let path: String
    /// The layout key a page of this entry sets (`nav:`), which marks the entry as the current page.
    let nav: String
    let isShown: @Sendable (Permissions) -> Bool
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
    static var menu: [MenuEntry] { administrationMenu + platformMenu }

    /// The menu as the layout template lists it for this user on this page.
    static func menuContext(_ permissions: Permissions, current nav: String?) -> [[String: Any]] {
        menu.filter { $0.isShown(permissions) }.map { entry in
            ["title": entry.title, "path": entry.path, "current": entry.nav == nav] as [String: Any]
        }
    }
}
