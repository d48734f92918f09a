//! Offline exchange (离线交换) with departments that have no network link (《实施方案》三(一)1:
//! where no link exists, files are exchanged on a schedule): the department's exchange secret, the
//! outbox of its open tasks as a signed file, and the inbox for its signed answer file.

use std::io::Write;

use actix_web::http::header;
use actix_web::web;
use actix_web::{get, post, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use jiekun_domain::access::Action;
use jiekun_store::sharing::exchange::format::{decode, Charset, FileError, Format};
use jiekun_store::sharing::exchange::{self as store, BatchRow, FileDigest, ImportError, Manifest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::measures::{doer, measure_error};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(issue_secret)
        .service(outbox)
        .service(get_batch)
        .service(inbox);
}

/// The largest answer file taken, in bytes (about two million rows).
pub const MAX_FILE: usize = 256 * 1024 * 1024;

/// A department's new exchange secret, shown once. 部门交换密钥（仅显示一次）。
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeSecret {
    pub department_id: String,
    /// 64 hexadecimal characters; keep it where the department signs its files. 交换密钥。
    pub secret: String,
    /// `HMAC-SHA256`.
    pub algorithm: String,
    /// What is signed, line by line. 签名内容。
    #[schema(example = "jiekun-exchange-v1\\n{batch_id}\\n{rows}\\n{sha256}")]
    pub signed_text: String,
}

/// A batch's manifest. 交换批次清单。
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchManifest {
    pub batch_id: String,
    pub department_id: String,
    #[schema(schema_with = crate::routes::closed::department_code)]
    pub department_code: String,
    /// `csv` or `jsonl`. 文件格式。
    #[schema(example = "csv")]
    pub format: String,
    /// Data rows (header rows aside). 数据行数。
    pub rows: i64,
    /// SHA-256 of the file's bytes, hex. 文件 SHA-256。
    pub sha256: String,
    /// HMAC-SHA256 of `jiekun-exchange-v1\n{batch_id}\n{rows}\n{sha256}` with the department's
    /// exchange secret, hex. 签名。
    pub signature: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// When its answer file was imported. 答复导入时间。
    pub imported_at: Option<DateTime<Utc>>,
    pub imported_rows: Option<i64>,
}

impl From<BatchRow> for BatchManifest {
    fn from(b: BatchRow) -> Self {
        BatchManifest {
            batch_id: b.id,
            department_id: b.department_id,
            department_code: b.department_code,
            format: b.format,
            rows: b.row_count,
            sha256: b.sha256,
            signature: b.signature,
            created_by: b.created_by,
            created_at: b.created_at.and_utc(),
            imported_at: b.imported_at.map(|t| t.and_utc()),
            imported_rows: b.imported_rows,
        }
    }
}

/// Issue an exchange secret · 生成交换密钥
///
/// Makes the department's exchange secret and shows it this once (it is kept encrypted and never
/// shown again); a new one replaces the old, whose signatures then fail. County and system
/// administrators; not open to department keys.
///
/// 生成部门交换密钥，仅此一次显示（加密保存，不再显示）；重新生成即替换旧密钥。限县总工会管理员和系统管理员，部门密钥不可调用。
#[utoipa::path(operation_id = "issue_exchange_secret", tag = "exchange",
    params(("id" = String, Path, description = "Department id. 部门标识。")),
    responses((status = 201, description = "The secret, shown once. 交换密钥（仅显示一次）。", body = ExchangeSecret)))]
#[post("/departments/{id}/exchange-secret")]
async fn issue_secret(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::DepartmentWrite)?;
    let (cipher, at, id) = (
        state.cipher.clone(),
        state.clock.stored_now(),
        id.into_inner(),
    );
    let secret = db::write(&state.db, move |c| {
        store::issue_secret(c, &cipher, &doer, at, &id)
            .map(|s| (id, s))
            .map_err(measure_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(ExchangeSecret {
        department_id: secret.0,
        secret: secret.1,
        algorithm: "HMAC-SHA256".into(),
        signed_text: "jiekun-exchange-v1\n{batch_id}\n{rows}\n{sha256}".into(),
    }))
}

/// The outbox's format. 导出格式。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `csv` (UTF-8 with a byte-order mark, a row of Chinese column names, then a row of keys;
    /// the default) or `jsonl` (one JSON object a line). csv（默认）或 jsonl。
    #[param(pattern = "^(csv|jsonl)$")]
    pub format: Option<String>,
}

