//! A richer fixture for access tests: two counties under one city, users of every role, departments,
//! enterprises and API keys on each side.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use jiekun_api::auth::keys;
use jiekun_domain::access::{join_list, KeyScope, Role};
use jiekun_domain::{CreditCode, DepartmentCode, OrganisationKind, RegionCode, UnionType};
use jiekun_store::organisations::{self, NewOrganisation};
use jiekun_store::{api_keys, departments, enterprises, Scope};

use crate::common::{test_cipher, Auth, Backend, Person, TestApp};
use jiekun_domain::household::Relation;
use jiekun_domain::national_id::complete;
use jiekun_store::households::{
    self as hs, ExpenditureInput, HouseholdInput, IncomeInput, MemberInput,
};

pub struct World {
    pub app: TestApp,
    pub xixiang: String,
    pub chenggu: String,
    pub chengguan: String,
    pub bowang: String,
    pub dept_xx: String,
    pub dept_cg: String,
    pub ent_xx: String,
    pub ent_cg: String,
    /// Users that tests change (never callers).
    pub target_xx: Person,
    pub target_cg: Person,
    pub key_target_xx: String,
    pub key_target_cg: String,
    /// One caller per role: officer in 城关镇, county roles in 西乡县, city roles in 汉中市.
    pub people: Vec<(Role, Person)>,
    pub key_ok: String,
    pub key_wrong_scope: String,
    pub key_revoked: String,
    /// Keys of 西乡县人社局 with `referrals:read` and `referrals:write`, and with `referrals:read`
    /// alone.
    pub key_referrals: String,
    pub key_referrals_read: String,
    /// Keys of 西乡县人社局 and 城固县人社局 with `verification:respond`.
    pub key_verify: String,
    pub key_verify_cg: String,
    /// A household in 城关镇 and one in 博望镇, each with a worker, an income record and an
    /// expenditure item.
    pub hh_xx: Seeded,
    pub hh_cg: Seeded,
    counter: AtomicUsize,
    /// Workflow cases in each county, made through the API on first use.
    pub cases: std::sync::OnceLock<(Cases, Cases)>,
}

/// Cases of one county in known states (see `World::cases`).
#[derive(Clone, Debug)]
pub struct Cases {
    /// A household filed all the way through city approval.
    pub filed: String,
    /// A draft household with no application.
    pub draft: String,
    /// A withdrawn application.
    pub withdrawn: String,
    /// A cancelled exit case of the filed household.
    pub cancelled_exit: String,
    /// A notice still running, and an objection to it already resolved.
    pub notice: String,
    pub resolved_objection: String,
    /// The filed household's referral of measure 2 to 人社, delivered.
    pub referral: String,
    /// A reversing entry of the ledger on the filed household (in 西乡县 recorded by 人社's key,
    /// in 城固县 by the union).
    pub reversal: String,
    /// The filed household's worker (member id).
    pub worker: String,
    /// A revoked consent of the filed household.
    pub revoked_consent: String,
    /// A verification of every domain of the filed household; its 人社 task, answered by the
    /// department's key; the discrepancy that answer flagged, resolved.
    pub verification: String,
    pub answered_task: String,
    pub resolved_discrepancy: String,
    /// An exchange batch of the county's 人社 department (which has an exchange secret).
    pub batch: String,
    /// A campaign of the county's union (in 城固县 launched by a county admin made for it), with
    /// a quota for the crew's grassroots union, that has paid the filed household.
    pub campaign: String,
    /// A cadre's assignment (a person named) to `filed`, begun 400 days ago and ended a year
    /// from now by the county's reviewer.
    pub contact: String,
}

#[derive(Clone, Debug)]
pub struct Seeded {
    pub id: String,
    pub worker: String,
    pub income: String,
    pub expenditure: String,
}

