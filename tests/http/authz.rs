//! The authorisation table, cell by cell: every operation × every role × (own county, another
//! county), plus no credentials, an expired token, a tampered token, a revoked key and a key with
//! the wrong scope. Expectations come from the `x-jiekun-access` of each operation in the OpenAPI
//! document, so the document and the server cannot disagree.

use jiekun_domain::access::Role;
use jiekun_domain::CreditCode;
use serde_json::{json, Value};

use super::world::World;
use crate::common::{token_config, Auth};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Target {
    Own,
    Other,
}

/// A concrete request for an operation.
pub(crate) struct Call {
    pub(crate) method: &'static str,
    pub(crate) path: String,
    pub(crate) body: Option<Value>,
    /// Read the resource first (as the system admin) and send its ETag.
    pub(crate) if_match: Option<String>,
    /// The status when allowed and in scope.
    pub(crate) success: u16,
    /// The status when allowed but the target lies outside the caller's scope.
    outside: u16,
}

fn call(
    method: &'static str,
    path: String,
    body: Option<Value>,
    success: u16,
    outside: u16,
) -> Call {
    Call {
        method,
        path,
        body,
        if_match: None,
        success,
        outside,
    }
}

pub(crate) fn recipe(w: &World, op: &str, t: Target) -> Option<Call> {
    let own = t == Target::Own;
    let pick = |a: &str, b: &str| if own { a.to_owned() } else { b.to_owned() };
    let n = w.next();
    let hh = if own { &w.hh_xx } else { &w.hh_cg };
    Some(match op {
        "who_am_i" => call("GET", "/api/v1/auth/me".into(), None, 200, 200),
        "list_organisations" => call("GET", "/api/v1/organisations".into(), None, 200, 200),
        "get_organisation" => call(
            "GET",
            format!("/api/v1/organisations/{}", pick(&w.chengguan, &w.bowang)),
            None,
            200,
            404,
        ),
        "create_organisation" => call(
            "POST",
            "/api/v1/organisations".into(),
            Some(
                json!({"kind": "grassroots_union", "union_type": "other", "parent_id": pick(&w.xixiang, &w.chenggu),
                        "name": format!("工会{n}"), "region_code": pick("610724", "610722")}),
            ),
            201,
            422,
        ),
        "update_organisation" => {
            let path = format!("/api/v1/organisations/{}", pick(&w.chengguan, &w.bowang));
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "PATCH",
                    path,
                    Some(json!({"address": format!("地址{n}")})),
                    200,
                    404,
                )
            }
        }
        "list_departments" => call("GET", "/api/v1/departments".into(), None, 200, 200),
        "get_department" => call(
            "GET",
            format!("/api/v1/departments/{}", pick(&w.dept_xx, &w.dept_cg)),
            None,
            200,
            404,
        ),
        "create_department" => {
            let codes = [
                "civil_affairs",
                "public_security",
                "housing",
                "market_regulation",
                "tax",
                "medical_insurance",
                "education",
                "finance",
                "justice",
                "health",
                "disabled_persons",
                "red_cross",
                "charity",
                "civilization_office",
                "union",
            ];
            call(
                "POST",
                "/api/v1/departments".into(),
                Some(
                    json!({"code": codes[n % codes.len()], "name": format!("部门{n}"), "region_code": pick("610724", "610722")}),
                ),
                201,
                403,
            )
        }
        "update_department" => {
            let path = format!("/api/v1/departments/{}", pick(&w.dept_xx, &w.dept_cg));
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "PATCH",
                    path,
                    Some(json!({"address": format!("地址{n}")})),
                    200,
                    404,
                )
            }
        }
        "list_enterprises" => call("GET", "/api/v1/enterprises".into(), None, 200, 200),
        "get_enterprise" => call(
            "GET",
            format!("/api/v1/enterprises/{}", pick(&w.ent_xx, &w.ent_cg)),
            None,
            200,
            404,
        ),
        "create_enterprise" => {
            let region = pick("610724", "610722");
            let code = CreditCode::complete(&format!("91{region}MA7{n:06}")).unwrap();
            call(
                "POST",
                "/api/v1/enterprises".into(),
                Some(
                    json!({"name": format!("企业{n}"), "credit_code": code.as_str(), "region_code": region}),
                ),
                201,
                403,
            )
        }
        "update_enterprise" => {
            let path = format!("/api/v1/enterprises/{}", pick(&w.ent_xx, &w.ent_cg));
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "PATCH",
                    path,
                    Some(json!({"address": format!("地址{n}")})),
                    200,
                    404,
                )
            }
        }
        "list_users" => call("GET", "/api/v1/users".into(), None, 200, 200),
        "get_user" => call(
            "GET",
            format!("/api/v1/users/{}", pick(&w.target_xx.id, &w.target_cg.id)),
            None,
            200,
            404,
        ),
        "create_user" => call(
            "POST",
            "/api/v1/users".into(),
            Some(
                json!({"organisation_id": pick(&w.chengguan, &w.bowang), "username": format!("new.user{n}"),
                        "display_name": "新用户", "password": "Another-Secret-77", "roles": ["grassroots_officer"]}),
            ),
            201,
            422,
        ),
        "update_user" => {
            let path = format!("/api/v1/users/{}", pick(&w.target_xx.id, &w.target_cg.id));
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "PATCH",
                    path,
                    Some(json!({"display_name": format!("名字{n}")})),
                    200,
                    404,
                )
            }
        }
        "change_password" => call(
            "POST",
            format!(
                "/api/v1/users/{}/password",
                pick(&w.target_xx.id, &w.target_cg.id)
            ),
            Some(json!({"new_password": format!("Reset-Password-{n}")})),
            204,
            404,
        ),
        "list_api_keys" => call("GET", "/api/v1/api-keys".into(), None, 200, 200),
        "get_api_key" => call(
            "GET",
            format!(
                "/api/v1/api-keys/{}",
                pick(&w.key_target_xx, &w.key_target_cg)
            ),
            None,
            200,
            404,
        ),
        "create_api_key" => call(
            "POST",
            "/api/v1/api-keys".into(),
            Some(
                json!({"department_id": pick(&w.dept_xx, &w.dept_cg), "name": format!("系统{n}"), "scopes": ["referrals:read"]}),
            ),
            201,
            422,
        ),
        "revoke_api_key" => call(
            "POST",
            format!(
                "/api/v1/api-keys/{}/revoke",
                pick(&w.key_target_xx, &w.key_target_cg)
            ),
            None,
            200,
            404,
        ),
        "list_households" => call("GET", "/api/v1/households".into(), None, 200, 200),
        "get_household" => call(
            "GET",
            format!("/api/v1/households/{}", hh.id),
            None,
            200,
            404,
        ),
        "search_households" => call(
            "POST",
            "/api/v1/households/search".into(),
            Some(json!({"national_id": jiekun_domain::national_id::complete("61072219600606613")})),
            200,
            200,
        ),
        "list_household_incomes" => call(
            "GET",
            format!("/api/v1/households/{}/incomes", hh.id),
            None,
            200,
            404,
        ),
        "list_household_expenditures" => call(
            "GET",
            format!("/api/v1/households/{}/expenditures", hh.id),
            None,
            200,
            404,
        ),
        "create_household" => {
            let worker = jiekun_domain::national_id::complete(&format!(
                "{}1985{:07}",
                pick("610724", "610722"),
                1_010_000 + n * 2 + 1
            ));
            call(
                "POST",
                "/api/v1/households".into(),
                Some(
                    json!({"organisation_id": pick(&w.chengguan, &w.bowang), "region_code": pick("610724", "610722"), "address": "某地",
                            "housing_type": "owned", "main_cause": 2,
                            "members": [{"relation": "worker", "name": "某人", "national_id": worker, "work_status": "unemployed"}]}),
                ),
                201,
                422,
            )
        }
        "update_household" => {
            let path = format!("/api/v1/households/{}", hh.id);
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "PATCH",
                    path,
                    Some(json!({"address": format!("地址{n}")})),
                    200,
                    404,
                )
            }
        }
        "add_household_member" => {
            let nid = jiekun_domain::national_id::complete(&format!(
                "6107241995{:07}",
                1_010_000 + n * 2
            ));
            Call {
                if_match: Some(format!("/api/v1/households/{}", hh.id)),
                ..call(
                    "POST",
                    format!("/api/v1/households/{}/members", hh.id),
                    Some(
                        json!({"relation": "child", "name": "某", "national_id": nid, "work_status": "student"}),
                    ),
                    201,
                    404,
                )
            }
        }
        "update_household_member" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "PATCH",
                format!("/api/v1/households/{}/members/{}", hh.id, hh.worker),
                Some(json!({"name": format!("名{n}")})),
                200,
                404,
            )
        },
        "remove_household_member" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "DELETE",
                format!(
                    "/api/v1/households/{}/members/{}",
                    hh.id,
                    w.fresh_member(hh)
                ),
                None,
                204,
                404,
            )
        },
        "add_household_incomes" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "POST",
                format!("/api/v1/households/{}/incomes", hh.id),
                Some(json!({"records": [{"month": "2026-01", "kind": "other", "amount_fen": n}]})),
                201,
                404,
            )
        },
        "update_household_income" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "PATCH",
                format!("/api/v1/households/{}/incomes/{}", hh.id, hh.income),
                Some(json!({"amount_fen": n})),
                200,
                404,
            )
        },
        "delete_household_income" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "DELETE",
                format!(
                    "/api/v1/households/{}/incomes/{}",
                    hh.id,
                    w.fresh_income(hh)
                ),
                None,
                204,
                404,
            )
        },
        "add_household_expenditures" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "POST",
                format!("/api/v1/households/{}/expenditures", hh.id),
                Some(
                    json!({"items": [{"kind": "other", "amount_fen": n, "start_month": "2026-01", "end_month": "2026-01"}]}),
                ),
                201,
                404,
            )
        },
        "update_household_expenditure" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "PATCH",
                format!(
                    "/api/v1/households/{}/expenditures/{}",
                    hh.id, hh.expenditure
                ),
                Some(json!({"amount_fen": n})),
                200,
                404,
            )
        },
        "delete_household_expenditure" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "DELETE",
                format!(
                    "/api/v1/households/{}/expenditures/{}",
                    hh.id,
                    w.fresh_expenditure(hh)
                ),
                None,
                204,
                404,
            )
        },
        "list_policy_parameters" => call("GET", "/api/v1/policy/parameters".into(), None, 200, 200),
        "resolve_policy" => call(
            "GET",
            format!(
                "/api/v1/policy/resolved?region_code={}",
                pick("610724", "610722")
            ),
            None,
            200,
            200,
        ),
        "add_policy_parameter" => call(
            "POST",
            "/api/v1/policy/parameters".into(),
            // A start date of its own: a second version for the same key, region and start is
            // refused (409).
            Some(
                json!({"key": "notice_days", "region_code": pick("610724", "610722"), "effective_from": chrono::NaiveDate::from_ymd_opt(2099, 1, 1).unwrap() + chrono::TimeDelta::days(n as i64), "value": 7 + n % 3, "document": "文件"}),
            ),
            201,
            403,
        ),
        "simulate_policy" => call(
            "POST",
            "/api/v1/policy/simulations".into(),
            Some(json!({"parameters": {"dibao_standard_fen": 80000}})),
            200,
            200,
        ),
        "assess_household" => call(
            "POST",
            format!("/api/v1/households/{}/assessments", hh.id),
            Some(json!({"kind": "identify"})),
            201,
            404,
        ),
        "list_household_assessments" => call(
            "GET",
            format!("/api/v1/households/{}/assessments", hh.id),
            None,
            200,
            404,
        ),
        "replay_assessment" => call(
            "GET",
            format!("/api/v1/assessments/{}/replay", w.assessment(hh)),
            None,
            200,
            404,
        ),
        "list_exit_candidates" => call("GET", "/api/v1/exit-candidates".into(), None, 200, 200),
        "list_return_warnings" => call("GET", "/api/v1/return-to-hardship".into(), None, 200, 200),
        "get_household_accident" => {
            w.ensure_accident(hh);
            call(
                "GET",
                format!("/api/v1/households/{}/accident", hh.id),
                None,
                200,
                404,
            )
        }
        "set_household_accident" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "PUT",
                format!("/api/v1/households/{}/accident", hh.id),
                Some(json!({"description": "事故", "occurred_on": "2026-01-02", "costs_fen": n})),
                200,
                404,
            )
        },
        "delete_household_accident" => Call {
            if_match: Some(format!("/api/v1/households/{}", hh.id)),
            ..call(
                "DELETE",
                format!("/api/v1/households/{}/accident", hh.id),
                None,
                204,
                404,
            )
        },
        "list_applications" => call("GET", "/api/v1/applications".into(), None, 200, 200),
        "list_exit_cases" => call("GET", "/api/v1/exit-cases".into(), None, 200, 200),
        "list_public_notices" => call("GET", "/api/v1/public-notices".into(), None, 200, 200),
        "list_reviews_due" => call("GET", "/api/v1/annual-reviews/due".into(), None, 200, 200),
        "get_queue" => call("GET", "/api/v1/queue".into(), None, 200, 200),
        "list_calendar_days" => call("GET", "/api/v1/calendar".into(), None, 200, 200),
        "open_application" => call(
            "POST",
            "/api/v1/applications".into(),
            Some(json!({"household_id": cases(w, own).draft})),
            201,
            404,
        ),
        "get_application" => call(
            "GET",
            format!("/api/v1/applications/{}", cases(w, own).withdrawn),
            None,
            200,
            404,
        ),
        // A withdrawn application: whoever may act gets past role and scope to the state (409).
        "act_on_application" => {
            let path = format!("/api/v1/applications/{}", cases(w, own).withdrawn);
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "POST",
                    format!("{path}/actions"),
                    Some(json!({"action": "submit"})),
                    409,
                    403,
                )
            }
        }
        // A draft household cannot exit (409) once role and scope are passed.
        "open_exit_case" => call(
            "POST",
            "/api/v1/exit-cases".into(),
            Some(json!({"household_id": cases(w, own).draft, "grounds": "death", "opinion": "x"})),
            409,
            404,
        ),
        "get_exit_case" => call(
            "GET",
            format!("/api/v1/exit-cases/{}", cases(w, own).cancelled_exit),
            None,
            200,
            404,
        ),
        "act_on_exit_case" => {
            let path = format!("/api/v1/exit-cases/{}", cases(w, own).cancelled_exit);
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "POST",
                    format!("{path}/actions"),
                    Some(json!({"action": "start_recheck"})),
                    409,
                    403,
                )
            }
        }
        "get_household_timeline" => call(
            "GET",
            format!("/api/v1/households/{}/timeline", cases(w, own).filed),
            None,
            200,
            404,
        ),
        "list_annual_reviews" => call(
            "GET",
            format!("/api/v1/households/{}/annual-reviews", cases(w, own).filed),
            None,
            200,
            404,
        ),
        "close_monitoring" => {
            let path = format!("/api/v1/households/{}", cases(w, own).draft);
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "POST",
                    format!("{path}/close-monitoring"),
                    Some(json!({})),
                    409,
                    404,
                )
            }
        }
        "record_annual_review" => {
            let path = format!("/api/v1/households/{}", cases(w, own).draft);
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "POST",
                    format!("{path}/annual-reviews"),
                    Some(json!({"assessment_id": "none"})),
                    409,
                    404,
                )
            }
        }
        "list_objections" => call(
            "GET",
            format!("/api/v1/public-notices/{}/objections", cases(w, own).notice),
            None,
            200,
            404,
        ),
        // Anyone signed in objects to any running notice.
        "raise_objection" => call(
            "POST",
            format!("/api/v1/public-notices/{}/objections", cases(w, own).notice),
            Some(json!({"content": format!("异议{n}")})),
            201,
            201,
        ),
        "resolve_objection" => call(
            "POST",
            format!(
                "/api/v1/objections/{}/resolution",
                cases(w, own).resolved_objection
            ),
            Some(json!({"outcome": "upheld", "resolution": "复查"})),
            409,
            403,
        ),
        "put_calendar_day" => call(
            "PUT",
            format!("/api/v1/calendar/2031-01-{:02}", n % 28 + 1),
            Some(json!({"kind": "holiday", "name": "元旦"})),
            200,
            200,
        ),
        "delete_calendar_day" => {
            let path = format!("/api/v1/calendar/2032-{:02}-{:02}", n % 12 + 1, n % 28 + 1);
            w.app
                .put_as(
                    &w.app.admin.auth,
                    &path,
                    &json!({"kind": "workday", "name": "调休"}),
                )
                .expect(200);
            call("DELETE", path, None, 204, 204)
        }
        "list_measures" => call("GET", "/api/v1/measures".into(), None, 200, 200),
        "get_household_plan" => call(
            "GET",
            format!("/api/v1/households/{}/plan", cases(w, own).filed),
            None,
            200,
            404,
        ),
        "propose_household_plan" => {
            let path = format!("/api/v1/households/{}/plan", cases(w, own).filed);
            Call {
                if_match: Some(path.clone()),
                ..call("POST", path, None, 201, 404)
            }
        }
        // Measure 2 is accepted already: an allowed caller in scope is told so (409).
        "accept_plan_measure" | "drop_plan_measure" => {
            let plan = format!("/api/v1/households/{}/plan", cases(w, own).filed);
            let (what, body) = if op == "accept_plan_measure" {
                ("accept", json!({}))
            } else {
                ("drop", json!({"reason": "不需要"}))
            };
            Call {
                if_match: Some(plan.clone()),
                ..call(
                    "POST",
                    format!("{plan}/measures/2/{what}"),
                    Some(body),
                    409,
                    404,
                )
            }
        }
        "add_plan_measure" => {
            let plan = format!("/api/v1/households/{}/plan", cases(w, own).filed);
            Call {
                if_match: Some(plan.clone()),
                ..call(
                    "POST",
                    format!("{plan}/measures"),
                    Some(json!({"measure": 2})),
                    409,
                    404,
                )
            }
        }
        "list_referrals" => call("GET", "/api/v1/referrals".into(), None, 200, 200),
        "get_referral" => call(
            "GET",
            format!("/api/v1/referrals/{}", cases(w, own).referral),
            None,
            200,
            404,
        ),
        // The referral is delivered: an allowed caller who sees it is told it is final (409).
        "acknowledge_referral" | "decline_referral" | "deliver_referral" => {
            let path = format!("/api/v1/referrals/{}", cases(w, own).referral);
            let (what, body) = match op {
                "acknowledge_referral" => ("acknowledge", json!({})),
                "decline_referral" => ("decline", json!({"reason": "不符合条件"})),
                _ => ("deliver", json!({})),
            };
            Call {
                if_match: Some(path.clone()),
                ..call("POST", format!("{path}/{what}"), Some(body), 409, 404)
            }
        }
        "list_assistance" => call("GET", "/api/v1/assistance".into(), None, 200, 200),
        "get_assistance" => call(
            "GET",
            format!("/api/v1/assistance/{}", cases(w, own).reversal),
            None,
            200,
            404,
        ),
        "create_assistance" => call(
            "POST",
            "/api/v1/assistance".into(),
            Some(
                json!({"household_id": cases(w, own).filed, "measure": 2, "delivered_on": w.app.clock.today().to_string(),
                "kind": "service", "amount_fen": 0}),
            ),
            201,
            404,
        ),
        // A reversing entry is never reversed (409).
        "reverse_assistance" => call(
            "POST",
            format!("/api/v1/assistance/{}/reverse", cases(w, own).reversal),
            Some(json!({"reason": "更正"})),
            409,
            404,
        ),
        "list_consents" => call(
            "GET",
            format!("/api/v1/households/{}/consents", cases(w, own).filed),
            None,
            200,
            404,
        ),
        "record_consent" => call(
            "POST",
            format!("/api/v1/households/{}/consents", cases(w, own).filed),
            Some(
                json!({"member_id": cases(w, own).worker, "number": format!("授-{n}"), "signed_on": "2026-11-02",
                "domains": ["vehicles"], "evidence": "存档"}),
            ),
            201,
            404,
        ),
        // The consent is revoked already (409).
        "revoke_consent" => call(
            "POST",
            format!(
                "/api/v1/households/{}/consents/{}/revoke",
                cases(w, own).filed,
                cases(w, own).revoked_consent
            ),
            Some(json!({"reason": "撤销"})),
            409,
            404,
        ),
        "open_verification" => call(
            "POST",
            "/api/v1/verifications".into(),
            Some(json!({"household_id": cases(w, own).filed, "domains": ["vehicles"]})),
            201,
            404,
        ),
        "list_verifications" => call("GET", "/api/v1/verifications".into(), None, 200, 200),
        "get_verification" => call(
            "GET",
            format!("/api/v1/verifications/{}", cases(w, own).verification),
            None,
            200,
            404,
        ),
        "list_verification_tasks" => {
            call("GET", "/api/v1/verifications/tasks".into(), None, 200, 200)
        }
        "get_verification_task" => call(
            "GET",
            format!(
                "/api/v1/verifications/tasks/{}",
                cases(w, own).answered_task
            ),
            None,
            200,
            404,
        ),
        // The task is answered already (409).
        "answer_verification_task" => call(
            "POST",
            format!(
                "/api/v1/verifications/tasks/{}/answer",
                cases(w, own).answered_task
            ),
            Some(
                json!({"facts": [{"member_id": cases(w, own).worker, "as_of": w.app.clock.today().to_string(), "status": "insured"}]}),
            ),
            409,
            404,
        ),
        "list_discrepancies" => call("GET", "/api/v1/discrepancies".into(), None, 200, 200),
        // The discrepancy is resolved already (409).
        "resolve_discrepancy" => call(
            "POST",
            format!(
                "/api/v1/discrepancies/{}/resolve",
                cases(w, own).resolved_discrepancy
            ),
            Some(json!({"resolution": "keep_declared", "note": "维持"})),
            409,
            404,
        ),
        "issue_exchange_secret" => call(
            "POST",
            format!(
                "/api/v1/departments/{}/exchange-secret",
                pick(&w.dept_xx, &w.dept_cg)
            ),
            None,
            201,
            404,
        ),
        "export_exchange_batch" => call(
            "GET",
            format!("/api/v1/exchange/outbox/{}", pick(&w.dept_xx, &w.dept_cg)),
            None,
            200,
            404,
        ),
        "get_exchange_batch" => call(
            "GET",
            format!("/api/v1/exchange/batches/{}", cases(w, own).batch),
            None,
            200,
            404,
        ),
        // A JSON body is not an answer file (415), whoever may send one.
        "import_exchange_batch" => call(
            "POST",
            "/api/v1/exchange/inbox".into(),
            Some(json!({"rows": []})),
            415,
            415,
        ),
        "create_campaign" => call(
            "POST",
            "/api/v1/campaigns".into(),
            Some(
                json!({"kind": "other", "name": format!("活动{n}"), "starts_on": "2026-09-01", "ends_on": "2026-12-31",
                "budget_fen": 100_000, "amount_fen": 10_000, "eligibility": {"rule": "serious_illness"}}),
            ),
            201,
            201,
        ),
        "list_campaigns" => call("GET", "/api/v1/campaigns".into(), None, 200, 200),
        "get_campaign" => call(
            "GET",
            format!("/api/v1/campaigns/{}", cases(w, own).campaign),
            None,
            200,
            404,
        ),
        "set_campaign_quota" => {
            let campaign = format!("/api/v1/campaigns/{}", cases(w, own).campaign);
            Call {
                if_match: Some(campaign.clone()),
                ..call(
                    "PUT",
                    format!("{campaign}/quotas/{}", pick(&w.chengguan, &w.bowang)),
                    Some(json!({"quota_fen": 1_000_000 + n as i64})),
                    200,
                    404,
                )
            }
        }
        "list_campaign_eligible" => call(
            "GET",
            format!("/api/v1/campaigns/{}/eligible", cases(w, own).campaign),
            None,
            200,
            404,
        ),
        "get_campaign_progress" => call(
            "GET",
            format!("/api/v1/campaigns/{}/progress", cases(w, own).campaign),
            None,
            200,
            404,
        ),
        // The household has been paid by the campaign already (409).
        "create_campaign_payment" => call(
            "POST",
            format!("/api/v1/campaigns/{}/payments", cases(w, own).campaign),
            Some(
                json!({"household_id": cases(w, own).filed, "paid_on": w.app.clock.today().to_string()}),
            ),
            409,
            404,
        ),
        // A household outside the scope is a field of the body (422).
        "create_contact" => call(
            "POST",
            "/api/v1/contacts".into(),
            Some(
                json!({"kind": "cadre_worker", "contact_name": format!("干部{n}"), "household_id": cases(w, own).filed,
                "valid_from": w.app.clock.today().to_string()}),
            ),
            201,
            422,
        ),
        "list_contacts" => call("GET", "/api/v1/contacts".into(), None, 200, 200),
        "get_contact" => call(
            "GET",
            format!("/api/v1/contacts/{}", cases(w, own).contact),
            None,
            200,
            404,
        ),
        // The assignment is ended already (409).
        "end_contact" => {
            let path = format!("/api/v1/contacts/{}", cases(w, own).contact);
            Call {
                if_match: Some(path.clone()),
                ..call(
                    "POST",
                    format!("{path}/end"),
                    Some(json!({"valid_until": w.app.clock.today().to_string()})),
                    409,
                    404,
                )
            }
        }
        // An assignment outside the scope is a field of the body (422).
        "create_contact_visit" => call(
            "POST",
            "/api/v1/contacts/visits".into(),
            Some(
                json!({"assignment_id": cases(w, own).contact, "household_id": cases(w, own).filed,
                "visited_on": (w.app.clock.today() - chrono::TimeDelta::days(1)).to_string(),
                "activity_type": "home_visit"}),
            ),
            201,
            422,
        ),
        "list_contact_visits" => call("GET", "/api/v1/contacts/visits".into(), None, 200, 200),
        "list_contact_gaps" => call("GET", "/api/v1/contacts/gaps".into(), None, 200, 200),
        "list_reports" => call("GET", "/api/v1/reports".into(), None, 200, 200),
        "get_report" => call("GET", "/api/v1/reports/roster".into(), None, 200, 200),
        "list_audit_events" => call("GET", "/api/v1/audit/events".into(), None, 200, 200),
        "verify_audit_chain" => call("GET", "/api/v1/audit/verify".into(), None, 200, 200),
        _ => return None,
    })
}

