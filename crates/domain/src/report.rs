//! Reports for supervision (督查问效, 《实施方案》四(三)): which reports there are.
//!
//! Choices the plan leaves open, and why:
//! - A report counts months in China Standard Time (UTC+8), as the unions do.
//! - A filing is a *return to hardship* (返困) when the household had exited before it.

crate::closed_list! {
    /// A report an auditor or a supervising union can pull.
    ReportName ("Name of a report", "报表名称") {
        Roster = "roster" ("filed and monitored households as of a time, by region, union, category, main cause and status, with the household flags", "建档立卡及监测家庭花名册统计：按地区、工会、困难类别、主要致困原因和状态，含家庭标识"),
        Flows = "flows" ("households filed, returned to hardship and exited (by grounds), per month", "每月新建档、返困再建档和退出（按退出类型）家庭数"),
        Assistance = "assistance" ("the assistance ledger by month, measure, delivering unit and fund source: entries, reversals, households and net amounts", "帮扶台账统计：按月份、措施、落实单位和资金来源统计笔数、冲正笔数、户数和净金额"),
        Campaigns = "campaigns" ("per campaign and quota holder (the campaign's union with the budget, each organisation below with its quota): the quota as it stood, the payments of its subtree and their amount, what is left, and any amount paid over the quota (it must be zero)", "按活动和额度单位（发起工会为总预算，下级组织为分配额度）：当时的额度、其下属范围的发放笔数和金额、剩余额度及超出额度的金额（应为零）"),
        Accountability = "accountability" ("per lead unit: referrals by state, overdue, days to delivery (median and 90th percentile); verification tasks answered on time, late or overdue", "按牵头单位：转介各状态数量、逾期数、落实用时（中位数和第90百分位）；核对任务按期答复、逾期答复和逾期未答复数"),
        Timeliness = "timeliness" ("how long filing applications and exit cases stayed in each workflow step: stays completed (median and 90th percentile days) and cases still waiting", "建档申请和退出事项在各流程环节的停留时间：已完成停留（中位数和第90百分位天数）及仍在等待的事项"),
        Coverage = "coverage" ("per measure the plan rules can propose: filed households whose last plan proposal called for it (every filed household for dual contact and psychological care), how many had a referral, help recorded or a contact person, and how many had none", "按规则可建议的每项措施：最近一次帮扶计划建议需要该措施的已建档家庭数（双包联系和心理疏导关怀为全部已建档家庭），其中已转介、已登记帮扶、已落实联系人的户数，以及均无的户数"),
        Exceptions = "exceptions" ("what needs an auditor's attention at a moment: unresolved discrepancies, open objections, the same person in two active files (it must be zero), filed households no longer found eligible, help over a cap (it must be zero)", "须关注的异常：未处理的核对差异、未处理的公示异议、同一人员在两个有效档案中（应为零）、已建档但不再符合条件的家庭、帮扶金额超过上限（应为零）"),
    }
}

crate::closed_list! {
    /// A kind of exception the exceptions report counts.
    ExceptionKind ("Kind of exception", "异常类型") {
        OpenDiscrepancy = "open_discrepancy" ("a difference between declared and verified data not yet resolved by staff", "申报数据与核实数据的差异尚未处理"),
        OpenObjection = "open_objection" ("an objection to a public notice not yet resolved", "公示异议尚未处理"),
        PersonInTwoFiles = "person_in_two_files" ("the same person (by identity number) in two active household files; it must be zero", "同一人员（按身份证号）同时在两个有效档案中，应为零"),
        NoLongerEligible = "no_longer_eligible" ("a filed household whose last identification assessment finds it no longer eligible", "已建档家庭最近一次精准识别评估结论为不再符合条件"),
        AssistanceOverCap = "assistance_over_cap" ("help recorded for a household in a calendar year above a cap of the policy (per measure or in total); it must be zero", "家庭年度帮扶金额超过政策上限（单项措施或合计），应为零"),
    }
}

