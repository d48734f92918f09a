//! The synthetic households themselves. Drawing is sequential, from two seeded streams, so that a
//! seed and a count always give the same households; sealing (encryption and blind indexes, which
//! take most of the time and draw only random nonces) is separate and may run anywhere.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use jiekun_domain::household::Month;
use jiekun_store::bulk::{FileNumbers, HouseholdBatch};
use jiekun_store::crypto::FieldCipher;
use jiekun_store::households::{self as hs, ExpenditureRow, HouseholdRow, IncomeRow, MemberRow};
use jiekun_store::organisations::OrganisationRow;
use jiekun_store::workflows::LifecycleRow;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The county every generated household lives in.
pub const REGION: &str = "610724";

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "玉兰", "志强",
    "海燕",
];
const STREETS: &[&str] = &[
    "城关镇东大街",
    "城关镇西大街",
    "城关镇南环路",
    "杨河镇新街",
    "柳树镇中街",
    "沙河镇老街",
    "堰口镇河滨路",
    "私渡镇滨江路",
];

/// Where a generated household lives, and the homes it owns (the assets the rules look at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Housing {
    pub kind: &'static str,
    /// Floor area of the dwelling, 0.01 m²; none without a fixed home.
    pub area_dm2: Option<i64>,
    pub homes_count: i64,
    pub homes_area_dm2: i64,
}

impl Housing {
    /// An owner lives in the one home the household owns; everyone else owns none (a household
    /// that rents and also owns a home elsewhere is not generated).
    pub fn draw(rng: &mut impl Rng) -> Housing {
        let roll = rng.random_range(0..100);
        let (kind, area) = match roll {
            0..35 => ("owned", rng.random_range(4_000..12_000)),
            35..55 => ("public_rental", rng.random_range(3_000..6_000)),
            55..75 => ("private_rental", rng.random_range(2_000..8_000)),
            75..87 => ("relatives", rng.random_range(1_500..5_000)),
            87..95 => ("employer", rng.random_range(2_000..5_000)),
            _ => ("none", 0),
        };
        let owned = kind == "owned";
        Housing {
            kind,
            area_dm2: (kind != "none").then_some(area),
            homes_count: i64::from(owned),
            homes_area_dm2: if owned { area } else { 0 },
        }
    }
}

/// A drawn member: the row without its encrypted fields, and what goes into them.
struct DraftMember {
    row: MemberRow,
    national_id: String,
    health: Option<String>,
}

/// A drawn household, everything but its encryption done.
pub(super) struct Draft {
    row: HouseholdRow,
    account: String,
    members: Vec<DraftMember>,
    incomes: Vec<IncomeRow>,
    expenditure: Option<ExpenditureRow>,
    lifecycle: Option<LifecycleRow>,
}

/// Draws households one after another. The facts a measure plan proposes from come from a stream
/// of their own, so that adding such facts left the rest of a seed's households as they were.
pub(super) struct Generator {
    rng: StdRng,
    facts: StdRng,
    /// Identity numbers drawn so far (their 17-digit bodies): a person is generated once.
    seen: HashSet<u64>,
    unions: Vec<OrganisationRow>,
    enterprises: Vec<String>,
    today: NaiveDate,
    this_month: Month,
    now: NaiveDateTime,
    /// Households drawn so far.
    serial: usize,
}

