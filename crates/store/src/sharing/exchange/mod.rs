//! Offline exchange (离线交换) for departments without a network link: a batch of a department's
//! open tasks goes out as a file with a manifest signed with the department's exchange secret
//! (HMAC-SHA256); the answer file comes back with its own signed manifest. The checksum and the
//! signature are checked first, then every row, and only then do all rows apply, in one
//! transaction, or none do. A batch's answer applies once; the same file again changes nothing.
//! Reading and checking stream through files, so memory stays flat however long the file.

mod apply;
pub mod format;
mod import;

pub use self::import::{import_rows, import_rows_in_chunks, CHUNK_TASKS, MAX_PROBLEMS};

use std::io::BufReader;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};

use self::format::{FileError, Format};
use super::verifications::subjects;
use super::{Doer, MeasureError, MeasureResult, TaskRow, Viewer};
use crate::audit;
use crate::conn::DbConnection;
use crate::crypto::FieldCipher;
use crate::schema::{
    exchange_batch_tasks as batch_tasks, exchange_batches as batches, exchange_secrets as secrets,
    verification_tasks as tasks,
};
use crate::workflows::within;
use crate::Scope;

/// What the signature covers: the version of the scheme, the batch, the data rows and the SHA-256
/// of the file's bytes, one per line.
pub fn signing_text(batch_id: &str, rows: u64, sha256: &str) -> String {
    format!("jiekun-exchange-v1\n{batch_id}\n{rows}\n{sha256}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// HMAC-SHA256 of the signing text under the secret, in hex.
pub fn sign(secret: &[u8], text: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(text.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn signature_holds(secret: &[u8], text: &str, signature: &str) -> bool {
    let Some(given) = unhex(signature.trim()) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(text.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// SHA-256 of bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn secret_context(department_id: &str) -> String {
    format!("exchange_secrets.secret:{department_id}")
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = batches, treat_none_as_default_value = false)]
pub struct BatchRow {
    pub id: String,
    pub department_id: String,
    pub department_code: String,
    pub organisation_path: String,
    pub format: String,
    pub row_count: i64,
    pub sha256: String,
    pub signature: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub imported_sha256: Option<String>,
    pub imported_rows: Option<i64>,
    pub imported_by: Option<String>,
    pub imported_at: Option<NaiveDateTime>,
}

/// A department in the doer's scope.
fn department(
    c: &mut DbConnection,
    doer: &Doer,
    id: &str,
) -> MeasureResult<crate::departments::DepartmentRow> {
    crate::measures::found(crate::departments::get(c, &doer.scope, id), "department")
}

/// Makes (or replaces) the department's exchange secret and returns it, in hex: it is shown this
/// once and kept only encrypted. Files signed with an earlier secret no longer verify.
pub fn issue_secret(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    doer: &Doer,
    at: NaiveDateTime,
    department_id: &str,
) -> MeasureResult<String> {
    let d = department(c, doer, department_id)?;
    let mut raw = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut raw[..]);
    let secret = hex(&raw);
    let enc = cipher.encrypt(&secret_context(&d.id), &secret);
    diesel::delete(secrets::table.find(&d.id)).execute(c)?;
    diesel::insert_into(secrets::table)
        .values((
            secrets::department_id.eq(&d.id),
            secrets::secret_enc.eq(&enc),
            secrets::created_by.eq(&doer.name),
            secrets::created_at.eq(at),
        ))
        .execute(c)?;
    audit::append(
        c,
        doer.caller.event(
            "exchange.secret_issue",
            "department",
            &d.id,
            json!({"department_id": d.id}),
        ),
    )?;
    Ok(secret)
}

fn secret_of(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    department_id: &str,
) -> MeasureResult<Option<Vec<u8>>> {
    let enc: Option<String> = secrets::table
        .find(department_id)
        .select(secrets::secret_enc)
        .first(c)
        .optional()?;
    let Some(enc) = enc else { return Ok(None) };
    let text = cipher
        .decrypt(&secret_context(department_id), &enc)
        .map_err(|_| crate::StoreError::Config("stored exchange secret unreadable".into()))?;
    Ok(Some(text.into_bytes()))
}

fn no_secret() -> MeasureError {
    MeasureError::WrongState {
        message: "the department has no exchange secret: issue one first".into(),
        message_zh: "该部门尚未生成交换密钥，请先生成".into(),
    }
}

/// A batch written out: its record and the file's bytes.
pub struct Outbox {
    pub batch: BatchRow,
    pub bytes: Vec<u8>,
}

/// Writes every open task of the department's kind in its region and the doer's scope into a new
/// batch file, signed. Handing the names and identity numbers to the department is audited.
pub fn export(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    doer: &Doer,
    at: NaiveDateTime,
    department_id: &str,
    format: Format,
) -> MeasureResult<Outbox> {
    let d = department(c, doer, department_id)?;
    let secret = secret_of(c, cipher, &d.id)?.ok_or_else(no_secret)?;
    let region = jiekun_domain::RegionCode::parse(&d.region_code)
        .map_err(|_| MeasureError::Policy("stored region unreadable".into()))?;
    let mut q = tasks::table
        .filter(tasks::department_code.eq(&d.code))
        .filter(tasks::status.eq("open"))
        .filter(tasks::region_code.like(crate::like_prefix(region.prefix())))
        .into_boxed();
    q = within!(q, tasks::organisation_path, &doer.scope, c);
    let open: Vec<TaskRow> = q
        .order(tasks::id.asc())
        .select(TaskRow::as_select())
        .load(c)?;
    let viewer = Viewer::Department {
        code: d.code.clone(),
        region,
    };
    let people = subjects(c, cipher, &doer.caller, &viewer, &open)?;
    let mut w = format::Writer::new(Vec::new(), format).map_err(file_policy)?;
    let mut rows = 0u64;
    for (t, people) in open.iter().zip(&people) {
        let due = t.due_on.to_string();
        for p in people {
            w.row(&[
                Some(&t.id),
                Some(&t.domain),
                Some(&p.member_id),
                Some(&p.name),
                Some(&p.national_id),
                Some(&p.relation),
                Some(&due),
                None,
                None,
                None,
                None,
                None,
                None,
            ])
            .map_err(file_policy)?;
            rows += 1;
        }
    }
    let bytes = w.finish().map_err(file_policy)?;
    let id = crate::new_id();
    let sha256 = sha256_hex(&bytes);
    let batch = BatchRow {
        signature: sign(&secret, &signing_text(&id, rows, &sha256)),
        id,
        department_id: d.id.clone(),
        department_code: d.code.clone(),
        organisation_path: match &doer.scope {
            Scope::Subtree { path, .. } => path.clone(),
            _ => String::new(),
        },
        format: format.as_str().into(),
        row_count: rows as i64,
        sha256,
        created_by: doer.name.clone(),
        created_at: at,
        imported_sha256: None,
        imported_rows: None,
        imported_by: None,
        imported_at: None,
    };
    diesel::insert_into(batches::table)
        .values(&batch)
        .execute(c)?;
    let links: Vec<(String, String)> = open
        .iter()
        .map(|t| (batch.id.clone(), t.id.clone()))
        .collect();
    for chunk in links.chunks(1000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(b, t)| (batch_tasks::batch_id.eq(b), batch_tasks::task_id.eq(t)))
            .collect();
        crate::insert_all!(c, batch_tasks::table, &values, 2)?;
    }
    audit::append(
        c,
        doer.caller.event("exchange.export", "exchange_batch", &batch.id,
            json!({"department_id": d.id, "tasks": open.len(), "rows": rows, "sha256": batch.sha256})),
    )?;
    Ok(Outbox { batch, bytes })
}

/// A batch in the doer's scope.
pub fn batch(c: &mut DbConnection, doer: &Doer, id: &str) -> MeasureResult<BatchRow> {
    batches::table
        .find(id)
        .select(BatchRow::as_select())
        .first(c)
        .optional()?
        .filter(|b| doer.scope.covers_path(&b.organisation_path))
        .ok_or(MeasureError::NotFound("exchange batch"))
}

/// What came with an answer file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub batch_id: String,
    pub rows: u64,
    pub sha256: String,
    pub signature: String,
}

/// One bad row of an answer file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub line: u64,
    pub field: String,
    pub code: &'static str,
    pub en: String,
    pub zh: String,
}

