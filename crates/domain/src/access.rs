//! Who may do what (DESIGN §1, §6): people act through roles inside their organisation's subtree;
//! partner departments act through API keys carrying scopes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::organisation::OrganisationKind;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)* }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s { $($s => Ok($name::$variant),)* _ => Err(UnknownName) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown name")]
pub struct UnknownName;

crate::closed_list! {
    /// What a person does in the programme.
    Role ("Role of a person", "用户角色") {
        GrassrootsOfficer = "grassroots_officer" ("grassroots union officer: files applications and keeps files current", "基层工会经办人：申报建档、维护档案"),
        CountyReviewer = "county_reviewer" ("county union reviewer: reviews, runs notices, re-checks exits", "县总工会审核人：审核、公示、退出复核"),
        CountyAdmin = "county_admin" ("county union administrator: users, keys, policy, calendar of the county", "县总工会管理员：管理本县用户、密钥、政策参数和日历"),
        CityApprover = "city_approver" ("city union approver: approves filing and exit", "市总工会审批人：审批建档和退出"),
        Auditor = "auditor" ("auditor: reads files, reports and the audit log, changes nothing", "审计人员：查阅档案、报表和审计日志，不作修改"),
        SystemAdmin = "system_admin" ("system administrator: organisations, users and keys", "系统管理员：管理组织、用户和密钥"),
    }
}

crate::closed_list! {
    /// What a partner department's API key may do.
    KeyScope ("Scope of a department's API key", "部门 API 密钥的权限范围") {
        DirectoryRead = "directory:read" ("read the directory of unions, departments and enterprises", "查询组织、部门和企业目录"),
        VerificationRespond = "verification:respond" ("answer data verification requests", "答复数据核对请求"),
        ReferralsRead = "referrals:read" ("read the referrals sent to the department", "查询转介给本部门的事项"),
        ReferralsWrite = "referrals:write" ("acknowledge, decline or deliver the referrals sent to the department", "受理、拒绝或登记落实转介给本部门的事项"),
        AssistanceWrite = "assistance:write" ("record, read and reverse the assistance the department delivered for the measures it leads", "登记、查询和冲正本部门牵头措施的帮扶记录"),
        ReportsRead = "reports:read" ("read the supervision reports of the department's region (督查问效)", "查询本部门所在地区的督查报表"),
    }
}

string_enum! {
    /// Every protected operation of the API.
    Action {
        DirectoryRead = "directory.read",
        OrganisationWrite = "organisation.write",
        DepartmentWrite = "department.write",
        EnterpriseWrite = "enterprise.write",
        UserRead = "user.read",
        UserWrite = "user.write",
        ApiKeyRead = "api_key.read",
        ApiKeyWrite = "api_key.write",
        AuditRead = "audit.read",
        HouseholdRead = "household.read",
        HouseholdWrite = "household.write",
        PersonalDataReveal = "personal_data.reveal",
        PolicyRead = "policy.read",
        PolicyWrite = "policy.write",
        HouseholdAssess = "household.assess",
        WorkflowAct = "workflow.act",
        ApplicationOpen = "application.open",
        ExitOpen = "exit.open",
        ObjectionRaise = "objection.raise",
        CalendarWrite = "calendar.write",
        PlanRead = "plan.read",
        PlanWrite = "plan.write",
        ReferralRead = "referral.read",
        ReferralAnswer = "referral.answer",
        AssistanceRead = "assistance.read",
        AssistanceWrite = "assistance.write",
        ConsentWrite = "consent.write",
        VerificationOpen = "verification.open",
        VerificationRead = "verification.read",
        VerificationRespond = "verification.respond",
        DiscrepancyResolve = "discrepancy.resolve",
        ExchangeRun = "exchange.run",
        CampaignRead = "campaign.read",
        CampaignWrite = "campaign.write",
        CampaignQuotaWrite = "campaign_quota.write",
        CampaignPaymentWrite = "campaign_payment.write",
        ContactRead = "contact.read",
        ContactWrite = "contact.write",
        ContactVisitWrite = "contact_visit.write",
        ReportRead = "report.read",
    }
}

impl Role {
    /// The organisation kind a role belongs to; `None` for roles held at any level.
    pub fn home_kind(self) -> Option<OrganisationKind> {
        match self {
            Role::GrassrootsOfficer => Some(OrganisationKind::GrassrootsUnion),
            Role::CountyReviewer | Role::CountyAdmin => Some(OrganisationKind::CountyFederation),
            Role::CityApprover => Some(OrganisationKind::CityFederation),
            Role::Auditor | Role::SystemAdmin => None,
        }
    }

