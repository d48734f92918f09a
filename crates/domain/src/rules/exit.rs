//! Exit (精准退出, plan §二(二)): 脱困 when per-capita income is above the standard in force in
//! each of the last six months and every hardship cause is resolved; 解困 (safety-net exit) when
//! the household is covered by government assistance and union help and its living level reaches
//! the standard; otherwise the household stays, with the reasons month by month.

use serde::{Deserialize, Serialize};

use super::policy::{ParamKey, ParamValue, PolicyBook, PolicyError};
use super::snapshot::Snapshot;
use crate::household::{IncomeKind, Month};

crate::closed_list! {
    /// What the exit rule finds (精准退出).
    ExitVerdict ("What the exit rule finds", "精准退出结论") {
        /// 脱困: out of hardship.
        OutOfHardship = "out_of_hardship" ("out of hardship (脱困)", "脱困"),
        /// 解困: hardship relieved by the safety net.
        SafetyNet = "safety_net" ("hardship relieved by the safety net (解困)", "解困"),
        Stay = "stay" ("stays in the programme", "继续帮扶"),
    }
}

/// The policy for exits in one region, with the standard month by month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitPolicy {
    pub exit_months: i64,
    /// (month, standard in fen, id of the version) for each month of the window, oldest first.
    pub standards: Vec<(Month, i64, String)>,
    pub excluded_income_kinds: Vec<IncomeKind>,
}

impl ExitPolicy {
    /// The exit window ending with the month before `date`'s month.
    pub fn resolve(
        book: &PolicyBook,
        region: &str,
        date: chrono::NaiveDate,
    ) -> Result<ExitPolicy, PolicyError> {
        let months = match &book.lookup(ParamKey::ExitMonths, region, date)?.value {
            ParamValue::Int(v) => *v,
            _ => return Err(PolicyError::WrongType { key: "exit_months" }),
        };
        let excluded = match &book
            .lookup(ParamKey::ExcludedIncomeKinds, region, date)?
            .value
        {
            ParamValue::Kinds(k) => k.clone(),
            _ => {
                return Err(PolicyError::WrongType {
                    key: "excluded_income_kinds",
                })
            }
        };
        let mut standards = Vec::with_capacity(months.max(0) as usize);
        let mut m = Month::of(date);
        for _ in 0..months.max(0) {
            m = m.prev();
            let (fen, p) = book.standard_in(region, m)?;
            standards.push((m, fen, p.id.clone()));
        }
        standards.reverse();
        Ok(ExitPolicy {
            exit_months: months,
            standards,
            excluded_income_kinds: excluded,
        })
    }
}

/// One month of the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCheck {
    pub month: String,
    pub income_fen: i64,
    pub members: i64,
    pub standard_fen: i64,
    pub standard_version: String,
    /// income > standard × members (超过).
    pub above: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitDecision {
    pub verdict: ExitVerdict,
    pub months: Vec<MonthCheck>,
    /// Consecutive months above the standard, counting back from the latest.
    pub consecutive_months_above: i64,
    pub unresolved_causes: Vec<u8>,
    /// Government assistance (dibao or special hardship) and union help are both in place.
    pub safety_net_covered: bool,
    /// The latest month's income, transfers included, reaches the standard (达到).
    pub safety_net_level_reached: bool,
}

/// Assesses whether a filed household may exit.
pub fn assess_exit(s: &Snapshot, p: &ExitPolicy) -> ExitDecision {
    let members = s.members.iter().filter(|m| m.included).count() as i64;
    let left_out: Vec<&str> = s
        .members
        .iter()
        .filter(|m| !m.included)
        .map(|m| m.id.as_str())
        .collect();
    let counted = |member: &Option<String>| match member {
        None => true,
        Some(id) => left_out.is_empty() || !left_out.contains(&id.as_str()),
    };
    let any_verified = s.incomes.iter().any(|i| i.verified);
    let income_in = |key: i32| -> i64 {
        s.incomes
            .iter()
            .filter(|i| {
                i.month == key
                    && counted(&i.member_id)
                    && !p.excluded_income_kinds.contains(&i.kind)
            })
            .filter(|i| {
                !(any_verified
                    && !i.verified
                    && s.incomes.iter().any(|v| {
                        v.verified
                            && v.month == i.month
                            && v.kind == i.kind
                            && v.member_id == i.member_id
                    }))
            })
            .fold(0i64, |sum, i| sum.saturating_add(i.amount_fen))
    };
    let months: Vec<MonthCheck> = p
        .standards
        .iter()
        .map(|(m, standard, version)| {
            let income = income_in(m.key());
            MonthCheck {
                month: m.to_string(),
                income_fen: income,
                members,
                standard_fen: *standard,
                standard_version: version.clone(),
                above: members > 0
                    && i128::from(income) > i128::from(*standard) * i128::from(members),
            }
        })
        .collect();
    let consecutive = months.iter().rev().take_while(|m| m.above).count() as i64;
    let unresolved: Vec<u8> = std::iter::once(s.main_cause)
        .chain(s.secondary_causes.iter().copied())
        .filter(|c| !s.resolved_causes.contains(c))
        .collect();
    let full_window = !months.is_empty() && months.len() as i64 == p.exit_months;
    let out = full_window && consecutive == p.exit_months && unresolved.is_empty();
    let covered = (s.assistance.dibao || s.assistance.special_hardship) && s.assistance.union_help;
    let level = months.last().is_some_and(|m| {
        members > 0 && i128::from(m.income_fen) >= i128::from(m.standard_fen) * i128::from(members)
    });
    let verdict = if out {
        ExitVerdict::OutOfHardship
    } else if covered && level {
        ExitVerdict::SafetyNet
    } else {
        ExitVerdict::Stay
    };
    ExitDecision {
        verdict,
        months,
        consecutive_months_above: consecutive,
        unresolved_causes: unresolved,
        safety_net_covered: covered,
        safety_net_level_reached: level,
    }
}
