//! Each household's digest for registry scans: its members, its incomes and its expenditures, of
//! every month, in one text per household (`household_digests.body`), and its members' health,
//! when any member's is on file, encrypted beside it (`health_enc`: health is sensitive personal
//! data and encrypted wherever it is stored; incomes and the rest are stored as the tables store
//! them). A scan of a million households reads one row per household instead of some twenty from
//! three tables, and decrypts only the health of the households that have any.
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
use jiekun_domain::household::IncomeKind;
use jiekun_domain::rules::{ExpenditureSnap, MemberSnap};

use super::snapshots::{by_household, IncomeFacts, SpentFacts};
use crate::crypto::FieldCipher;
use crate::error::{StoreError, StoreResult};
use crate::households::health_context;
use crate::schema::{expenditures, household_digests, household_members, income_records};
use crate::DbConnection;

/// What a digest holds of a household: the rows of the three tables, of every month, as text
/// (see [`encode`]): members in the file's order (`position`), incomes in the order of
/// `IncomeFacts::order`, expenditures in the order stored (`id`). A snapshot reads the fields in
/// place, allocating only the ids it keeps.
#[derive(Default)]
pub(super) struct Digest {
    text: String,
    /// The members' health statuses by position, `,` between them (empty for a member with
    /// none); `None` when no member's is on file.
    health: Option<String>,
}

/// An income of a digest, borrowed from its text.
pub(super) struct IncomeRef<'a> {
    pub member_id: Option<&'a str>,
    pub month: i64,
    pub kind: IncomeKind,
    pub source: &'a str,
    pub amount_fen: i64,
    pub verified: bool,
}

impl Digest {
    /// The three parts: members, incomes, expenditures (members and expenditures are short, so
    /// the line breaks are found from either end).
    fn parts(&self) -> (&str, &str, &str) {
        let t = self.text.as_str();
        match (t.find('\n'), t.rfind('\n')) {
            (Some(a), Some(b)) if a < b => (&t[..a], &t[a + 1..b], &t[b + 1..]),
            _ => ("", "", ""),
        }
    }

    /// The members' ids, in order (an income names its member by position in this list).
    pub fn member_ids(&self) -> Vec<&str> {
        records(self.parts().0)
            .map(|r| r.split(',').next().unwrap_or(""))
            .collect()
    }

    /// The members; `None` for one that does not read.
    pub fn members(&self) -> impl Iterator<Item = Option<MemberSnap>> + '_ {
        let mut health = self.health.as_deref().map(|h| h.split(','));
        records(self.parts().0).map(move |r| {
            let mut f = r.split(',');
            let on_file = match health.as_mut() {
                Some(h) => h.next()?,
                None => "",
            };
            let m = MemberSnap {
                id: f.next()?.to_owned(),
                relation: f.next()?.parse().ok()?,
                included: flag(f.next()?)?,
                birth_date: f.next()?.parse().ok()?,
                sex: jiekun_domain::Sex::parse(f.next()?)?,
                work_status: f.next()?.parse().ok()?,
                health: match on_file {
                    "" => None,
                    h => Some(h.parse().ok()?),
                },
            };
            f.next().is_none().then_some(m)
        })
    }

    /// The incomes, `member_ids` being [`Self::member_ids`]; `None` for one that does not read.
    pub fn incomes<'a>(
        &'a self,
        member_ids: &'a [&'a str],
    ) -> impl Iterator<Item = Option<IncomeRef<'a>>> + 'a {
        records(self.parts().1).map(move |r| {
            let mut f = r.split(',');
            let i = IncomeRef {
                member_id: match f.next()? {
                    "" => None,
                    m => match m.strip_prefix('=') {
                        Some(id) => Some(id),
                        None => Some(*member_ids.get(m.parse::<usize>().ok()?)?),
                    },
                },
                month: f.next()?.parse().ok()?,
                kind: f.next()?.parse().ok()?,
                source: f.next()?,
                amount_fen: f.next()?.parse().ok()?,
                verified: flag(f.next()?)?,
            };
            f.next().is_none().then_some(i)
        })
    }

    /// The expenditures; `None` for one that does not read.
    pub fn spent(&self) -> impl Iterator<Item = Option<ExpenditureSnap>> + '_ {
        records(self.parts().2).map(|r| {
            let mut f = r.split(',');
            let e = ExpenditureSnap {
                kind: f.next()?.parse().ok()?,
                amount_fen: f.next()?.parse().ok()?,
                start_month: f.next()?.parse().ok()?,
                end_month: f.next()?.parse().ok()?,
                verified: flag(f.next()?)?,
            };
            f.next().is_none().then_some(e)
        })
    }
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
    digests_of(cipher, ids, members, incomes, spent)
}

