//! Dual contact (双包联系, plan §三(七)14): the county union keeps in touch with 1–3 difficult
//! enterprises, each of its leadership members with 2–3 hardship households, and union cadres
//! with hardship workers; every contact is visited and the visits logged.
//!
//! The gap rules below are pure functions over plain data: the store gathers the assignments,
//! counties and filed households of a scope, and these say what falls short of the plan.
//!
//! Choices the plan leaves open, and why:
//! - *A leadership member* is whoever is named on a `leader_household` assignment (a user of the
//!   county union, or a named person): the plan counts the members' households, so a member is
//!   known by the assignments made for them, ended ones included (a member whose households all
//!   ended has 0).
//! - *A contact with no visit in the last N days*: counted from the later of the last visit and
//!   the day the assignment began, so a new assignment has N days for its first visit.
//! - Only assignments valid today count (`valid_from` ≤ today, `valid_until` absent or ≥ today).

use chrono::NaiveDate;
use serde::Serialize;

crate::closed_list! {
    /// Who keeps in touch with whom.
    ContactKind ("Kind of dual-contact assignment", "双包联系类型") {
        UnionEnterprise = "union_enterprise" ("the county union keeps in touch with a difficult enterprise (1–3 of them, 《实施方案》三(七)14)", "县总工会联系困难企业（1-3家，《实施方案》三(七)14）"),
        LeaderHousehold = "leader_household" ("a member of the county union's leadership keeps in touch with a hardship household (2–3 each, 《实施方案》三(七)14)", "县总工会班子成员联系困难职工家庭（每人2-3户，《实施方案》三(七)14）"),
        CadreWorker = "cadre_worker" ("a union cadre keeps in touch with a hardship worker's household (《实施方案》三(七)14)", "机关工会干部、企业工会干部联系困难职工（《实施方案》三(七)14）"),
    }
}

crate::closed_list! {
    /// What falls short of the dual-contact system.
    GapKind ("Kind of dual-contact gap", "双包联系缺口类型") {
        LeaderTooFew = "leader_too_few" ("a leadership member keeps in touch with fewer than 2 households", "班子成员联系困难职工家庭少于2户"),
        LeaderTooMany = "leader_too_many" ("a leadership member keeps in touch with more than 3 households", "班子成员联系困难职工家庭多于3户"),
        CountyTooFewEnterprises = "county_too_few_enterprises" ("the county union keeps in touch with no difficult enterprise", "县总工会未联系困难企业"),
        CountyTooManyEnterprises = "county_too_many_enterprises" ("the county union keeps in touch with more than 3 difficult enterprises", "县总工会联系困难企业多于3家"),
        HouseholdWithoutContact = "household_without_contact" ("a filed household has no leadership member or cadre keeping in touch with it", "建档立卡家庭无班子成员或干部联系"),
        ContactNotVisited = "contact_not_visited" ("a contact has had no visit in the last N days (policy parameter contact_visit_gap_days)", "联系人近N天内未走访（政策参数 contact_visit_gap_days）"),
    }
}

/// The plan's bounds (《实施方案》三(七)14): households per leadership member, enterprises per
/// county union.
pub const LEADER_HOUSEHOLDS: (usize, usize) = (2, 3);
pub const COUNTY_ENTERPRISES: (usize, usize) = (1, 3);

/// The activity types a county records visits with when it has configured none: the visit and
/// call themselves, and the “四送” activities (送温暖、送政策、送岗位、送技能).
pub const DEFAULT_ACTIVITY_TYPES: &[&str] = &[
    "home_visit",
    "phone_call",
    "help_delivered",
    "send_warmth",
    "send_policy",
    "send_jobs",
    "send_skills",
];

/// Whether a code may name an activity type: 1–40 characters of `a`–`z`, `0`–`9` and `_`,
/// starting with a letter.
pub fn activity_code_ok(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// An assignment as the gap rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: String,
    pub kind: ContactKind,
    /// The county union responsible.
    pub county_id: String,
    /// Who keeps in touch: the same key for the same person (a user's id; for a person named,
    /// the id of their first assignment), also the subject of their gaps.
    pub contact_key: String,
    pub contact_name: String,
    pub household_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// The day of its latest visit.
    pub last_visit: Option<NaiveDate>,
}

impl Assignment {
    /// Valid on `day`: begun, and not ended before it.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_until.is_none_or(|u| day <= u)
    }
}

