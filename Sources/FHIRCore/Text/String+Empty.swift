extension String {
    /// The string, or nil when it is empty: a form's blank field read as "not given".
    public var nonEmpty: String? { isEmpty ? nil : self }
}
