//! Precise measures after the plan (《实施方案》三): where a plan item, a referral and an
//! assistance record stand, and the rules that hold for each — which referral steps follow which,
//! and the yearly caps on help recorded for a household.

use serde::{Deserialize, Serialize};

crate::closed_list! {
    /// Where a measure in a household's plan stands.
    PlanItemStatus ("Status of a measure in a household's plan", "帮扶计划中措施的状态") {
        Proposed = "proposed" ("proposed by the rules, awaiting a decision by staff", "系统建议，待工作人员确认"),
        Accepted = "accepted" ("accepted: a referral has gone to the lead unit", "已采纳，已转介牵头单位"),
        Dropped = "dropped" ("dropped by staff, with a reason", "已放弃（须说明理由）"),
    }
}

crate::closed_list! {
    /// Who put a measure into a plan.
    PlanItemOrigin ("Who put a measure into a plan", "措施来源") {
        Rule = "rule" ("proposed by the rules from the household's facts", "系统根据家庭情况建议"),
        Staff = "staff" ("added by union staff", "工作人员添加"),
    }
}

crate::closed_list! {
    /// Where a referral to a lead unit stands.
    ReferralStatus ("Status of a referral", "转介状态") {
        Open = "open" ("sent, not yet answered by the lead unit", "已转介，牵头单位尚未答复"),
        Acknowledged = "acknowledged" ("the lead unit has taken it up", "牵头单位已受理"),
        Declined = "declined" ("the lead unit declined it, with a reason", "牵头单位不予受理（须说明理由）"),
        Delivered = "delivered" ("the lead unit has delivered the measure", "牵头单位已落实"),
    }
}

crate::closed_list! {
    /// What a lead unit does with a referral.
    ReferralAction ("What a lead unit does with a referral", "转介办理操作") {
        Acknowledge = "acknowledge" ("take it up", "受理"),
        Decline = "decline" ("decline it, with a reason", "不予受理"),
        Deliver = "deliver" ("record that the measure was delivered", "登记已落实"),
    }
}

crate::closed_list! {
    /// What kind of help an assistance record is.
    AssistanceKind ("Kind of assistance", "帮扶形式") {
        Cash = "cash" ("cash paid to the household", "现金救助"),
        InKind = "in_kind" ("goods given in kind", "实物救助"),
        Service = "service" ("a service (training, job introduction, counselling, legal aid …)", "服务（培训、就业推荐、心理疏导、法律援助等）"),
        Enrolment = "enrolment" ("enrolment in a scheme from a date (for example 低保 granted)", "纳入保障（如自某日起纳入低保）"),
    }
}

crate::closed_list! {
    /// Who delivered a piece of help.
    UnitKind ("Kind of delivering unit", "实施单位类型") {
        Organisation = "organisation" ("a union organisation", "工会组织"),
        Department = "department" ("a partner department", "合作部门"),
    }
}

impl ReferralStatus {
    /// The status a referral in `self` moves to under `action`, or `None` when the action does not
    /// apply: an open referral is acknowledged, declined or delivered; an acknowledged one is
    /// declined or delivered; declined and delivered referrals are final.
    pub fn after(self, action: ReferralAction) -> Option<ReferralStatus> {
        use ReferralAction as A;
        use ReferralStatus as S;
        match (self, action) {
            (S::Open, A::Acknowledge) => Some(S::Acknowledged),
            (S::Open | S::Acknowledged, A::Decline) => Some(S::Declined),
            (S::Open | S::Acknowledged, A::Deliver) => Some(S::Delivered),
            _ => None,
        }
    }

    /// Whether the lead unit still owes an answer or a delivery.
    pub fn is_pending(self) -> bool {
        matches!(self, ReferralStatus::Open | ReferralStatus::Acknowledged)
    }
}

/// The yearly caps on help recorded for one household, in fen: per measure and in total, across
/// every delivering unit. `None` means no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    pub per_measure_fen: Option<i64>,
    pub total_fen: Option<i64>,
}