fn region(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

impl World {
    pub fn create(backend: Backend) -> Option<World> {
        let app = TestApp::create(backend)?;
        let mut c = app.db.pool.get().unwrap();
        let org = |c: &mut jiekun_store::PooledConnection,
                   parent: &str,
                   kind,
                   ut,
                   name: &str,
                   code: &str| {
            organisations::create(
                c,
                &Scope::All,
                &NewOrganisation {
                    parent_id: Some(parent.into()),
                    kind,
                    union_type: ut,
                    name: name.into(),
                    short_name: None,
                    region_code: region(code),
                    address: None,
                },
            )
            .unwrap()
            .id
        };
        let xixiang = org(
            &mut c,
            &app.root_id,
            OrganisationKind::CountyFederation,
            None,
            "西乡县总工会",
            "610724",
        );
        let chenggu = org(
            &mut c,
            &app.root_id,
            OrganisationKind::CountyFederation,
            None,
            "城固县总工会",
            "610722",
        );
        let chengguan = org(
            &mut c,
            &xixiang,
            OrganisationKind::GrassrootsUnion,
            Some(UnionType::TownStreet),
            "城关镇总工会",
            "610724",
        );
        let bowang = org(
            &mut c,
            &chenggu,
            OrganisationKind::GrassrootsUnion,
            Some(UnionType::TownStreet),
            "博望镇总工会",
            "610722",
        );
        let dept = |c: &mut jiekun_store::PooledConnection, code: &str, name: &str| {
            departments::create(
                c,
                &departments::NewDepartment {
                    code: DepartmentCode::Hrss,
                    name: name.into(),
                    region_code: region(code),
                    address: None,
                },
            )
            .unwrap()
            .id
        };
        let dept_xx = dept(&mut c, "610724", "西乡县人社局");
        let dept_cg = dept(&mut c, "610722", "城固县人社局");
        let ent = |c: &mut jiekun_store::PooledConnection, body: &str, code: &str| {
            enterprises::create(
                c,
                &enterprises::NewEnterprise {
                    name: format!("企业{body}"),
                    credit_code: CreditCode::complete(body).unwrap(),
                    region_code: region(code),
                    difficult: false,
                    address: None,
                },
            )
            .unwrap()
            .id
        };
        let ent_xx = ent(&mut c, "91610724MA6YQ0001", "610724");
        let ent_cg = ent(&mut c, "91610722MA6YQ0001", "610722");
        let key = |c: &mut jiekun_store::PooledConnection,
                   dept: &str,
                   scopes: &[KeyScope],
                   revoked: bool| {
            let minted = keys::mint();
            let now = jiekun_store::now();
            let row = api_keys::create(
                c,
                &api_keys::NewApiKey {
                    department_id: dept.into(),
                    name: "test key".into(),
                    prefix: minted.prefix,
                    secret_hash: minted.secret_hash,
                    scopes: join_list(scopes),
                    valid_from: now - chrono::TimeDelta::minutes(1),
                    valid_until: Some(now + chrono::TimeDelta::days(1)),
                    allowed_addresses: None,
                    rate_limit_per_minute: 6000,
                    created_by: "test".into(),
                },
            )
            .unwrap();
            if revoked {
                api_keys::revoke(c, &row.id).unwrap();
            }
            (row.id, minted.full)
        };
        let (_, key_ok) = key(&mut c, &dept_xx, &[KeyScope::DirectoryRead], false);
        let (_, key_wrong_scope) = key(&mut c, &dept_xx, &[KeyScope::AssistanceWrite], false);
        let (_, key_revoked) = key(&mut c, &dept_xx, &[KeyScope::DirectoryRead], true);
        let (_, key_referrals) = key(
            &mut c,
            &dept_xx,
            &[KeyScope::ReferralsRead, KeyScope::ReferralsWrite],
            false,
        );
        let (_, key_referrals_read) = key(&mut c, &dept_xx, &[KeyScope::ReferralsRead], false);
        let (_, key_verify) = key(&mut c, &dept_xx, &[KeyScope::VerificationRespond], false);
        let (_, key_verify_cg) = key(&mut c, &dept_cg, &[KeyScope::VerificationRespond], false);
        let (key_target_xx, _) = key(&mut c, &dept_xx, &[KeyScope::ReferralsRead], false);
        let (key_target_cg, _) = key(&mut c, &dept_cg, &[KeyScope::ReferralsRead], false);
        let hh_xx = seed_household(&mut c, &chengguan, "610724", "19600606611");
        let hh_cg = seed_household(&mut c, &bowang, "610722", "19600606613");
        drop(c);
        let root = app.root_id.clone();
        let people = vec![
            (
                Role::GrassrootsOfficer,
                app.person("officer", &chengguan, &[Role::GrassrootsOfficer]),
            ),
            (
                Role::CountyReviewer,
                app.person("reviewer", &xixiang, &[Role::CountyReviewer]),
            ),
            (
                Role::CountyAdmin,
                app.person("county.admin", &xixiang, &[Role::CountyAdmin]),
            ),
            (
                Role::CityApprover,
                app.person("approver", &root, &[Role::CityApprover]),
            ),
            (
                Role::Auditor,
                app.person("auditor", &xixiang, &[Role::Auditor]),
            ),
            (
                Role::SystemAdmin,
                app.person("sysadmin", &root, &[Role::SystemAdmin]),
            ),
        ];
        let target_xx = app.person("target.xx", &chengguan, &[Role::GrassrootsOfficer]);
        let target_cg = app.person("target.cg", &bowang, &[Role::GrassrootsOfficer]);
        Some(World {
            app,
            xixiang,
            chenggu,
            chengguan,
            bowang,
            dept_xx,
            dept_cg,
            ent_xx,
            ent_cg,
            target_xx,
            target_cg,
            key_target_xx,
            key_target_cg,
            people,
            key_ok,
            key_wrong_scope,
            key_revoked,
            key_referrals,
            key_referrals_read,
            key_verify,
            key_verify_cg,
            hh_xx,
            hh_cg,
            cases: std::sync::OnceLock::new(),
            counter: AtomicUsize::new(0),
        })
    }

    pub fn person(&self, role: Role) -> &Person {
        &self.people.iter().find(|(r, _)| *r == role).unwrap().1
    }

    /// A number not used before in this world.
    pub fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    pub fn key(&self, key: &str) -> Auth {
        Auth::ApiKey(key.to_owned())
    }
}

fn member_input(relation: Relation, national_id: &str) -> MemberInput {
    let parsed = jiekun_domain::NationalId::parse(
        national_id,
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    )
    .unwrap();
    MemberInput {
        relation,
        name: "测试".into(),
        national_id: parsed.as_str().into(),
        national_id_masked: parsed.masked(),
        sex: parsed.sex().as_str().into(),
        birth_date: parsed.birth_date(),
        health: None,
        work_status: "employed".into(),
        schooling_level: None,
        school: None,
        school_year: None,
        included: true,
        exclusion_reason: None,
        business_plan: false,
        residents_pension: false,
        laid_off: false,
    }
}

fn seed_household(
    c: &mut jiekun_store::PooledConnection,
    union: &str,
    region: &str,
    birth_seq: &str,
) -> Seeded {
    let cipher = test_cipher();
    let input = HouseholdInput {
        organisation_id: union.into(),
        region_code: region.into(),
        address: "某地".into(),
        enterprise_id: None,
        housing_type: "owned".into(),
        housing_area_dm2: None,
        bank_name: None,
        bank_account: None,
        main_cause: 3,
        secondary_causes: String::new(),
        single_parent: false,
        disability_household: false,
        zero_employment: false,
        homes_count: 0,
        homes_area_dm2: 0,
        vehicles_count: 0,
        vehicle_disability_exempt: false,
        controlling_shareholder: false,
        high_fee_schooling: false,
        refuses_cooperation: false,
        legal_dispute: false,
    };
    let id = complete(&format!("{region}{birth_seq}"));
    let income = IncomeInput {
        member_id: None,
        month: 202601,
        kind: "wage".into(),
        source: "declared".into(),
        amount_fen: 100000,
        verified: false,
        note: None,
    };
    let spent = ExpenditureInput {
        member_id: None,
        kind: "medical".into(),
        amount_fen: 5000,
        start_month: 202601,
        end_month: 202602,
        description: None,
        evidence: None,
        verified: false,
    };
    let row = hs::create(
        c,
        &cipher,
        &Scope::All,
        &input,
        &[member_input(Relation::Worker, &id)],
        &[(Some(0), income)],
        &[(None, spent)],
    )
    .unwrap();
    let worker = hs::members(c, &row.id).unwrap()[0].id.clone();
    let accident = jiekun_store::rules::AccidentRow {
        household_id: row.id.clone(),
        description: "事故".into(),
        occurred_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
        costs_fen: 1,
        updated_at: jiekun_store::now(),
    };
    jiekun_store::rules::set_accident(c, &row.id, Some(&accident)).unwrap();
    Seeded {
        income: hs::incomes(c, &row.id, None, None, None).unwrap()[0]
            .id
            .clone(),
        expenditure: hs::expenditure_items(c, &row.id).unwrap()[0].id.clone(),
        id: row.id,
        worker,
    }
}

impl World {
    /// Adds a member to a seeded household directly (for tests that remove one).
    pub fn fresh_member(&self, hh: &Seeded) -> String {
        let mut c = self.app.db.pool.get().unwrap();
        let version = hs::get(&mut c, &Scope::All, &hh.id).unwrap().version;
        let n = self.next();
        let id = complete(&format!("61072420100101{:03}", n % 1000));
        let m = hs::add_member(
            &mut c,
            &test_cipher(),
            &Scope::All,
            &hh.id,
            version,
            &member_input(Relation::Child, &id),
        )
        .unwrap();
        m.id
    }

    /// A stored assessment of a seeded household (made directly, for tests that read one).
    pub fn assessment(&self, hh: &Seeded) -> String {
        let mut c = self.app.db.pool.get().unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let snapshot =
            jiekun_store::rules::snapshot(&mut c, &test_cipher(), &Scope::All, &hh.id, date)
                .unwrap();
        let book = jiekun_domain::rules::default_book();
        let decision = jiekun_domain::rules::identify(
            &snapshot,
            &book.resolve(&snapshot.region_code, date).unwrap(),
        );
        let parameters: Vec<_> = book
            .parameters
            .iter()
            .filter(|p| p.applies_to(&snapshot.region_code))
            .collect();
        let stored =
            serde_json::json!({"snapshot": snapshot, "parameters": parameters}).to_string();
        let decision_json = serde_json::to_value(&decision).unwrap().to_string();
        jiekun_store::rules::insert_assessment(
            &mut c,
            &test_cipher(),
            &hh.id,
            "identify",
            (jiekun_store::now(), date),
            decision.verdict.as_str(),
            &stored,
            &decision_json,
            "test",
        )
        .unwrap()
        .id
    }

    /// Makes sure the household has an accident on file.
    pub fn ensure_accident(&self, hh: &Seeded) {
        let mut c = self.app.db.pool.get().unwrap();
        let accident = jiekun_store::rules::AccidentRow {
            household_id: hh.id.clone(),
            description: "事故".into(),
            occurred_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            costs_fen: 1,
            updated_at: jiekun_store::now(),
        };
        jiekun_store::rules::set_accident(&mut c, &hh.id, Some(&accident)).unwrap();
    }

    pub fn fresh_income(&self, hh: &Seeded) -> String {
        let mut c = self.app.db.pool.get().unwrap();
        let version = hs::get(&mut c, &Scope::All, &hh.id).unwrap().version;
        let r = IncomeInput {
            member_id: None,
            month: 202601,
            kind: "other".into(),
            source: "declared".into(),
            amount_fen: 1,
            verified: false,
            note: None,
        };
        hs::add_incomes(&mut c, &Scope::All, &hh.id, version, &[r]).unwrap()[0]
            .id
            .clone()
    }

    pub fn fresh_expenditure(&self, hh: &Seeded) -> String {
        let mut c = self.app.db.pool.get().unwrap();
        let version = hs::get(&mut c, &Scope::All, &hh.id).unwrap().version;
        let e = ExpenditureInput {
            member_id: None,
            kind: "other".into(),
            amount_fen: 1,
            start_month: 202601,
            end_month: 202601,
            description: None,
            evidence: None,
            verified: false,
        };
        hs::add_expenditures(&mut c, &Scope::All, &hh.id, version, &[e]).unwrap()[0]
            .id
            .clone()
    }
}

impl World {
    /// Workflow cases in 西乡县 and 城固县, made through the API by the people of each county.
    /// A campaign of the crew's county that has paid `filed` (see `Cases::campaign`).
    fn campaign_setup(&self, crew: &super::workflows::Crew, filed: &str, own: bool) -> String {
        use serde_json::json;
        let admin = if own {
            self.person(Role::CountyAdmin).auth.clone()
        } else {
            self.app
                .person(
                    &format!("admin.cg.{}", self.next()),
                    &self.chenggu,
                    &[Role::CountyAdmin],
                )
                .auth
        };
        let t = self.app.clock.today();
        let c = self
            .app
            .post_as(
                &admin,
                "/api/v1/campaigns",
                &json!({"kind": "warmth", "name": "送温暖", "budget_fen": 10_000_000,
                    "starts_on": (t - chrono::TimeDelta::days(30)).to_string(),
                    "ends_on": (t + chrono::TimeDelta::days(365)).to_string(), "amount_fen": 20_000,
                    "eligibility": {"rule": "filed_category", "categories": ["deep", "relative", "accident"]}}),
            )
            .expect(201);
        let id = c.body["id"].as_str().unwrap().to_owned();
        self.app
            .with_etag(
                &admin,
                "PUT",
                &format!("/api/v1/campaigns/{id}/quotas/{}", crew.union),
                &c.etag(),
                Some(&json!({"quota_fen": 1_000_000})),
            )
            .expect(200);
        self.app
            .post_as(
                &crew.officer,
                &format!("/api/v1/campaigns/{id}/payments"),
                &json!({"household_id": filed, "paid_on": t.to_string()}),
            )
            .expect(201);
        id
    }

    /// A dual contact of the crew's county for `filed`, ended (see `Cases::contact`).
    fn contact_setup(&self, crew: &super::workflows::Crew, filed: &str) -> String {
        use serde_json::json;
        let t = self.app.clock.today();
        let made = self
            .app
            .post_as(
                &crew.reviewer,
                "/api/v1/contacts",
                &json!({"kind": "cadre_worker", "contact_name": "李干部", "household_id": filed,
                    "valid_from": (t - chrono::TimeDelta::days(400)).to_string()}),
            )
            .expect(201);
        let id = made.body["id"].as_str().unwrap().to_owned();
        self.app
            .with_etag(
                &crew.reviewer,
                "POST",
                &format!("/api/v1/contacts/{id}/end"),
                &made.etag(),
                Some(&json!({"valid_until": (t + chrono::TimeDelta::days(365)).to_string()})),
            )
            .expect(200);
        id
    }

    pub fn cases(&self) -> &(Cases, Cases) {
        self.cases.get_or_init(|| {
            use super::workflows as wf;
            use serde_json::json;
            // Filing moves the clock past a notice: file first, then open the notices that must run.
            let file = |crew: &wf::Crew| {
                let filed = wf::household(self, crew, 50, 90_000);
                wf::file_all_the_way(self, crew, &filed);
                let case = self
                    .app
                    .post_as(
                        &crew.officer,
                        "/api/v1/exit-cases",
                        &json!({"household_id": filed, "grounds": "transfer", "opinion": "拟迁出"}),
                    )
                    .expect(201)
                    .body["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                wf::step(
                    self,
                    &crew.officer,
                    "exit-cases",
                    &case,
                    "cancel",
                    json!({"opinion": "未迁出"}),
                )
                .expect(200);
                (filed, case)
            };
            let measures = |crew: &wf::Crew, filed: &str, by_key: bool| -> (String, String) {
                super::measures::setup(self, crew, filed, by_key)
            };
            let make = |crew: &wf::Crew, (filed, case): (String, String), by_key: bool| {
                let (referral, reversal) = measures(crew, &filed, by_key);
                let key = if by_key {
                    &self.key_verify
                } else {
                    &self.key_verify_cg
                };
                let shared = super::verifications::setup(self, crew, &filed, &self.key(key));
                let noticed = wf::household(self, crew, 51, 90_000);
                let app = wf::open(self, crew, &noticed)["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let notice = wf::to_notice(self, crew, &app, &noticed);
                let objection = self
                    .app
                    .post_as(
                        &crew.officer,
                        &format!("/api/v1/public-notices/{notice}/objections"),
                        &json!({"content": "异议"}),
                    )
                    .expect(201)
                    .body["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                self.app
                    .post_as(
                        &crew.reviewer,
                        &format!("/api/v1/objections/{objection}/resolution"),
                        &json!({"outcome": "dismissed", "resolution": "不成立"}),
                    )
                    .expect(200);
                let gone = wf::household(self, crew, 52, 90_000);
                let withdrawn = wf::open(self, crew, &gone)["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                wf::step(
                    self,
                    &crew.officer,
                    "applications",
                    &withdrawn,
                    "withdraw",
                    json!({}),
                )
                .expect(200);
                let campaign = self.campaign_setup(crew, &filed, by_key);
                let contact = self.contact_setup(crew, &filed);
                Cases {
                    filed,
                    draft: wf::household(self, crew, 53, 90_000),
                    withdrawn,
                    cancelled_exit: case,
                    notice,
                    resolved_objection: objection,
                    referral,
                    reversal,
                    worker: shared.worker,
                    revoked_consent: shared.revoked_consent,
                    verification: shared.verification,
                    answered_task: shared.answered_task,
                    resolved_discrepancy: shared.resolved_discrepancy,
                    batch: super::exchange::setup(
                        self,
                        crew,
                        if by_key { &self.dept_xx } else { &self.dept_cg },
                    ),
                    campaign,
                    contact,
                }
            };
            let (xx, cg) = (wf::crew_xx(self), wf::crew_cg(self));
            let (fx, fc) = (file(&xx), file(&cg));
            (make(&xx, fx, true), make(&cg, fc, false))
        })
    }
}
