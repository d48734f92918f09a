//! Identification (精准识别, plan §二(一)): deep, relative or accident-caused hardship, or none.

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use super::policy::Resolved;
use super::snapshot::Snapshot;
use crate::household::{HealthStatus, Month, WorkStatus};
use crate::national_id::Sex;

crate::closed_list! {
    /// What identification finds (精准识别).
    Verdict ("What identification finds", "精准识别结论") {
        Deep = "deep" ("deep hardship (深度困难)", "深度困难"),
        Relative = "relative" ("relative hardship (相对困难)", "相对困难"),
        Accident = "accident" ("hardship caused by an accident (意外致困)", "意外致困"),
        NotEligible = "not_eligible" ("not eligible", "不符合认定条件"),
    }
}

impl Verdict {
    /// How eligible: the order "more income never makes a household more eligible" is checked in.
    pub fn rank(self) -> u8 {
        match self {
            Verdict::Deep => 3,
            Verdict::Relative => 2,
            Verdict::Accident => 1,
            Verdict::NotEligible => 0,
        }
    }
}

/// Each test the rules make, with the policy clause it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    MembersCounted,
    DeepIncome,
    ExcludeHomes,
    ExcludeVehicles,
    ExcludeControllingShareholder,
    ExcludeHighFeeSchooling,
    ExcludeRefusal,
    RelativeIncome,
    RelativeCause,
    AccidentEvent,
    AccidentCosts,
}

impl Rule {
    /// The clause of 《实施方案》 the rule implements, with its words.
    pub fn clause_zh(self) -> &'static str {
        match self {
            Rule::MembersCounted => "《实施方案》二(一)：“共同生活的家庭成员”",
            Rule::DeepIncome => {
                "《实施方案》二(一)：“共同生活的家庭成员人均收入低于当地最低生活保障标准”"
            }
            Rule::ExcludeHomes
            | Rule::ExcludeVehicles
            | Rule::ExcludeControllingShareholder
            | Rule::ExcludeHighFeeSchooling
            | Rule::ExcludeRefusal => "《实施方案》二(一)：“符合当地最低生活保障家庭财产状况规定”",
            Rule::RelativeIncome => {
                "《实施方案》二(一)：“家庭人均月收入虽高于当地最低生活保障标准”（相对困难的上限倍数由政策参数规定）"
            }
            Rule::RelativeCause => {
                "《实施方案》二(一)：“由于本人或主要家庭成员患病、子女上学、残疾、单亲、家庭因遭受意外等，造成生活困难”"
            }
            Rule::AccidentEvent => "《实施方案》二(一)：“家庭因遭受意外”",
            Rule::AccidentCosts => {
                "《实施方案》二(一)：“家庭因遭受意外……造成生活困难”（意外致困支出占家庭年收入的比例由政策参数规定）"
            }
        }
    }

    /// The clause of 《实施方案》 the rule implements, in English.
    pub fn clause_en(self) -> &'static str {
        match self {
            Rule::MembersCounted => "《实施方案》二(一): the family members living together",
            Rule::DeepIncome => {
                "《实施方案》二(一): income per member below the local minimum living standard (dibao)"
            }
            Rule::ExcludeHomes
            | Rule::ExcludeVehicles
            | Rule::ExcludeControllingShareholder
            | Rule::ExcludeHighFeeSchooling
            | Rule::ExcludeRefusal => {
                "《实施方案》二(一): the local rules on the property of dibao households are met"
            }
            Rule::RelativeIncome => {
                "《实施方案》二(一): monthly income per member above the local dibao standard (the upper multiple is a policy parameter)"
            }
            Rule::RelativeCause => {
                "《实施方案》二(一): hardship caused by illness of the worker or a main member, children at school, disability, single parenthood, an accident to the family and the like"
            }
            Rule::AccidentEvent => "《实施方案》二(一): the family suffered an accident",
            Rule::AccidentCosts => {
                "《实施方案》二(一): hardship caused by an accident to the family (the share of annual income its costs must exceed is a policy parameter)"
            }
        }
    }

    pub fn describe_en(self) -> &'static str {
        match self {
            Rule::MembersCounted => "at least one member is counted in the household",
            Rule::DeepIncome => "net income × 10000 against standard × members × months × deep multiplier (bp)",
            Rule::ExcludeHomes => "not more homes than allowed with more floor area per person than allowed",
            Rule::ExcludeVehicles => "no motor vehicle, unless kept for a disabled member's mobility",
            Rule::ExcludeControllingShareholder => "no member controls a company",
            Rule::ExcludeHighFeeSchooling => "no child at a high-fee private school",
            Rule::ExcludeRefusal => "the household cooperates with checks",
            Rule::RelativeIncome => "net income × 10000 against standard × members × months × relative multiplier (bp)",
            Rule::RelativeCause => "a recognised cause: illness, schooling, disability, single parent, accident or disaster",
            Rule::AccidentEvent => "a sudden event is on file",
            Rule::AccidentCosts => "hardship costs × 10000 above annual income × threshold (bp)",
        }
    }

    pub fn describe_zh(self) -> &'static str {
        match self {
            Rule::MembersCounted => "至少一名成员计入家庭人口",
            Rule::DeepIncome => "家庭净收入×10000 与 低保标准×人数×月数×深度困难倍数（基点）比较",
            Rule::ExcludeHomes => "住房套数及人均面积未超过规定",
            Rule::ExcludeVehicles => "无机动车（残疾人代步车除外）",
            Rule::ExcludeControllingShareholder => "家庭成员不是企业控股股东",
            Rule::ExcludeHighFeeSchooling => "子女未就读高收费私立学校",
            Rule::ExcludeRefusal => "配合核查",
            Rule::RelativeIncome => {
                "家庭净收入×10000 与 低保标准×人数×月数×相对困难倍数（基点）比较"
            }
            Rule::RelativeCause => "有认可的致困原因：患病、子女上学、残疾、单亲、意外或灾害",
            Rule::AccidentEvent => "有意外事件记录",
            Rule::AccidentCosts => "意外致困支出×10000 大于 家庭年收入×比例（基点）",
        }
    }
}

