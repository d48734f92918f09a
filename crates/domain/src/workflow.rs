//! Filing and exit as state machines (plan §二(一), §二(二)): which role may take which
//! action in which state, and what follows — or, when not, a typed refusal that says why.
//! Pure: the store records the timeline; this only decides.

use serde::{Deserialize, Serialize};

use crate::access::Role;
use crate::closed::ClosedList;

crate::closed_list! {
    /// States of a filing application (建档申请), plan §二(一).
    FilingState ("State of a filing application", "建档申请状态") {
        Draft = "draft" ("draft, with the grassroots union", "草稿"),
        Submitted = "submitted" ("submitted by the grassroots union", "基层工会已申报"),
        CountyReview = "county_review" ("under review by the county union", "县总工会审核"),
        Verification = "verification" ("verification of the household's facts", "核查"),
        PublicNotice = "public_notice" ("under public notice", "公示"),
        CityApproval = "city_approval" ("awaiting approval by the city union", "市总工会审批"),
        Filed = "filed" ("filed (建档立卡)", "已建档立卡"),
        Returned = "returned" ("returned to the grassroots union for correction", "退回补正"),
        Rejected = "rejected" ("rejected", "不予通过"),
        Withdrawn = "withdrawn" ("withdrawn by the grassroots union", "已撤回"),
    }
}

crate::closed_list! {
    /// Steps on a filing application.
    FilingAction ("Step on a filing application", "建档申请办理操作") {
        /// The grassroots union submits the worker's application (基层工会申报).
        Submit = "submit" ("the grassroots union submits the worker's application", "提交申报"),
        /// The county union takes it up for review (县总工会审核).
        StartReview = "start_review" ("the county union takes it up for review", "受理审核"),
        /// The county union approves its review; verification with departments follows.
        ApproveReview = "approve_review" ("the county union approves its review; verification follows", "审核通过"),
        /// Verification is done; public notice starts (公示).
        StartNotice = "start_notice" ("verification is done; the public notice starts", "开始公示"),
        /// The notice has run its course with no open objection; to the city union.
        EndNotice = "end_notice" ("the notice has run its course with no open objection; to the city union", "结束公示"),
        /// The city union approves (市总工会审批): the household is filed (建档立卡).
        CityApprove = "city_approve" ("the city union approves: the household is filed", "审批通过"),
        /// Back to the grassroots union for correction, with a reason.
        Return = "return" ("back to the grassroots union for correction, with a reason", "退回补正"),
        /// Refused, with an opinion.
        Reject = "reject" ("refused, with an opinion", "不予通过"),
        /// Withdrawn by the grassroots union before a decision.
        Withdraw = "withdraw" ("withdrawn by the grassroots union before a decision", "撤回申请"),
    }
}

crate::closed_list! {
    /// States of an exit case (退出), plan §二(二).
    ExitState ("State of an exit case", "退出事项状态") {
        Proposed = "proposed" ("proposed by the grassroots union or from the exit candidates", "已提出"),
        CountyRecheck = "county_recheck" ("re-checked by the county union", "县总工会复核"),
        CityReview = "city_review" ("under review by the city union", "市总工会审核"),
        PublicNotice = "public_notice" ("under public notice", "公示"),
        Exited = "exited" ("the household has exited", "已退出"),
        Cancelled = "cancelled" ("cancelled; the household stays", "已撤销"),
    }
}

crate::closed_list! {
    /// Steps on an exit case.
    ExitAction ("Step on an exit case", "退出事项办理操作") {
        /// The county union re-checks (县总工会复核).
        StartRecheck = "start_recheck" ("the county union takes up the re-check", "受理复核"),
        /// The re-check confirms; to the city union.
        ConfirmRecheck = "confirm_recheck" ("the re-check confirms the exit; to the city union", "复核确认"),
        /// The city union reviews and publishes notice (市总工会审核公示).
        StartNotice = "start_notice" ("the city union reviews and publishes the notice", "审核并公示"),
        /// Notice over with no open objection: the household exits.
        CompleteExit = "complete_exit" ("notice over with no open objection: the household exits", "公示期满退出"),
        /// Death or transfer: the city union closes the case without notice.
        FastExit = "fast_exit" ("death or transfer: the household exits without notice", "免公示退出"),
        /// The case is dropped (the household stays).
        Cancel = "cancel" ("the case is dropped, with a reason; the household stays", "撤销退出"),
    }
}

