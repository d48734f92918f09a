//! `Idempotency-Key` on POST (IETF draft "The Idempotency-Key HTTP Header Field"): a caller that
//! sends the header gets, for a retry with the same key and the same body, the first answer again
//! (with `Idempotent-Replayed: true`), and for the same key with another body a 422. The answer is
//! stored in the transaction of the change it answers, so a change and its key are written
//! together or not at all; of two retries that race, one writes and the other replays it.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use jiekun_store::idempotency::{self as store, IdempotencyRow};
use jiekun_store::{DbConnection, StoreError};
use sha2::{Digest, Sha256};

use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::{db, AppState};

/// The header's name.
pub const HEADER: &str = "Idempotency-Key";

/// A key, as sent: 1 to 255 visible ASCII characters.
pub struct Key(String);

/// The `Idempotency-Key` of a request, if it has one; 400 when it is malformed.
pub fn key_of(req: &HttpRequest) -> ApiResult<Option<Key>> {
    let Some(v) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let ok = v
        .to_str()
        .ok()
        .map(|s| s.trim_matches('"'))
        .filter(|s| !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_graphic()));
    match ok {
        Some(s) => Ok(Some(Key(s.to_owned()))),
        None => Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            "Idempotency-Key 须为 1 至 255 个可见 ASCII 字符",
        )
        .with_field(FieldError::new(
            HEADER,
            "invalid",
            "1 to 255 visible ASCII characters",
            "1 至 255 个可见 ASCII 字符",
        ))),
    }
}

/// A successful answer, as stored for replay.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub etag: Option<i64>,
    pub body: serde_json::Value,
}

impl Answer {
    fn response(&self, replayed: bool) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if let Some(l) = &self.location {
            r.insert_header(("Location", l.clone()));
        }
        if let Some(v) = self.etag {
            r.insert_header(("ETag", format!("\"{v}\"")));
        }
        if replayed {
            r.insert_header((
                HeaderName::from_static("idempotent-replayed"),
                HeaderValue::from_static("true"),
            ));
        }
        r.json(&self.body)
    }
}

fn caller_id(access: &Access) -> String {
    match &access.principal {
        Principal::User(u) => format!("user:{}", u.id),
        Principal::Key(k) => format!("key:{}", k.id),
    }
}

fn hash(operation: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(operation.as_bytes());
    h.update([0]);
    h.update(body);
    format!("{:x}", h.finalize())
}

/// The stored answer to this key, replayed, or the refusal of a key reused for another request.
fn replay(row: &IdempotencyRow, request_hash: &str) -> ApiResult<HttpResponse> {
    if row.request_hash != request_hash {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a request with another body or endpoint; use a new key for a new request",
            "该 Idempotency-Key 已用于请求体或接口不同的另一请求，新请求请使用新的 Key",
        )
        .with_field(FieldError::new(
            HEADER,
            "reused",
            "used for another request",
            "已用于另一请求",
        )));
    }
    let body = serde_json::from_str(&row.body).map_err(ApiError::internal)?;
    let answer = Answer {
        status: StatusCode::from_u16(row.status as u16).map_err(ApiError::internal)?,
        location: row.location.clone(),
        etag: body_version(&body),
        body,
    };
    Ok(answer.response(true))
}

fn body_version(body: &serde_json::Value) -> Option<i64> {
    body.get("version").and_then(|v| v.as_i64())
}

/// Runs `change` (one write transaction) under the request's `Idempotency-Key`, if it has one.
pub async fn run<F>(
    state: &AppState,
    access: &Access,
    key: Option<Key>,
    operation: &'static str,
    body: &[u8],
    change: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<Answer> + Send + 'static,
{
    let Some(Key(key)) = key else {
        return db::write(&state.db, change)
            .await
            .map(|a| a.response(false));
    };
    let caller = caller_id(access);
    let request_hash = hash(operation, body);
    let (c2, k2, h2) = (caller.clone(), key.clone(), request_hash.clone());
    let at = state.clock.stored_now();
    let done = db::write(&state.db, move |c| {
        if let Some(row) = store::find(c, &c2, &k2)? {
            return Ok(Err(row));
        }
        let answer = change(c)?;
        let row = IdempotencyRow {
            caller_id: c2,
            key: k2,
            operation: operation.to_owned(),
            request_hash: h2,
            status: i64::from(answer.status.as_u16()),
            location: answer.location.clone(),
            body: answer.body.to_string(),
            created_at: at,
        };
        store::save(c, &row).map_err(|e| match e {
            StoreError::Conflict { .. } => race(),
            e => e.into(),
        })?;
        Ok(Ok(answer))
    })
    .await;
    match done {
        Ok(Ok(answer)) => Ok(answer.response(false)),
        Ok(Err(row)) => replay(&row, &request_hash),
        // A retry that raced the first request: the first one's answer is stored now.
        Err(e) if is_race(&e) => {
            let row = db::run(&state.db, move |c| Ok(store::find(c, &caller, &key)?))
                .await?
                .ok_or_else(|| ApiError::internal("idempotency key vanished"))?;
            replay(&row, &request_hash)
        }
        Err(e) => Err(e),
    }
}

const RACE: &str = "idempotency key stored by a concurrent request";

fn race() -> ApiError {
    ApiError {
        cause: Some(RACE.into()),
        ..ApiError::bare(ErrorCode::ServiceUnavailable)
    }
}

fn is_race(e: &ApiError) -> bool {
    e.cause.as_deref() == Some(RACE)
}
