//! What one route makes of the delivery: shared by the matching and the report.

/// What one route makes of the delivery.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RouteResult {
    pub(super) name: String,
    pub(super) index: usize,
    pub(super) kind: &'static str,
    pub(super) target: String,
    /// Why it does not match, each by its key; empty when it matches.
    pub(super) why_not: Vec<String>,
    /// For a matching route: what it delivers.
    pub(super) delivers: Option<Delivers>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Delivers {
    /// The event's own body.
    Unchanged { bytes: usize },
    /// The transform's output.
    Transformed(Vec<u8>),
    /// The transform failed: the route would be dead-lettered with this reason.
    Failed { reason: String, message: String },
}
