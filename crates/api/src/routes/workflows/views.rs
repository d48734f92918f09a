//! How a case is shown: the case with its household's masked name, its notice, its timeline and
//! the steps the caller may take now.

use jiekun_domain::access::Role;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::national_id::mask_name;
use jiekun_domain::workflow::{exit_actions, filing_actions, ExitGrounds, ExitState, FilingState};
use jiekun_store::workflows::{self as store, ApplicationRow, ExitCaseRow};
use jiekun_store::{DbConnection, Scope};

use super::dto::{Application, ExitCase, NoticeSummary, TimelineEntry};
use crate::error::{ApiError, ApiResult};
use crate::routes::utc;

/// What every view of a case shows besides the case itself.
struct CaseParts {
    /// The worker's name, masked.
    worker_name: String,
    file_number: Option<String>,
    notice: Option<NoticeSummary>,
    timeline: Vec<TimelineEntry>,
}

fn case_parts(
    c: &mut DbConnection,
    household_id: &str,
    notice_id: Option<&str>,
    case_id: &str,
) -> ApiResult<CaseParts> {
    let h = jiekun_store::households::get(c, &Scope::All, household_id)?;
    let notice = match notice_id {
        Some(id) => {
            let n = store::notice(c, id)?;
            Some(NoticeSummary {
                open_objections: store::open_objections(c, id)?,
                id: n.id,
                starts_on: n.starts_on,
                ends_on: n.ends_on,
                status: n.status,
            })
        }
        None => None,
    };
    Ok(CaseParts {
        worker_name: mask_name(&h.worker_name),
        file_number: h.file_number,
        notice,
        timeline: store::timeline(c, case_id)?
            .into_iter()
            .map(TimelineEntry::from)
            .collect(),
    })
}

pub(super) fn application_view(
    c: &mut DbConnection,
    row: ApplicationRow,
    roles: &[Role],
) -> ApiResult<Application> {
    let state = FilingState::from_code(&row.state).ok_or_else(|| ApiError::internal("state"))?;
    let parts = case_parts(c, &row.household_id, row.notice_id.as_deref(), &row.id)?;
    Ok(Application {
        worker_name: parts.worker_name,
        state: row.state,
        state_since: utc(row.state_since),
        category: row.category,
        assessment_id: row.assessment_id,
        file_number: row.file_number,
        previous_file_number: row.previous_file_number,
        notice: parts.notice,
        allowed_actions: filing_actions(state, roles),
        timeline: parts.timeline,
        household_id: row.household_id,
        opened_by: row.opened_by,
        version: row.version,
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        id: row.id,
    })
}

pub(super) fn exit_view(
    c: &mut DbConnection,
    row: ExitCaseRow,
    roles: &[Role],
) -> ApiResult<ExitCase> {
    let state = ExitState::from_code(&row.state).ok_or_else(|| ApiError::internal("state"))?;
    let grounds =
        ExitGrounds::from_code(&row.grounds).ok_or_else(|| ApiError::internal("grounds"))?;
    let parts = case_parts(c, &row.household_id, row.notice_id.as_deref(), &row.id)?;
    let from = row.created_at.date() - chrono::TimeDelta::days(365);
    let assistance = jiekun_store::measures::assistance::of_period(
        c,
        &row.household_id,
        from,
        row.created_at.date() + chrono::TimeDelta::days(3650),
    )
    .map_err(crate::routes::measures::measure_error)?
    .into_iter()
    .map(crate::routes::assistance::shown)
    .collect::<ApiResult<Vec<_>>>()?;
    Ok(ExitCase {
        assistance,
        worker_name: parts.worker_name,
        file_number: parts.file_number,
        state: row.state,
        state_since: utc(row.state_since),
        grounds,
        origin: row.origin,
        assessment_id: row.assessment_id,
        notice: parts.notice,
        allowed_actions: exit_actions(state, roles),
        timeline: parts.timeline,
        household_id: row.household_id,
        opened_by: row.opened_by,
        version: row.version,
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        id: row.id,
    })
}