/// Everything the gap rules look at, for one scope.
#[derive(Debug, Clone, Default)]
pub struct GapInput {
    pub assignments: Vec<Assignment>,
    /// The county unions of the scope, `(id, name)`.
    pub counties: Vec<(String, String)>,
    /// The filed households of the scope, `(id, file number)`.
    pub filed_households: Vec<(String, Option<String>)>,
}

/// What a gap is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Subject {
    Leader(String),
    County(String),
    Household(String),
    Assignment(String),
}

/// One gap, with a description in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub kind: GapKind,
    pub subject: Subject,
    /// The figure that falls short: households, enterprises, days since the last visit.
    pub count: Option<i64>,
    pub description: String,
    pub description_zh: String,
}

impl Gap {
    /// A stable key, unique in a list of gaps: the subject's id (a subject has one gap at most,
    /// and the ids of different records never meet).
    pub fn key(&self) -> &str {
        match &self.subject {
            Subject::Leader(s)
            | Subject::County(s)
            | Subject::Household(s)
            | Subject::Assignment(s) => s,
        }
    }
}

/// The days a contact has gone without a visit on `today`, counted from the later of its last
/// visit and the assignment's start, when they are more than `n`: the rhythm of 《实施方案》
/// 三(七)14 not kept. A new assignment has `n` days for its first visit.
pub fn days_behind(
    last_visit: Option<NaiveDate>,
    valid_from: NaiveDate,
    today: NaiveDate,
    n: i64,
) -> Option<i64> {
    let since = last_visit.map_or(valid_from, |v| v.max(valid_from));
    let days = (today - since).num_days();
    (days > n).then_some(days)
}