crate::closed_list! {
    /// What a timeline entry is about.
    TimelineSubject ("What a timeline entry is about", "办理记录所属事项") {
        Application = "application" ("a filing application", "建档申请"),
        ExitCase = "exit_case" ("an exit case", "退出事项"),
        AnnualReview = "annual_review" ("an annual review", "年度复核"),
        Household = "household" ("the household itself (end of monitoring)", "家庭档案（监测期满关闭）"),
        Plan = "plan" ("the household's plan of measures", "家庭帮扶措施计划"),
        Referral = "referral" ("a referral to a lead unit", "转介"),
        Assistance = "assistance" ("an entry of the assistance ledger", "帮扶记录"),
    }
}

crate::closed_list! {
    /// What waits in a work queue.
    QueueKind ("What waits in a work queue", "待办事项类型") {
        Application = "application" ("a filing application to act on", "待办理的建档申请"),
        ExitCase = "exit_case" ("an exit case to act on", "待办理的退出事项"),
        Objection = "objection" ("an objection to resolve", "待处理的公示异议"),
        AnnualReview = "annual_review" ("an annual review due or overdue", "到期或逾期的年度复核"),
        MonitoringOver = "monitoring_over" ("a monitored household whose period is over", "监测期满的家庭"),
        Referral = "referral" ("a referral of a measure past its due date, to follow up (or to answer, when the union leads the measure)", "逾期未办结的转介，须跟进（工会牵头的措施须办理）"),
    }
}

crate::closed_list! {
    /// Where an exit case came from.
    CaseOrigin ("Where an exit case came from", "退出事项来源") {
        Grassroots = "grassroots" ("reported by the grassroots union", "基层工会上报"),
        Candidate = "candidate" ("opened by the county union from the system's exit candidates", "县总工会根据系统退出候选发起"),
    }
}

crate::closed_list! {
    /// What a public notice is about.
    NoticeKind ("What a public notice is about", "公示类型") {
        Filing = "filing" ("notice of filing (拟建档公示)", "拟建档公示"),
        Exit = "exit" ("notice of exit (拟退出公示)", "拟退出公示"),
    }
}

crate::closed_list! {
    /// Where a public notice stands.
    NoticeStatus ("Status of a public notice", "公示状态") {
        Running = "running" ("running (from publication until it is ended or withdrawn)", "公示中"),
        Ended = "ended" ("ended with the decision on its case", "已结束"),
        Withdrawn = "withdrawn" ("withdrawn with its case", "已撤回"),
    }
}

crate::closed_list! {
    /// How an objection to a notice came in.
    ObjectionChannel ("How an objection came in", "异议受理渠道") {
        Online = "online" ("raised by the signed-in user themselves", "本人在线提出"),
        Phone = "phone" ("received by telephone and recorded by staff", "电话反映，工作人员登记"),
        Letter = "letter" ("received by letter and recorded by staff", "来信，工作人员登记"),
        Visit = "visit" ("received in person and recorded by staff", "来访，工作人员登记"),
    }
}

crate::closed_list! {
    /// Where an objection stands.
    ObjectionStatus ("Status of an objection", "异议处理状态") {
        Open = "open" ("open: it holds the decision until resolved", "待处理"),
        Upheld = "upheld" ("upheld: the objection holds", "异议成立"),
        Dismissed = "dismissed" ("dismissed: the objection does not hold", "异议不成立"),
    }
}

crate::closed_list! {
    /// How an objection is resolved.
    ObjectionOutcome ("How an objection is resolved", "异议处理结果") {
        Upheld = "upheld" ("the objection holds: the case should be returned or rejected", "异议成立，应退回或不予通过"),
        Dismissed = "dismissed" ("the objection does not hold", "异议不成立"),
    }
}