/// Why an answer file was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file's SHA-256 is not the manifest's")]
    Checksum,
    #[error("the signature does not verify with the department's exchange secret")]
    Signature,
    #[error("the batch was answered by another file already")]
    AnsweredByAnother,
    #[error("the file cannot be read: {0}")]
    File(FileError),
    #[error("{} rows are wrong", .0.len())]
    Rows(Vec<RowProblem>, u64),
    #[error(transparent)]
    Measure(#[from] MeasureError),
}

impl From<crate::StoreError> for ImportError {
    fn from(e: crate::StoreError) -> Self {
        ImportError::Measure(e.into())
    }
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::Measure(e.into())
    }
}

/// What importing a file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub batch_id: String,
    /// `false` when the same file was applied before: nothing changed.
    pub applied: bool,
    pub rows: u64,
    pub tasks: u64,
    pub discrepancies: u64,
}

/// Checks the file against the manifest: the batch is the doer's, the bytes' SHA-256 is the
/// manifest's, and the signature verifies with the department's secret. Says whether this very
/// file was applied already.
pub fn check_manifest(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    doer: &Doer,
    manifest: &Manifest,
    actual_sha256: &str,
) -> Result<(BatchRow, bool), ImportError> {
    let b = batch(c, doer, &manifest.batch_id)?;
    if !actual_sha256.eq_ignore_ascii_case(manifest.sha256.trim()) {
        return Err(ImportError::Checksum);
    }
    let secret = secret_of(c, cipher, &b.department_id)?.ok_or_else(no_secret)?;
    if !signature_holds(
        &secret,
        &signing_text(&b.id, manifest.rows, &manifest.sha256.to_ascii_lowercase()),
        &manifest.signature,
    ) {
        return Err(ImportError::Signature);
    }
    match &b.imported_sha256 {
        Some(s) if s.eq_ignore_ascii_case(actual_sha256) => Ok((b, true)),
        Some(_) => Err(ImportError::AnsweredByAnother),
        None => Ok((b, false)),
    }
}

/// Opens a file for reading, buffered.
pub fn reader(path: &std::path::Path) -> std::io::Result<BufReader<std::fs::File>> {
    Ok(BufReader::with_capacity(
        1 << 16,
        std::fs::File::open(path)?,
    ))
}

fn file_policy(e: FileError) -> MeasureError {
    MeasureError::Policy(e.to_string())
}

/// SHA-256 of a file read in pieces.
#[derive(Default)]
pub struct FileDigest(Sha256);

impl FileDigest {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn hex(self) -> String {
        hex(&self.0.finalize())
    }
}