impl Generator {
    pub fn new(
        seed: u64,
        unions: Vec<OrganisationRow>,
        enterprises: Vec<String>,
        today: NaiveDate,
    ) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            facts: StdRng::seed_from_u64(!seed),
            seen: HashSet::new(),
            unions,
            enterprises,
            today,
            this_month: Month::of(today),
            now: jiekun_store::now(),
            serial: 0,
        }
    }

    /// The next `n` households.
    pub fn draw(&mut self, n: usize) -> anyhow::Result<Vec<Draft>> {
        (0..n).map(|_| self.household()).collect()
    }

    /// File numbers used up to the households drawn so far.
    pub fn file_numbers(&self) -> FileNumbers {
        FileNumbers {
            region: REGION.into(),
            year: self.today.year(),
            last: self.serial as i64,
        }
    }

    fn household(&mut self) -> anyhow::Result<Draft> {
        let (today, now, this_month) = (self.today, self.now, self.this_month);
        let serial = self.serial;
        self.serial += 1;
        let rng = &mut self.rng;
        let union_ix = rng.random_range(0..self.unions.len());
        let hid = jiekun_store::new_id();
        let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
        let mut people: Vec<(&str, i32, bool, &str)> = Vec::new(); // relation, age, male, work
        let worker_age = rng.random_range(28..59);
        let worker_male = rng.random_bool(0.55);
        people.push((
            "worker",
            worker_age,
            worker_male,
            if rng.random_bool(0.7) {
                "employed"
            } else {
                "unemployed"
            },
        ));
        let single_parent = rng.random_bool(0.08);
        if !single_parent && rng.random_bool(0.8) {
            let age = (worker_age + rng.random_range(-4..5)).clamp(22, 62);
            people.push((
                "spouse",
                age,
                !worker_male,
                if rng.random_bool(0.5) {
                    "employed"
                } else {
                    "unemployed"
                },
            ));
        }
        for _ in 0..rng.random_range(0..3) {
            let age = rng.random_range(0..(worker_age - 20).max(1)).min(25);
            let work = if age < 6 {
                "preschool"
            } else if age < 23 {
                "student"
            } else {
                "employed"
            };
            people.push(("child", age, rng.random_bool(0.5), work));
        }
        if rng.random_bool(0.15) {
            let age = (worker_age + rng.random_range(24..32)).min(95);
            people.push(("parent", age, rng.random_bool(0.5), "retired"));
        }
        let disability = rng.random_bool(0.12);
        let mut worker_name = String::new();
        let mut worker_laid_off = false;
        let mut members = Vec::with_capacity(people.len());
        let mut incomes = Vec::new();
        for (pos, &(relation, age, male, work)) in people.iter().enumerate() {
            let birth_year = today.year() - age;
            let birth = loop {
                let d = NaiveDate::from_ymd_opt(
                    birth_year,
                    rng.random_range(1..13),
                    rng.random_range(1..29),
                )
                .unwrap_or(today);
                let seq = rng.random_range(0..500) * 2 + u32::from(male);
                let body = format!("{REGION}{}{:03}", d.format("%Y%m%d"), seq);
                let key: u64 = body.parse()?;
                if d <= today && self.seen.insert(key) {
                    break jiekun_domain::national_id::complete(&body);
                }
            };
            let name = if relation == "worker" || relation == "child" {
                format!("{surname}{}", GIVEN[rng.random_range(0..GIVEN.len())])
            } else {
                format!(
                    "{}{}",
                    SURNAMES[rng.random_range(0..SURNAMES.len())],
                    GIVEN[rng.random_range(0..GIVEN.len())]
                )
            };
            if relation == "worker" {
                worker_name = name.clone();
            }
            let parsed = jiekun_domain::NationalId::parse(&birth, today)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let health = if disability && pos == people.len() - 1 {
                let grade = rng.random_range(1..5);
                // The severely disabled (grades 1 and 2) depend on others' care.
                Some(serde_json::json!({"status": "disabled", "illness": null, "disability_type": "physical", "disability_grade": grade, "long_term_care": grade <= 2}).to_string())
            } else if rng.random_bool(0.15) {
                Some(serde_json::json!({"status": "serious_illness", "illness": "慢性肾功能衰竭", "disability_type": null, "disability_grade": null}).to_string())
            } else {
                None
            };
            // Out of work at working age: some were laid off by an enterprise, some pay
            // residents' pension contributions themselves, a few want to start a business.
            let out_of_work = work == "unemployed" && (16..60).contains(&age);
            let laid_off = out_of_work && self.facts.random_bool(0.5);
            let residents_pension = out_of_work && self.facts.random_bool(0.4);
            let business_plan = out_of_work && age < 50 && self.facts.random_bool(0.15);
            if relation == "worker" {
                worker_laid_off = laid_off;
            }
            let mid = jiekun_store::new_id();
            let row = MemberRow {
                national_id_enc: String::new(),
                national_id_index: String::new(),
                national_id_masked: parsed.masked(),
                health_enc: None,
                id: mid.clone(),
                household_id: hid.clone(),
                position: pos as i64,
                relation: relation.into(),
                name,
                sex: parsed.sex().as_str().into(),
                birth_date: parsed.birth_date(),
                work_status: work.into(),
                schooling_level: (work == "student").then(|| {
                    if age >= 18 {
                        "undergraduate"
                    } else if age >= 15 {
                        "senior_secondary"
                    } else {
                        "primary"
                    }
                    .to_string()
                }),
                school: None,
                // A student of 18 is in the first year of college (the 金秋助学 intake).
                school_year: (work == "student" && age >= 18)
                    .then(|| i64::from((age - 17).clamp(1, 4))),
                included: true,
                exclusion_reason: None,
                created_at: now,
                updated_at: now,
                business_plan,
                residents_pension,
                laid_off,
            };
            // Twelve months of income for those who earn.
            let monthly = match work {
                "employed" => Some(("wage", rng.random_range(80_000..360_000))),
                "retired" => Some(("pension", rng.random_range(60_000..220_000))),
                _ => None,
            };
            if let Some((kind, base)) = monthly {
                let mut m = this_month;
                for _ in 0..12 {
                    m = m.prev();
                    let source = if rng.random_bool(0.6) {
                        "declared"
                    } else {
                        "hrss"
                    };
                    let amount_fen = base + rng.random_range(-5_000..5_000);
                    incomes.push(IncomeRow {
                        id: jiekun_store::new_id(),
                        household_id: hid.clone(),
                        member_id: Some(mid.clone()),
                        month: i64::from(m.key()),
                        kind: kind.into(),
                        source: source.into(),
                        amount_fen,
                        verified: rng.random_bool(0.5),
                        note: None,
                        created_at: now,
                        updated_at: now,
                    });
                }
            }
            members.push(DraftMember {
                row,
                national_id: parsed.as_str().to_owned(),
                health,
            });
        }
        let main_cause: i64 = [6, 6, 6, 3, 3, 9, 9, 1, 2, 8, 4, 5, 7, 10][rng.random_range(0..14)];
        let mut secondary: Vec<i64> = Vec::new();
        for _ in 0..rng.random_range(0..3) {
            let c = rng.random_range(1..11);
            if c != main_cause && !secondary.contains(&c) {
                secondary.push(c);
            }
        }
        let expenditure = if rng.random_bool(0.35) {
            let start = (0..6).fold(this_month, |m, _| m.prev());
            let amount_fen = rng.random_range(200_000..3_000_000);
            Some(ExpenditureRow {
                id: jiekun_store::new_id(),
                household_id: hid.clone(),
                member_id: None,
                kind: if main_cause == 9 {
                    "schooling".into()
                } else {
                    "medical".into()
                },
                amount_fen,
                start_month: i64::from(start.key()),
                end_month: i64::from(this_month.prev().key()),
                description: None,
                evidence: Some(format!("票据{serial:06}")),
                verified: rng.random_bool(0.6),
                created_at: now,
                updated_at: now,
            })
        } else {
            None
        };
        let roll: f64 = rng.random();
        let (status, category) = if roll < 0.2 {
            ("draft", None)
        } else if roll < 0.95 {
            (
                "filed",
                Some(["deep", "relative", "relative", "accident"][rng.random_range(0..4)]),
            )
        } else {
            ("monitoring", None)
        };
        let lifecycle = (status != "draft").then(|| {
            // Filed some time in the last two years; monitored ones left since.
            let filed_on = today - chrono::TimeDelta::days(rng.random_range(20..700));
            let exited_on = (status == "monitoring")
                .then(|| today - chrono::TimeDelta::days(rng.random_range(1..300)));
            LifecycleRow {
                household_id: hid.clone(),
                filed_on: Some(filed_on),
                next_review_due: exited_on.is_none().then(|| {
                    let mut due = filed_on;
                    while due <= today - chrono::TimeDelta::days(45) {
                        due = jiekun_store::cases::add_months(due, 12);
                    }
                    due
                }),
                exited_on,
                exit_grounds: exited_on.map(|_| "out_of_hardship".to_owned()),
                monitoring_until: exited_on.map(|d| jiekun_store::cases::add_months(d, 24)),
                closed_on: None,
                previous_file_number: None,
                updated_at: now,
            }
        });
        // One filed household in ten has seen every hardship cause resolved by its measures (the
        // exit rule's second condition, 《实施方案》二(二)): with six months above the standard it
        // is an exit candidate. Chosen by serial, so the random draws stay as they were.
        let resolved_causes = if status == "filed" && serial % 10 == 7 {
            std::iter::once(main_cause)
                .chain(secondary.iter().copied())
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",")
        } else {
            String::new()
        };
        let housing = Housing::draw(rng);
        let account: String = (0..19)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        let address = format!(
            "西乡县{}{}号",
            STREETS[rng.random_range(0..STREETS.len())],
            rng.random_range(1..300)
        );
        let enterprise_id = (!self.enterprises.is_empty() && rng.random_bool(0.6))
            .then(|| self.enterprises[rng.random_range(0..self.enterprises.len())].clone());
        // A laid-off worker more often has a labour dispute on file.
        let legal_dispute = self
            .facts
            .random_bool(if worker_laid_off { 0.25 } else { 0.03 });
        let union = &self.unions[union_ix];
        let row = HouseholdRow {
            bank_account_enc: None,
            bank_account_masked: Some(jiekun_domain::national_id::mask_account(&account)),
            file_number: (status != "draft").then(|| {
                jiekun_domain::workflow::file_number(REGION, today.year(), serial as i64 + 1)
            }),
            id: hid,
            organisation_id: union.id.clone(),
            organisation_path: union.path.clone(),
            region_code: REGION.into(),
            address,
            enterprise_id,
            worker_name,
            housing_type: housing.kind.into(),
            housing_area_dm2: housing.area_dm2,
            bank_name: Some("中国农业银行西乡县支行".into()),
            main_cause,
            secondary_causes: secondary
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(","),
            single_parent,
            disability_household: disability,
            // A household with nobody in work is a zero-employment household (零就业家庭).
            zero_employment: !members.iter().any(|m| m.row.work_status == "employed"),
            homes_count: housing.homes_count,
            homes_area_dm2: housing.homes_area_dm2,
            vehicles_count: 0,
            vehicle_disability_exempt: false,
            controlling_shareholder: false,
            high_fee_schooling: false,
            refuses_cooperation: false,
            category: category.map(str::to_owned),
            status: status.into(),
            members_count: members.len() as i64,
            version: 1,
            created_at: now,
            updated_at: now,
            resolved_causes,
            legal_dispute,
        };
        Ok(Draft {
            row,
            account,
            members,
            incomes,
            expenditure,
            lifecycle,
        })
    }
}

