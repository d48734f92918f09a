//! The organisation tree of the demo: 汉中市总工会 → 西乡县总工会 (and 城固县总工会) → grassroots
//! unions, the county's partner departments, some employers, and one user per role. Loading twice
//! changes nothing.

use jiekun_domain::access::Role;
use jiekun_domain::{CreditCode, DepartmentCode, OrganisationKind, UnionType};
use jiekun_store::organisations::{self, NewOrganisation, OrganisationRow};
use jiekun_store::{audit, departments, enterprises, users, DbConnection};

use super::{region, DEMO_PASSWORD};
use crate::admin::{create_organisation, create_user, system_event};

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