crate::closed_list! {
    /// What an annual review found.
    ReviewOutcome ("What an annual review found", "年度复核结论") {
        Continues = "continues" ("still in hardship: help continues, the category follows the assessment", "仍符合条件，继续帮扶"),
        NoLongerEligible = "no_longer_eligible" ("no longer eligible: an exit case should follow", "不再符合条件，应办理退出"),
    }
}

/// Why a transition is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    #[error("this action cannot be taken in the current state")]
    WrongState,
    #[error("this role cannot take this action")]
    WrongRole,
    #[error("the public notice is still running")]
    NoticeRunning,
    #[error("an objection raised during the notice is still open")]
    OpenObjection,
    #[error("a reason or opinion is required")]
    ReasonRequired,
    #[error("the fast path is only for death or transfer")]
    NotFastPath,
}

/// The facts a transition may depend on, beyond state and role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    pub reason_given: bool,
    pub notice_ended: bool,
    pub open_objections: u32,
    /// Death or transfer (exit fast path).
    pub death_or_transfer: bool,
}

fn role_for_filing(a: FilingAction) -> &'static [Role] {
    use FilingAction as A;
    match a {
        A::Submit | A::Withdraw => &[Role::GrassrootsOfficer],
        A::StartReview | A::ApproveReview | A::StartNotice | A::EndNotice => {
            &[Role::CountyReviewer, Role::CountyAdmin]
        }
        A::CityApprove => &[Role::CityApprover],
        A::Return | A::Reject => &[Role::CountyReviewer, Role::CountyAdmin, Role::CityApprover],
    }
}

/// The next state of a filing application, or why not.
pub fn filing_transition(
    state: FilingState,
    action: FilingAction,
    role: Role,
    facts: Facts,
) -> Result<FilingState, Refusal> {
    use FilingAction as A;
    use FilingState as S;
    let next = match (state, action) {
        (S::Draft | S::Returned, A::Submit) => S::Submitted,
        (S::Submitted, A::StartReview) => S::CountyReview,
        (S::CountyReview, A::ApproveReview) => S::Verification,
        (S::Verification, A::StartNotice) => S::PublicNotice,
        (S::PublicNotice, A::EndNotice) => S::CityApproval,
        (S::CityApproval, A::CityApprove) => S::Filed,
        (
            S::Submitted | S::CountyReview | S::Verification | S::PublicNotice | S::CityApproval,
            A::Return,
        ) => S::Returned,
        (S::CountyReview | S::Verification | S::PublicNotice | S::CityApproval, A::Reject) => {
            S::Rejected
        }
        (S::Draft | S::Submitted | S::Returned, A::Withdraw) => S::Withdrawn,
        _ => return Err(Refusal::WrongState),
    };
    // The city decides what is at the city; the county what is at the county.
    let allowed = role_for_filing(action).contains(&role)
        && !(matches!(action, A::Return | A::Reject)
            && ((state == S::CityApproval) != (role == Role::CityApprover)));
    if !allowed {
        return Err(Refusal::WrongRole);
    }
    if matches!(action, A::Return | A::Reject) && !facts.reason_given {
        return Err(Refusal::ReasonRequired);
    }
    if action == A::EndNotice {
        if !facts.notice_ended {
            return Err(Refusal::NoticeRunning);
        }
        if facts.open_objections > 0 {
            return Err(Refusal::OpenObjection);
        }
    }
    Ok(next)
}

