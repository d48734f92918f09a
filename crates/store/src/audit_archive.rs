//! Audit retention: events older than the retention period (never less than six months) move
//! to a signed archive file, and the chain in the database goes on from the last of them.
//!
//! The file is JSON Lines: one event per line, as stored, oldest first, then one last line, the
//! manifest: the range of events, the hash before the first and the hash of the last, the
//! SHA-256 of the event lines, and a signature (HMAC-SHA256 under a key derived from the data
//! key, named by its id) over the rest of the manifest. The database records each archive
//! (`audit_archives`) with its last event and that event's hash, where `audit verify` now begins;
//! an event may be deleted only once an archive holding it is recorded, which a trigger enforces.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{self, event_hash, AuditEventRow, Caller, GENESIS_HASH};
use crate::conn::DbConnection;
use crate::crypto::FieldCipher;
use crate::error::StoreError;
use crate::schema::{audit_archives, audit_events};

/// The least time events are kept in the database.
pub const RETENTION_MONTHS: u32 = 6;

/// What the archive file's format is called, in its manifest.
pub const FORMAT: &str = "jiekun-audit-archive/1";

/// The last line of an archive file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub archive_id: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub events: i64,
    /// The hash the first event chains onto: the genesis, or the last of the archive before.
    pub prev_hash: String,
    pub last_hash: String,
    /// Events that happened before this time (UTC) were archived.
    pub before: NaiveDateTime,
    /// SHA-256 of the event lines, in hex.
    pub sha256: String,
    pub key_id: String,
    /// Over the manifest without this field, as compact JSON.
    pub signature: String,
}

impl Manifest {
    fn signed_part(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = String::new();
        serde_json::to_vec(&unsigned).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("events of the last {RETENTION_MONTHS} months are always kept: archive only before {latest}")]
    TooRecent { latest: NaiveDateTime },
    #[error("no event before that time is left to archive")]
    Nothing,
    #[error("{0} exists; an archive never overwrites a file")]
    Exists(String),
    #[error("the audit chain is broken at event {seq} ({reason}); nothing was archived")]
    Broken { seq: i64, reason: &'static str },
    #[error("the archive file is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ArchiveError {
    fn from(e: diesel::result::Error) -> Self {
        ArchiveError::Store(e.into())
    }
}

/// Where the chain in the database begins: the last archived event and its hash (0 and the
/// genesis hash before any archive).
pub fn boundary(conn: &mut DbConnection) -> Result<(i64, String), StoreError> {
    let last: Option<(i64, String)> = audit_archives::table
        .order(audit_archives::boundary_seq.desc())
        .select((audit_archives::boundary_seq, audit_archives::boundary_hash))
        .first(conn)
        .optional()?;
    Ok(last.unwrap_or((0, GENESIS_HASH.to_owned())))
}

/// Moves the events that happened before `before` (UTC; at least [`RETENTION_MONTHS`] before
/// `now`) to a new archive file `file`, after checking their chain, and records the archive; the
/// move is audited (`audit.archive`). Only a leading run of events moves: the first event at or
/// after `before` and everything after it stay.
pub fn archive(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    caller: &Caller,
    before: NaiveDateTime,
    now: NaiveDateTime,
    file: &Path,
) -> Result<Manifest, ArchiveError> {
    let latest = now
        .checked_sub_months(chrono::Months::new(RETENTION_MONTHS))
        .unwrap_or(now);
    if before > latest {
        return Err(ArchiveError::TooRecent { latest });
    }
    let (first_seq, prev_hash) = {
        let (seq, hash) = boundary(conn)?;
        (seq + 1, hash)
    };
    let stays: Option<i64> = audit_events::table
        .filter(audit_events::occurred_at.ge(before))
        .select(diesel::dsl::min(audit_events::seq))
        .first(conn)?;
    let last_seq = match stays {
        Some(s) => s - 1,
        None => audit_events::table
            .select(diesel::dsl::max(audit_events::seq))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
    };
    if last_seq < first_seq {
        return Err(ArchiveError::Nothing);
    }
    let out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => ArchiveError::Exists(file.display().to_string()),
            _ => e.into(),
        })?;
    let written = write_events(conn, out, first_seq, last_seq, &prev_hash, cipher, before);
    let manifest = match written {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(file);
            return Err(e);
        }
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let recorded = crate::write(conn, |c| -> Result<(), ArchiveError> {
        // Another archive made meanwhile would have moved the same events.
        if boundary(c)?.0 + 1 != first_seq {
            return Err(ArchiveError::Invalid(
                "another archive was made meanwhile".into(),
            ));
        }
        diesel::insert_into(audit_archives::table)
            .values((
                audit_archives::id.eq(&manifest.archive_id),
                audit_archives::first_seq.eq(first_seq),
                audit_archives::boundary_seq.eq(last_seq),
                audit_archives::boundary_hash.eq(&manifest.last_hash),
                audit_archives::events.eq(manifest.events),
                audit_archives::before_time.eq(before),
                audit_archives::file_name.eq(&name),
                audit_archives::file_sha256.eq(&manifest.sha256),
                audit_archives::key_id.eq(&manifest.key_id),
                audit_archives::signature.eq(&manifest.signature),
                audit_archives::created_at.eq(now),
            ))
            .execute(c)?;
        diesel::delete(audit_events::table.filter(audit_events::seq.le(last_seq))).execute(c)?;
        audit::append(
            c,
            caller.event(
                "audit.archive",
                "audit_archive",
                &manifest.archive_id,
                serde_json::json!({"first_seq": first_seq, "last_seq": last_seq,
                    "events": manifest.events, "sha256": manifest.sha256, "file_name": name}),
            ),
        )?;
        Ok(())
    });
    if let Err(e) = recorded {
        let _ = std::fs::remove_file(file);
        return Err(e);
    }
    Ok(manifest)
}