fn manifest_headers(b: &BatchRow) -> Vec<(&'static str, String)> {
    vec![
        ("X-Exchange-Batch", b.id.clone()),
        ("X-Exchange-Rows", b.row_count.to_string()),
        ("X-Exchange-Sha256", b.sha256.clone()),
        ("X-Exchange-Signature", b.signature.clone()),
    ]
}

/// Export a department's open tasks · 导出部门待答复任务
///
/// Writes every open verification task of the department's kind, in its region and the caller's
/// subtree, as a new batch file: one row per person asked about (task, domain, member, name,
/// identity number, relation, due date) with the answer columns empty. The manifest comes in the
/// `X-Exchange-*` headers (and from `GET /exchange/batches/{id}`): batch id, row count, SHA-256 of
/// the file and its HMAC-SHA256 signature with the department's exchange secret. Handing the
/// people's data to the department is written to the audit log. County reviewers and
/// administrators; not open to department keys.
///
/// 将该部门在其辖区、本组织范围内的全部待答复核对任务导出为新批次文件：每位核对对象一行（任务、类别、成员、姓名、身份证号、关系、答复期限），答复列留空。清单在 X-Exchange-* 响应头中：批次号、行数、文件 SHA-256 及用部门交换密钥计算的 HMAC-SHA256 签名。向部门提供个人信息记入审计日志。限县总工会审核人和管理员。
#[utoipa::path(operation_id = "export_exchange_batch", tag = "exchange",
    params(("department_id" = String, Path, description = "Department id. 部门标识。"), OutboxQuery),
    responses((status = 200, description = "The batch file. 批次文件。", content_type = "text/csv",
        headers(("X-Exchange-Batch" = String, description = "Batch id. 批次号。"),
            ("X-Exchange-Rows" = i64, description = "Data rows. 数据行数。"),
            ("X-Exchange-Sha256" = String, description = "SHA-256 of the body. 文件 SHA-256。"),
            ("X-Exchange-Signature" = String, description = "HMAC-SHA256 signature. 签名。")))))]
#[get("/exchange/outbox/{department_id}")]
async fn outbox(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    q: crate::extract::ApiQuery<OutboxQuery>,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::ExchangeRun)?;
    let format = match q.0.format.as_deref() {
        None => Format::Csv,
        Some(f) => Format::parse(f).ok_or_else(|| {
            crate::routes::query_error(FieldError::new(
                "format",
                "invalid_value",
                "csv or jsonl",
                "取值为 csv 或 jsonl",
            ))
        })?,
    };
    let (cipher, at, id) = (
        state.cipher.clone(),
        state.clock.stored_now(),
        id.into_inner(),
    );
    let out = db::write(&state.db, move |c| {
        store::export(c, &cipher, &doer, at, &id, format).map_err(measure_error)
    })
    .await?;
    let (kind, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Jsonl => ("application/jsonl", "jsonl"),
    };
    let mut r = HttpResponse::Ok();
    r.insert_header((header::CONTENT_TYPE, kind));
    r.insert_header((
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{}.{ext}\"", out.batch.id),
    ));
    for (k, v) in manifest_headers(&out.batch) {
        r.insert_header((k, v));
    }
    Ok(r.body(out.bytes))
}

/// Get a batch's manifest · 查看交换批次清单
///
/// 查看交换批次清单及导入情况。
#[utoipa::path(operation_id = "get_exchange_batch", tag = "exchange",
    params(("id" = String, Path, description = "Batch id. 批次号。")),
    responses((status = 200, description = "The manifest. 清单。", body = BatchManifest)))]
#[get("/exchange/batches/{id}")]
async fn get_batch(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<BatchManifest>> {
    let doer = doer(&access, Action::ExchangeRun)?;
    let id = id.into_inner();
    let b = db::run(&state.db, move |c| {
        store::batch(c, &doer, &id).map_err(measure_error)
    })
    .await?;
    Ok(web::Json(b.into()))
}

/// An answer file's bytes, at most 256 MiB. 答复文件（不超过 256 MiB）。
pub struct AnswerFile;

impl utoipa::PartialSchema for AnswerFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .max_length(Some(MAX_FILE))
            .description(Some(
                "CSV (the outbox's columns, a row of keys among the first two rows) or JSON Lines. CSV（含列名行）或 JSON Lines。",
            ))
            .into()
    }
}

impl ToSchema for AnswerFile {}

/// What importing an answer file did. 导入结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub batch_id: String,
    /// `false` when this very file was imported before: nothing changed. 是否本次导入（重复导入同一文件时为 false，不作任何更改）。
    pub applied: bool,
    pub rows: u64,
    /// Tasks answered. 答复的任务数。
    pub tasks: u64,
    /// Differences from the declared files flagged. 标记的差异数。
    pub discrepancies: u64,
}