/// One test: passed or not, with the two sides compared (in the units the rule states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Test {
    pub rule: Rule,
    pub passed: bool,
    pub lhs: i128,
    pub rhs: i128,
}

/// Every intermediate figure, in fen unless named otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// First and last month of the look-back window (YYYYMM).
    pub window_from: i32,
    pub window_to: i32,
    pub window_months: i64,
    pub members_counted: i64,
    /// Income counted (verified figures replacing declared ones for the same member, month, kind).
    pub income_counted_fen: i64,
    /// Income of kinds the policy leaves out (awards, scholarships …).
    pub income_excluded_fen: i64,
    /// Declared income replaced by verified income.
    pub income_replaced_fen: i64,
    /// Minimum wage imputed to able-bodied unemployed members without proven income.
    pub income_imputed_fen: i64,
    pub members_imputed: i64,
    /// Verified rigid expenditure falling inside the window (pro rata by month).
    pub expenditure_fen: i64,
    /// Expenditure not verified, and so not deducted.
    pub expenditure_unverified_fen: i64,
    /// counted + imputed.
    pub annual_income_fen: i64,
    /// annual income − expenditure.
    pub net_income_fen: i64,
    pub standard_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub figures: Figures,
    pub tests: Vec<Test>,
    /// Declared asset figures replaced by verified facts, with the facts behind each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<crate::verification::Override>,
}

impl Decision {
    pub fn test(&self, rule: Rule) -> Option<&Test> {
        self.tests.iter().find(|t| t.rule == rule)
    }
}

