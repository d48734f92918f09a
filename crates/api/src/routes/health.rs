//! Liveness and readiness probes, outside `/api/v1`.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

// Named apart from a household member's `Health`, which is another schema of the same document.
/// Probe answer. 探针结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthReport {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `sqlite` or `postgres` (readiness only). 数据库类型（仅就绪探针）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// Liveness probe · 存活探针
///
/// 200 while the process serves requests; does not touch the database.
///
/// 进程能处理请求即返回 200，不访问数据库。
#[utoipa::path(
    operation_id = "healthz",tag = "operations", responses((status = 200, description = "Up. 存活。", body = HealthReport)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthReport {
        status: "ok",
        database: None,
    })
}

/// Readiness probe · 就绪探针
///
/// 200 when the database answers, 503 otherwise.
///
/// 数据库可用时返回 200，否则返回 503。
#[utoipa::path(
    operation_id = "readyz",tag = "operations", responses((status = 200, description = "Ready. 就绪。", body = HealthReport)))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let backend = state.db.pool.backend();
    db::run(&state.db, |c| Ok(jiekun_store::conn::ping(c)?))
        .await
        .map_err(|e| ApiError {
            cause: Some(e.to_string().into()),
            ..ApiError::new(
                ErrorCode::ServiceUnavailable,
                "the database does not answer",
                "数据库无响应",
            )
        })?;
    Ok(HttpResponse::Ok().json(HealthReport {
        status: "ok",
        database: Some(backend),
    }))
}