/// The next state of an exit case, or why not.
pub fn exit_transition(
    state: ExitState,
    action: ExitAction,
    role: Role,
    facts: Facts,
) -> Result<ExitState, Refusal> {
    use ExitAction as A;
    use ExitState as S;
    let next = match (state, action) {
        (S::Proposed, A::StartRecheck) => S::CountyRecheck,
        (S::CountyRecheck, A::ConfirmRecheck) => S::CityReview,
        (S::CityReview, A::StartNotice) => S::PublicNotice,
        (S::PublicNotice, A::CompleteExit) => S::Exited,
        (S::CityReview, A::FastExit) => S::Exited,
        (S::Proposed | S::CountyRecheck | S::CityReview | S::PublicNotice, A::Cancel) => {
            S::Cancelled
        }
        _ => return Err(Refusal::WrongState),
    };
    let roles: &[Role] = match (action, state) {
        (A::StartRecheck | A::ConfirmRecheck, _) => &[Role::CountyReviewer, Role::CountyAdmin],
        (A::StartNotice | A::CompleteExit | A::FastExit, _) => &[Role::CityApprover],
        (A::Cancel, S::Proposed) => &[
            Role::GrassrootsOfficer,
            Role::CountyReviewer,
            Role::CountyAdmin,
        ],
        (A::Cancel, S::CountyRecheck) => &[Role::CountyReviewer, Role::CountyAdmin],
        (A::Cancel, _) => &[Role::CityApprover],
    };
    if !roles.contains(&role) {
        return Err(Refusal::WrongRole);
    }
    match action {
        A::Cancel if !facts.reason_given => Err(Refusal::ReasonRequired),
        A::FastExit if !facts.death_or_transfer => Err(Refusal::NotFastPath),
        A::CompleteExit if !facts.notice_ended => Err(Refusal::NoticeRunning),
        A::CompleteExit if facts.open_objections > 0 => Err(Refusal::OpenObjection),
        _ => Ok(next),
    }
}

crate::closed_list! {
    /// Why a household leaves the programme (退出类型), plan §二(二).
    ExitGrounds ("Why a household exits", "退出类型") {
        /// 脱困: income above the standard for the required months, causes resolved.
        OutOfHardship = "out_of_hardship" ("out of hardship (脱困): income above the standard for the required months and every cause resolved", "脱困"),
        /// 解困: the safety net (dibao or special hardship) and union help are in place.
        SafetyNet = "safety_net" ("hardship relieved (解困): government assistance and union help bring the household to the standard", "解困"),
        /// The worker died (死亡): fast path, no notice.
        Death = "death" ("the worker died: exit without notice", "死亡"),
        /// The household moved away or to another programme (迁出/转出): fast path, no notice.
        Transfer = "transfer" ("the household moved away or to another programme: exit without notice", "迁出或转出"),
    }
}

impl ExitGrounds {
    /// Death and transfer skip the notice and the monitoring period.
    pub fn is_fast_path(self) -> bool {
        matches!(self, ExitGrounds::Death | ExitGrounds::Transfer)
    }
}

impl FilingState {
    /// Still on its way: not filed, rejected or withdrawn.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            FilingState::Filed | FilingState::Rejected | FilingState::Withdrawn
        )
    }

    /// Who the application waits on in this state.
    pub fn waits_on(self) -> &'static [Role] {
        match self {
            FilingState::Draft | FilingState::Returned => &[Role::GrassrootsOfficer],
            FilingState::Submitted
            | FilingState::CountyReview
            | FilingState::Verification
            | FilingState::PublicNotice => &[Role::CountyReviewer, Role::CountyAdmin],
            FilingState::CityApproval => &[Role::CityApprover],
            _ => &[],
        }
    }
}

impl ExitState {
    pub fn is_open(self) -> bool {
        !matches!(self, ExitState::Exited | ExitState::Cancelled)
    }

    pub fn waits_on(self) -> &'static [Role] {
        match self {
            ExitState::Proposed | ExitState::CountyRecheck => {
                &[Role::CountyReviewer, Role::CountyAdmin]
            }
            ExitState::CityReview | ExitState::PublicNotice => &[Role::CityApprover],
            _ => &[],
        }
    }
}

