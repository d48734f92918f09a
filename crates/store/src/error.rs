use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong in the store, in words the API layer maps to statuses.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    /// A unique constraint was hit; `constraint` is the logical name (`enterprises.credit_code`).
    #[error("unique constraint {constraint} violated")]
    Conflict { constraint: &'static str },
    /// The caller's expected version is not the stored one.
    #[error("version {expected} expected but {actual} stored")]
    VersionMismatch { expected: i64, actual: i64 },
    /// The database is locked by another writer for longer than the busy timeout (SQLite) or
    /// the lock timeout (PostgreSQL), both 5 s.
    #[error("database busy")]
    Busy,
    /// No connection could be had from the pool in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("bad configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Db(DieselError),
}

/// Unique constraints by the name PostgreSQL reports and the column list SQLite reports.
const UNIQUE_CONSTRAINTS: &[(&str, &str, &str)] = &[
    (
        "organisations_parent_name_key",
        "organisations.parent_id, organisations.name",
        "organisations.name",
    ),
    (
        "organisations_path_key",
        "organisations.path",
        "organisations.path",
    ),
    (
        "departments_code_region_key",
        "departments.code, departments.region_code",
        "departments.code_region",
    ),
    (
        "enterprises_credit_code_key",
        "enterprises.credit_code",
        "enterprises.credit_code",
    ),
    (
        "applications_open_key",
        "applications.household_id",
        "applications.open",
    ),
    (
        "exit_cases_open_key",
        "exit_cases.household_id",
        "exit_cases.open",
    ),
    (
        "policy_parameters_version_key",
        "policy_parameters.key, policy_parameters.region_prefix, policy_parameters.effective_from",
        crate::rules::POLICY_VERSION,
    ),
    (
        "idempotency_keys_pkey",
        "idempotency_keys.caller_id, idempotency_keys.key",
        "idempotency_keys",
    ),
    (
        "assistance_reverses_key",
        "assistance_records.reverses_id",
        "assistance_records.reverses_id",
    ),
    (
        "household_plans_pkey",
        "household_plans.household_id",
        "household_plans",
    ),
    (
        "file_sequences_pkey",
        "file_sequences.region_code, file_sequences.year",
        "file_sequences",
    ),
    (
        "campaign_payments_household_key",
        "campaign_payments.campaign_id, campaign_payments.household_id",
        "campaign_payments.household",
    ),
];

fn logical_constraint(info: &dyn diesel::result::DatabaseErrorInformation) -> &'static str {
    let pg_name = info.constraint_name();
    let message = info.message();
    UNIQUE_CONSTRAINTS
        .iter()
        .find(|(pg, sqlite, _)| pg_name == Some(*pg) || message.ends_with(sqlite))
        .map(|(_, _, logical)| *logical)
        .unwrap_or("unknown")
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict {
                    constraint: logical_constraint(info.as_ref()),
                }
            }
            // The server went away in the middle of the request: it is unavailable, not wrong.
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(_, ref info)
                if info.message().contains("database is locked")
                    || info.message().contains("database is busy")
                    || info.message().contains("due to lock timeout") =>
            {
                StoreError::Busy
            }
            other => StoreError::Db(other),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
