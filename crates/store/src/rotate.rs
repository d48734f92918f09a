//! Data-key rotation: every stored personal value re-encrypted under the current key, and the
//! blind index of identity numbers rebuilt with it, in batches of one transaction each.
//!
//! While a rotation runs, the servers hold the new key as current and the old one as previous
//! ([`FieldCipher::with_previous`]): they read values under either key, write under the new
//! one, and look identity numbers up by both indexes. A batch takes the first rows not yet under
//! the current key, so a rotation stopped anywhere resumes where it stopped, and a value the
//! servers rewrote meanwhile is left as they wrote it (each row is updated only if it still
//! holds what the batch read). Each batch is audited (`data_key.rotate`) with the rows it
//! rotated, never their contents.

use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Caller};
use crate::conn::DbConnection;
use crate::crypto::FieldCipher;
use crate::error::{StoreError, StoreResult};
use crate::households::{bank_context, health_context, member_context, ID_INDEX};
use crate::schema::{active_persons, assessments, exchange_secrets, household_members, households};

/// The tables that hold encrypted values, in the order a rotation takes them.
pub const TABLES: [&str; 4] = [
    "household_members",
    "households",
    "assessments",
    "exchange_secrets",
];

/// What a batch did: the table it worked on and how many rows it rotated (none: nothing is left
/// anywhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub table: &'static str,
    pub rows: usize,
}

fn unreadable(table: &str, id: &str) -> StoreError {
    StoreError::Config(format!(
        "a value of {table} {id} cannot be decrypted with the current or the previous data key"
    ))
}

/// Rows per table still holding a value not under the current key.
pub fn remaining(
    c: &mut DbConnection,
    cipher: &FieldCipher,
) -> StoreResult<Vec<(&'static str, i64)>> {
    let p = format!("{}%", cipher.current_prefix());
    use household_members as m;
    let members: i64 = m::table
        .filter(
            m::national_id_enc
                .not_like(p.clone())
                .nullable()
                .or(m::health_enc.not_like(p.clone())),
        )
        .count()
        .get_result(c)?;
    let homes: i64 = households::table
        .filter(households::bank_account_enc.not_like(p.clone()))
        .count()
        .get_result(c)?;
    let assessed: i64 = assessments::table
        .filter(assessments::snapshot_enc.not_like(p.clone()))
        .count()
        .get_result(c)?;
    let secrets: i64 = exchange_secrets::table
        .filter(exchange_secrets::secret_enc.not_like(p))
        .count()
        .get_result(c)?;
    Ok(TABLES
        .into_iter()
        .zip([members, homes, assessed, secrets])
        .collect())
}

/// Rotates up to `limit` rows of the first table that has any left, in one transaction, and
/// audits it. When none has any left, the household digests whose health is still under an
/// earlier key are emptied (the next registry scan builds them under the current key).
pub fn rotate_batch(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    caller: &Caller,
    limit: i64,
) -> StoreResult<Batch> {
    crate::write(c, |c| {
        let p = format!("{}%", cipher.current_prefix());
        let mut done = Batch {
            table: TABLES[0],
            rows: members(c, cipher, &p, limit)?,
        };
        if done.rows == 0 {
            done = Batch {
                table: TABLES[1],
                rows: homes(c, cipher, &p, limit)?,
            };
        }
        if done.rows == 0 {
            done = Batch {
                table: TABLES[2],
                rows: assessed(c, cipher, &p, limit)?,
            };
        }
        if done.rows == 0 {
            done = Batch {
                table: TABLES[3],
                rows: secrets(c, cipher, &p, limit)?,
            };
        }
        if done.rows == 0 {
            // The health in household digests (for registry scans) is a copy: one under an
            // earlier key is emptied with its digest, and the next scan builds it again under
            // the current one.
            use crate::schema::household_digests as d;
            diesel::update(d::table.filter(d::health_enc.not_like(p.clone())))
                .set((
                    d::body.eq(None::<String>),
                    d::health_enc.eq(None::<String>),
                    d::gen.eq(d::gen + 1),
                ))
                .execute(c)?;
        }
        if done.rows > 0 {
            audit::append(
                c,
                caller.event(
                    "data_key.rotate",
                    "data_key",
                    cipher.key_id(),
                    json!({"table": done.table, "rows": done.rows}),
                ),
            )?;
        }
        Ok(done)
    })
}

fn again(
    cipher: &FieldCipher,
    context: &str,
    stored: &str,
    table: &str,
    id: &str,
) -> StoreResult<String> {
    let plain = cipher
        .decrypt(context, stored)
        .map_err(|_| unreadable(table, id))?;
    Ok(cipher.encrypt(context, &plain))
}