/// A case's state machine: which step leads where, for which role, given the facts.
pub trait Machine {
    type State: ClosedList;
    type Action: ClosedList;
    /// What the case is, in English and Chinese (`application`, 建档申请).
    const CASE: (&'static str, &'static str);
    /// The next state, or why not.
    fn next(
        state: Self::State,
        action: Self::Action,
        role: Role,
        facts: Facts,
    ) -> Result<Self::State, Refusal>;
    /// Who a case in `state` waits on.
    fn waits_on(state: Self::State) -> &'static [Role];
}

/// Filing (plan §二(一)).
#[derive(Debug)]
pub enum Filing {}

/// Exit (plan §二(二)).
#[derive(Debug)]
pub enum Exit {}

impl Machine for Filing {
    type State = FilingState;
    type Action = FilingAction;
    const CASE: (&'static str, &'static str) = ("application", "建档申请");
    fn next(s: FilingState, a: FilingAction, r: Role, f: Facts) -> Result<FilingState, Refusal> {
        filing_transition(s, a, r, f)
    }
    fn waits_on(s: FilingState) -> &'static [Role] {
        s.waits_on()
    }
}

impl Machine for Exit {
    type State = ExitState;
    type Action = ExitAction;
    const CASE: (&'static str, &'static str) = ("exit case", "退出事项");
    fn next(s: ExitState, a: ExitAction, r: Role, f: Facts) -> Result<ExitState, Refusal> {
        exit_transition(s, a, r, f)
    }
    fn waits_on(s: ExitState) -> &'static [Role] {
        s.waits_on()
    }
}

/// A transition for a caller holding `roles`: allowed if any role allows it. A refusal that is
/// not about the role (state, notice, objection, reason) wins over `WrongRole`; a caller with no
/// role is refused as an auditor would be.
pub fn transition_for<M: Machine>(
    state: M::State,
    action: M::Action,
    roles: &[Role],
    facts: Facts,
) -> Result<M::State, Refusal> {
    if roles.is_empty() {
        return M::next(state, action, Role::Auditor, facts);
    }
    let mut refusal = Refusal::WrongRole;
    for &role in roles {
        match M::next(state, action, role, facts) {
            Ok(next) => return Ok(next),
            Err(Refusal::WrongRole) => {}
            Err(other) => refusal = other,
        }
    }
    Err(refusal)
}

/// The first of `roles` in which the caller takes the step.
pub fn acting_role<M: Machine>(
    state: M::State,
    action: M::Action,
    roles: &[Role],
    facts: Facts,
) -> Option<Role> {
    roles
        .iter()
        .copied()
        .find(|&r| M::next(state, action, r, facts).is_ok())
}

/// [`filing_transition`] for a caller holding `roles`.
pub fn filing_transition_for(
    state: FilingState,
    action: FilingAction,
    roles: &[Role],
    facts: Facts,
) -> Result<FilingState, Refusal> {
    transition_for::<Filing>(state, action, roles, facts)
}

/// [`exit_transition`] for a caller holding `roles`.
pub fn exit_transition_for(
    state: ExitState,
    action: ExitAction,
    roles: &[Role],
    facts: Facts,
) -> Result<ExitState, Refusal> {
    transition_for::<Exit>(state, action, roles, facts)
}

/// Facts under which only state and role decide: what a caller may try next.
const ANY_FACTS: Facts = Facts {
    reason_given: true,
    notice_ended: true,
    open_objections: 0,
    death_or_transfer: true,
};

/// The steps a caller with `roles` may take in `state` (the facts may still refuse one).
pub fn actions<M: Machine>(state: M::State, roles: &[Role]) -> Vec<M::Action> {
    M::Action::values()
        .iter()
        .copied()
        .filter(|&a| transition_for::<M>(state, a, roles, ANY_FACTS).is_ok())
        .collect()
}

/// The filing actions a caller with `roles` may take in `state` (the facts may still refuse).
pub fn filing_actions(state: FilingState, roles: &[Role]) -> Vec<FilingAction> {
    actions::<Filing>(state, roles)
}

/// The exit actions a caller with `roles` may take in `state` (the facts may still refuse).
pub fn exit_actions(state: ExitState, roles: &[Role]) -> Vec<ExitAction> {
    actions::<Exit>(state, roles)
}

