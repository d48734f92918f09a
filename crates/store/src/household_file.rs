//! Units of work on the household file: each runs inside the caller's transaction, checks the
//! file's rules, writes, and appends its audit event, so that no caller can change a file without
//! leaving a trace. Each answers with what changed and the household's new version.

use jiekun_domain::household::{
    check_causes, check_resolved_causes, check_vehicle_exemption, AssetRuleError, CauseError,
    HardshipCause, HealthStatus, ResolvedCauseError,
};
use serde_json::json;

use crate::audit::{self, Caller};
use crate::crypto::FieldCipher;
use crate::households::{
    self as file, ExpenditureChanges, ExpenditureInput, ExpenditureRow, FileError,
    HouseholdChanges, HouseholdInput, HouseholdRow, IncomeChanges, IncomeInput, IncomeRow,
    MemberChanges, MemberInput, MemberRow,
};
use crate::scope::Scope;
use crate::{DbConnection, StoreError};

/// A refusal by one of the file's rules, or a storage error.
#[derive(Debug, thiserror::Error)]
pub enum FileRuleError {
    #[error(transparent)]
    File(#[from] FileError),
    /// The causes as they would be, and the main cause they were checked with.
    #[error("{0}")]
    Causes(CauseError, u8),
    #[error(transparent)]
    ResolvedCauses(ResolvedCauseError),
    #[error(transparent)]
    Assets(AssetRuleError),
}

impl From<StoreError> for FileRuleError {
    fn from(e: StoreError) -> Self {
        FileRuleError::File(FileError::Store(e))
    }
}

impl From<diesel::result::Error> for FileRuleError {
    fn from(e: diesel::result::Error) -> Self {
        FileRuleError::File(e.into())
    }
}

type Result<T> = std::result::Result<T, FileRuleError>;

/// Changes to household-level fields; causes as sent (codes), checked here against the file.
#[derive(Debug, Clone, Default)]
pub struct FileChanges {
    /// Everything but the causes, already parsed.
    pub fields: HouseholdChanges,
    pub main_cause: Option<u8>,
    pub secondary_causes: Option<Vec<u8>>,
    pub resolved_causes: Option<Vec<u8>>,
    /// The changes as the caller sent them, for the audit log (personal data is redacted there).
    pub recorded: serde_json::Value,
}

impl FileChanges {
    /// Whether anything would change.
    pub fn is_empty(&self) -> bool {
        self.main_cause.is_none()
            && self.secondary_causes.is_none()
            && self.resolved_causes.is_none()
            && self.fields.is_empty()
    }
}

fn codes(s: &str) -> Vec<u8> {
    s.split(',').filter_map(|c| c.parse().ok()).collect()
}

fn joined(cs: &[HardshipCause]) -> String {
    cs.iter()
        .map(|c| c.code().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether any member's health says `disabled` (health is stored encrypted).
fn any_member_disabled(cipher: &FieldCipher, members: &[MemberRow]) -> Result<bool> {
    for m in members {
        if let Some(enc) = &m.health_enc {
            let text = cipher
                .decrypt(&file::health_context(&m.id), enc)
                .map_err(|e| StoreError::Config(format!("health of a member: {e}")))?;
            let status = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_owned));
            if status.as_deref() == Some(HealthStatus::Disabled.as_str()) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// A change to the members must not leave a vehicle exemption without the disabled member it is
/// kept for: checked on the file as the change leaves it, inside the caller's transaction, so that
/// a refusal writes nothing.
fn exemption_still_holds(c: &mut DbConnection, cipher: &FieldCipher, id: &str) -> Result<()> {
    let h = file::get(c, &Scope::All, id)?;
    if h.vehicle_disability_exempt && h.vehicles_count > 0 {
        let disabled = any_member_disabled(cipher, &file::members(c, id)?)?;
        check_vehicle_exemption(true, h.vehicles_count, disabled).map_err(FileRuleError::Assets)?;
    }
    Ok(())
}

/// Files a new household with its members, income and expenditure.
#[allow(clippy::too_many_arguments)]
pub fn create(
    c: &mut DbConnection,
    caller: &Caller,
    cipher: &FieldCipher,
    scope: &Scope,
    input: &HouseholdInput,
    members: &[MemberInput],
    incomes: &[(Option<usize>, IncomeInput)],
    spending: &[(Option<usize>, ExpenditureInput)],
) -> Result<(HouseholdRow, Vec<MemberRow>)> {
    let row = file::create(c, cipher, scope, input, members, incomes, spending)?;
    let recorded = json!({
        "organisation_id": row.organisation_id, "region_code": row.region_code,
        "members": row.members_count, "main_cause": row.main_cause,
        "incomes": incomes.len(), "expenditures": spending.len(),
    });
    audit::append(
        c,
        caller.event("household.create", "household", &row.id, recorded),
    )?;
    let ms = file::members(c, &row.id)?;
    Ok((row, ms))
}

/// Changes household-level fields. Causes sent alone are checked together with what is stored;
/// causes marked resolved must be the household's own; the vehicle exemption needs a disabled
/// member. Nothing sent, nothing written: the version stays and no event is logged.
#[allow(clippy::too_many_arguments)]
pub fn update(
    c: &mut DbConnection,
    caller: &Caller,
    cipher: &FieldCipher,
    scope: &Scope,
    id: &str,
    version: i64,
    changes: &FileChanges,
) -> Result<(HouseholdRow, Vec<MemberRow>)> {
    let current = file::get(c, scope, id)?;
    if changes.is_empty() {
        if current.version != version {
            return Err(StoreError::VersionMismatch {
                expected: version,
                actual: current.version,
            }
            .into());
        }
        let ms = file::members(c, id)?;
        return Ok((current, ms));
    }
    let mut fields = changes.fields.clone();
    let main = changes.main_cause.unwrap_or(current.main_cause as u8);
    let secondary = changes
        .secondary_causes
        .clone()
        .unwrap_or_else(|| codes(&current.secondary_causes));
    let (main, secondary) =
        check_causes(main, &secondary).map_err(|e| FileRuleError::Causes(e, main))?;
    if changes.main_cause.is_some() || changes.secondary_causes.is_some() {
        fields.main_cause = Some(i64::from(main.code()));
        fields.secondary_causes = Some(joined(&secondary));
    }
    if let Some(r) = &changes.resolved_causes {
        let resolved =
            check_resolved_causes(main, &secondary, r).map_err(FileRuleError::ResolvedCauses)?;
        fields.resolved_causes = Some(joined(&resolved));
    }
    if fields.vehicle_disability_exempt.is_some() || fields.vehicles_count.is_some() {
        let exempt = fields
            .vehicle_disability_exempt
            .unwrap_or(current.vehicle_disability_exempt);
        let vehicles = fields.vehicles_count.unwrap_or(current.vehicles_count);
        let disabled = exempt && any_member_disabled(cipher, &file::members(c, id)?)?;
        check_vehicle_exemption(exempt, vehicles, disabled).map_err(FileRuleError::Assets)?;
    }
    let row = file::update(c, cipher, scope, id, version, &fields)?;
    audit::append(
        c,
        caller.event(
            "household.update",
            "household",
            &row.id,
            changes.recorded.clone(),
        ),
    )?;
    let ms = file::members(c, &row.id)?;
    Ok((row, ms))
}

fn version_of(c: &mut DbConnection, id: &str) -> Result<i64> {
    Ok(file::get(c, &Scope::All, id)?.version)
}

/// Adds a member to the file.
#[allow(clippy::too_many_arguments)]
pub fn add_member(
    c: &mut DbConnection,
    caller: &Caller,
    cipher: &FieldCipher,
    scope: &Scope,
    id: &str,
    version: i64,
    member: &MemberInput,
) -> Result<(MemberRow, i64)> {
    let m = file::add_member(c, cipher, scope, id, version, member)?;
    let recorded = json!({"member_id": m.id, "relation": m.relation});
    audit::append(
        c,
        caller.event("household.member_add", "household", id, recorded),
    )?;
    Ok((m, version_of(c, id)?))
}

/// A member's changes; `health` (its JSON) in clear, encrypted by the store.
#[derive(Debug, Clone, Default)]
pub struct MemberUpdate {
    pub changes: MemberChanges,
    pub health: Option<Option<String>>,
    pub recorded: serde_json::Value,
}

/// Changes a member. A change of health that leaves no disabled member is refused while the
/// household's vehicle is exempted for a disabled member's mobility.
#[allow(clippy::too_many_arguments)]
pub fn update_member(
    c: &mut DbConnection,
    caller: &Caller,
    cipher: &FieldCipher,
    scope: &Scope,
    id: &str,
    member_id: &str,
    version: i64,
    update: MemberUpdate,
) -> Result<(MemberRow, i64)> {
    let m = file::update_member(
        c,
        cipher,
        scope,
        id,
        member_id,
        version,
        update.changes,
        update.health,
    )?;
    exemption_still_holds(c, cipher, id)?;
    let recorded = json!({"member_id": member_id, "changes": update.recorded});
    audit::append(
        c,
        caller.event("household.member_update", "household", id, recorded),
    )?;
    Ok((m, version_of(c, id)?))
}

/// Removes a member (never the worker), nor the last disabled member while the household's vehicle
/// is exempted for a disabled member's mobility.
pub fn remove_member(
    c: &mut DbConnection,
    caller: &Caller,
    cipher: &FieldCipher,
    scope: &Scope,
    id: &str,
    member_id: &str,
    version: i64,
) -> Result<i64> {
    file::remove_member(c, scope, id, member_id, version)?;
    exemption_still_holds(c, cipher, id)?;
    let recorded = json!({"member_id": member_id});
    audit::append(
        c,
        caller.event("household.member_remove", "household", id, recorded),
    )?;
    version_of(c, id)
}

/// The two money ledgers of a file (income records and rigid expenditure): one set of units of
/// work serves both.
pub trait Ledger {
    type Input;
    type Changes;
    type Row;
    /// The audit action's stem: `income` / `expenditure`.
    const STEM: &'static str;
    /// The name of an item's id in audit events: `income_id` / `item_id`.
    const ID_FIELD: &'static str;

    fn add(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        version: i64,
        items: &[Self::Input],
    ) -> std::result::Result<Vec<Self::Row>, FileError>;
    fn update(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        item: &str,
        version: i64,
        changes: &Self::Changes,
    ) -> std::result::Result<Self::Row, FileError>;
    fn delete(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        item: &str,
        version: i64,
    ) -> std::result::Result<(), FileError>;
    /// What the audit event of an addition records.
    fn added(rows: &[Self::Row]) -> serde_json::Value;
}

/// Income records (收入记录).
pub struct Incomes;

impl Ledger for Incomes {
    type Input = IncomeInput;
    type Changes = IncomeChanges;
    type Row = IncomeRow;
    const STEM: &'static str = "income";
    const ID_FIELD: &'static str = "income_id";

    fn add(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        version: i64,
        items: &[IncomeInput],
    ) -> std::result::Result<Vec<IncomeRow>, FileError> {
        file::add_incomes(c, scope, id, version, items)
    }
    fn update(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        item: &str,
        version: i64,
        changes: &IncomeChanges,
    ) -> std::result::Result<IncomeRow, FileError> {
        file::update_income(c, scope, id, item, version, changes)
    }
    fn delete(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        item: &str,
        version: i64,
    ) -> std::result::Result<(), FileError> {
        file::delete_income(c, scope, id, item, version)
    }
    fn added(rows: &[IncomeRow]) -> serde_json::Value {
        let total: i64 = rows.iter().map(|r| r.amount_fen).sum();
        json!({"records": rows.len(), "total_fen": total})
    }
}

/// Rigid expenditure (刚性支出).
pub struct Expenditures;

impl Ledger for Expenditures {
    type Input = ExpenditureInput;
    type Changes = ExpenditureChanges;
    type Row = ExpenditureRow;
    const STEM: &'static str = "expenditure";
    const ID_FIELD: &'static str = "item_id";

    fn add(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        version: i64,
        items: &[ExpenditureInput],
    ) -> std::result::Result<Vec<ExpenditureRow>, FileError> {
        file::add_expenditures(c, scope, id, version, items)
    }
    fn update(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        item: &str,
        version: i64,
        changes: &ExpenditureChanges,
    ) -> std::result::Result<ExpenditureRow, FileError> {
        file::update_expenditure(c, scope, id, item, version, changes)
    }
    fn delete(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        item: &str,
        version: i64,
    ) -> std::result::Result<(), FileError> {
        file::delete_expenditure(c, scope, id, item, version)
    }
    fn added(rows: &[ExpenditureRow]) -> serde_json::Value {
        json!({"items": rows.len()})
    }
}

/// Adds items to a ledger, all or none.
pub fn add_items<L: Ledger>(
    c: &mut DbConnection,
    caller: &Caller,
    scope: &Scope,
    id: &str,
    version: i64,
    items: &[L::Input],
) -> Result<(Vec<L::Row>, i64)> {
    let rows = L::add(c, scope, id, version, items)?;
    let action = format!("household.{}s_add", L::STEM);
    audit::append(c, caller.event(&action, "household", id, L::added(&rows)))?;
    Ok((rows, version_of(c, id)?))
}

/// Changes one item of a ledger.
#[allow(clippy::too_many_arguments)]
pub fn update_item<L: Ledger>(
    c: &mut DbConnection,
    caller: &Caller,
    scope: &Scope,
    id: &str,
    item: &str,
    version: i64,
    changes: &L::Changes,
    recorded: serde_json::Value,
) -> Result<(L::Row, i64)> {
    let row = L::update(c, scope, id, item, version, changes)?;
    let action = format!("household.{}_update", L::STEM);
    let recorded = json!({ L::ID_FIELD: item, "changes": recorded });
    audit::append(c, caller.event(&action, "household", id, recorded))?;
    Ok((row, version_of(c, id)?))
}

/// Deletes one item of a ledger.
pub fn delete_item<L: Ledger>(
    c: &mut DbConnection,
    caller: &Caller,
    scope: &Scope,
    id: &str,
    item: &str,
    version: i64,
) -> Result<i64> {
    L::delete(c, scope, id, item, version)?;
    let action = format!("household.{}_delete", L::STEM);
    audit::append(
        c,
        caller.event(&action, "household", id, json!({ L::ID_FIELD: item })),
    )?;
    version_of(c, id)
}

/// Whether any of `people` (identity numbers, in their positions of the request) is already in
/// another active household. The answer tells the caller that a number is filed somewhere — also
/// in a county they cannot see — so every such refusal is logged here, with the caller, the
/// masked number and the other file, and returned as a value: call it in a transaction of its
/// own, before the change, so that the event stays when the change is refused. The one-person
/// rule itself is held by the change (a unique index), whatever this finds.
pub fn people_filed_elsewhere(
    c: &mut DbConnection,
    caller: &Caller,
    cipher: &FieldCipher,
    scope: &Scope,
    people: &[(usize, &str, &str)],
    household_id: Option<&str>,
) -> Result<Option<FileError>> {
    use crate::schema::active_persons;
    use diesel::prelude::*;
    if let Some(h) = household_id {
        // Nothing is told about a number for a household the caller cannot see.
        file::get(c, scope, h)?;
    }
    for &(index, national_id, masked) in people {
        let blind = cipher.blind_indexes(file::ID_INDEX, national_id);
        let other: Option<String> = active_persons::table
            .filter(active_persons::national_id_index.eq_any(&blind))
            .select(active_persons::household_id)
            .first(c)
            .optional()?;
        let Some(other) = other.filter(|o| Some(o.as_str()) != household_id) else {
            continue;
        };
        let visible = file::get(c, scope, &other).is_ok();
        let mut event = caller.event(
            "household.person_already_filed",
            "household",
            household_id.unwrap_or(""),
            json!({"national_id_masked": masked, "other_household_id": other, "visible_to_caller": visible}),
        );
        event.outcome = "denied";
        audit::append(c, event)?;
        return Ok(Some(FileError::PersonAlreadyFiled {
            index,
            existing: visible.then_some(other),
        }));
    }
    Ok(None)
}
