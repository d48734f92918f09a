use std::collections::BTreeMap;

use chrono::NaiveDate;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::{
    ExpenditureKind, HealthStatus, IncomeKind, Month, Relation, WorkStatus,
};
use jiekun_domain::national_id::Sex;
use jiekun_domain::rules::{
    assess_exit, default_book, identify, AccidentSnap, AssetsSnap, AssistanceSnap, ExitPolicy,
    ExpenditureSnap, IncomeSnap, MemberSnap, ParamKey, ParamValue, Parameter, PolicyBook, Snapshot,
};
use serde::Deserialize;
use serde_json::Value;

pub const REGION: &str = "610724";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// How the expectation was worked out by hand.
    #[allow(dead_code)]
    pub worked: String,
    #[serde(default)]
    pub policy: BTreeMap<String, Value>,
    /// Dated dibao standards, replacing the defaults: [["2026-01-01", 70000], …].
    #[serde(default)]
    pub standards: Vec<(NaiveDate, i64)>,
    pub date: NaiveDate,
    pub members: Vec<CaseMember>,
    #[serde(default)]
    pub income: Vec<CaseIncome>,
    #[serde(default)]
    pub expenditure: Vec<CaseExpenditure>,
    #[serde(default)]
    pub assets: AssetsSnap,
    #[serde(default = "default_cause")]
    pub main_cause: u8,
    #[serde(default)]
    pub secondary_causes: Vec<u8>,
    #[serde(default)]
    pub resolved_causes: Vec<u8>,
    #[serde(default)]
    pub single_parent: bool,
    #[serde(default)]
    pub disability_household: bool,
    pub accident_costs_fen: Option<i64>,
    #[serde(default)]
    pub assistance: AssistanceSnap,
    pub expect: Value,
}

fn default_cause() -> u8 {
    6
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseMember {
    pub id: String,
    pub relation: Relation,
    pub born: NaiveDate,
    pub sex: String,
    pub work: WorkStatus,
    pub health: Option<HealthStatus>,
    #[serde(default = "yes")]
    pub included: bool,
}

fn yes() -> bool {
    true
}

/// The same amount every month from `from` to `to` (YYYY-MM, inclusive).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseIncome {
    pub member: Option<String>,
    pub kind: IncomeKind,
    pub fen: i64,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseExpenditure {
    pub kind: ExpenditureKind,
    pub fen: i64,
    pub from: String,
    pub to: String,
    pub verified: bool,
}

fn month(s: &str) -> Month {
    Month::parse(s, NaiveDate::from_ymd_opt(9999, 1, 1).unwrap())
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

impl Case {
    pub fn book(&self) -> PolicyBook {
        let mut book = default_book();
        let from = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        let mut set = |key: ParamKey, value: ParamValue, versions: Vec<(NaiveDate, ParamValue)>| {
            book.parameters.retain(|p| p.key != key);
            let list = if versions.is_empty() {
                vec![(from, value)]
            } else {
                versions
            };
            for (i, (start, v)) in list.into_iter().enumerate() {
                book.parameters.push(Parameter {
                    id: format!("case-{}-{i}", key.as_str()),
                    key,
                    region_prefix: String::new(),
                    effective_from: start,
                    effective_to: None,
                    value: v,
                    document: "test".into(),
                });
            }
        };
        let standards: Vec<(NaiveDate, ParamValue)> = self
            .standards
            .iter()
            .map(|(d, f)| (*d, ParamValue::Int(*f)))
            .collect();
        set(
            ParamKey::DibaoStandardFen,
            ParamValue::Int(70_000),
            standards,
        );
        set(
            ParamKey::MinimumWageFen,
            ParamValue::Int(200_000),
            Vec::new(),
        );
        for (k, v) in &self.policy {
            let key = ParamKey::from_code(k)
                .unwrap_or_else(|| panic!("{}: unknown parameter {k}", self.name));
            let value: ParamValue = serde_json::from_value(v.clone()).unwrap();
            set(key, value, Vec::new());
        }
        book.parameters = jiekun_domain::rules::policy::close_superseded(book.parameters);
        book
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut incomes = Vec::new();
        for i in &self.income {
            let (mut m, end) = (month(&i.from), month(&i.to));
            while m <= end {
                incomes.push(IncomeSnap {
                    member_id: i.member.clone(),
                    month: m.key(),
                    kind: i.kind,
                    amount_fen: i.fen,
                    verified: i.verified,
                });
                m = m.next();
            }
        }
        Snapshot {
            household_id: self.name.clone(),
            region_code: REGION.into(),
            assessment_date: self.date,
            members: self
                .members
                .iter()
                .map(|m| MemberSnap {
                    id: m.id.clone(),
                    relation: m.relation,
                    included: m.included,
                    birth_date: m.born,
                    sex: Sex::parse(&m.sex).unwrap(),
                    work_status: m.work,
                    health: m.health,
                })
                .collect(),
            incomes,
            expenditures: self
                .expenditure
                .iter()
                .map(|e| ExpenditureSnap {
                    kind: e.kind,
                    amount_fen: e.fen,
                    start_month: month(&e.from).key(),
                    end_month: month(&e.to).key(),
                    verified: e.verified,
                })
                .collect(),
            assets: self.assets.clone(),
            main_cause: self.main_cause,
            secondary_causes: self.secondary_causes.clone(),
            resolved_causes: self.resolved_causes.clone(),
            single_parent: self.single_parent,
            disability_household: self.disability_household,
            accident: self.accident_costs_fen.map(|c| AccidentSnap {
                description: "事故".into(),
                date: self.date,
                costs_fen: c,
            }),
            assistance: self.assistance.clone(),
            verified: Vec::new(),
        }
    }
}

fn load(file: &str) -> Vec<Case> {
    let path = format!("{}/tests/rules/cases/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Checks every key of `expect` against the same path of `got`.
fn check(case: &str, got: &Value, expect: &Value, at: &str, failures: &mut Vec<String>) {
    match expect {
        Value::Object(map) => {
            for (k, v) in map {
                check(case, &got[k], v, &format!("{at}.{k}"), failures);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => match got.as_array() {
            Some(g) if g.len() == items.len() => {
                for (i, (gv, ev)) in g.iter().zip(items).enumerate() {
                    check(case, gv, ev, &format!("{at}[{i}]"), failures);
                }
            }
            _ => failures.push(format!(
                "{case}: {at} is {got}, expected {} items",
                items.len()
            )),
        },
        _ => {
            if got != expect {
                failures.push(format!("{case}: {at} is {got}, expected {expect}"));
            }
        }
    }
}

#[test]
fn identification_cases() {
    let cases = load("identify.json");
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for case in &cases {
        let resolved = case.book().resolve(REGION, case.date).unwrap();
        let decision = identify(&case.snapshot(), &resolved);
        let mut got = serde_json::to_value(&decision).unwrap();
        // Tests by rule name, for the expectations to read well.
        let tests: serde_json::Map<String, Value> = decision
            .tests
            .iter()
            .map(|t| {
                (
                    serde_json::to_value(t.rule)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    Value::Bool(t.passed),
                )
            })
            .collect();
        got["tests"] = Value::Object(tests);
        check(&case.name, &got, &case.expect, "", &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exit_cases() {
    let cases = load("exit.json");
    assert!(cases.len() >= 5);
    let mut failures = Vec::new();
    for case in &cases {
        let policy = ExitPolicy::resolve(&case.book(), REGION, case.date).unwrap();
        let decision = assess_exit(&case.snapshot(), &policy);
        let got = serde_json::to_value(&decision).unwrap();
        check(&case.name, &got, &case.expect, "", &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
