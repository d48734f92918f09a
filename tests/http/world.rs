//! A richer fixture for access tests: two counties under one city, users of every role, departments,
//! enterprises and API keys on each side.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use jiekun_api::auth::keys;
use jiekun_domain::access::{join_list, KeyScope, Role};
use jiekun_domain::{CreditCode, DepartmentCode, OrganisationKind, RegionCode, UnionType};
use jiekun_store::organisations::{self, NewOrganisation};
use jiekun_store::{api_keys, departments, enterprises, Scope};

use crate::common::{Auth, Backend, Person, TestApp};

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
    counter: AtomicUsize,
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
        let (key_target_xx, _) = key(&mut c, &dept_xx, &[KeyScope::ReferralRead], false);
        let (key_target_cg, _) = key(&mut c, &dept_cg, &[KeyScope::ReferralRead], false);
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