/// Writes events `first`..=`last` as JSON Lines and then the signed manifest, checking the chain
/// on the way.
fn write_events(
    conn: &mut DbConnection,
    out: std::fs::File,
    first: i64,
    last: i64,
    prev_hash: &str,
    cipher: &FieldCipher,
    before: NaiveDateTime,
) -> Result<Manifest, ArchiveError> {
    const BATCH: i64 = 2000;
    let mut w = BufWriter::new(out);
    let mut digest = Sha256::new();
    let mut chain = Chain::new(first, prev_hash);
    let mut next = first;
    while next <= last {
        let rows: Vec<AuditEventRow> = audit_events::table
            .filter(audit_events::seq.ge(next))
            .filter(audit_events::seq.le(last))
            .order(audit_events::seq.asc())
            .limit(BATCH)
            .select(AuditEventRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            chain.take(&row)?;
            let mut line =
                serde_json::to_vec(&row).map_err(|e| ArchiveError::Invalid(e.to_string()))?;
            line.push(b'\n');
            digest.update(&line);
            w.write_all(&line)?;
            next = row.seq + 1;
        }
    }
    if chain.seq != last + 1 {
        return Err(ArchiveError::Broken {
            seq: chain.seq,
            reason: "missing",
        });
    }
    let mut manifest = Manifest {
        format: FORMAT.into(),
        archive_id: crate::new_id(),
        first_seq: first,
        last_seq: last,
        events: last - first + 1,
        prev_hash: prev_hash.to_owned(),
        last_hash: chain.hash.clone(),
        before,
        sha256: hex(&digest.finalize()),
        key_id: String::new(),
        signature: String::new(),
    };
    manifest.key_id = cipher.key_id().to_owned();
    let (key_id, signature) = cipher.sign(&manifest.signed_part());
    manifest.key_id = key_id;
    manifest.signature = signature;
    let mut line =
        serde_json::to_vec(&manifest).map_err(|e| ArchiveError::Invalid(e.to_string()))?;
    line.push(b'\n');
    w.write_all(&line)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(manifest)
}

