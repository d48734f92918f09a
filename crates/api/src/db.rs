//! Runs store work on the blocking thread pool, off the async workers.

use actix_web::web;
use jiekun_store::{DbConnection, Pool};

use crate::error::{ApiError, ApiResult};

/// Takes a connection and runs `f` with it on a blocking thread.
pub async fn run<T, F>(pool: &Pool, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Like [`run`], inside one write transaction (all or nothing).
pub async fn write<T, F>(pool: &Pool, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    run(pool, move |c| jiekun_store::write(c, f)).await
}
