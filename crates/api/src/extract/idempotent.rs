//! The body of a POST that honours `Idempotency-Key`, with that key.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{key_of, Key};

/// The `Idempotency-Key` and the body (read and size-checked, not yet interpreted). The key is
/// judged only when the handler asks for it, after it has authorised the caller: a malformed key
/// is then 400, before anything in the body is looked at.
pub struct Idempotent {
    key: ApiResult<Option<Key>>,
    body: Body,
}

impl FromRequest for Idempotent {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = key_of(req);
        let body = Body::from_request(req, payload);
        Box::pin(async move {
            Ok(Idempotent {
                key,
                body: body.await?,
            })
        })
    }
}

impl Idempotent {
    /// The key (none when the request has none; 400 when malformed) and the body to parse.
    pub fn key_and_body(self) -> ApiResult<(Option<Key>, Body)> {
        Ok((self.key?, self.body))
    }
}
