//! The record a change is aimed at, and the version the caller last read of it.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::body::Body;

use super::if_match;

/// The `{id}` of the path (or its ids, `Versioned<(String, String)>` for
/// `/households/{id}/members/{member_id}`) and the version in `If-Match` (428 without one, 400
/// when malformed): what a `DELETE` of a versioned record takes.
pub struct Versioned<K = String> {
    pub id: K,
    pub version: i64,
}

impl<K: DeserializeOwned + 'static> FromRequest for Versioned<K> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let id = web::Path::<K>::from_request(req, payload);
        let version = if_match(req);
        Box::pin(async move {
            let id = id.await?.into_inner();
            Ok(Versioned {
                id,
                version: version?,
            })
        })
    }
}

/// A change to a versioned record: the `{id}` of the path, the `If-Match` version, then the body
/// (read and size-checked, not yet interpreted), each refused in that order. The handler authorises
/// before it parses `body`.
pub struct Change<K = String> {
    pub id: K,
    pub version: i64,
    pub body: Body,
}

impl<K: DeserializeOwned + 'static> FromRequest for Change<K> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let target = Versioned::<K>::from_request(req, payload);
        let body = Body::from_request(req, payload);
        Box::pin(async move {
            let Versioned { id, version } = target.await?;
            Ok(Change {
                id,
                version,
                body: body.await?,
            })
        })
    }
}

/// An action aimed at one record that is not a versioned change (recording a consent against a
/// household, resolving a discrepancy, a new password): the `{id}` of the path, then the body
/// (read and size-checked, not yet interpreted). The handler authorises before it parses `body`.
pub struct Posted<K = String> {
    pub id: K,
    pub body: Body,
}

impl<K: DeserializeOwned + 'static> FromRequest for Posted<K> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let id = web::Path::<K>::from_request(req, payload);
        let body = Body::from_request(req, payload);
        Box::pin(async move {
            let id = id.await?.into_inner();
            Ok(Posted {
                id,
                body: body.await?,
            })
        })
    }
}