/// Members: the identity number and health, the identity number's blind index, and the
/// active-person claim that carries the same index.
fn members(c: &mut DbConnection, cipher: &FieldCipher, p: &str, limit: i64) -> StoreResult<usize> {
    use household_members as m;
    let rows: Vec<(String, String, Option<String>, String)> = m::table
        .filter(
            m::national_id_enc
                .not_like(p.to_owned())
                .nullable()
                .or(m::health_enc.not_like(p.to_owned())),
        )
        .order(m::id.asc())
        .limit(limit)
        .select((
            m::id,
            m::national_id_enc,
            m::health_enc,
            m::national_id_index,
        ))
        .load(c)?;
    let mut rotated = 0;
    for (id, enc, health, old_index) in rows {
        let plain = cipher
            .decrypt(&member_context(&id), &enc)
            .map_err(|_| unreadable("household_members", &id))?;
        let new_enc = cipher.encrypt(&member_context(&id), &plain);
        let new_health = health
            .as_deref()
            .map(|h| again(cipher, &health_context(&id), h, "household_members", &id))
            .transpose()?;
        let index = cipher.blind_index(ID_INDEX, &plain);
        let changes = (
            m::national_id_enc.eq(new_enc),
            m::health_enc.eq(new_health),
            m::national_id_index.eq(&index),
        );
        let read = m::table
            .filter(m::id.eq(&id))
            .filter(m::national_id_enc.eq(&enc));
        let n = match &health {
            Some(h) => diesel::update(read.filter(m::health_enc.eq(h)))
                .set(changes)
                .execute(c)?,
            None => diesel::update(read.filter(m::health_enc.is_null()))
                .set(changes)
                .execute(c)?,
        };
        if n == 0 {
            // Rewritten by a server since the batch read it: left as the server wrote it.
            continue;
        }
        if index != old_index {
            // By the key (the old index) and the member: no scan of every claim per member.
            diesel::update(
                active_persons::table
                    .filter(active_persons::national_id_index.eq(&old_index))
                    .filter(active_persons::member_id.eq(&id)),
            )
                .set(active_persons::national_id_index.eq(&index))
                .execute(c)
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict { .. } => StoreError::Config(format!(
                        "member {id} holds a person another active household holds under the new key's index: resolve the two files, then run the rotation again"
                    )),
                    e => e,
                })?;
        }
        rotated += 1;
    }
    Ok(rotated)
}

fn homes(c: &mut DbConnection, cipher: &FieldCipher, p: &str, limit: i64) -> StoreResult<usize> {
    use households as h;
    let rows: Vec<(String, Option<String>)> = h::table
        .filter(h::bank_account_enc.not_like(p.to_owned()))
        .order(h::id.asc())
        .limit(limit)
        .select((h::id, h::bank_account_enc))
        .load(c)?;
    let mut rotated = 0;
    for (id, enc) in rows {
        let Some(enc) = enc else { continue };
        let new = again(cipher, &bank_context(&id), &enc, "households", &id)?;
        rotated += diesel::update(
            h::table
                .filter(h::id.eq(&id))
                .filter(h::bank_account_enc.eq(&enc)),
        )
        .set(h::bank_account_enc.eq(new))
        .execute(c)?;
    }
    Ok(rotated)
}

fn assessed(c: &mut DbConnection, cipher: &FieldCipher, p: &str, limit: i64) -> StoreResult<usize> {
    use assessments as a;
    let rows: Vec<(String, String)> = a::table
        .filter(a::snapshot_enc.not_like(p.to_owned()))
        .order(a::id.asc())
        .limit(limit)
        .select((a::id, a::snapshot_enc))
        .load(c)?;
    let mut rotated = 0;
    for (id, enc) in rows {
        let new = again(
            cipher,
            &crate::rules::snapshot_context(&id),
            &enc,
            "assessments",
            &id,
        )?;
        rotated += diesel::update(
            a::table
                .filter(a::id.eq(&id))
                .filter(a::snapshot_enc.eq(&enc)),
        )
        .set(a::snapshot_enc.eq(new))
        .execute(c)?;
    }
    Ok(rotated)
}

fn secrets(c: &mut DbConnection, cipher: &FieldCipher, p: &str, limit: i64) -> StoreResult<usize> {
    use exchange_secrets as x;
    let rows: Vec<(String, String)> = x::table
        .filter(x::secret_enc.not_like(p.to_owned()))
        .order(x::department_id.asc())
        .limit(limit)
        .select((x::department_id, x::secret_enc))
        .load(c)?;
    let mut rotated = 0;
    for (id, enc) in rows {
        let context = crate::sharing::exchange::secret_context(&id);
        let new = again(cipher, &context, &enc, "exchange_secrets", &id)?;
        rotated += diesel::update(
            x::table
                .filter(x::department_id.eq(&id))
                .filter(x::secret_enc.eq(&enc)),
        )
        .set(x::secret_enc.eq(new))
        .execute(c)?;
    }
    Ok(rotated)
}