/// The chain walked one event at a time.
struct Chain {
    seq: i64,
    hash: String,
}

impl Chain {
    fn new(first: i64, prev_hash: &str) -> Chain {
        Chain {
            seq: first,
            hash: prev_hash.to_owned(),
        }
    }

    fn take(&mut self, row: &AuditEventRow) -> Result<(), ArchiveError> {
        let reason = if row.seq != self.seq {
            Some("missing")
        } else if row.prev_hash != self.hash {
            Some("prev_hash_mismatch")
        } else if event_hash(row) != row.hash {
            Some("hash_mismatch")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(ArchiveError::Broken {
                seq: self.seq,
                reason,
            });
        }
        self.seq += 1;
        self.hash = row.hash.clone();
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks an archive file: the SHA-256 of its event lines, the manifest's signature, and the
/// chain of its events from the manifest's first hash to its last. With a database, also that
/// the database recorded this archive with the same last hash and checksum (where its own chain
/// begins, or continues from).
pub fn verify_file(
    file: &Path,
    cipher: &FieldCipher,
    conn: Option<&mut DbConnection>,
) -> Result<Manifest, ArchiveError> {
    let bad = |m: &str| ArchiveError::Invalid(m.to_owned());
    let reader = std::io::BufReader::new(std::fs::File::open(file)?);
    let mut digest = Sha256::new();
    let mut pending: Option<String> = None;
    // The chain as walked so far, and the hash its first event chains onto.
    let mut chain: Option<(Chain, String)> = None;
    for line in reader.lines() {
        let line = line?;
        let Some(previous) = pending.replace(line) else {
            continue;
        };
        digest.update(previous.as_bytes());
        digest.update(b"\n");
        let row: AuditEventRow = serde_json::from_str(&previous)
            .map_err(|e| ArchiveError::Invalid(format!("an event line: {e}")))?;
        let (c, _) = chain
            .get_or_insert_with(|| (Chain::new(row.seq, &row.prev_hash), row.prev_hash.clone()));
        c.take(&row)?;
    }
    let manifest: Manifest = serde_json::from_str(pending.as_deref().ok_or_else(|| bad("empty"))?)
        .map_err(|e| ArchiveError::Invalid(format!("the manifest: {e}")))?;
    if manifest.format != FORMAT {
        return Err(bad("not an audit archive of this format"));
    }
    if hex(&digest.finalize()) != manifest.sha256 {
        return Err(bad("the event lines do not match the manifest's SHA-256"));
    }
    if !cipher.verify_signature(
        &manifest.key_id,
        &manifest.signed_part(),
        &manifest.signature,
    ) {
        return Err(bad(
            "the manifest's signature does not verify with the data key",
        ));
    }
    let (chain, first_prev) = chain.ok_or_else(|| bad("no events"))?;
    if first_prev != manifest.prev_hash {
        return Err(bad(
            "the first event does not chain onto the manifest's first hash",
        ));
    }
    let first = chain.seq - manifest.events;
    if first != manifest.first_seq || chain.seq - 1 != manifest.last_seq {
        return Err(bad("the events are not the range the manifest names"));
    }
    if chain.hash != manifest.last_hash {
        return Err(bad("the last event's hash is not the manifest's"));
    }
    if let Some(conn) = conn {
        let recorded: Option<(String, String)> = audit_archives::table
            .filter(audit_archives::id.eq(&manifest.archive_id))
            .select((audit_archives::boundary_hash, audit_archives::file_sha256))
            .first(conn)
            .optional()?;
        match recorded {
            Some((hash, sha)) if hash == manifest.last_hash && sha == manifest.sha256 => {}
            Some(_) => return Err(bad("the database recorded this archive otherwise")),
            None => return Err(bad("the database has no record of this archive")),
        }
    }
    Ok(manifest)
}