/// The file number of a household filed in `region` in `year`, the `sequence`-th of that region
/// and year (建档编号): `610724-2026-00017`.
pub fn file_number(region: &str, year: i32, sequence: i64) -> String {
    format!("{region}-{year}-{sequence:05}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use FilingAction as A;
    use FilingState as S;
    use Role as R;

    fn ok() -> Facts {
        Facts {
            reason_given: true,
            notice_ended: true,
            open_objections: 0,
            death_or_transfer: false,
        }
    }

    #[test]
    fn the_filing_chain_of_the_plan() {
        let steps = [
            (S::Draft, A::Submit, R::GrassrootsOfficer, S::Submitted),
            (
                S::Submitted,
                A::StartReview,
                R::CountyReviewer,
                S::CountyReview,
            ),
            (
                S::CountyReview,
                A::ApproveReview,
                R::CountyReviewer,
                S::Verification,
            ),
            (
                S::Verification,
                A::StartNotice,
                R::CountyAdmin,
                S::PublicNotice,
            ),
            (
                S::PublicNotice,
                A::EndNotice,
                R::CountyReviewer,
                S::CityApproval,
            ),
            (S::CityApproval, A::CityApprove, R::CityApprover, S::Filed),
        ];
        for (from, action, role, to) in steps {
            assert_eq!(
                filing_transition(from, action, role, ok()),
                Ok(to),
                "{from:?} {action:?}"
            );
        }
    }

    #[test]
    fn every_refusal_says_why() {
        assert_eq!(
            filing_transition(S::Filed, A::Submit, R::GrassrootsOfficer, ok()),
            Err(Refusal::WrongState)
        );
        assert_eq!(
            filing_transition(S::Draft, A::Submit, R::CountyAdmin, ok()),
            Err(Refusal::WrongRole)
        );
        assert_eq!(
            filing_transition(S::CityApproval, A::CityApprove, R::CountyAdmin, ok()),
            Err(Refusal::WrongRole)
        );
        assert_eq!(
            filing_transition(S::CityApproval, A::Return, R::CountyReviewer, ok()),
            Err(Refusal::WrongRole),
            "the city returns what is at the city"
        );
        assert_eq!(
            filing_transition(S::CountyReview, A::Return, R::CityApprover, ok()),
            Err(Refusal::WrongRole)
        );
        let no_reason = Facts {
            reason_given: false,
            ..ok()
        };
        assert_eq!(
            filing_transition(S::CountyReview, A::Reject, R::CountyReviewer, no_reason),
            Err(Refusal::ReasonRequired)
        );
        let running = Facts {
            notice_ended: false,
            ..ok()
        };
        assert_eq!(
            filing_transition(S::PublicNotice, A::EndNotice, R::CountyReviewer, running),
            Err(Refusal::NoticeRunning)
        );
        let objection = Facts {
            open_objections: 1,
            ..ok()
        };
        assert_eq!(
            filing_transition(S::PublicNotice, A::EndNotice, R::CountyReviewer, objection),
            Err(Refusal::OpenObjection)
        );
        assert_eq!(
            filing_transition(S::Returned, A::Submit, R::GrassrootsOfficer, ok()),
            Ok(S::Submitted),
            "corrected and resubmitted"
        );
    }

    #[test]
    fn no_state_is_left_by_an_unknown_road() {
        // Terminal states accept nothing.
        for &state in &[S::Filed, S::Rejected, S::Withdrawn] {
            for &action in FilingAction::ALL {
                for &role in Role::ALL {
                    assert!(
                        filing_transition(state, action, role, ok()).is_err(),
                        "{state:?} {action:?} {role:?}"
                    );
                }
            }
        }
        for &action in ExitAction::ALL {
            for &role in Role::ALL {
                assert!(exit_transition(ExitState::Exited, action, role, ok()).is_err());
                assert!(exit_transition(ExitState::Cancelled, action, role, ok()).is_err());
            }
        }
    }

    #[test]
    fn the_exit_chain_of_the_plan_and_its_fast_path() {
        use ExitAction as X;
        use ExitState as E;
        let steps = [
            (
                E::Proposed,
                X::StartRecheck,
                R::CountyReviewer,
                E::CountyRecheck,
            ),
            (
                E::CountyRecheck,
                X::ConfirmRecheck,
                R::CountyAdmin,
                E::CityReview,
            ),
            (
                E::CityReview,
                X::StartNotice,
                R::CityApprover,
                E::PublicNotice,
            ),
            (E::PublicNotice, X::CompleteExit, R::CityApprover, E::Exited),
        ];
        for (from, action, role, to) in steps {
            assert_eq!(exit_transition(from, action, role, ok()), Ok(to));
        }
        assert_eq!(
            exit_transition(E::CityReview, X::FastExit, R::CityApprover, ok()),
            Err(Refusal::NotFastPath)
        );
        let death = Facts {
            death_or_transfer: true,
            ..ok()
        };
        assert_eq!(
            exit_transition(E::CityReview, X::FastExit, R::CityApprover, death),
            Ok(E::Exited)
        );
        assert_eq!(
            exit_transition(
                E::PublicNotice,
                X::CompleteExit,
                R::CityApprover,
                Facts {
                    open_objections: 2,
                    ..ok()
                }
            ),
            Err(Refusal::OpenObjection)
        );
        assert_eq!(
            exit_transition(E::Proposed, X::StartRecheck, R::GrassrootsOfficer, ok()),
            Err(Refusal::WrongRole)
        );
    }

    #[test]
    fn several_roles_take_the_first_that_fits() {
        let roles = [R::GrassrootsOfficer, R::CountyReviewer];
        assert_eq!(
            filing_transition_for(S::Submitted, A::StartReview, &roles, ok()),
            Ok(S::CountyReview)
        );
        assert_eq!(
            filing_transition_for(S::Draft, A::Submit, &roles, ok()),
            Ok(S::Submitted)
        );
        assert_eq!(
            filing_transition_for(S::CityApproval, A::CityApprove, &roles, ok()),
            Err(Refusal::WrongRole)
        );
        assert_eq!(
            filing_transition_for(S::Draft, A::CityApprove, &roles, ok()),
            Err(Refusal::WrongState)
        );
        assert_eq!(
            filing_transition_for(S::Draft, A::Submit, &[], ok()),
            Err(Refusal::WrongRole)
        );
    }

    #[test]
    fn the_actions_offered_are_the_ones_that_succeed() {
        assert_eq!(
            filing_actions(S::Draft, &[R::GrassrootsOfficer]),
            vec![A::Submit, A::Withdraw]
        );
        assert_eq!(
            filing_actions(S::PublicNotice, &[R::CountyReviewer]),
            vec![A::EndNotice, A::Return, A::Reject]
        );
        assert_eq!(
            filing_actions(S::CityApproval, &[R::CityApprover]),
            vec![A::CityApprove, A::Return, A::Reject]
        );
        assert!(filing_actions(S::Filed, Role::ALL).is_empty());
        assert!(filing_actions(S::Submitted, &[R::Auditor]).is_empty());
        assert_eq!(
            exit_actions(ExitState::CityReview, &[R::CityApprover]),
            vec![
                ExitAction::StartNotice,
                ExitAction::FastExit,
                ExitAction::Cancel
            ]
        );
        // Every state that waits on someone offers them something.
        for &state in FilingState::ALL {
            if state.is_open() {
                assert!(
                    !filing_actions(state, state.waits_on()).is_empty(),
                    "{state:?}"
                );
            }
        }
        for &state in ExitState::ALL {
            if state.is_open() {
                assert!(
                    !exit_actions(state, state.waits_on()).is_empty(),
                    "{state:?}"
                );
            }
        }
    }

    #[test]
    fn every_closed_list_of_the_workflows_has_its_names() {
        use crate::closed::check;
        check::<FilingState>().unwrap();
        check::<FilingAction>().unwrap();
        check::<ExitState>().unwrap();
        check::<ExitAction>().unwrap();
        check::<ExitGrounds>().unwrap();
        check::<CaseOrigin>().unwrap();
        check::<TimelineSubject>().unwrap();
        check::<QueueKind>().unwrap();
        check::<crate::calendar::DayKind>().unwrap();
        check::<crate::rules::ParamKey>().unwrap();
        check::<NoticeKind>().unwrap();
        check::<NoticeStatus>().unwrap();
        check::<ObjectionChannel>().unwrap();
        check::<ObjectionStatus>().unwrap();
        check::<ObjectionOutcome>().unwrap();
        check::<ReviewOutcome>().unwrap();
        check::<crate::rules::Verdict>().unwrap();
        check::<crate::rules::ExitVerdict>().unwrap();
        assert_eq!(FilingState::CountyReview.meaning_zh(), "县总工会审核");
        assert_eq!(FilingAction::Submit.meaning_zh(), "提交申报");
        assert_eq!(
            ExitGrounds::from_code("safety_net"),
            Some(ExitGrounds::SafetyNet)
        );
        assert_eq!(ExitState::from_code("exited"), Some(ExitState::Exited));
    }

    #[test]
    fn file_numbers_carry_region_year_and_sequence() {
        assert_eq!(file_number("610724", 2026, 17), "610724-2026-00017");
        assert_eq!(file_number("610724", 2027, 123456), "610724-2027-123456");
    }

    mod walks {
        use super::*;
        use proptest::prelude::*;

        fn facts() -> impl Strategy<Value = Facts> {
            (any::<bool>(), any::<bool>(), 0u32..3, any::<bool>()).prop_map(|(r, n, o, d)| Facts {
                reason_given: r,
                notice_ended: n,
                open_objections: o,
                death_or_transfer: d,
            })
        }

        fn role() -> impl Strategy<Value = Role> {
            proptest::sample::select(Role::ALL.to_vec())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Whatever is tried, in whatever order: a household is filed only by the city
            /// approver after a notice that ran its course without open objections, and nothing
            /// leaves a terminal state.
            #[test]
            fn filing_walks_keep_the_chain(steps in proptest::collection::vec(
                (proptest::sample::select(FilingAction::ALL.to_vec()), role(), facts()), 1..40)) {
                let mut state = FilingState::Draft;
                let mut noticed_ok = false;
                for (action, role, facts) in steps {
                    if let Ok(next) = filing_transition(state, action, role, facts) {
                        prop_assert!(state.is_open(), "{state:?} is terminal");
                        if next == FilingState::CityApproval {
                            prop_assert!(facts.notice_ended && facts.open_objections == 0);
                            noticed_ok = true;
                        }
                        if next == FilingState::Filed {
                            prop_assert_eq!(role, Role::CityApprover);
                            prop_assert!(noticed_ok);
                        }
                        if matches!(next, FilingState::Returned | FilingState::Rejected) {
                            prop_assert!(facts.reason_given);
                        }
                        if next == FilingState::Submitted {
                            noticed_ok = false;
                        }
                        state = next;
                    }
                }
            }

            /// An exit without a notice is only ever for death or transfer, and the notice path
            /// ends only after the notice with no open objection.
            #[test]
            fn exit_walks_keep_the_chain(steps in proptest::collection::vec(
                (proptest::sample::select(ExitAction::ALL.to_vec()), role(), facts()), 1..30)) {
                let mut state = ExitState::Proposed;
                for (action, role, facts) in steps {
                    if let Ok(next) = exit_transition(state, action, role, facts) {
                        prop_assert!(state.is_open());
                        if next == ExitState::Exited {
                            prop_assert_eq!(role, Role::CityApprover);
                            match state {
                                ExitState::CityReview => prop_assert!(facts.death_or_transfer),
                                ExitState::PublicNotice => prop_assert!(facts.notice_ended && facts.open_objections == 0),
                                other => prop_assert!(false, "exited from {other:?}"),
                            }
                        }
                        state = next;
                    }
                }
            }
        }
    }
}
