//! `jiekun keys`: the data key's rotation.

use clap::Subcommand;
use jiekun_store::audit::{Actor as AuditActor, Caller};
use jiekun_store::crypto::FieldCipher;
use jiekun_store::DbConnection;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt every stored personal value under the current data key (JIEKUN_DATA_KEY) and
    /// rebuild the blind index, reading values still under the previous key
    /// (JIEKUN_PREVIOUS_DATA_KEY). It works in batches of one transaction each, resumes where it
    /// stopped when run again, and the servers keep serving meanwhile if they hold both keys.
    RotateDataKey {
        /// Rows per batch (one transaction each).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        batch: i64,
        /// Stop after this many batches (the rest is done by the next run).
        #[arg(long)]
        max_batches: Option<u64>,
    },
}

fn system() -> Caller {
    Caller {
        actor: AuditActor {
            kind: "system",
            name: Some("jiekun keys".into()),
            ..AuditActor::default()
        },
        ..Caller::default()
    }
}

pub fn run(c: &mut DbConnection, cipher: &FieldCipher, command: KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::RotateDataKey { batch, max_batches } = command;
    let caller = system();
    let started = std::time::Instant::now();
    let before: i64 = jiekun_store::rotate::remaining(c, cipher)?
        .iter()
        .map(|(_, n)| n)
        .sum();
    say!(
        "rotating to data key {}: {before} rows hold values under another key",
        cipher.key_id()
    );
    let (mut batches, mut rows) = (0u64, 0usize);
    loop {
        if max_batches.is_some_and(|m| batches >= m) {
            break;
        }
        let done = jiekun_store::rotate::rotate_batch(c, cipher, &caller, batch)?;
        if done.rows == 0 {
            break;
        }
        batches += 1;
        rows += done.rows;
        say!("{}: {} rows (batch {batches})", done.table, done.rows);
    }
    let left = jiekun_store::rotate::remaining(c, cipher)?;
    let left_total: i64 = left.iter().map(|(_, n)| n).sum();
    say!(
        "rotated {rows} rows in {batches} batches in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if left_total == 0 {
        say!(
            "every stored value is under data key {}: the previous key can now be removed from the servers' configuration (JIEKUN_PREVIOUS_DATA_KEY)",
            cipher.key_id()
        );
    } else {
        for (table, n) in left.iter().filter(|(_, n)| *n > 0) {
            say!("left: {table} {n}");
        }
        say!("{left_total} rows left: run the rotation again to carry on");
    }
    Ok(())
}