/// Which cap an entry would break, with the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CapBreach {
    /// The measure's yearly cap.
    Measure {
        cap_fen: i64,
        recorded_fen: i64,
        amount_fen: i64,
    },
    /// The household's yearly total.
    Total {
        cap_fen: i64,
        recorded_fen: i64,
        amount_fen: i64,
    },
}

impl Caps {
    /// Checks a new entry of `amount_fen` against what the year already holds for the measure
    /// (`measure_fen`) and in total (`total_fen`). Reversing entries (negative amounts) always
    /// pass: they only lower the sums.
    /// How many caps one household's standing help in one calendar year breaks, given the net
    /// amount under each measure: each measure over its cap, and the year's total over its own.
    pub fn breaches(self, per_measure_fen: &[i64]) -> usize {
        let over = |sum: i128, cap: Option<i64>| cap.is_some_and(|c| sum > i128::from(c));
        let measures = per_measure_fen
            .iter()
            .filter(|m| over(i128::from(**m), self.per_measure_fen))
            .count();
        let total: i128 = per_measure_fen.iter().map(|m| i128::from(*m)).sum();
        measures + usize::from(over(total, self.total_fen))
    }

    pub fn check(self, measure_fen: i64, total_fen: i64, amount_fen: i64) -> Result<(), CapBreach> {
        if amount_fen <= 0 {
            return Ok(());
        }
        if let Some(cap) = self.per_measure_fen {
            if i128::from(measure_fen) + i128::from(amount_fen) > i128::from(cap) {
                return Err(CapBreach::Measure {
                    cap_fen: cap,
                    recorded_fen: measure_fen,
                    amount_fen,
                });
            }
        }
        if let Some(cap) = self.total_fen {
            if i128::from(total_fen) + i128::from(amount_fen) > i128::from(cap) {
                return Err(CapBreach::Total {
                    cap_fen: cap,
                    recorded_fen: total_fen,
                    amount_fen,
                });
            }
        }
        Ok(())
    }
}