/// The digests of `ids` from their rows (members in the file's order, expenditures in id order,
/// each grouped by household).
fn digests_of(
    cipher: &FieldCipher,
    ids: &[&str],
    members: Vec<MemberFacts>,
    incomes: Vec<IncomeFacts>,
    spent: Vec<SpentFacts>,
) -> StoreResult<HashMap<String, Digest>> {
    let mut members = by_household(members, |m| &m.household_id);
    let mut incomes = by_household(incomes, |i| &i.household_id);
    let mut spent = by_household(spent, |e| &e.household_id);
    let mut out = HashMap::with_capacity(ids.len());
    for id in ids {
        let members = members
            .remove(*id)
            .unwrap_or_default()
            .into_iter()
            .map(|m| member_snap(cipher, m))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut incomes = incomes.remove(*id).unwrap_or_default();
        incomes.sort_unstable_by(IncomeFacts::order);
        let spent = spent.remove(*id).unwrap_or_default();
        let text = encode(&members, &incomes, &spent).ok_or_else(|| bad("household digest"))?;
        let health = members.iter().any(|m| m.health.is_some()).then(|| {
            let statuses: Vec<&str> = members
                .iter()
                .map(|m| m.health.map_or("", |h| h.as_str()))
                .collect();
            statuses.join(",")
        });
        out.insert((*id).to_owned(), Digest { text, health });
    }
    Ok(out)
}

/// A household's digest as stored: its text and its members' health, encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRow {
    pub household_id: String,
    pub body: String,
    pub health_enc: Option<String>,
}

impl Digest {
    fn sealed(self, cipher: &FieldCipher, household_id: &str) -> DigestRow {
        DigestRow {
            household_id: household_id.to_owned(),
            health_enc: (self.health.as_deref())
                .map(|h| cipher.encrypt(&health_context_of(household_id), h)),
            body: self.text,
        }
    }
}

