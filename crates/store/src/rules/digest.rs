//! Each household's digest for registry scans: its members (health decrypted), its incomes and
//! its expenditures, of every month, in one encrypted text per household
//! (`household_digests.body`). A scan of a million households reads one row per household
//! instead of some twenty from three tables.
//!
//! The digest is kept current by the database, not by the code that writes: a trigger on each of
//! the three tables empties the digest of the household a row is written for (or moved from) and
//! counts its generation on. A scan builds each empty digest from the tables and stores it only
//! if its generation is still the one read before the tables were: a write that lands while the
//! scan builds moves the generation on, and the digest stays empty until the next scan. Every
//! household has its digest row from its first insert on (another trigger), so a write always
//! finds the row to empty.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use jiekun_domain::rules::MemberSnap;

use super::snapshots::{by_household, IncomeFacts, SpentFacts};
use crate::crypto::FieldCipher;
use crate::error::{StoreError, StoreResult};
use crate::households::health_context;
use crate::schema::{expenditures, household_digests, household_members, income_records};
use crate::DbConnection;

/// What a digest holds of a household: the rows of the three tables, of every month.
#[derive(Default)]
pub(super) struct Digest {
    /// In the file's order (`position`).
    pub members: Vec<MemberSnap>,
    /// In the order stored; the snapshot sorts them.
    pub incomes: Vec<IncomeFacts>,
    /// In the order stored (`id`).
    pub spent: Vec<SpentFacts>,
}

/// What the rules read of a member, as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = household_members)]
struct MemberFacts {
    id: String,
    household_id: String,
    relation: String,
    included: bool,
    birth_date: NaiveDate,
    sex: String,
    work_status: String,
    health_enc: Option<String>,
}

fn bad(what: &str) -> StoreError {
    StoreError::Config(format!("stored {what} unreadable"))
}

fn member_snap(cipher: &FieldCipher, m: MemberFacts) -> StoreResult<MemberSnap> {
    let health = match &m.health_enc {
        Some(enc) => {
            let text = cipher
                .decrypt(&health_context(&m.id), enc)
                .map_err(|_| bad("health"))?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad("health"))?;
            v["status"].as_str().and_then(|s| s.parse().ok())
        }
        None => None,
    };
    Ok(MemberSnap {
        relation: m.relation.parse().map_err(|_| bad("relation"))?,
        included: m.included,
        birth_date: m.birth_date,
        sex: jiekun_domain::Sex::parse(&m.sex).ok_or_else(|| bad("sex"))?,
        work_status: m.work_status.parse().map_err(|_| bad("work status"))?,
        health,
        id: m.id,
    })
}

/// The digests of the households `ids`, built from the tables (every one of them, an empty
/// digest for a household with no rows).
pub(super) fn build(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    ids: &[&str],
) -> StoreResult<HashMap<String, Digest>> {
    let members = household_members::table
        .select(MemberFacts::as_select())
        .filter(household_members::household_id.eq_any(ids))
        .order((
            household_members::household_id.asc(),
            household_members::position.asc(),
        ))
        .load(conn)?;
    let incomes = income_records::table
        .select(IncomeFacts::as_select())
        .filter(income_records::household_id.eq_any(ids))
        .order((income_records::household_id.asc(), income_records::id.asc()))
        .load(conn)?;
    let spent = expenditures::table
        .select(SpentFacts::as_select())
        .filter(expenditures::household_id.eq_any(ids))
        .order((expenditures::household_id.asc(), expenditures::id.asc()))
        .load(conn)?;
    let mut members = by_household(members, |m| &m.household_id);
    let mut incomes = by_household(incomes, |i| &i.household_id);
    let mut spent = by_household(spent, |e| &e.household_id);
    let mut out = HashMap::with_capacity(ids.len());
    for id in ids {
        let digest = Digest {
            members: members
                .remove(*id)
                .unwrap_or_default()
                .into_iter()
                .map(|m| member_snap(cipher, m))
                .collect::<StoreResult<_>>()?,
            incomes: incomes.remove(*id).unwrap_or_default(),
            spent: spent.remove(*id).unwrap_or_default(),
        };
        out.insert((*id).to_owned(), digest);
    }
    Ok(out)
}

