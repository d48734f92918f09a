//! `jiekun exchange`: the offline exchange from the server's own command line, for a county whose
//! staff carry files to a department and back.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use jiekun_store::audit::{Actor as AuditActor, Caller};
use jiekun_store::crypto::FieldCipher;
use jiekun_store::measures::{Doer, Unit};
use jiekun_store::sharing::exchange::format::{decode, Charset, Format};
use jiekun_store::sharing::exchange::{self as store, FileDigest, ImportError, Manifest};
use jiekun_store::{DbConnection, Scope};
use serde_json::json;

#[derive(Subcommand)]
pub enum ExchangeCommand {
    /// Write a department's open verification tasks as a signed batch: DIR/<batch>.<csv|jsonl>
    /// and DIR/<batch>.manifest.json.
    Export {
        /// The department's id.
        department_id: String,
        /// csv (UTF-8 with a byte-order mark) or jsonl.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Folder to write the files to.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Import a department's signed answer file; its manifest (batch_id, rows, sha256,
    /// signature) is FILE.manifest.json unless given.
    Import {
        file: PathBuf,
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// utf-8 or gb18030 (CSV only).
        #[arg(long, default_value = "utf-8")]
        charset: String,
    },
}

/// The command line acts as the system, over the whole registry.
fn system() -> Doer {
    Doer {
        name: "jiekun exchange".into(),
        role: None,
        unit: Unit::Organisation { id: String::new() },
        scope: Scope::All,
        caller: Caller {
            actor: AuditActor {
                kind: "system",
                name: Some("jiekun exchange".into()),
                ..AuditActor::default()
            },
            ..Caller::default()
        },
    }
}

fn now() -> (chrono::NaiveDateTime, chrono::NaiveDate) {
    let at = jiekun_store::now();
    (
        at,
        (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive(),
    )
}

pub fn run(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    command: ExchangeCommand,
) -> anyhow::Result<()> {
    let doer = system();
    match command {
        ExchangeCommand::Export {
            department_id,
            format,
            out,
        } => {
            let format = Format::parse(&format).context("the format is csv or jsonl")?;
            let (at, _) = now();
            let o = jiekun_store::write(c, |c| {
                store::export(c, cipher, &doer, at, &department_id, format)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })?;
            std::fs::create_dir_all(&out)?;
            let data = out.join(format!("{}.{}", o.batch.id, format.as_str()));
            std::fs::write(&data, &o.bytes)
                .with_context(|| format!("cannot write {}", data.display()))?;
            let manifest = out.join(format!("{}.manifest.json", o.batch.id));
            let m = json!({"batch_id": o.batch.id, "rows": o.batch.row_count, "sha256": o.batch.sha256,
                "signature": o.batch.signature, "algorithm": "HMAC-SHA256",
                "signed_text": "jiekun-exchange-v1\n{batch_id}\n{rows}\n{sha256}"});
            std::fs::write(&manifest, serde_json::to_vec_pretty(&m)?)?;
            say!(
                "wrote {} ({} rows) and {}",
                data.display(),
                o.batch.row_count,
                manifest.display()
            );
            Ok(())
        }
        ExchangeCommand::Import {
            file,
            manifest,
            charset,
        } => {
            let format = match file.extension().and_then(|e| e.to_str()) {
                Some("jsonl") | Some("ndjson") => Format::Jsonl,
                _ => Format::Csv,
            };
            let charset = match charset.to_ascii_lowercase().as_str() {
                "utf-8" | "utf8" => Charset::Utf8,
                "gb18030" | "gbk" => Charset::Gb18030,
                other => bail!("unknown charset {other}: utf-8 or gb18030"),
            };
            let mpath = manifest
                .unwrap_or_else(|| PathBuf::from(format!("{}.manifest.json", file.display())));
            let m: serde_json::Value = serde_json::from_slice(
                &std::fs::read(&mpath)
                    .with_context(|| format!("cannot read {}", mpath.display()))?,
            )?;
            let manifest = Manifest {
                batch_id: m["batch_id"]
                    .as_str()
                    .context("manifest: batch_id")?
                    .to_owned(),
                rows: m["rows"].as_u64().context("manifest: rows")?,
                sha256: m["sha256"].as_str().context("manifest: sha256")?.to_owned(),
                signature: m["signature"]
                    .as_str()
                    .context("manifest: signature")?
                    .to_owned(),
            };
            let mut digest = FileDigest::default();
            digest.update(
                &std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?,
            );
            let sha = digest.hex();
            let text = tempfile::NamedTempFile::new()?;
            let when = now();
            let done = jiekun_store::write(c, |c| -> anyhow::Result<String> {
                let (b, before) =
                    store::check_manifest(c, cipher, &doer, &manifest, &sha).map_err(explain)?;
                if before {
                    return Ok(format!(
                        "batch {} was imported from this very file before: nothing changed",
                        b.id
                    ));
                }
                let mut w = std::io::BufWriter::new(text.reopen()?);
                decode(store::reader(&file)?, charset, &mut w)
                    .map_err(|e| explain(ImportError::File(e)))?;
                w.flush()?;
                let r = store::import_rows(c, &doer, when, &b, &manifest, format, || {
                    store::reader(text.path())
                })
                .map_err(explain)?;
                Ok(format!(
                    "batch {}: {} rows, {} tasks answered, {} discrepancies flagged",
                    r.batch_id, r.rows, r.tasks, r.discrepancies
                ))
            })?;
            say!("{done}");
            Ok(())
        }
    }
}

fn explain(e: ImportError) -> anyhow::Error {
    match e {
        ImportError::Rows(problems, total) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("  line {}: {}: {}", p.line, p.field, p.en))
                .collect();
            anyhow::anyhow!(
                "{total} problems; nothing was applied:\n{}",
                lines.join("\n")
            )
        }
        e => anyhow::anyhow!("{e}"),
    }
}