/// The digests of the households of a bulk batch, from the batch's own rows (members, incomes
/// and expenditures of households the batch writes; health decrypted in memory only), for the
/// load to write with them instead of reading them back.
pub fn of_batch(
    cipher: &FieldCipher,
    batch: &crate::bulk::HouseholdBatch,
) -> StoreResult<Vec<DigestRow>> {
    let mut members: Vec<&crate::households::MemberRow> = batch.members.iter().collect();
    members.sort_by(|a, b| (&a.household_id, a.position).cmp(&(&b.household_id, b.position)));
    let members: Vec<MemberFacts> = members
        .into_iter()
        .map(|m| MemberFacts {
            id: m.id.clone(),
            household_id: m.household_id.clone(),
            relation: m.relation.clone(),
            included: m.included,
            birth_date: m.birth_date,
            sex: m.sex.clone(),
            work_status: m.work_status.clone(),
            health_enc: m.health_enc.clone(),
        })
        .collect();
    let incomes: Vec<IncomeFacts> = batch
        .incomes
        .iter()
        .map(|i| IncomeFacts {
            household_id: i.household_id.clone(),
            member_id: i.member_id.clone(),
            month: i.month,
            kind: i.kind.clone(),
            source: i.source.clone(),
            amount_fen: i.amount_fen,
            verified: i.verified,
        })
        .collect();
    let mut spent: Vec<&crate::households::ExpenditureRow> = batch.expenditures.iter().collect();
    spent.sort_by(|a, b| (&a.household_id, &a.id).cmp(&(&b.household_id, &b.id)));
    let spent: Vec<SpentFacts> = spent
        .into_iter()
        .map(|e| SpentFacts {
            household_id: e.household_id.clone(),
            kind: e.kind.clone(),
            amount_fen: e.amount_fen,
            start_month: e.start_month,
            end_month: e.end_month,
            verified: e.verified,
        })
        .collect();
    let ids: Vec<&str> = batch.households.iter().map(|h| h.id.as_str()).collect();
    let mut digests = digests_of(cipher, &ids, members, incomes, spent)?;
    Ok(ids
        .iter()
        .filter_map(|id| digests.remove(*id).map(|d| d.sealed(cipher, id)))
        .collect())
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
    type Stored = (String, i64, Option<String>, Option<String>);
    let stored: Vec<Stored> = household_digests::table
        .select((
            household_digests::household_id,
            household_digests::gen,
            household_digests::body,
            household_digests::health_enc,
        ))
        .filter(household_digests::household_id.between(first, last))
        .load(conn)?;
    let mut gens: HashMap<String, i64> = HashMap::with_capacity(stored.len());
    let mut out = HashMap::with_capacity(ids.len());
    for (id, gen, body, health_enc) in stored {
        // Health under a key no longer held (after a rotation) is read from the tables again.
        let health = health_enc.map(|h| cipher.decrypt(&health_context_of(&id), &h).ok());
        match (body, health) {
            (Some(text), None) => {
                out.insert(id, Digest { text, health: None });
            }
            (Some(text), Some(Some(health))) => {
                out.insert(
                    id,
                    Digest {
                        text,
                        health: Some(health),
                    },
                );
            }
            _ => {
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
    let mut keep: Vec<Stored> = Vec::with_capacity(built.len());
    for (id, digest) in &built {
        if let Some(gen) = gens.get(id) {
            let health =
                (digest.health.as_deref()).map(|h| cipher.encrypt(&health_context_of(id), h));
            keep.push((id.clone(), *gen, Some(digest.text.clone()), health));
        }
    }
    store(conn, &keep)?;
    out.extend(built);
    Ok(out)
}

/// Builds and stores the digests of those of `ids` that are empty.
pub fn refresh(conn: &mut DbConnection, cipher: &FieldCipher, ids: &[&str]) -> StoreResult<()> {
    // As in `cached`: the generations first, then the tables.
    let gens: Vec<(String, i64)> = household_digests::table
        .select((household_digests::household_id, household_digests::gen))
        .filter(household_digests::household_id.eq_any(ids))
        .filter(household_digests::body.is_null())
        .load(conn)?;
    let empty: Vec<&str> = gens.iter().map(|(id, _)| id.as_str()).collect();
    let mut built = build(conn, cipher, &empty)?;
    let keep: Vec<(String, i64, Option<String>, Option<String>)> = gens
        .iter()
        .filter_map(|(id, gen)| {
            let row = built.remove(id)?.sealed(cipher, id);
            Some((row.household_id, *gen, Some(row.body), row.health_enc))
        })
        .collect();
    store(conn, &keep)
}

/// Stores rebuilt digests (household, generation, body, health encrypted), each only if its
/// generation is still the one given.
fn store(
    conn: &mut DbConnection,
    digests: &[(String, i64, Option<String>, Option<String>)],
) -> StoreResult<()> {
    if digests.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgres(pg) => {
            use diesel::sql_types::{Array, BigInt, Nullable, Text};
            let ids: Vec<&str> = digests.iter().map(|d| d.0.as_str()).collect();
            let gens: Vec<i64> = digests.iter().map(|d| d.1).collect();
            let bodies: Vec<Option<&str>> = digests.iter().map(|d| d.2.as_deref()).collect();
            let health: Vec<Option<&str>> = digests.iter().map(|d| d.3.as_deref()).collect();
            diesel::sql_query(
                "UPDATE household_digests d SET body = v.body, health_enc = v.health \
                 FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[]) \
                   AS v(id, gen, body, health) \
                 WHERE d.household_id = v.id AND d.gen = v.gen",
            )
            .bind::<Array<Text>, _>(ids)
            .bind::<Array<BigInt>, _>(gens)
            .bind::<Array<Nullable<Text>>, _>(bodies)
            .bind::<Array<Nullable<Text>>, _>(health)
            .execute(pg)?;
            Ok(())
        }
        DbConnection::Sqlite(_) => crate::write(conn, |c| -> StoreResult<()> {
            for (id, gen, body, health) in digests {
                diesel::update(
                    household_digests::table
                        .filter(household_digests::household_id.eq(id))
                        .filter(household_digests::gen.eq(gen)),
                )
                .set((
                    household_digests::body.eq(body),
                    household_digests::health_enc.eq(health),
                ))
                .execute(c)?;
            }
            Ok(())
        }),
    }
}

/// The context a household's members' health in its digest is encrypted under.
pub fn health_context_of(household_id: &str) -> String {
    format!("household_digests.health:{household_id}")
}

/// The text of a digest: records by `;`, fields by `,`, the three parts by a line break (the
/// members' health is not in it: see [`Digest::health`]). Every
/// field is an id, a code, a date or a number (income sources are `declared` or a department's
/// code); `None` if a field holds one of the separators all the same. An income names its member
/// by the member's position (`0`, `1`, …), or, for a member not of the household, by `=` and the
/// id; the household's own income names none.
fn encode(members: &[MemberSnap], incomes: &[IncomeFacts], spent: &[SpentFacts]) -> Option<String> {
    use std::fmt::Write;
    let clean = |s: &str| !s.contains([',', ';', '\n']);
    let mut out = String::with_capacity(64 * (members.len() + incomes.len() + spent.len() + 1));
    for (i, m) in members.iter().enumerate() {
        if !clean(&m.id) {
            return None;
        }
        let sep = if i > 0 { ";" } else { "" };
        let _ = write!(
            out,
            "{sep}{},{},{},{},{},{}",
            m.id,
            m.relation.as_str(),
            u8::from(m.included),
            m.birth_date,
            m.sex.as_str(),
            m.work_status.as_str(),
        );
    }
    out.push('\n');
    for (i, r) in incomes.iter().enumerate() {
        if !clean(&r.kind) || !clean(&r.source) {
            return None;
        }
        if i > 0 {
            out.push(';');
        }
        match r.member_id.as_deref() {
            None => {}
            Some(id) => match members.iter().position(|m| m.id == id) {
                Some(k) => {
                    let _ = write!(out, "{k}");
                }
                None if clean(id) => {
                    let _ = write!(out, "={id}");
                }
                None => return None,
            },
        }
        let _ = write!(
            out,
            ",{},{},{},{},{}",
            r.month,
            r.kind,
            r.source,
            r.amount_fen,
            u8::from(r.verified),
        );
    }
    out.push('\n');
    for (i, e) in spent.iter().enumerate() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use jiekun_domain::household::{HealthStatus, Relation, WorkStatus};

    #[test]
    fn a_digest_reads_back_as_written() {
        let members = vec![MemberSnap {
            id: "m1".into(),
            relation: Relation::Worker,
            included: true,
            birth_date: NaiveDate::from_ymd_opt(1970, 2, 3).unwrap(),
            sex: jiekun_domain::Sex::Female,
            work_status: WorkStatus::Unemployed,
            health: Some(HealthStatus::ChronicIllness),
        }];
        let mut incomes = vec![IncomeFacts {
            household_id: String::new(),
            member_id: None,
            month: 202611,
            kind: "wage".into(),
            source: "declared".into(),
            amount_fen: 120_000,
            verified: false,
        }];
        for other in ["m1", "m9"] {
            incomes.push(IncomeFacts {
                member_id: Some(other.into()),
                ..incomes[0].clone()
            });
        }
        let spent = vec![SpentFacts {
            household_id: String::new(),
            kind: "medical".into(),
            amount_fen: 5,
            start_month: 202601,
            end_month: 202612,
            verified: true,
        }];
        let d = Digest {
            text: encode(&members, &incomes, &spent).unwrap(),
            health: Some("chronic_illness".into()),
        };
        assert!(!d.text.contains("chronic"), "health is kept apart");
        let read: Vec<MemberSnap> = d.members().map(Option::unwrap).collect();
        assert_eq!(read, members);
        let ids = d.member_ids();
        assert_eq!(ids, ["m1"]);
        let read: Vec<IncomeRef> = d.incomes(&ids).map(Option::unwrap).collect();
        assert_eq!(read.len(), 3);
        // By position for a member of the household, by id for another.
        assert_eq!(read[1].member_id, Some("m1"));
        assert_eq!(read[2].member_id, Some("m9"));
        assert!(d.text.contains(";0,") && d.text.contains(";=m9,"));
        assert_eq!(
            (
                read[0].member_id,
                read[0].month,
                read[0].kind.as_str(),
                read[0].source
            ),
            (None, 202611, "wage", "declared")
        );
        assert_eq!((read[0].amount_fen, read[0].verified), (120_000, false));
        let read: Vec<ExpenditureSnap> = d.spent().map(Option::unwrap).collect();
        assert_eq!(read.len(), 1);
        assert_eq!((read[0].amount_fen, read[0].end_month), (5, 202612));
        assert!(read[0].verified);
        // Nothing at all reads as nothing; a field with a separator is not written.
        let empty = Digest {
            text: encode(&[], &[], &[]).unwrap(),
            health: None,
        };
        assert_eq!(empty.members().count() + empty.incomes(&[]).count(), 0);
        incomes[0].source = "a,b".into();
        assert!(encode(&members, &incomes, &spent).is_none());
        let bad = Digest {
            text: "x\n\n".into(),
            health: None,
        };
        assert!(bad.members().all(|m| m.is_none()));
    }
}
