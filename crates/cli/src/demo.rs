//! A small demo: 汉中市总工会 → 西乡县总工会 (and 城固县总工会) → grassroots unions, the county's
//! partner departments, some employers, and one user per role. Loading twice changes nothing.

use anyhow::Context;
use jiekun_domain::access::Role;
use jiekun_domain::{CreditCode, DepartmentCode, OrganisationKind, RegionCode, UnionType};
use jiekun_store::organisations::{self, NewOrganisation, OrganisationRow};
use jiekun_store::{audit, departments, enterprises, users, DbConnection};

use crate::admin::{create_organisation, create_user, system_event};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "Jiekun-demo-2026";

fn region(code: &str) -> anyhow::Result<RegionCode> {
    RegionCode::parse(code).with_context(|| format!("bad demo region {code}"))
}

fn organisation(
    conn: &mut DbConnection,
    parent: Option<&OrganisationRow>,
    kind: OrganisationKind,
    union_type: Option<UnionType>,
    name: &str,
    code: &str,
) -> anyhow::Result<(OrganisationRow, bool)> {
    let parent_id = parent.map(|p| p.id.as_str());
    if let Some(existing) = organisations::find_by_name(conn, parent_id, name)? {
        return Ok((existing, false));
    }
    let new = NewOrganisation {
        parent_id: parent_id.map(str::to_owned),
        kind,
        union_type,
        name: name.to_owned(),
        short_name: None,
        region_code: region(code)?,
        address: None,
    };
    Ok((create_organisation(conn, &new)?, true))
}

/// Department names as 西乡县 writes them.
const DEPARTMENTS: &[(DepartmentCode, &str)] = &[
    (DepartmentCode::Hrss, "西乡县人力资源和社会保障局"),
    (DepartmentCode::CivilAffairs, "西乡县民政局"),
    (DepartmentCode::PublicSecurity, "西乡县公安局"),
    (DepartmentCode::Housing, "西乡县住房和城乡建设局"),
    (DepartmentCode::MarketRegulation, "西乡县市场监督管理局"),
    (DepartmentCode::Tax, "国家税务总局西乡县税务局"),
    (DepartmentCode::MedicalInsurance, "西乡县医疗保障局"),
    (DepartmentCode::Education, "西乡县教育体育局"),
    (DepartmentCode::Finance, "西乡县财政局"),
    (DepartmentCode::Justice, "西乡县司法局"),
    (DepartmentCode::Health, "西乡县卫生健康局"),
    (DepartmentCode::DisabledPersons, "西乡县残疾人联合会"),
    (DepartmentCode::RedCross, "西乡县红十字会"),
    (DepartmentCode::Charity, "西乡县慈善协会"),
    (
        DepartmentCode::CivilizationOffice,
        "中共西乡县委精神文明建设委员会办公室",
    ),
    (DepartmentCode::Union, "西乡县总工会"),
];

const ENTERPRISES: &[(&str, &str, bool)] = &[
    ("陕西西乡汉江茶业有限公司", "91610724MA6YQ0001", false),
    ("西乡县城关机械制造有限公司", "91610724MA6YQ0002", true),
    ("西乡县鹏程纺织有限责任公司", "91610724MA6YQ0003", true),
];

