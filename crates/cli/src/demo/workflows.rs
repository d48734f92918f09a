//! Workflow cases over the generated households: applications at every stage, with consents and
//! verification requests where the county waits on the departments.

use anyhow::Context;
use jiekun_domain::access::Role;
use jiekun_store::organisations;
use jiekun_store::{audit, DbConnection};

use super::region;

/// Puts some of the generated households of 西乡县 through the workflows, backdated so that
/// every stage is represented: applications in draft, submitted, in county review, on public
/// notice, awaiting the city, filed, and rejected where identification finds no hardship; exit
/// cases proposed for some filed households. At most `limit` households; skipped when the county
/// already has applications. Steps are taken by the demo loader in the role each step needs, so
/// the timelines show who would have acted. The cases run on every connection given, each taking
/// every n-th household (so each still gets the stage its place gives it), one transaction a
/// case.
pub fn cases(
    connections: &mut [&mut DbConnection],
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

    let conn: &mut DbConnection = connections
        .first_mut()
        .context("the workflow cases need a connection")?;
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
            limit: (limit * 2).min(200_000) as u32,
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
    // A household whose youngest member was born after its case would have started cannot have
    // signed the consents the county review asks for: such newborns' households wait.
    let earliest = today - TimeDelta::days(61);
    let mut ready = Vec::with_capacity(drafts.len());
    for h in &drafts {
        if ready.len() == limit {
            break;
        }
        if jiekun_store::households::members(conn, &h.id)?
            .iter()
            .all(|m| m.birth_date <= earliest)
        {
            ready.push(h);
        }
    }
    // One case: its application taken to the stage `i` picks, in one transaction.
    let case = |conn: &mut DbConnection,
                i: usize,
                h: &jiekun_store::households::ListedHousehold|
     -> anyhow::Result<(&'static str, bool)> {
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
        jiekun_store::write(conn, |c| -> anyhow::Result<(&'static str, bool)> {
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
                (
                    at(start + TimeDelta::days(4)).at,
                    start + TimeDelta::days(4),
                ),
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
        })
    };
    // A case is some sixty statements, each a round trip, and holds the audit chain's head only
    // from its commit's appends on: on PostgreSQL several connections overlap their waits. Each
    // takes every `workers`-th case, so every household gets the stage its place gives it.
    let workers = connections.len().clamp(1, ready.len().max(1));
    let outcomes = std::thread::scope(|s| {
        let ready = &ready;
        let case = &case;
        let running: Vec<_> = connections
            .iter_mut()
            .take(workers)
            .enumerate()
            .map(|(w, conn)| {
                s.spawn(move || {
                    (w..ready.len())
                        .step_by(workers)
                        .map(|i| case(conn, i, ready[i]))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        running
            .into_iter()
            .map(|r| {
                r.join()
                    .map_err(|_| anyhow::anyhow!("a workflow case panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    for (stage, exit) in outcomes.into_iter().flatten() {
        *counts.entry(stage).or_default() += 1;
        exits += usize::from(exit);
    }
    Ok(cases_summary(&counts, exits))
}

/// Records every member's consent (a minor's signed by the worker as guardian) and asks every
/// department that answers for a data domain.
fn verification_asked(
    c: &mut DbConnection,
    actor: &jiekun_store::cases::Actor,
    h: &jiekun_store::households::ListedHousehold,
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
    // Two days ago, or on the day the youngest member was born when that is later (a consent is
    // never signed before a member's birth).
    let signed_on = members
        .iter()
        .map(|m| m.birth_date)
        .fold(when.today - chrono::TimeDelta::days(2), std::cmp::max);
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

/// "workflow cases: 30 applications (3 in draft, 3 submitted, …, 12 filed, 1 rejected); 2 exit
/// cases proposed for filed households": each count once, in workflow order, with its label.
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
    use super::cases_summary;

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
}