/// Age in whole years on a date (negative before birth).
pub(crate) fn age_on(birth: chrono::NaiveDate, on: chrono::NaiveDate) -> i64 {
    let mut age = i64::from(on.year() - birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Identifies a household under the resolved policy.
pub fn identify(s: &Snapshot, p: &Resolved) -> Decision {
    let mut f = Figures::default();
    let mut tests = Vec::with_capacity(11);
    let this_month = Month::of(s.assessment_date);
    let months = p.lookback_months.0.max(1);
    let to = this_month.prev();
    let mut from = to;
    for _ in 1..months {
        from = from.prev();
    }
    let (from_key, to_key) = (from.key(), to.key());
    f.window_from = from_key;
    f.window_to = to_key;
    f.window_months = months;

    // Income of a member left out of the household does not count; most households leave nobody
    // out, so the common case compares nothing.
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
    f.members_counted = s.members.iter().filter(|m| m.included).count() as i64;
    tests.push(Test {
        rule: Rule::MembersCounted,
        passed: f.members_counted > 0,
        lhs: i128::from(f.members_counted),
        rhs: 1,
    });

    // Income of counted members inside the window; verified figures replace declared ones.
    let any_verified = s.incomes.iter().any(|i| i.verified);
    for i in &s.incomes {
        if i.month < from_key || i.month > to_key || !counted(&i.member_id) {
            continue;
        }
        if p.excluded_income_kinds.0.contains(&i.kind) {
            f.income_excluded_fen = f.income_excluded_fen.saturating_add(i.amount_fen);
            continue;
        }
        let replaced = any_verified
            && !i.verified
            && s.incomes.iter().any(|v| {
                v.verified && v.month == i.month && v.kind == i.kind && v.member_id == i.member_id
            });
        if replaced {
            f.income_replaced_fen = f.income_replaced_fen.saturating_add(i.amount_fen);
        } else {
            f.income_counted_fen = f.income_counted_fen.saturating_add(i.amount_fen);
        }
    }

    // An able-bodied, working-age, unemployed member is counted as earning at least the minimum
    // wage: what they proved is topped up to it (so that more proven income never lowers the
    // household's income, and a member with no proof gets the whole minimum wage).
    if p.impute_unemployed.0 {
        let floor: i64 = p.minimum_wage.iter().map(|(_, w, _)| *w).sum();
        for m in s
            .members
            .iter()
            .filter(|m| m.included && m.work_status == WorkStatus::Unemployed)
        {
            let age = age_on(m.birth_date, s.assessment_date);
            let retirement = match m.sex {
                Sex::Male => p.retirement_age_male.0,
                Sex::Female => p.retirement_age_female.0,
            };
            let able = !matches!(
                m.health,
                Some(HealthStatus::Disabled | HealthStatus::SeriousIllness)
            );
            if !(able && age >= p.working_age_from.0 && age < retirement) {
                continue;
            }
            let proven: i64 = s
                .incomes
                .iter()
                .filter(|i| {
                    i.month >= from_key
                        && i.month <= to_key
                        && i.member_id.as_deref() == Some(m.id.as_str())
                        && !p.excluded_income_kinds.0.contains(&i.kind)
                        && !(any_verified
                            && !i.verified
                            && s.incomes.iter().any(|v| {
                                v.verified
                                    && v.month == i.month
                                    && v.kind == i.kind
                                    && v.member_id == i.member_id
                            }))
                })
                .fold(0i64, |sum, i| sum.saturating_add(i.amount_fen));
            if proven < floor {
                f.income_imputed_fen = f
                    .income_imputed_fen
                    .saturating_add(floor.saturating_sub(proven));
                f.members_imputed += 1;
            }
        }
    }

    // Verified rigid expenditure, pro rata over the months inside the window.
    for e in &s.expenditures {
        let start = e.start_month.max(from_key);
        let end = e.end_month.min(to_key);
        if start > end {
            continue;
        }
        let span = month_span(e.start_month, e.end_month);
        let inside = month_span(start, end);
        let share =
            (i128::from(e.amount_fen) * i128::from(inside) / i128::from(span.max(1))) as i64;
        if e.verified {
            f.expenditure_fen = f.expenditure_fen.saturating_add(share);
        } else {
            f.expenditure_unverified_fen = f.expenditure_unverified_fen.saturating_add(share);
        }
    }

    f.annual_income_fen = f.income_counted_fen.saturating_add(f.income_imputed_fen);
    f.net_income_fen = f.annual_income_fen.saturating_sub(f.expenditure_fen);
    f.standard_fen = p.dibao_standard_fen.0;

    // Per-capita monthly net ≤ k × standard  ⇔  net × 10000 ≤ standard × members × months × k(bp).
    let lhs = i128::from(f.net_income_fen) * 10_000;
    let base = i128::from(f.standard_fen) * i128::from(f.members_counted) * i128::from(months);
    let deep_rhs = base * i128::from(p.deep_multiplier_bp.0);
    let deep_income = f.members_counted > 0 && p.deep_comparator.0.holds(lhs, deep_rhs);
    tests.push(Test {
        rule: Rule::DeepIncome,
        passed: deep_income,
        lhs,
        rhs: deep_rhs,
    });

    let (assets, verified) = crate::verification::effective_assets(&s.assets, &s.verified);
    let a = &assets;
    let mut excluded = false;
    let mut exclusion = |rule: Rule, enabled: bool, hit: bool, lhs: i128, rhs: i128| {
        let passed = !(enabled && hit);
        excluded |= !passed;
        tests.push(Test {
            rule,
            passed,
            lhs,
            rhs,
        });
    };
    let area_cap =
        i128::from(p.exclude_homes_area_per_capita_dm2.0) * i128::from(f.members_counted.max(1));
    exclusion(
        Rule::ExcludeHomes,
        true,
        a.homes_count > p.exclude_homes_over.0 && i128::from(a.homes_area_dm2) > area_cap,
        i128::from(a.homes_area_dm2),
        area_cap,
    );
    exclusion(
        Rule::ExcludeVehicles,
        p.exclude_vehicles.0,
        a.vehicles_count > 0 && !a.vehicle_disability_exempt,
        i128::from(a.vehicles_count),
        0,
    );
    exclusion(
        Rule::ExcludeControllingShareholder,
        p.exclude_controlling_shareholder.0,
        a.controlling_shareholder,
        i128::from(a.controlling_shareholder),
        0,
    );
    exclusion(
        Rule::ExcludeHighFeeSchooling,
        p.exclude_high_fee_schooling.0,
        a.high_fee_schooling,
        i128::from(a.high_fee_schooling),
        0,
    );
    exclusion(
        Rule::ExcludeRefusal,
        p.exclude_refusal.0,
        a.refuses_cooperation,
        i128::from(a.refuses_cooperation),
        0,
    );
    let deep = deep_income && !excluded;

    let relative_rhs = base * i128::from(p.relative_multiplier_bp.0);
    let relative_income = f.members_counted > 0 && p.relative_comparator.0.holds(lhs, relative_rhs);
    tests.push(Test {
        rule: Rule::RelativeIncome,
        passed: relative_income,
        lhs,
        rhs: relative_rhs,
    });
    // A cause marked resolved no longer makes a household relatively poor.
    let recognised = |c: u8| p.relative_causes.0.contains(&c) && !s.resolved_causes.contains(&c);
    let cause = recognised(s.main_cause)
        || s.secondary_causes.iter().any(|c| recognised(*c))
        || s.single_parent
        || s.disability_household
        || s.members.iter().any(|m| {
            m.included
                && matches!(
                    m.health,
                    Some(HealthStatus::Disabled | HealthStatus::SeriousIllness)
                )
        });
    tests.push(Test {
        rule: Rule::RelativeCause,
        passed: cause,
        lhs: i128::from(cause),
        rhs: 1,
    });
    let relative = !deep && relative_income && cause;

    let event = s.accident.is_some();
    tests.push(Test {
        rule: Rule::AccidentEvent,
        passed: event,
        lhs: i128::from(event),
        rhs: 1,
    });
    let costs = s.accident.as_ref().map_or(0, |a| a.costs_fen);
    let acc_lhs = i128::from(costs) * 10_000;
    let acc_rhs = i128::from(f.annual_income_fen) * i128::from(p.accident_threshold_bp.0);
    let accident_costs = event && acc_lhs > acc_rhs;
    tests.push(Test {
        rule: Rule::AccidentCosts,
        passed: accident_costs,
        lhs: acc_lhs,
        rhs: acc_rhs,
    });

    let verdict = if deep {
        Verdict::Deep
    } else if relative {
        Verdict::Relative
    } else if accident_costs {
        Verdict::Accident
    } else {
        Verdict::NotEligible
    };
    Decision {
        verdict,
        figures: f,
        tests,
        verified,
    }
}

/// Months from `a` to `b` inclusive (YYYYMM keys).
pub fn month_span(a: i32, b: i32) -> i32 {
    (b / 100 - a / 100) * 12 + (b % 100 - a % 100) + 1
}