fn header_text(req: &HttpRequest, name: &'static str) -> ApiResult<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                format!("the {name} header is required"),
                format!("缺少请求头 {name}"),
            )
            .with_field(FieldError::new(name, "required", "is required", "必填"))
        })
}

fn manifest_of(req: &HttpRequest) -> ApiResult<Manifest> {
    let rows = header_text(req, "X-Exchange-Rows")?;
    Ok(Manifest {
        batch_id: header_text(req, "X-Exchange-Batch")?,
        rows: rows.parse().map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                "X-Exchange-Rows is a whole number",
                "X-Exchange-Rows 应为整数",
            )
            .with_field(FieldError::new(
                "X-Exchange-Rows",
                "invalid",
                "a whole number",
                "整数",
            ))
        })?,
        sha256: header_text(req, "X-Exchange-Sha256")?,
        signature: header_text(req, "X-Exchange-Signature")?,
    })
}

/// The file's format and encoding, from its media type.
fn media_of(req: &HttpRequest) -> ApiResult<(Format, Charset)> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut parts = ct.split(';').map(str::trim);
    let kind = parts.next().unwrap_or_default();
    let charset = parts
        .find_map(|p| p.strip_prefix("charset="))
        .map(|c| c.trim_matches('"').to_owned());
    let format = match kind {
        "text/csv" => Format::Csv,
        "application/jsonl" | "application/x-ndjson" | "application/x-jsonlines" => Format::Jsonl,
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "an answer file is text/csv (charset utf-8 or gb18030) or application/jsonl",
                "答复文件应为 text/csv（utf-8 或 gb18030 编码）或 application/jsonl",
            ))
        }
    };
    let charset = match charset.as_deref() {
        None | Some("utf-8") | Some("utf8") => Charset::Utf8,
        Some("gb18030") | Some("gbk") | Some("gb2312") if format == Format::Csv => Charset::Gb18030,
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "the charset is utf-8, or gb18030 for CSV",
                "字符集应为 utf-8，CSV 文件也可为 gb18030",
            ))
        }
    };
    Ok((format, charset))
}

pub(crate) fn import_error(e: ImportError) -> ApiError {
    let rows = |problems: Vec<(u64, String, &str, String, String)>, total: u64| {
        let mut e = ApiError::new(
            ErrorCode::RowsInvalid,
            format!("{total} problems in the file; nothing was applied"),
            format!("文件中有 {total} 处问题，未导入任何数据"),
        );
        e.errors = problems
            .into_iter()
            .map(|(line, field, code, en, zh)| {
                FieldError::new(
                    format!("rows[{line}].{field}"),
                    code,
                    format!("line {line}: {en}"),
                    format!("第 {line} 行：{zh}"),
                )
            })
            .collect();
        e
    };
    match e {
        ImportError::Checksum => ApiError::new(
            ErrorCode::ChecksumMismatch,
            "the file's SHA-256 is not X-Exchange-Sha256: it was changed or cut short",
            "文件 SHA-256 与 X-Exchange-Sha256 不符：文件已被改动或不完整",
        ),
        ImportError::Signature => ApiError::new(
            ErrorCode::SignatureInvalid,
            "X-Exchange-Signature does not verify with the department's exchange secret",
            "X-Exchange-Signature 无法用该部门的交换密钥验证",
        ),
        ImportError::AnsweredByAnother => ApiError::new(
            ErrorCode::BatchAnswered,
            "another answer file of this batch was imported already: export a new batch",
            "该批次已导入另一份答复文件，请重新导出批次",
        ),
        ImportError::File(FileError::Encoding { line, charset }) => rows(
            vec![(
                line,
                "bytes".into(),
                "invalid_encoding",
                format!("the bytes are not valid {charset}"),
                format!("字节不是有效的 {charset} 编码"),
            )],
            1,
        ),
        ImportError::File(FileError::Shape {
            line,
            message,
            message_zh,
        }) => rows(
            vec![(line, "file".into(), "unreadable", message, message_zh)],
            1,
        ),
        ImportError::File(FileError::Io(m)) => ApiError::internal(m),
        ImportError::Rows(problems, total) => rows(
            problems
                .into_iter()
                .map(|p| (p.line, p.field, p.code, p.en, p.zh))
                .collect(),
            total,
        ),
        ImportError::Measure(m) => measure_error(m),
    }
}