/// Encrypts the personal data of drawn households (identity numbers, health, bank accounts) and
/// indexes the identity numbers, giving the rows to write.
pub(super) fn seal(cipher: &FieldCipher, drafts: Vec<Draft>) -> HouseholdBatch {
    let mut batch = HouseholdBatch::default();
    for d in drafts {
        let mut row = d.row;
        row.bank_account_enc = Some(cipher.encrypt(&hs::bank_context(&row.id), &d.account));
        batch.households.push(row);
        for m in d.members {
            let mut row = m.row;
            row.national_id_enc = cipher.encrypt(&hs::member_context(&row.id), &m.national_id);
            row.national_id_index = cipher.blind_index(hs::ID_INDEX, &m.national_id);
            row.health_enc = m
                .health
                .map(|h| cipher.encrypt(&hs::health_context(&row.id), &h));
            batch.members.push(row);
        }
        batch.incomes.extend(d.incomes);
        batch.expenditures.extend(d.expenditure);
        batch.lifecycle.extend(d.lifecycle);
    }
    batch
}

#[cfg(test)]
mod tests {
    use jiekun_store::organisations::OrganisationRow;
    use rand::SeedableRng;

    use super::{seal, Generator, Housing};

    fn generator(seed: u64) -> Generator {
        let union = OrganisationRow {
            id: "u1".into(),
            parent_id: None,
            kind: "grassroots_union".into(),
            union_type: None,
            name: "城关镇总工会".into(),
            short_name: None,
            region_code: "610724".into(),
            address: None,
            path: "/c/u1/".into(),
            version: 1,
            created_at: jiekun_store::now(),
            updated_at: jiekun_store::now(),
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        Generator::new(seed, vec![union], vec!["e1".into()], today)
    }

    /// What a household is, apart from its generated ids and timestamps.
    fn content(g: &mut Generator, n: usize) -> Vec<String> {
        g.draw(n)
            .unwrap()
            .into_iter()
            .map(|d| {
                let mut h = d.row.clone();
                // Ids and times are made when drawn; the content is what must repeat.
                h.id.clear();
                h.created_at = chrono::NaiveDateTime::default();
                h.updated_at = h.created_at;
                let members: Vec<_> = d
                    .members
                    .iter()
                    .map(|m| {
                        (
                            m.row.name.clone(),
                            m.row.work_status.clone(),
                            &m.national_id,
                            &m.health,
                        )
                    })
                    .collect();
                let incomes: Vec<_> = d
                    .incomes
                    .iter()
                    .map(|i| (i.month, i.amount_fen, &i.source))
                    .collect();
                format!(
                    "{h:?} {members:?} {incomes:?} {:?} {:?} {}",
                    d.expenditure.as_ref().map(|e| e.amount_fen),
                    d.lifecycle.as_ref().map(|l| (l.filed_on, l.exited_on)),
                    d.account
                )
            })
            .collect()
    }

    #[test]
    fn a_seed_gives_the_same_households_whatever_the_batches() {
        let mut one = generator(42);
        let mut other = generator(42);
        let all = content(&mut one, 300);
        let mut batched = content(&mut other, 120);
        batched.extend(content(&mut other, 180));
        assert_eq!(all, batched);
        assert_ne!(content(&mut generator(43), 300), all);
        assert_eq!(one.file_numbers().last, 300);
    }

    #[test]
    fn sealed_rows_decrypt_and_index_the_drawn_values() {
        let cipher = jiekun_store::crypto::FieldCipher::from_key_text(&"11".repeat(32)).unwrap();
        let drafts = generator(7).draw(50).unwrap();
        let ids: Vec<String> = drafts
            .iter()
            .flat_map(|d| d.members.iter().map(|m| m.national_id.clone()))
            .collect();
        let zero: Vec<bool> = drafts.iter().map(|d| d.row.zero_employment).collect();
        let batch = seal(&cipher, drafts);
        assert_eq!(batch.members.len(), ids.len());
        for (m, id) in batch.members.iter().zip(&ids) {
            let ctx = jiekun_store::households::member_context(&m.id);
            assert_eq!(&cipher.decrypt(&ctx, &m.national_id_enc).unwrap(), id);
            assert_eq!(
                m.national_id_index,
                cipher.blind_index(jiekun_store::households::ID_INDEX, id)
            );
        }
        let mut seen = std::collections::HashSet::new();
        assert!(ids.iter().all(|id| seen.insert(id)), "each person once");
        for (h, zero) in batch.households.iter().zip(zero) {
            let members: Vec<_> = batch
                .members
                .iter()
                .filter(|m| m.household_id == h.id)
                .collect();
            assert_eq!(h.members_count, members.len() as i64);
            assert_eq!(zero, !members.iter().any(|m| m.work_status == "employed"));
            assert!(h.bank_account_enc.is_some());
        }
    }

    #[test]
    fn one_filed_household_in_ten_has_every_cause_resolved() {
        let drafts = generator(11).draw(1_000).unwrap();
        let causes = |s: &str| -> std::collections::BTreeSet<i64> {
            s.split(',')
                .filter(|c| !c.is_empty())
                .map(|c| c.parse().unwrap())
                .collect()
        };
        let (mut resolved, mut filed) = (0, 0);
        for (serial, d) in drafts.iter().enumerate() {
            let h = &d.row;
            filed += usize::from(h.status == "filed");
            if h.status == "filed" && serial % 10 == 7 {
                resolved += 1;
                let mut all = causes(&h.secondary_causes);
                all.insert(h.main_cause);
                assert_eq!(causes(&h.resolved_causes), all, "{}", h.id);
            } else {
                assert_eq!(h.resolved_causes, "", "{} ({})", h.id, h.status);
            }
        }
        assert!(
            filed > 600 && resolved * 14 > filed && resolved * 7 < filed,
            "{resolved} of {filed}"
        );
    }

    #[test]
    fn generated_housing_is_coherent() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..20_000 {
            let h = Housing::draw(&mut rng);
            kinds.insert(h.kind);
            assert!(
                h.kind
                    .parse::<jiekun_domain::household::HousingType>()
                    .is_ok(),
                "{h:?}"
            );
            if h.kind == "owned" {
                assert!(h.homes_count >= 1 && h.homes_area_dm2 > 0, "{h:?}");
                assert_eq!(h.area_dm2, Some(h.homes_area_dm2), "{h:?}");
            } else {
                assert_eq!((h.homes_count, h.homes_area_dm2), (0, 0), "{h:?}");
            }
            assert_eq!(h.area_dm2.is_none(), h.kind == "none", "{h:?}");
        }
        assert_eq!(kinds.len(), 6, "every housing type occurs: {kinds:?}");
    }
}