/// Whether a household meets the conditions of special-hardship support (特困人员救助供养, which
/// 《实施方案》三(三)5 asks the civil affairs department to apply): nobody counted in it can work —
/// each is a child under 16, aged 60 or more, recorded as unable to work, seriously ill or
/// disabled — and it has no income at all. `members` gives each counted member's birth date, work
/// status and health; `annual_income_fen` is the year's income the identification counts
/// (imputed income included, so an able member without work already breaks the condition).
pub fn special_hardship_conditions(
    members: impl IntoIterator<
        Item = (
            chrono::NaiveDate,
            crate::household::WorkStatus,
            Option<crate::household::HealthStatus>,
        ),
    >,
    on: chrono::NaiveDate,
    annual_income_fen: i64,
) -> bool {
    use crate::household::{HealthStatus, WorkStatus};
    use chrono::Datelike;
    let mut any = false;
    let all_unable = members.into_iter().all(|(birth, work, health)| {
        any = true;
        let mut age = on.year() - birth.year();
        if (on.month(), on.day()) < (birth.month(), birth.day()) {
            age -= 1;
        }
        !(16..60).contains(&age)
            || work == WorkStatus::UnableToWork
            || matches!(
                health,
                Some(HealthStatus::SeriousIllness | HealthStatus::Disabled)
            )
    });
    any && all_unable && annual_income_fen <= 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closed::ClosedList;

    #[test]
    fn referral_steps() {
        use ReferralAction as A;
        use ReferralStatus as S;
        let table = [
            (S::Open, A::Acknowledge, Some(S::Acknowledged)),
            (S::Open, A::Decline, Some(S::Declined)),
            (S::Open, A::Deliver, Some(S::Delivered)),
            (S::Acknowledged, A::Acknowledge, None),
            (S::Acknowledged, A::Decline, Some(S::Declined)),
            (S::Acknowledged, A::Deliver, Some(S::Delivered)),
            (S::Declined, A::Acknowledge, None),
            (S::Declined, A::Decline, None),
            (S::Declined, A::Deliver, None),
            (S::Delivered, A::Acknowledge, None),
            (S::Delivered, A::Decline, None),
            (S::Delivered, A::Deliver, None),
        ];
        for (from, action, to) in table {
            assert_eq!(from.after(action), to, "{from} {action}");
        }
        for s in ReferralStatus::values() {
            assert_eq!(s.is_pending(), s.after(ReferralAction::Deliver).is_some());
        }
    }

    #[test]
    fn special_hardship_needs_nobody_able_to_work_and_no_income() {
        use crate::household::{HealthStatus, WorkStatus};
        let d = |y, m, dd| chrono::NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let on = d(2026, 12, 1);
        let old = (d(1950, 1, 1), WorkStatus::Retired, None);
        let ill = (
            d(1980, 1, 1),
            WorkStatus::Unemployed,
            Some(HealthStatus::SeriousIllness),
        );
        let unable = (d(1985, 1, 1), WorkStatus::UnableToWork, None);
        let child = (d(2015, 1, 1), WorkStatus::Student, None);
        let able = (
            d(1990, 1, 1),
            WorkStatus::Unemployed,
            Some(HealthStatus::Healthy),
        );
        // 16 on the day: of working age.
        let sixteen = (d(2010, 12, 1), WorkStatus::Student, None);
        assert!(special_hardship_conditions(
            [old, ill, unable, child],
            on,
            0
        ));
        assert!(!special_hardship_conditions(
            [old, ill, unable, child],
            on,
            1
        ));
        assert!(!special_hardship_conditions([old, able], on, 0));
        assert!(!special_hardship_conditions([old, sixteen], on, 0));
        assert!(!special_hardship_conditions([], on, 0));
    }

    #[test]
    fn caps_hold_per_measure_and_in_total() {
        let caps = Caps {
            per_measure_fen: Some(100_000),
            total_fen: Some(150_000),
        };
        assert_eq!(caps.check(0, 0, 100_000), Ok(()));
        assert_eq!(
            caps.check(60_000, 60_000, 40_001),
            Err(CapBreach::Measure {
                cap_fen: 100_000,
                recorded_fen: 60_000,
                amount_fen: 40_001
            })
        );
        assert_eq!(
            caps.check(0, 120_000, 30_001),
            Err(CapBreach::Total {
                cap_fen: 150_000,
                recorded_fen: 120_000,
                amount_fen: 30_001
            })
        );
        assert_eq!(caps.check(0, 120_000, 30_000), Ok(()));
        // A reversal always passes, even above a cap lowered since.
        assert_eq!(caps.check(500_000, 500_000, -100), Ok(()));
        assert_eq!(Caps::default().check(i64::MAX, i64::MAX, i64::MAX), Ok(()));
    }

    #[test]
    fn breaches_count_each_measure_over_its_cap_and_the_total() {
        let caps = Caps {
            per_measure_fen: Some(100_000),
            total_fen: Some(150_000),
        };
        assert_eq!(caps.breaches(&[]), 0);
        assert_eq!(
            caps.breaches(&[100_000, 50_000]),
            0,
            "at a cap is within it"
        );
        assert_eq!(caps.breaches(&[100_001]), 1);
        assert_eq!(caps.breaches(&[100_000, 50_001]), 1, "the total only");
        assert_eq!(caps.breaches(&[100_001, 100_001]), 3);
        assert_eq!(Caps::default().breaches(&[i64::MAX, i64::MAX]), 0);
        // Amounts near the limits of i64 add up without overflowing.
        let total = Caps {
            per_measure_fen: None,
            total_fen: Some(i64::MAX),
        };
        assert_eq!(total.breaches(&[i64::MAX, 1]), 1);
    }
}