/// The nearest-rank percentile `p` (1–100) of `values`: the smallest value with at least `p` %
/// of the values at or below it; `None` for no values. Whole days stay whole days.
pub fn nearest_rank(values: &[i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let rank = (n * p.clamp(1, 100) as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A stay of a case in a state: entered at one step, left at the next (`None`: still there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay<'a> {
    pub state: &'a str,
    pub entered: chrono::NaiveDateTime,
    pub left: Option<chrono::NaiveDateTime>,
}

/// The stays of one case, from its steps in the order taken (each the state it entered, and
/// when). The last state is a stay still running unless `open` says the case has ended there.
pub fn stays<'a>(
    steps: &[(&'a str, chrono::NaiveDateTime)],
    open: impl Fn(&str) -> bool,
) -> Vec<Stay<'a>> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, (state, at))| match steps.get(i + 1) {
            Some((_, next)) => Some(Stay {
                state,
                entered: *at,
                left: Some(*next),
            }),
            None if open(state) => Some(Stay {
                state,
                entered: *at,
                left: None,
            }),
            None => None,
        })
        .collect()
}

/// Whole days from one local (China Standard Time) date to another.
pub fn days_between(from: chrono::NaiveDate, to: chrono::NaiveDate) -> i64 {
    (to - from).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_stays_in_each_state_until_its_next_step() {
        let t = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 3, d)
                .unwrap()
                .and_hms_opt(2, 0, 0)
                .unwrap()
        };
        let open = |s: &str| s != "filed";
        let steps = [
            ("draft", t(1)),
            ("submitted", t(3)),
            ("county_review", t(4)),
        ];
        assert_eq!(
            stays(&steps, open),
            vec![
                Stay {
                    state: "draft",
                    entered: t(1),
                    left: Some(t(3))
                },
                Stay {
                    state: "submitted",
                    entered: t(3),
                    left: Some(t(4))
                },
                Stay {
                    state: "county_review",
                    entered: t(4),
                    left: None
                },
            ]
        );
        let ended = [("draft", t(1)), ("filed", t(9))];
        assert_eq!(
            stays(&ended, open),
            vec![Stay {
                state: "draft",
                entered: t(1),
                left: Some(t(9))
            }],
            "an ended case waits nowhere"
        );
        assert!(stays(&[], open).is_empty());
        // A state entered twice (returned and submitted again) is two stays.
        let again = [("submitted", t(1)), ("returned", t(2)), ("submitted", t(5))];
        assert_eq!(
            stays(&again, open)
                .iter()
                .filter(|s| s.state == "submitted")
                .count(),
            2
        );
    }

    #[test]
    fn nearest_rank_percentiles() {
        let cases: [(&[i64], u32, Option<i64>); 9] = [
            (&[], 50, None),
            (&[7], 50, Some(7)),
            (&[7], 90, Some(7)),
            (&[3, 1, 2], 50, Some(2)),
            (&[1, 2, 3, 4], 50, Some(2)),
            (&[1, 2, 3, 4], 90, Some(4)),
            (&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90, Some(90)),
            (&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 50, Some(50)),
            (&[5, 5, 5, 9], 100, Some(9)),
        ];
        for (values, p, want) in cases {
            assert_eq!(nearest_rank(values, p), want, "{values:?} p{p}");
        }
    }

    #[test]
    fn a_percentile_is_one_of_the_values_and_grows_with_p() {
        let values = [4, 8, 15, 16, 23, 42, 1, 0, 9];
        let mut last = i64::MIN;
        for p in 1..=100 {
            let v = nearest_rank(&values, p).unwrap();
            assert!(values.contains(&v));
            assert!(v >= last);
            last = v;
        }
    }

    #[test]
    fn names_round_trip() {
        for n in ReportName::ALL {
            assert_eq!(n.as_str().parse::<ReportName>().ok(), Some(*n));
        }
        assert!("rosters".parse::<ReportName>().is_err());
    }
}
