//! The rules of identification, category and exit (plan §二(一), §二(二)) and of the measures
//! proposed for a household (plan §三): pure functions over a snapshot of a household and resolved
//! policy parameters, each returning its verdict with the figures and tests that led to it. Money
//! is integer fen; per-capita comparisons are made by cross-multiplication, never by division.

pub mod exit;
pub mod identify;
pub mod plan;
pub mod policy;
pub mod snapshot;

pub use exit::{assess_exit, ExitDecision, ExitPolicy, ExitVerdict};
pub use identify::{identify, Decision, Figures, Rule, Test, Verdict};
pub use plan::{
    plannable, propose, propose_with, NotPlannable, PlanFacts, PlanMember, PlanPolicy, Proposal,
    Reason, ReasonCode, DEFAULT_REFERRAL_DUE_WORKING_DAYS, REASON_CODES,
};
pub use policy::{
    default_book, Comparator, ContactPolicy, MeasurePolicy, ParamKey, ParamValue, Parameter,
    PolicyBook, PolicyError, Resolved, ValueKind, WorkflowPolicy,
};
pub use snapshot::{
    AccidentSnap, AssetsSnap, AssistanceSnap, ExpenditureSnap, IncomeSnap, MemberSnap, Snapshot,
};