/// The digests of the households `ids` (all between `first` and `last`): those stored and
/// readable as they are, the others built from the tables and stored for the next scan.
pub(super) fn cached(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    ids: &[&str],
    (first, last): (&str, &str),
) -> StoreResult<HashMap<String, Digest>> {
    // The generations are read before the tables, so that a write after this read moves the
    // generation past the one a rebuilt digest is stored under.
    let stored: Vec<(String, i64, Option<String>)> = household_digests::table
        .select((
            household_digests::household_id,
            household_digests::gen,
            household_digests::body,
        ))
        .filter(household_digests::household_id.between(first, last))
        .load(conn)?;
    let mut gens: HashMap<String, i64> = HashMap::with_capacity(stored.len());
    let mut out = HashMap::with_capacity(ids.len());
    for (id, gen, body) in stored {
        match body.and_then(|b| cipher.decrypt(&context(&id), &b).ok()) {
            Some(text) => {
                let digest = decode(&text).ok_or_else(|| bad("household digest"))?;
                out.insert(id, digest);
            }
            None => {
                gens.insert(id, gen);
            }
        }
    }
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !out.contains_key(*id))
        .collect();
    if missing.is_empty() {
        return Ok(out);
    }
    let built = build(conn, cipher, &missing)?;
    let mut keep: Vec<(String, i64, String)> = Vec::with_capacity(built.len());
    for (id, digest) in &built {
        if let (Some(gen), Some(text)) = (gens.get(id), encode(digest)) {
            keep.push((id.clone(), *gen, cipher.encrypt(&context(id), &text)));
        }
    }
    store(conn, &keep)?;
    out.extend(built);
    Ok(out)
}

/// Stores rebuilt digests, each only if its generation is still the one given.
fn store(conn: &mut DbConnection, digests: &[(String, i64, String)]) -> StoreResult<()> {
    if digests.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgres(pg) => {
            use diesel::sql_types::{Array, BigInt, Text};
            let (ids, rest): (Vec<&str>, Vec<(i64, &str)>) = digests
                .iter()
                .map(|(id, gen, body)| (id.as_str(), (*gen, body.as_str())))
                .unzip();
            let (gens, bodies): (Vec<i64>, Vec<&str>) = rest.into_iter().unzip();
            diesel::sql_query(
                "UPDATE household_digests d SET body = v.body \
                 FROM unnest($1::text[], $2::int8[], $3::text[]) AS v(id, gen, body) \
                 WHERE d.household_id = v.id AND d.gen = v.gen",
            )
            .bind::<Array<Text>, _>(ids)
            .bind::<Array<BigInt>, _>(gens)
            .bind::<Array<Text>, _>(bodies)
            .execute(pg)?;
            Ok(())
        }
        DbConnection::Sqlite(_) => crate::write(conn, |c| -> StoreResult<()> {
            for (id, gen, body) in digests {
                diesel::update(
                    household_digests::table
                        .filter(household_digests::household_id.eq(id))
                        .filter(household_digests::gen.eq(gen)),
                )
                .set(household_digests::body.eq(body))
                .execute(c)?;
            }
            Ok(())
        }),
    }
}

/// The context a household's digest is encrypted under.
pub fn context(household_id: &str) -> String {
    format!("household_digests.body:{household_id}")
}