pub fn load(conn: &mut DbConnection) -> anyhow::Result<String> {
    jiekun_store::write(conn, |conn| -> anyhow::Result<String> {
        let mut created = 0;
        let (city, new) = organisation(
            conn,
            None,
            OrganisationKind::CityFederation,
            None,
            "汉中市总工会",
            "610700",
        )?;
        created += usize::from(new);
        let (county, new) = organisation(
            conn,
            Some(&city),
            OrganisationKind::CountyFederation,
            None,
            "西乡县总工会",
            "610724",
        )?;
        created += usize::from(new);
        let mut unions = Vec::new();
        for (name, ut) in [
            ("西乡县城关镇总工会", UnionType::TownStreet),
            ("西乡县杨河镇总工会", UnionType::TownStreet),
            ("西乡县城关机械制造有限公司工会", UnionType::Enterprise),
            ("西乡县教育系统工会", UnionType::Industry),
        ] {
            let (row, new) = organisation(
                conn,
                Some(&county),
                OrganisationKind::GrassrootsUnion,
                Some(ut),
                name,
                "610724",
            )?;
            created += usize::from(new);
            unions.push(row);
        }
        let (_, new) = organisation(
            conn,
            Some(&city),
            OrganisationKind::CountyFederation,
            None,
            "城固县总工会",
            "610722",
        )?;
        created += usize::from(new);

        let xixiang = region("610724")?;
        for &(code, name) in DEPARTMENTS {
            if departments::find(conn, code, &xixiang)?.is_none() {
                let row = departments::create(
                    conn,
                    &departments::NewDepartment {
                        code,
                        name: name.into(),
                        region_code: xixiang,
                        address: None,
                    },
                )?;
                audit::append(
                    conn,
                    system_event(
                        "department.create",
                        "department",
                        &row.id,
                        serde_json::json!({"code": row.code, "name": row.name}),
                    ),
                )?;
                created += 1;
            }
        }
        for &(name, body, difficult) in ENTERPRISES {
            let credit_code = CreditCode::complete(body)?;
            if enterprises::find_by_credit_code(conn, &credit_code)?.is_none() {
                let row = enterprises::create(
                    conn,
                    &enterprises::NewEnterprise {
                        name: name.into(),
                        credit_code,
                        region_code: xixiang,
                        difficult,
                        address: None,
                    },
                )?;
                audit::append(
                    conn,
                    system_event(
                        "enterprise.create",
                        "enterprise",
                        &row.id,
                        serde_json::json!({"name": row.name, "credit_code": row.credit_code}),
                    ),
                )?;
                created += 1;
            }
        }
        let people: [(&str, &str, &OrganisationRow, Role); 6] = [
            ("sys.admin", "系统管理员", &city, Role::SystemAdmin),
            (
                "city.approver",
                "汉中市总工会审批人",
                &city,
                Role::CityApprover,
            ),
            (
                "xixiang.admin",
                "西乡县总工会管理员",
                &county,
                Role::CountyAdmin,
            ),
            (
                "xixiang.reviewer",
                "西乡县总工会审核人",
                &county,
                Role::CountyReviewer,
            ),
            ("xixiang.auditor", "西乡县审计人员", &county, Role::Auditor),
            (
                "chengguan.officer",
                "城关镇工会经办人",
                &unions[0],
                Role::GrassrootsOfficer,
            ),
        ];
        for (username, display, org, role) in people {
            if users::find_by_username(conn, username)?.is_none() {
                create_user(conn, &org.id, username, display, DEMO_PASSWORD, &[role])?;
                created += 1;
            }
        }
        Ok(format!(
            "demo data loaded: {created} new records (汉中市总工会 → 西乡县总工会 → 4 grassroots unions; 16 departments; 3 enterprises; 6 users)\n\
             demo users (password {DEMO_PASSWORD}): sys.admin, city.approver, xixiang.admin, xixiang.reviewer, xixiang.auditor, chengguan.officer"
        ))
    })
}

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
struct Housing {
    kind: &'static str,
    /// Floor area of the dwelling, 0.01 m²; none without a fixed home.
    area_dm2: Option<i64>,
    homes_count: i64,
    homes_area_dm2: i64,
}