    /// Whether a holder of `self` may grant `other` to somebody in their subtree. Nobody grants
    /// more than they hold: only a system admin makes system admins and auditors.
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::SystemAdmin => true,
            Role::CountyAdmin => matches!(
                other,
                Role::GrassrootsOfficer | Role::CountyReviewer | Role::CountyAdmin
            ),
            _ => false,
        }
    }
}

/// The permission table: which roles may perform which action (inside their scope).
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action as A;
    use Role as R;
    match action {
        A::DirectoryRead => true,
        A::OrganisationWrite | A::DepartmentWrite | A::ApiKeyWrite | A::UserWrite => {
            matches!(role, R::SystemAdmin | R::CountyAdmin)
        }
        A::EnterpriseWrite => {
            matches!(role, R::SystemAdmin | R::CountyAdmin | R::GrassrootsOfficer)
        }
        A::UserRead | A::ApiKeyRead => matches!(role, R::SystemAdmin | R::CountyAdmin | R::Auditor),
        A::AuditRead => matches!(role, R::SystemAdmin | R::Auditor),
        // The people who handle cases; system admins run the system, not cases.
        A::HouseholdRead => !matches!(role, R::SystemAdmin),
        A::HouseholdWrite => matches!(role, R::GrassrootsOfficer | R::CountyAdmin),
        // Those who need the full value to do their work; auditors see masked data.
        A::PersonalDataReveal => matches!(
            role,
            R::GrassrootsOfficer | R::CountyReviewer | R::CountyAdmin | R::CityApprover
        ),
        A::PolicyRead => true,
        // County admins set their region's parameters (seed: 县总工会 runs the programme).
        A::PolicyWrite => matches!(role, R::CountyAdmin | R::SystemAdmin),
        A::HouseholdAssess => matches!(
            role,
            R::GrassrootsOfficer | R::CountyReviewer | R::CountyAdmin | R::CityApprover
        ),
        // The case handlers of the union hierarchy; which step each takes is the workflow's.
        A::WorkflowAct => matches!(
            role,
            R::GrassrootsOfficer | R::CountyReviewer | R::CountyAdmin | R::CityApprover
        ),
        // The worker applies through the grassroots union (seed §2(1)).
        A::ApplicationOpen => matches!(role, R::GrassrootsOfficer),
        // The grassroots union reports an exit; the county opens one from the system's candidates.
        A::ExitOpen => matches!(
            role,
            R::GrassrootsOfficer | R::CountyReviewer | R::CountyAdmin
        ),
        // Anyone signed in may object to a public notice.
        A::ObjectionRaise => true,
        // The holiday list is national; county admins keep local swaps.
        A::CalendarWrite => matches!(role, R::SystemAdmin | R::CountyAdmin),
        // Everyone who reads files reads their plans, referrals and assistance.
        A::PlanRead | A::ReferralRead | A::AssistanceRead => !matches!(role, R::SystemAdmin),
        // The unions that keep a household's file plan its measures and record the help they give
        // (《实施方案》三); the union answers the referrals of the measures it leads itself.
        A::PlanWrite | A::ReferralAnswer | A::AssistanceWrite => matches!(
            role,
            R::GrassrootsOfficer | R::CountyReviewer | R::CountyAdmin
        ),
        // The unions that keep the file collect the members' signed consents.
        A::ConsentWrite => matches!(
            role,
            R::GrassrootsOfficer | R::CountyReviewer | R::CountyAdmin
        ),
        // The county union checks the data with departments (《实施方案》三(一)1) and settles
        // the differences found.
        A::VerificationOpen | A::DiscrepancyResolve => {
            matches!(role, R::CountyReviewer | R::CountyAdmin)
        }
        A::VerificationRead => !matches!(role, R::SystemAdmin),
        // The county union sends and receives the offline exchange files.
        A::ExchangeRun => matches!(role, R::CountyReviewer | R::CountyAdmin),
        // Only departments answer, with their keys.
        A::VerificationRespond => false,
        // Campaigns (金秋助学, 送温暖) are run by the county and city unions: they launch them and
        // split the budget down the tree (each parent entering its children's quotas); the unions
        // that record help pay the households; whoever reads files follows them.
        A::CampaignWrite | A::CampaignQuotaWrite => {
            matches!(role, R::CountyAdmin | R::CityApprover)
        }
        A::CampaignPaymentWrite => matches!(
            role,
            R::GrassrootsOfficer | R::CountyReviewer | R::CountyAdmin
        ),
        A::CampaignRead => !matches!(role, R::SystemAdmin),
        // Dual contacts (《实施方案》三(七)14): the county union assigns them; the unions that
        // keep the files, and the county's staff, log the visits; whoever reads files reads them.
        A::ContactWrite => matches!(role, R::CountyReviewer | R::CountyAdmin),
        A::ContactVisitWrite => matches!(
            role,
            R::GrassrootsOfficer | R::CountyReviewer | R::CountyAdmin
        ),
        A::ContactRead => !matches!(role, R::SystemAdmin),
        // Supervision (督查问效, 《实施方案》四(三)): auditors and the county and city unions read
        // the reports of their scope; grassroots unions keep files, they do not supervise.
        A::ReportRead => matches!(
            role,
            R::Auditor | R::CountyReviewer | R::CountyAdmin | R::CityApprover
        ),
    }
}

