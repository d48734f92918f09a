//! What part of the registry a caller may see, applied inside the queries.

use diesel::sql_types::{Integer, Text};
use jiekun_domain::RegionCode;

diesel::define_sql_function! {
    /// `substr(text, start, length)`, the same in SQLite and PostgreSQL.
    fn substr(text: Text, start: Integer, length: Integer) -> Text;
}

/// Rows whose materialised path starts with `prefix`, for SQLite: `substr(path, 1, n) = prefix`
/// rather than `LIKE 'prefix%'`, because SQLite re-prepares a statement whose LIKE pattern is a
/// bound parameter every time the parameter changes (and cannot use a plain index for either).
/// PostgreSQL keeps `LIKE`, whose selectivity it estimates from column statistics, where it would
/// guess for a function call and pick poor plans.
#[macro_export]
macro_rules! path_starts_with {
    ($column:expr, $prefix:expr) => {{
        let prefix: String = $prefix;
        $crate::scope::substr($column, 1i32, prefix.chars().count() as i32).eq(prefix)
    }};
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A person: their organisation's subtree (by materialised path), and for region-keyed
    /// records (departments, enterprises) the organisation's region.
    Subtree { path: String, region: RegionCode },
    /// A department's API key: everything in the department's region.
    Region(RegionCode),
    /// The server itself (CLI, demo loader): no restriction.
    All,
}

impl Scope {
    /// Whether a record registered in `region` lies inside this scope.
    pub fn covers_region(&self, region: &RegionCode) -> bool {
        match self {
            Scope::Subtree { region: own, .. } | Scope::Region(own) => own.contains(region),
            Scope::All => true,
        }
    }

    /// Whether a record filed under the organisation path `path` lies inside this scope. API keys
    /// see no case files.
    pub fn covers_path(&self, path: &str) -> bool {
        match self {
            Scope::Subtree { path: own, .. } => path.starts_with(own.as_str()),
            Scope::Region(_) => false,
            Scope::All => true,
        }
    }

    /// The `LIKE` pattern for organisation paths, when restricted by path.
    pub(crate) fn path_pattern(&self) -> Option<String> {
        match self {
            Scope::Subtree { path, .. } => Some(format!("{path}%")),
            _ => None,
        }
    }

    /// The `LIKE` pattern for region codes, when restricted by region.
    pub(crate) fn region_pattern(&self) -> Option<String> {
        match self {
            Scope::Subtree { region, .. } | Scope::Region(region) => {
                Some(crate::like_prefix(region.prefix()))
            }
            Scope::All => None,
        }
    }
}