/// Import an answer file · 导入答复文件
///
/// Takes a department's answer file for a batch — `text/csv` in UTF-8 or GB18030 (say which with
/// `charset`), or `application/jsonl` — with its manifest in the `X-Exchange-Batch`,
/// `X-Exchange-Rows`, `X-Exchange-Sha256` and `X-Exchange-Signature` headers (the signature over
/// the answer file, with the department's exchange secret). The checksum and signature are checked
/// first (422 `checksum_mismatch`, `signature_invalid`); then every row (422 `rows_invalid`,
/// listing each bad row by its line and field); then all rows apply in one transaction, or none
/// do. Rows of one task stand together; each person asked about needs at least one row. The same
/// file imported again changes nothing (`applied: false`); another file for an answered batch:
/// 409 `batch_answered`. The file streams to disk, up to 256 MiB. County reviewers and
/// administrators.
///
/// 导入部门对某批次的答复文件：text/csv（UTF-8 或 GB18030，以 charset 注明）或 application/jsonl，清单在 X-Exchange-Batch、X-Exchange-Rows、X-Exchange-Sha256、X-Exchange-Signature 请求头中（签名以部门交换密钥对答复文件计算）。先校验摘要与签名，再逐行校验（列明每一错误行的行号和字段），全部通过后在同一事务中全部导入，否则不导入任何数据。同一任务的各行须相邻，每位核对对象至少一行。重复导入同一文件不作更改；同一批次导入另一文件返回 409。限县总工会审核人和管理员。
#[utoipa::path(operation_id = "import_exchange_batch", tag = "exchange",
    params(("X-Exchange-Batch" = String, Header, description = "Batch id. 批次号。"),
        ("X-Exchange-Rows" = i64, Header, description = "Data rows of the file. 数据行数。"),
        ("X-Exchange-Sha256" = String, Header, description = "SHA-256 of the file, hex. 文件 SHA-256。"),
        ("X-Exchange-Signature" = String, Header, description = "HMAC-SHA256 signature, hex. 签名。")),
    request_body(content((AnswerFile = "text/csv"), (AnswerFile = "application/jsonl")), description = "The answer file. 答复文件。"),
    responses((status = 200, description = "Imported, or imported before. 已导入。", body = ImportResult)))]
#[post("/exchange/inbox")]
async fn inbox(
    state: web::Data<AppState>,
    access: Access,
    req: HttpRequest,
    mut payload: web::Payload,
) -> ApiResult<web::Json<ImportResult>> {
    let doer = doer(&access, Action::ExchangeRun)?;
    let (format, charset) = media_of(&req)?;
    let manifest = manifest_of(&req)?;
    let raw = tempfile::NamedTempFile::new().map_err(ApiError::internal)?;
    let mut out = std::io::BufWriter::new(raw.reopen().map_err(ApiError::internal)?);
    let (mut digest, mut size) = (FileDigest::default(), 0usize);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                ErrorCode::MalformedJson,
                format!("the upload broke off: {e}"),
                "上传中断",
            )
        })?;
        size += chunk.len();
        if size > MAX_FILE {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                "an answer file is at most 256 MiB",
                "答复文件不超过 256 MiB",
            ));
        }
        digest.update(&chunk);
        out.write_all(&chunk).map_err(ApiError::internal)?;
    }
    out.flush().map_err(ApiError::internal)?;
    drop(out);
    let sha = digest.hex();
    let (cipher, when) = (
        state.cipher.clone(),
        (state.clock.stored_now(), state.clock.today()),
    );
    let done = db::write(&state.db, move |c| {
        let (b, before) =
            store::check_manifest(c, &cipher, &doer, &manifest, &sha).map_err(import_error)?;
        if before {
            return Ok(ImportResult {
                batch_id: b.id,
                applied: false,
                rows: b.imported_rows.unwrap_or_default() as u64,
                tasks: 0,
                discrepancies: 0,
            });
        }
        let text = tempfile::NamedTempFile::new().map_err(ApiError::internal)?;
        let mut w = std::io::BufWriter::new(text.reopen().map_err(ApiError::internal)?);
        decode(
            store::reader(raw.path()).map_err(ApiError::internal)?,
            charset,
            &mut w,
        )
        .map_err(|e| import_error(ImportError::File(e)))?;
        w.flush().map_err(ApiError::internal)?;
        let path = text.path().to_owned();
        let r = store::import_rows(c, &doer, when, &b, &manifest, format, || {
            store::reader(&path)
        })
        .map_err(import_error)?;
        Ok(ImportResult {
            batch_id: r.batch_id,
            applied: r.applied,
            rows: r.rows,
            tasks: r.tasks,
            discrepancies: r.discrepancies,
        })
    })
    .await?;
    Ok(web::Json(done))
}