/// Whether any of `roles` allows `action`.
pub fn roles_allow(roles: &[Role], action: Action) -> bool {
    roles.iter().any(|&r| role_allows(r, action))
}

/// The scope an API key needs for an action, if keys may perform it at all.
pub fn key_scope_for(action: Action) -> Option<KeyScope> {
    match action {
        Action::DirectoryRead => Some(KeyScope::DirectoryRead),
        Action::ReferralRead => Some(KeyScope::ReferralsRead),
        Action::ReferralAnswer => Some(KeyScope::ReferralsWrite),
        Action::AssistanceRead | Action::AssistanceWrite => Some(KeyScope::AssistanceWrite),
        Action::VerificationRead | Action::VerificationRespond => {
            Some(KeyScope::VerificationRespond)
        }
        Action::ReportRead => Some(KeyScope::ReportsRead),
        _ => None,
    }
}

/// Parses a comma-separated list of names, rejecting unknown or repeated ones.
pub fn parse_list<T: FromStr + PartialEq + Copy>(s: &str) -> Result<Vec<T>, UnknownName> {
    let mut out: Vec<T> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v = part.parse::<T>().map_err(|_| UnknownName)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Joins names into the stored comma-separated form, sorted so that equal sets store equally.
pub fn join_list<T: Copy + Ord + fmt::Display>(items: &[T]) -> String {
    let mut sorted = items.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Password rules: 12–128 characters, not all of one kind of character.
pub fn check_password(p: &str) -> Result<(), PasswordError> {
    let n = p.chars().count();
    if n < 12 {
        return Err(PasswordError::TooShort);
    }
    if n > 128 {
        return Err(PasswordError::TooLong);
    }
    let classes = [
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|&&b| b).count() < 2 {
        return Err(PasswordError::TooSimple);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least 12 characters")]
    TooShort,
    #[error("must be at most 128 characters")]
    TooLong,
    #[error("must mix at least two of: lower case, upper case, digits, symbols")]
    TooSimple,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(*r));
        }
        for s in KeyScope::ALL {
            assert_eq!(s.as_str().parse::<KeyScope>(), Ok(*s));
        }
        assert_eq!(
            parse_list::<Role>("auditor, county_admin,auditor"),
            Ok(vec![Role::Auditor, Role::CountyAdmin])
        );
        assert_eq!(parse_list::<Role>("auditor,king"), Err(UnknownName));
        assert_eq!(
            join_list(&[Role::SystemAdmin, Role::GrassrootsOfficer]),
            "grassroots_officer,system_admin"
        );
    }

    #[test]
    fn nobody_grants_more_than_they_hold() {
        for &granter in Role::ALL {
            for &granted in Role::ALL {
                if granter.may_grant(granted) {
                    assert!(
                        granter == Role::SystemAdmin || role_allows(granter, Action::UserWrite),
                        "{granter} grants {granted}"
                    );
                }
            }
            assert_eq!(
                granter.may_grant(Role::SystemAdmin),
                granter == Role::SystemAdmin
            );
        }
    }

    #[test]
    fn auditors_only_read() {
        for &a in Action::ALL {
            let write = a.as_str().ends_with(".write") || a == Action::PersonalDataReveal;
            if write {
                assert!(!role_allows(Role::Auditor, a), "{a}");
            }
        }
        assert!(role_allows(Role::Auditor, Action::AuditRead));
        assert!(!role_allows(Role::CountyAdmin, Action::AuditRead));
    }

    #[test]
    fn password_rules() {
        assert_eq!(check_password("short1A"), Err(PasswordError::TooShort));
        assert_eq!(
            check_password("alllowercaseletters"),
            Err(PasswordError::TooSimple)
        );
        assert!(check_password("correct horse battery").is_ok());
        assert!(check_password("Xixiang2026county").is_ok());
    }
}