#[derive(Clone, Debug)]
enum Caller {
    Role(Role),
    KeyOk,
    KeyWrongScope,
    KeyReferrals,
    KeyReferralsRead,
    KeyVerify,
    KeyRevoked,
    Nobody,
    Expired,
    Tampered,
}

/// Roles held at the city (汉中市总工会), whose subtree includes every county.
fn cases(w: &World, own: bool) -> &super::world::Cases {
    let (xx, cg) = w.cases();
    if own {
        xx
    } else {
        cg
    }
}

fn city_level(r: Role) -> bool {
    matches!(r, Role::CityApprover | Role::SystemAdmin)
}

fn expected(access: &Value, caller: &Caller, target: Target, c: &Call) -> u16 {
    let in_scope = |sees_other: bool| {
        if target == Target::Own || sees_other {
            c.success
        } else {
            c.outside
        }
    };
    let key_allowed = access["api_keys"].as_bool().unwrap();
    let scope = access["api_key_scope"].as_str();
    // A key (of 西乡县人社局) holding `scopes`: allowed when the operation takes keys and needs
    // none of them or one it holds; it sees what lies in its department's region.
    let key_case = |scopes: &[&str]| {
        if !key_allowed || !(scope.is_none() || scope.is_some_and(|s| scopes.contains(&s))) {
            403
        } else {
            in_scope(false)
        }
    };
    match caller {
        Caller::Nobody | Caller::Expired | Caller::Tampered | Caller::KeyRevoked => 401,
        Caller::Role(r) => {
            let allowed = access["roles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == r.as_str());
            if allowed {
                in_scope(city_level(*r))
            } else {
                403
            }
        }
        Caller::KeyOk => key_case(&["directory:read"]),
        Caller::KeyWrongScope => key_case(&["assistance:write"]),
        Caller::KeyReferrals => key_case(&["referrals:read", "referrals:write"]),
        Caller::KeyReferralsRead => key_case(&["referrals:read"]),
        Caller::KeyVerify => key_case(&["verification:respond"]),
    }
}

fn auth_of(w: &World, caller: &Caller) -> Auth {
    match caller {
        Caller::Role(r) => w.person(*r).auth.clone(),
        Caller::KeyOk => w.key(&w.key_ok),
        Caller::KeyWrongScope => w.key(&w.key_wrong_scope),
        Caller::KeyReferrals => w.key(&w.key_referrals),
        Caller::KeyReferralsRead => w.key(&w.key_referrals_read),
        Caller::KeyVerify => w.key(&w.key_verify),
        Caller::KeyRevoked => w.key(&w.key_revoked),
        Caller::Nobody => Auth::None,
        Caller::Expired => {
            let admin = w.person(Role::SystemAdmin);
            let stale = chrono::Utc::now().timestamp() - 3600;
            Auth::Bearer(token_config().issue(&admin.id, 1, stale).unwrap().0)
        }
        Caller::Tampered => {
            let Auth::Bearer(t) = &w.person(Role::GrassrootsOfficer).auth else {
                unreachable!()
            };
            let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
            // Swap the officer's id for the system admin's in the signed claims.
            let admin_id = &w.person(Role::SystemAdmin).id;
            let officer_id = &w.person(Role::GrassrootsOfficer).id;
            use base64::Engine;
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let claims = String::from_utf8(engine.decode(&parts[1]).unwrap()).unwrap();
            parts[1] = engine.encode(claims.replace(officer_id.as_str(), admin_id));
            Auth::Bearer(parts.join("."))
        }
    }
}

fn every_cell_of_the_table(w: &World) {
    let app = &w.app;
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let mut callers: Vec<Caller> = Role::ALL.iter().map(|r| Caller::Role(*r)).collect();
    callers.extend([
        Caller::KeyOk,
        Caller::KeyWrongScope,
        Caller::KeyReferrals,
        Caller::KeyReferralsRead,
        Caller::KeyVerify,
        Caller::KeyRevoked,
        Caller::Nobody,
        Caller::Expired,
        Caller::Tampered,
    ]);
    let mut cells = 0;
    let mut failures = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let access = &op["x-jiekun-access"];
            assert!(access.is_object(), "{id} declares who may call it");
            if access["public"].as_bool().unwrap() {
                continue;
            }
            for target in [Target::Own, Target::Other] {
                for caller in &callers {
                    let c = recipe(w, id, target)
                        .unwrap_or_else(|| panic!("{method} {path} ({id}) has no recipe: add it to the authorisation table"));
                    let want = expected(access, caller, target, &c);
                    let m = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
                    let mut req = app.client.request(m, app.url(&c.path));
                    if let Some(read) = &c.if_match {
                        // The system admin reads most things; households are read by the city approver.
                        let mut current = app.get(read);
                        if current.status != 200 {
                            current = app.get_as(&w.person(Role::CityApprover).auth, read);
                        }
                        req = req.header("If-Match", current.etag());
                    }
                    if let Some(body) = &c.body {
                        req = req.json(body);
                    }
                    let got = app.send_as(&auth_of(w, caller), req);
                    cells += 1;
                    if got.status.as_u16() != want {
                        failures.push(format!(
                            "{id} {target:?} {caller:?}: want {want}, got {} {}",
                            got.status, got.text
                        ));
                    } else if want >= 400 {
                        let code = got.body["code"].as_str().unwrap_or_default();
                        let ok = match want {
                            401 => code == "unauthenticated",
                            403 => {
                                code == "forbidden"
                                    || (target == Target::Other && code == "out_of_scope")
                            }
                            404 => code == "not_found",
                            422 => code == "validation_failed",
                            _ => true,
                        };
                        if !ok {
                            failures.push(format!("{id} {target:?} {caller:?}: code {code}"));
                        }
                        if want == 401 && got.header("www-authenticate").is_none() {
                            failures.push(format!("{id} {caller:?}: 401 without WWW-Authenticate"));
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cells >= 48 * 2 * 12, "{cells} cells");
}

/// A caller who may not use an operation learns that, and nothing about the body: a body that
/// breaks every rule still gets 403 (authorisation comes before parsing).
fn the_role_is_checked_before_the_body(w: &World) {
    let app = &w.app;
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let garbage = json!({"no_such_field": [1, 2, 3], "name": 5});
    let mut checked = 0;
    let mut failures = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["requestBody"].is_null()
                || op["x-jiekun-access"]["public"].as_bool() == Some(true)
            {
                continue;
            }
            let id = op["operationId"].as_str().unwrap();
            for role in Role::ALL {
                let caller = Caller::Role(*role);
                let c = recipe(w, id, Target::Own).unwrap();
                if expected(&op["x-jiekun-access"], &caller, Target::Own, &c) != 403 {
                    continue;
                }
                let m = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
                let mut req = app.client.request(m, app.url(&c.path)).json(&garbage);
                if c.if_match.is_some() {
                    req = req.header("If-Match", "\"1\"");
                }
                let got = app.send_as(&auth_of(w, &caller), req);
                checked += 1;
                if got.status != 403 {
                    failures.push(format!(
                        "{method} {path} as {role:?}: {} {}",
                        got.status, got.text
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 20, "{checked}");
}

/// Scope is applied inside the queries: lists never contain what the caller may not see.
fn lists_hold_only_the_callers_scope(w: &World) {
    let app = &w.app;
    let ids = |auth: &Auth, path: &str| -> Vec<String> {
        app.get_as(auth, &format!("{path}?limit=200"))
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let county = &w.person(Role::CountyAdmin).auth;
    let officer = &w.person(Role::GrassrootsOfficer).auth;
    let city = &w.person(Role::CityApprover).auth;
    let key = w.key(&w.key_ok);
    let orgs = ids(county, "/api/v1/organisations");
    assert!(orgs.contains(&w.xixiang) && orgs.contains(&w.chengguan));
    assert!(
        !orgs.contains(&w.chenggu) && !orgs.contains(&w.bowang) && !orgs.contains(&app.root_id)
    );
    assert_eq!(
        ids(officer, "/api/v1/organisations"),
        vec![w.chengguan.clone()]
    );
    let all = ids(city, "/api/v1/organisations");
    assert!(all.contains(&w.bowang) && all.contains(&app.root_id));
    let by_key = ids(&key, "/api/v1/organisations");
    assert!(by_key.contains(&w.xixiang) && !by_key.contains(&w.chenggu));
    assert_eq!(ids(county, "/api/v1/enterprises"), vec![w.ent_xx.clone()]);
    assert_eq!(ids(&key, "/api/v1/departments"), vec![w.dept_xx.clone()]);
    let users = ids(county, "/api/v1/users");
    assert!(users.contains(&w.target_xx.id) && !users.contains(&w.target_cg.id));
    // A filter cannot widen the scope.
    let r = app
        .get_as(
            county,
            &format!("/api/v1/organisations?parent_id={}", w.chenggu),
        )
        .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
}

crate::on_both_backends!(World: every_cell_of_the_table, lists_hold_only_the_callers_scope, the_role_is_checked_before_the_body);