/// The fields of a digest's text: records by `;`, fields by `,`, the three parts by a line
/// break. Every field is an id, a code, a date or a number; a digest with a field that holds
/// one of the separators is not stored (its household is built from the tables each time).
fn encode(d: &Digest) -> Option<String> {
    use std::fmt::Write;
    let clean = |s: &str| !s.contains([',', ';', '\n']);
    let mut out = String::with_capacity(64 * (d.members.len() + d.incomes.len() + 1));
    for (i, m) in d.members.iter().enumerate() {
        if !clean(&m.id) {
            return None;
        }
        let sep = if i > 0 { ";" } else { "" };
        let _ = write!(
            out,
            "{sep}{},{},{},{},{},{},{}",
            m.id,
            m.relation.as_str(),
            u8::from(m.included),
            m.birth_date,
            m.sex.as_str(),
            m.work_status.as_str(),
            m.health.map_or("", |h| h.as_str()),
        );
    }
    out.push('\n');
    for (i, r) in d.incomes.iter().enumerate() {
        let member = r.member_id.as_deref().unwrap_or("");
        if !clean(member) || !clean(&r.kind) || !clean(&r.source) {
            return None;
        }
        let sep = if i > 0 { ";" } else { "" };
        let _ = write!(
            out,
            "{sep}{member},{},{},{},{},{}",
            r.month,
            r.kind,
            r.source,
            r.amount_fen,
            u8::from(r.verified),
        );
    }
    out.push('\n');
    for (i, e) in d.spent.iter().enumerate() {
        if !clean(&e.kind) {
            return None;
        }
        let sep = if i > 0 { ";" } else { "" };
        let _ = write!(
            out,
            "{sep}{},{},{},{},{}",
            e.kind,
            e.amount_fen,
            e.start_month,
            e.end_month,
            u8::from(e.verified),
        );
    }
    Some(out)
}

fn flag(s: &str) -> Option<bool> {
    match s {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// The records of a part: none for an empty part.
fn records(part: &str) -> impl Iterator<Item = &str> {
    part.split(';').filter(|r| !r.is_empty())
}

fn decode(text: &str) -> Option<Digest> {
    let mut parts = text.split('\n');
    let (members, incomes, spent) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let member = |r: &str| -> Option<MemberSnap> {
        let mut f = r.split(',');
        let m = MemberSnap {
            id: f.next()?.to_owned(),
            relation: f.next()?.parse().ok()?,
            included: flag(f.next()?)?,
            birth_date: f.next()?.parse().ok()?,
            sex: jiekun_domain::Sex::parse(f.next()?)?,
            work_status: f.next()?.parse().ok()?,
            health: match f.next()? {
                "" => None,
                h => Some(h.parse().ok()?),
            },
        };
        f.next().is_none().then_some(m)
    };
    let spend = |r: &str| -> Option<SpentFacts> {
        let mut f = r.split(',');
        let e = SpentFacts {
            household_id: String::new(),
            kind: f.next()?.to_owned(),
            amount_fen: f.next()?.parse().ok()?,
            start_month: f.next()?.parse().ok()?,
            end_month: f.next()?.parse().ok()?,
            verified: flag(f.next()?)?,
        };
        f.next().is_none().then_some(e)
    };
    Some(Digest {
        members: records(members).map(member).collect::<Option<_>>()?,
        incomes: records(incomes)
            .map(IncomeFacts::parse)
            .collect::<Option<_>>()?,
        spent: records(spent).map(spend).collect::<Option<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiekun_domain::household::{HealthStatus, Relation, WorkStatus};

    #[test]
    fn a_digest_reads_back_as_written() {
        let d = Digest {
            members: vec![MemberSnap {
                id: "m1".into(),
                relation: Relation::Worker,
                included: true,
                birth_date: NaiveDate::from_ymd_opt(1970, 2, 3).unwrap(),
                sex: jiekun_domain::Sex::Female,
                work_status: WorkStatus::Unemployed,
                health: Some(HealthStatus::ChronicIllness),
            }],
            incomes: vec![IncomeFacts {
                household_id: String::new(),
                member_id: None,
                month: 202611,
                kind: "wage".into(),
                source: "declared".into(),
                amount_fen: 120_000,
                verified: false,
            }],
            spent: vec![],
        };
        let text = encode(&d).unwrap();
        let back = decode(&text).unwrap();
        assert_eq!(back.members, d.members);
        assert_eq!(back.incomes.len(), 1);
        assert_eq!(back.incomes[0].amount_fen, 120_000);
        assert!(back.incomes[0].member_id.is_none());
        assert!(back.spent.is_empty());
        assert_eq!(encode(&back).unwrap(), text);
        let mut odd = back;
        odd.incomes[0].source = "a,b".into();
        assert!(encode(&odd).is_none());
        assert!(decode("x\n\n").is_none());
        assert!(decode("\n\n").is_some_and(|d| d.members.is_empty()));
    }
}