impl Housing {
    /// An owner lives in the one home the household owns; everyone else owns none (a household
    /// that rents and also owns a home elsewhere is not generated).
    fn draw(rng: &mut impl rand::Rng) -> Housing {
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

/// Synthetic households of 西乡县 for demonstrations and load tests. Loading is skipped when the
/// county already holds that many households.
pub fn households(
    conn: &mut DbConnection,
    cipher: &jiekun_store::crypto::FieldCipher,
    n: usize,
    seed: u64,
) -> anyhow::Result<String> {
    use chrono::{Datelike, NaiveDate};
    use jiekun_store::households::{
        self as hs, ExpenditureRow, HouseholdRow, IncomeRow, MemberRow,
    };
    use rand::{Rng, SeedableRng};

    let county = organisations::find_by_name(conn, None, "汉中市总工会")?
        .and_then(|city| {
            organisations::find_by_name(conn, Some(&city.id), "西乡县总工会")
                .ok()
                .flatten()
        })
        .context("run the demo organisation tree first")?;
    let page = organisations::list(
        conn,
        &jiekun_store::Scope::All,
        &organisations::OrganisationFilter {
            parent_id: Some(county.id.clone()),
            ..Default::default()
        },
        &jiekun_store::PageRequest {
            after: None,
            limit: 50,
        },
    )?;
    let unions: Vec<OrganisationRow> = page.items;
    anyhow::ensure!(!unions.is_empty(), "西乡县总工会 has no grassroots unions");
    let existing = hs::list(
        conn,
        &jiekun_store::Scope::All,
        &hs::HouseholdFilter {
            region: Some(region("610724")?),
            ..Default::default()
        },
        &jiekun_store::PageRequest {
            after: None,
            limit: n.min(200_000) as u32,
        },
    )?;
    if existing.items.len() >= n || existing.next_after.is_some() {
        return Ok(format!("{n} households asked; the county has them already"));
    }
    let enterprises_here: Vec<String> = enterprises::list(
        conn,
        &jiekun_store::Scope::All,
        &Default::default(),
        &jiekun_store::PageRequest {
            after: None,
            limit: 50,
        },
    )?
    .items
    .into_iter()
    .map(|e| e.id)
    .collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // The facts a measure plan proposes from are drawn from a stream of their own, so that the
    // rest of a seed's households stays as it was.
    let mut facts = rand::rngs::StdRng::seed_from_u64(!seed);
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let this_month = jiekun_domain::household::Month::of(today);
    let mut seen = std::collections::HashSet::new();
    let now = jiekun_store::now();
    let mut made = (0usize, 0usize, 0usize, 0usize);
    let chunk = 2000;
    let mut done = 0;
    while done < n {
        let take = chunk.min(n - done);
        let (mut hrows, mut mrows, mut irows, mut erows, mut lrows) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in 0..take {
            let serial = done + k;
            let union = &unions[rng.random_range(0..unions.len())];
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
            for (pos, (relation, age, male, work)) in people.iter().enumerate() {
                let birth_year = today.year() - age;
                let birth = loop {
                    let d = NaiveDate::from_ymd_opt(
                        birth_year,
                        rng.random_range(1..13),
                        rng.random_range(1..29),
                    )
                    .unwrap_or(today);
                    let seq = rng.random_range(0..500) * 2 + u32::from(*male);
                    let body = format!("610724{}{:03}", d.format("%Y%m%d"), seq);
                    let id = jiekun_domain::national_id::complete(&body);
                    if d <= today && seen.insert(id.clone()) {
                        break (d, id);
                    }
                };
                let name = if *relation == "worker" || *relation == "child" {
                    format!("{surname}{}", GIVEN[rng.random_range(0..GIVEN.len())])
                } else {
                    format!(
                        "{}{}",
                        SURNAMES[rng.random_range(0..SURNAMES.len())],
                        GIVEN[rng.random_range(0..GIVEN.len())]
                    )
                };
                if *relation == "worker" {
                    worker_name = name.clone();
                }
                let parsed = jiekun_domain::NationalId::parse(&birth.1, today)
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
                let out_of_work = *work == "unemployed" && (16..60).contains(age);
                let laid_off = out_of_work && facts.random_bool(0.5);
                let residents_pension = out_of_work && facts.random_bool(0.4);
                let business_plan = out_of_work && *age < 50 && facts.random_bool(0.15);
                if *relation == "worker" {
                    worker_laid_off = laid_off;
                }
                let mid = jiekun_store::new_id();
                mrows.push(MemberRow {
                    national_id_enc: cipher.encrypt(&hs::member_context(&mid), parsed.as_str()),
                    national_id_index: cipher.blind_index(hs::ID_INDEX, parsed.as_str()),
                    national_id_masked: parsed.masked(),
                    health_enc: health.map(|h| cipher.encrypt(&hs::health_context(&mid), &h)),
                    id: mid.clone(),
                    household_id: hid.clone(),
                    position: pos as i64,
                    relation: (*relation).into(),
                    name,
                    sex: parsed.sex().as_str().into(),
                    birth_date: parsed.birth_date(),
                    work_status: (*work).into(),
                    schooling_level: (*work == "student").then(|| {
                        if *age >= 18 {
                            "undergraduate"
                        } else if *age >= 15 {
                            "senior_secondary"
                        } else {
                            "primary"
                        }
                        .to_string()
                    }),
                    school: None,
                    school_year: None,
                    included: true,
                    exclusion_reason: None,
                    created_at: now,
                    updated_at: now,
                    business_plan,
                    residents_pension,
                    laid_off,
                });
                // Twelve months of income for those who earn.
                let monthly = match *work {
                    "employed" => Some(("wage", rng.random_range(80_000..360_000))),
                    "retired" => Some(("pension", rng.random_range(60_000..220_000))),
                    _ => None,
                };
                if let Some((kind, base)) = monthly {
                    let mut m = this_month;
                    for _ in 0..12 {
                        m = m.prev();
                        irows.push(IncomeRow {
                            id: jiekun_store::new_id(),
                            household_id: hid.clone(),
                            member_id: Some(mid.clone()),
                            month: i64::from(m.key()),
                            kind: kind.into(),
                            source: if rng.random_bool(0.6) {
                                "declared".into()
                            } else {
                                "hrss".into()
                            },
                            amount_fen: base + rng.random_range(-5_000..5_000),
                            verified: rng.random_bool(0.5),
                            note: None,
                            created_at: now,
                            updated_at: now,
                        });
                    }
                }
            }
            let main_cause: i64 =
                [6, 6, 6, 3, 3, 9, 9, 1, 2, 8, 4, 5, 7, 10][rng.random_range(0..14)];
            let mut secondary: Vec<i64> = Vec::new();
            for _ in 0..rng.random_range(0..3) {
                let c = rng.random_range(1..11);
                if c != main_cause && !secondary.contains(&c) {
                    secondary.push(c);
                }
            }
            if rng.random_bool(0.35) {
                let start = this_month.prev().prev().prev().prev().prev().prev();
                erows.push(ExpenditureRow {
                    id: jiekun_store::new_id(),
                    household_id: hid.clone(),
                    member_id: None,
                    kind: if main_cause == 9 {
                        "schooling".into()
                    } else {
                        "medical".into()
                    },
                    amount_fen: rng.random_range(200_000..3_000_000),
                    start_month: i64::from(start.key()),
                    end_month: i64::from(this_month.prev().key()),
                    description: None,
                    evidence: Some(format!("票据{serial:06}")),
                    verified: rng.random_bool(0.6),
                    created_at: now,
                    updated_at: now,
                });
            }
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
            if status != "draft" {
                // Filed some time in the last two years; monitored ones left since.
                let filed_on = today - chrono::TimeDelta::days(rng.random_range(20..700));
                let exited_on = (status == "monitoring")
                    .then(|| today - chrono::TimeDelta::days(rng.random_range(1..300)));
                lrows.push(jiekun_store::workflows::LifecycleRow {
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
                });
            }
            let housing = Housing::draw(&mut rng);
            let account: String = (0..19)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            let members_count = mrows.iter().filter(|m| m.household_id == hid).count() as i64;
            hrows.push(HouseholdRow {
                bank_account_enc: Some(cipher.encrypt(&hs::bank_context(&hid), &account)),
                bank_account_masked: Some(jiekun_domain::national_id::mask_account(&account)),
                file_number: (status != "draft").then(|| {
                    jiekun_domain::workflow::file_number("610724", today.year(), serial as i64 + 1)
                }),
                id: hid,
                organisation_id: union.id.clone(),
                organisation_path: union.path.clone(),
                region_code: "610724".into(),
                address: format!(
                    "西乡县{}{}号",
                    STREETS[rng.random_range(0..STREETS.len())],
                    rng.random_range(1..300)
                ),
                enterprise_id: (!enterprises_here.is_empty() && rng.random_bool(0.6))
                    .then(|| enterprises_here[rng.random_range(0..enterprises_here.len())].clone()),
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
                zero_employment: false,
                homes_count: housing.homes_count,
                homes_area_dm2: housing.homes_area_dm2,
                vehicles_count: 0,
                vehicle_disability_exempt: false,
                controlling_shareholder: false,
                high_fee_schooling: false,
                refuses_cooperation: false,
                category: category.map(str::to_owned),
                status: status.into(),
                members_count,
                version: 1,
                created_at: now,
                updated_at: now,
                resolved_causes: String::new(),
                // A laid-off worker more often has a labour dispute on file.
                legal_dispute: facts.random_bool(if worker_laid_off { 0.25 } else { 0.03 }),
            });
        }
        for h in hrows.iter_mut() {
            // A household with nobody in work is a zero-employment household (零就业家庭).
            h.zero_employment = !mrows
                .iter()
                .any(|m| m.household_id == h.id && m.work_status == "employed");
        }
        made.0 += hrows.len();
        made.1 += mrows.len();
        made.2 += irows.len();
        made.3 += erows.len();
        jiekun_store::write(conn, |c| -> anyhow::Result<()> {
            hs::bulk_insert(c, &hrows, &mrows, &irows, &erows)?;
            jiekun_store::workflows::bulk_lifecycle(c, &lrows)?;
            jiekun_store::workflows::reserve_file_numbers(
                c,
                "610724",
                today.year(),
                (done + take) as i64,
            )?;
            Ok(())
        })?;
        done += take;
    }
    jiekun_store::conn::analyze(conn)?;
    jiekun_store::write(conn, |c| -> anyhow::Result<()> {
        audit::append(
            c,
            system_event(
                "household.generate",
                "household",
                "",
                serde_json::json!({"households": made.0, "members": made.1, "seed": seed}),
            ),
        )?;
        Ok(())
    })?;
    Ok(format!(
        "generated {} households ({} members, {} income records, {} expenditure items) in 西乡县",
        made.0, made.1, made.2, made.3
    ))
}

/// Puts some of the generated households of 西乡县 through the workflows, backdated so that
/// every stage is represented: applications in draft, submitted, in county review, on public
/// notice, awaiting the city, filed, and rejected where identification finds no hardship; exit
/// cases proposed for some filed households. At most `limit` households; skipped when the county
/// already has applications. Steps are taken by the demo loader in the role each step needs, so
/// the timelines show who would have acted.
pub fn cases(
    conn: &mut DbConnection,
    cipher: &jiekun_store::crypto::FieldCipher,
    limit: usize,
) -> anyhow::Result<String> {
    use chrono::TimeDelta;
    use jiekun_domain::workflow::{ExitGrounds, FilingAction as A};
    use jiekun_store::cases::{self, Actor, StepInput, When};
    use jiekun_store::households as hs;
    use jiekun_store::rules::{self as rules, AssessmentKind};
    use jiekun_store::workflows as wf;
    use jiekun_store::{PageRequest, Scope};

    let all = PageRequest {
        after: None,
        limit: 1,
    };
    if !wf::list_applications(conn, &Scope::All, &Default::default(), &all)?
        .items
        .is_empty()
    {
        return Ok("workflow cases: the county has some already".into());
    }
    let city = organisations::find_by_name(conn, None, "汉中市总工会")?
        .context("run the demo organisation tree first")?;
    let county = organisations::find_by_name(conn, Some(&city.id), "西乡县总工会")?
        .context("run the demo organisation tree first")?;
    let drafts = hs::list(
        conn,
        &Scope::All,
        &hs::HouseholdFilter {
            region: Some(region("610724")?),
            status: Some("draft".into()),
            ..Default::default()
        },
        &PageRequest {
            after: None,
            limit: limit.min(200_000) as u32,
        },
    )?
    .items;
    // The loader acts as the system in the audit log.
    let loader = || audit::Caller {
        actor: audit::Actor {
            kind: "system",
            name: Some("demo.loader".into()),
            ..audit::Actor::default()
        },
        ..audit::Caller::default()
    };
    let actor = |roles: Role, organisation_id: &str| Actor {
        username: "demo.loader".into(),
        roles: vec![roles],
        organisation_id: organisation_id.into(),
        scope: Scope::All,
        caller: loader(),
    };
    let county_reviewer = actor(Role::CountyReviewer, &county.id);
    let city_approver = actor(Role::CityApprover, &city.id);
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let now = jiekun_store::now();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut exits = 0;
    for (i, h) in drafts.iter().enumerate() {
        // Where this household's application ends up, and how long ago it started.
        let target = match i % 10 {
            0 => A::Submit,
            1 => A::StartReview,
            2 => A::ApproveReview,
            3 => A::StartNotice,
            4 => A::EndNotice,
            5..=8 => A::CityApprove,
            _ => A::Withdraw,
        };
        let officer = actor(Role::GrassrootsOfficer, &h.organisation_id);
        let start = today - TimeDelta::days(60 - (i % 7) as i64);
        let at = |d: chrono::NaiveDate| When {
            today: d,
            at: d.and_hms_opt(2, 0, 0).unwrap_or(now),
        };
        let outcome = jiekun_store::write(conn, |c| -> anyhow::Result<(&'static str, bool)> {
            let app = cases::open_application(c, &officer, at(start), &h.id, None, None)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut version = app.version;
            let mut step =
                |c: &mut DbConnection, who: &Actor, day: i64, action: A, input: StepInput| {
                    let done = cases::act_on_application(
                        c,
                        who,
                        at(start + TimeDelta::days(day)),
                        &app.id,
                        version,
                        action,
                        &input,
                    )
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    version = done.version;
                    anyhow::Ok(done)
                };
            let opinion = |s: &str| StepInput {
                opinion: Some(s.into()),
                ..StepInput::default()
            };
            if target == A::Withdraw {
                // Left in draft: waiting on the grassroots union.
                return Ok(("draft", false));
            }
            step(c, &officer, 1, A::Submit, StepInput::default())?;
            if target == A::Submit {
                return Ok(("submitted", false));
            }
            step(c, &county_reviewer, 3, A::StartReview, StepInput::default())?;
            if target == A::StartReview {
                return Ok(("county_review", false));
            }
            let (assessment, _) = rules::assess(
                c,
                cipher,
                &county_reviewer.caller,
                &Scope::All,
                &h.id,
                AssessmentKind::Identify,
                start + TimeDelta::days(4),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if assessment.verdict == "not_eligible" {
                step(
                    c,
                    &county_reviewer,
                    5,
                    A::Reject,
                    opinion("经核实，家庭人均收入高于认定标准，不予建档"),
                )?;
                return Ok(("rejected", false));
            }
            step(
                c,
                &county_reviewer,
                5,
                A::ApproveReview,
                StepInput {
                    assessment_id: Some(assessment.id.clone()),
                    opinion: Some("经入户核实，情况属实".into()),
                    ..StepInput::default()
                },
            )?;
            if target == A::ApproveReview {
                // Waiting on the departments: the members' consents are on file and the county
                // asked every department that answers for a domain.
                verification_asked(c, &county_reviewer, h, at(start + TimeDelta::days(5)))?;
                return Ok(("verification", false));
            }
            // Notices of the first two stages run now; the others ran a month ago.
            let notice_day = if target == A::StartNotice {
                60 - (i % 7) as i64 - 2
            } else {
                10
            };
            step(
                c,
                &county_reviewer,
                notice_day,
                A::StartNotice,
                StepInput {
                    verification_override: Some(
                        "系统启用前已线下完成部门核对 (checked with the departments on paper before the system)".into(),
                    ),
                    ..StepInput::default()
                },
            )?;
            if target == A::StartNotice {
                return Ok(("public_notice", false));
            }
            step(c, &county_reviewer, 20, A::EndNotice, StepInput::default())?;
            if target == A::EndNotice {
                return Ok(("city_approval", false));
            }
            step(c, &city_approver, 22, A::CityApprove, opinion("同意建档"))?;
            if i % 20 == 5 {
                cases::open_exit_case(
                    c,
                    &officer,
                    at(start + TimeDelta::days(40)),
                    &h.id,
                    ExitGrounds::Transfer,
                    "grassroots",
                    None,
                    Some("职工拟调往外地工作"),
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                return Ok(("filed", true));
            }
            Ok(("filed", false))
        })?;
        *counts.entry(outcome.0).or_default() += 1;
        exits += usize::from(outcome.1);
    }
    Ok(cases_summary(&counts, exits))
}

/// "workflow cases: 30 applications (3 in draft, 3 submitted, …, 12 filed, 1 rejected); 2 exit
/// cases proposed for filed households": each count once, in workflow order, with its label.
/// Records every member's consent (a minor's signed by the worker as guardian) and asks every
/// department that answers for a data domain.
fn verification_asked(
    c: &mut DbConnection,
    actor: &jiekun_store::cases::Actor,
    h: &jiekun_store::households::HouseholdRow,
    when: jiekun_store::cases::When,
) -> anyhow::Result<()> {
    use jiekun_domain::verification::{is_adult, DataDomain};
    use jiekun_store::measures::{Doer, Unit};
    use jiekun_store::sharing::{consents, verifications};
    let doer = Doer {
        name: actor.username.clone(),
        role: actor.roles.first().copied(),
        unit: Unit::Organisation {
            id: actor.organisation_id.clone(),
        },
        scope: jiekun_store::Scope::All,
        caller: actor.caller.clone(),
    };
    let members = jiekun_store::households::members(c, &h.id)?;
    let signed_on = when.today - chrono::TimeDelta::days(2);
    let guardian = members
        .iter()
        .find(|m| is_adult(m.birth_date, signed_on))
        .map(|m| m.id.clone());
    for (i, m) in members.iter().enumerate() {
        let signer = if is_adult(m.birth_date, signed_on) {
            None
        } else {
            guardian.clone()
        };
        consents::record_consent(
            c,
            &doer,
            (when.at, when.today),
            &h.id,
            &consents::NewConsent {
                member_id: m.id.clone(),
                signed_by_member_id: signer,
                number: format!(
                    "西乡授〔{}〕{:04}-{}号",
                    when.today.format("%Y"),
                    h.id.len(),
                    i + 1
                ),
                signed_on,
                domains: DataDomain::ALL.to_vec(),
                evidence: "授权书原件存基层工会档案".into(),
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    verifications::open(
        c,
        &doer,
        (when.at, when.today),
        &h.id,
        &verifications::NewVerification {
            domains: DataDomain::ALL.to_vec(),
            member_ids: Vec::new(),
            reason: Some("县总工会审核，核对家庭收入和财产状况".into()),
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

fn cases_summary(counts: &std::collections::BTreeMap<&str, usize>, exits: usize) -> String {
    const LABELS: [(&str, &str); 8] = [
        ("draft", "in draft"),
        ("submitted", "submitted"),
        ("county_review", "in county review"),
        ("verification", "in verification"),
        ("public_notice", "on public notice"),
        ("city_approval", "awaiting city approval"),
        ("filed", "filed"),
        ("rejected", "rejected"),
    ];
    let total: usize = counts.values().sum();
    let parts: Vec<String> = LABELS
        .iter()
        .filter_map(|(state, label)| {
            counts
                .get(state)
                .filter(|n| **n > 0)
                .map(|n| format!("{n} {label}"))
        })
        .collect();
    let exits = match exits {
        1 => "1 exit case proposed for a filed household".to_owned(),
        n => format!("{n} exit cases proposed for filed households"),
    };
    format!(
        "workflow cases: {total} application{} ({}); {exits}",
        if total == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::{cases_summary, Housing};

    #[test]
    fn the_cases_summary_says_each_count_once() {
        let counts = [
            ("filed", 16),
            ("draft", 3),
            ("rejected", 1),
            ("submitted", 0),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            cases_summary(&counts, 2),
            "workflow cases: 20 applications (3 in draft, 16 filed, 1 rejected); \
             2 exit cases proposed for filed households"
        );
        assert_eq!(
            cases_summary(&[("filed", 1)].into_iter().collect(), 1),
            "workflow cases: 1 application (1 filed); 1 exit case proposed for a filed household"
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