/// The gaps of a scope on `today`, with `gap_days` the policy's N for each assignment's county
/// (the longest a contact may go without a visit); in the order of [`Gap::key`].
pub fn gaps(input: &GapInput, today: NaiveDate, gap_days: impl Fn(&Assignment) -> i64) -> Vec<Gap> {
    use std::collections::{BTreeMap, BTreeSet};
    let valid: Vec<&Assignment> = input
        .assignments
        .iter()
        .filter(|a| a.valid_on(today))
        .collect();
    let mut out = Vec::new();

    // Leadership members: every one named on a leader_household assignment, by current households.
    let mut leaders: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for a in input
        .assignments
        .iter()
        .filter(|a| a.kind == ContactKind::LeaderHousehold)
    {
        let e = leaders
            .entry(a.contact_key.as_str())
            .or_insert((a.contact_name.as_str(), 0));
        if a.valid_on(today) {
            e.1 += 1;
        }
    }
    let (lo, hi) = LEADER_HOUSEHOLDS;
    for (key, (name, n)) in leaders {
        let (kind, en, zh) = if n < lo {
            (GapKind::LeaderTooFew, "fewer than 2", "少于2户")
        } else if n > hi {
            (GapKind::LeaderTooMany, "more than 3", "多于3户")
        } else {
            continue;
        };
        out.push(Gap {
            kind,
            subject: Subject::Leader(key.to_owned()),
            count: Some(n as i64),
            description: format!(
                "{name} keeps in touch with {n} households, {en}: each leadership member keeps in touch with 2–3 (《实施方案》三(七)14)"
            ),
            description_zh: format!(
                "{name}联系困难职工家庭{n}户，{zh}：班子成员每人联系2-3户（《实施方案》三(七)14）"
            ),
        });
    }

    // County unions: current enterprise assignments.
    let (lo, hi) = COUNTY_ENTERPRISES;
    for (id, name) in &input.counties {
        let n = valid
            .iter()
            .filter(|a| a.kind == ContactKind::UnionEnterprise && &a.county_id == id)
            .count();
        let (kind, en, zh) = if n < lo {
            (GapKind::CountyTooFewEnterprises, "fewer than 1", "少于1家")
        } else if n > hi {
            (GapKind::CountyTooManyEnterprises, "more than 3", "多于3家")
        } else {
            continue;
        };
        out.push(Gap {
            kind,
            subject: Subject::County(id.clone()),
            count: Some(n as i64),
            description: format!(
                "{name} keeps in touch with {n} difficult enterprises, {en}: the county union keeps in touch with 1–3 (《实施方案》三(七)14)"
            ),
            description_zh: format!(
                "{name}联系困难企业{n}家，{zh}：县总工会负责联系1-3家困难企业（《实施方案》三(七)14）"
            ),
        });
    }

    // Filed households nobody keeps in touch with.
    let covered: BTreeSet<&str> = valid
        .iter()
        .filter(|a| {
            matches!(
                a.kind,
                ContactKind::LeaderHousehold | ContactKind::CadreWorker
            )
        })
        .filter_map(|a| a.household_id.as_deref())
        .collect();
    for (id, file) in &input.filed_households {
        if covered.contains(id.as_str()) {
            continue;
        }
        let file = file.as_deref().unwrap_or(id);
        out.push(Gap {
            kind: GapKind::HouseholdWithoutContact,
            subject: Subject::Household(id.clone()),
            count: None,
            description: format!(
                "filed household {file} has no leadership member or cadre keeping in touch with it (《实施方案》三(七)14)"
            ),
            description_zh: format!(
                "建档立卡家庭{file}无班子成员或干部联系（《实施方案》三(七)14）"
            ),
        });
    }

    // Contacts not visited in the last N days, counted from the later of the last visit and the
    // assignment's start.
    for a in &valid {
        let n = gap_days(a);
        let Some(days) = days_behind(a.last_visit, a.valid_from, today, n) else {
            continue;
        };
        let what = match (a.last_visit, a.kind) {
            (Some(v), _) => (format!("last visited on {v}"), format!("最近一次走访为{v}")),
            (None, _) => (
                format!("not visited since it began on {}", a.valid_from),
                format!("自{}起未走访", a.valid_from),
            ),
        };
        out.push(Gap {
            kind: GapKind::ContactNotVisited,
            subject: Subject::Assignment(a.id.clone()),
            count: Some(days),
            description: format!(
                "{} ({}) has gone {days} days without a visit, {}: a contact is visited at least every {n} days (《实施方案》三(七)14)",
                a.contact_name,
                crate::closed::ClosedList::meaning_en(a.kind).split(" (").next().unwrap_or_default(),
                what.0
            ),
            description_zh: format!(
                "{}（{}）已{days}天未走访，{}：联系人至少每{n}天走访一次（《实施方案》三(七)14）",
                a.contact_name,
                crate::closed::ClosedList::meaning_zh(a.kind).split('（').next().unwrap_or_default(),
                what.1
            ),
        });
    }
    out.sort_by(|a, b| a.key().cmp(b.key()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn a(id: &str, kind: ContactKind, who: &str, target: &str, from: &str) -> Assignment {
        let (household_id, enterprise_id) = match kind {
            ContactKind::UnionEnterprise => (None, Some(target.to_owned())),
            _ => (Some(target.to_owned()), None),
        };
        Assignment {
            id: id.into(),
            kind,
            county_id: "xx".into(),
            contact_key: who.into(),
            contact_name: who.into(),
            household_id,
            enterprise_id,
            valid_from: d(from),
            valid_until: None,
            last_visit: Some(d("2026-12-01")),
        }
    }

    fn kinds(g: &[Gap]) -> Vec<GapKind> {
        g.iter().map(|g| g.kind).collect()
    }

    const TODAY: &str = "2026-12-05";

    #[test]
    fn lists_are_sound() {
        crate::closed::check::<ContactKind>().unwrap();
        crate::closed::check::<GapKind>().unwrap();
        assert!(DEFAULT_ACTIVITY_TYPES.iter().all(|c| activity_code_ok(c)));
        assert!(
            !activity_code_ok("Home visit") && !activity_code_ok("") && !activity_code_ok("1x")
        );
    }

    #[test]
    fn leaders_hold_two_or_three_households() {
        use ContactKind::LeaderHousehold as L;
        // (households of the member, gap expected)
        for (n, want) in [
            (1, vec![GapKind::LeaderTooFew]),
            (2, vec![]),
            (3, vec![]),
            (4, vec![GapKind::LeaderTooMany]),
        ] {
            let input = GapInput {
                assignments: (0..n)
                    .map(|i| a(&format!("a{i}"), L, "张", &format!("h{i}"), "2026-11-01"))
                    .collect(),
                ..Default::default()
            };
            let g = gaps(&input, d(TODAY), |_| 90);
            assert_eq!(kinds(&g), want, "{n} households");
            if let Some(g) = g.first() {
                assert_eq!(g.count, Some(n));
                assert!(g.description_zh.contains("《实施方案》三(七)14"));
            }
        }
    }

    #[test]
    fn an_ended_assignment_no_longer_counts() {
        use ContactKind::LeaderHousehold as L;
        let mut input = GapInput {
            assignments: vec![
                a("a1", L, "张", "h1", "2026-11-01"),
                a("a2", L, "张", "h2", "2026-11-01"),
            ],
            ..Default::default()
        };
        assert!(gaps(&input, d(TODAY), |_| 90).is_empty());
        input.assignments[1].valid_until = Some(d("2026-12-04"));
        let g = gaps(&input, d(TODAY), |_| 90);
        assert_eq!(kinds(&g), vec![GapKind::LeaderTooFew]);
        assert_eq!(g[0].count, Some(1));
        // Valid through its last day; not yet valid before its first.
        input.assignments[1].valid_until = Some(d(TODAY));
        assert!(gaps(&input, d(TODAY), |_| 90).is_empty());
        input.assignments[1].valid_until = None;
        input.assignments[1].valid_from = d("2026-12-06");
        assert_eq!(
            kinds(&gaps(&input, d(TODAY), |_| 90)),
            vec![GapKind::LeaderTooFew]
        );
    }

    #[test]
    fn the_county_keeps_in_touch_with_one_to_three_enterprises() {
        use ContactKind::UnionEnterprise as U;
        for (n, want) in [
            (0, vec![GapKind::CountyTooFewEnterprises]),
            (1, vec![]),
            (3, vec![]),
            (4, vec![GapKind::CountyTooManyEnterprises]),
        ] {
            let input = GapInput {
                assignments: (0..n)
                    .map(|i| a(&format!("a{i}"), U, "xx", &format!("e{i}"), "2026-11-01"))
                    .collect(),
                counties: vec![("xx".into(), "西乡县总工会".into())],
                ..Default::default()
            };
            assert_eq!(
                kinds(&gaps(&input, d(TODAY), |_| 90)),
                want,
                "{n} enterprises"
            );
        }
    }

    #[test]
    fn a_filed_household_needs_a_leader_or_a_cadre() {
        let households = vec![
            ("h1".to_owned(), Some("F1".to_owned())),
            ("h2".to_owned(), None),
        ];
        let mut input = GapInput {
            filed_households: households,
            assignments: vec![a("a1", ContactKind::CadreWorker, "李", "h1", "2026-11-01")],
            ..Default::default()
        };
        let g = gaps(&input, d(TODAY), |_| 90);
        assert_eq!(kinds(&g), vec![GapKind::HouseholdWithoutContact]);
        assert_eq!(g[0].subject, Subject::Household("h2".into()));
        input
            .assignments
            .push(a("a2", ContactKind::CadreWorker, "李", "h2", "2026-11-01"));
        assert!(gaps(&input, d(TODAY), |_| 90).is_empty());
        // An enterprise assignment covers no household.
        input.assignments[1].kind = ContactKind::UnionEnterprise;
        input.assignments[1].household_id = None;
        assert_eq!(
            kinds(&gaps(&input, d(TODAY), |_| 90)),
            vec![GapKind::HouseholdWithoutContact]
        );
    }

    #[test]
    fn a_contact_is_visited_every_n_days() {
        let mut input = GapInput {
            assignments: vec![a("a1", ContactKind::CadreWorker, "李", "h1", "2026-01-01")],
            ..Default::default()
        };
        // (last visit, N, gap expected)
        for (last, n, gap) in [
            (Some("2026-12-01"), 90, false),
            (Some("2026-09-06"), 90, false), // 90 days ago: still within
            (Some("2026-09-05"), 90, true),  // 91 days ago
            (Some("2026-09-05"), 91, false), // a county with a longer N
            (None, 90, true),                // begun long ago, never visited
        ] {
            input.assignments[0].last_visit = last.map(d);
            let g = gaps(&input, d(TODAY), |_| n);
            assert_eq!(
                kinds(&g) == vec![GapKind::ContactNotVisited],
                gap,
                "{last:?} {n}"
            );
            assert_eq!(g.is_empty(), !gap);
        }
        // A new assignment has N days for its first visit.
        input.assignments[0].last_visit = None;
        input.assignments[0].valid_from = d("2026-11-01");
        assert!(gaps(&input, d(TODAY), |_| 90).is_empty());
        // An ended one is not looked at.
        input.assignments[0].valid_from = d("2026-01-01");
        input.assignments[0].valid_until = Some(d("2026-06-30"));
        assert!(gaps(&input, d(TODAY), |_| 90).is_empty());
    }

    #[test]
    fn gaps_come_in_a_stable_order() {
        let input = GapInput {
            filed_households: vec![("h2".into(), None), ("h1".into(), None)],
            counties: vec![("xx".into(), "西乡县总工会".into())],
            ..Default::default()
        };
        let g = gaps(&input, d(TODAY), |_| 90);
        assert_eq!(
            kinds(&g),
            vec![
                GapKind::HouseholdWithoutContact,
                GapKind::HouseholdWithoutContact,
                GapKind::CountyTooFewEnterprises
            ]
        );
        assert_eq!(g[0].subject, Subject::Household("h1".into()));
    }
}
