//! How a stored file is shown: personal data masked unless the caller asked to see it (`reveal=`)
//! and may.

use jiekun_domain::national_id::mask_name;
use jiekun_store::crypto::FieldCipher;
use jiekun_store::households::{
    self as store, HouseholdRow, ListedHousehold, ListedMember, MemberRow,
};

use super::dto::{Assets, Household};
use super::members::{Health, Member, Schooling};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::routes::{query_error, utc};

/// Which personal data to show in full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reveal {
    name: bool,
    national_id: bool,
    bank_account: bool,
    health: bool,
}

impl Reveal {
    pub fn any(&self) -> bool {
        self.name || self.national_id || self.bank_account || self.health
    }

    pub fn names(&self) -> Vec<String> {
        [
            (self.name, "name"),
            (self.national_id, "national_id"),
            (self.bank_account, "bank_account"),
            (self.health, "health"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_owned())
        .collect()
    }

    pub fn parse(q: Option<&str>) -> ApiResult<Reveal> {
        let mut r = Reveal::default();
        for part in q
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part {
                "name" => r.name = true,
                "national_id" => r.national_id = true,
                "bank_account" => r.bank_account = true,
                "health" => r.health = true,
                "all" => {
                    r = Reveal {
                        name: true,
                        national_id: true,
                        bank_account: true,
                        health: true,
                    }
                }
                other => {
                    return Err(query_error(FieldError::new(
                        "reveal",
                        "invalid_value",
                        format!(
                            "{other} is not one of name, national_id, bank_account, health, all"
                        ),
                        format!("{other} 不是 name、national_id、bank_account、health、all 之一"),
                    )))
                }
            }
        }
        Ok(r)
    }
}

fn causes_of(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|c| c.parse().ok()).collect()
}

/// Shows stored rows, decrypting only what is revealed.
pub struct Shown<'a> {
    pub reveal: Reveal,
    pub cipher: &'a FieldCipher,
}

impl<'a> Shown<'a> {
    /// Everything personal masked.
    pub fn masked(cipher: &'a FieldCipher) -> Shown<'a> {
        Shown {
            reveal: Reveal::default(),
            cipher,
        }
    }

    fn decrypt(&self, context: &str, enc: &str) -> ApiResult<String> {
        self.cipher
            .decrypt(context, enc)
            .map_err(ApiError::internal)
    }

    pub fn household(
        &self,
        h: HouseholdRow,
        members: Option<Vec<MemberRow>>,
    ) -> ApiResult<Household> {
        let bank_account = match (&h.bank_account_enc, self.reveal.bank_account) {
            (Some(enc), true) => Some(self.decrypt(&store::bank_context(&h.id), enc)?),
            _ => h.bank_account_masked.clone(),
        };
        let members = match members {
            Some(ms) => Some(
                ms.into_iter()
                    .map(|m| self.member(m))
                    .collect::<ApiResult<Vec<_>>>()?,
            ),
            None => None,
        };
        Ok(self.shown(ListedHousehold::from(h), bank_account, members))
    }

    /// A household read masked, with its members: nothing to decrypt.
    pub fn masked_file(&self, h: ListedHousehold, members: Vec<ListedMember>) -> Household {
        let bank_account = h.bank_account_masked.clone();
        let members = members
            .into_iter()
            .map(|m| self.shown_member(m, None, None))
            .collect();
        self.shown(h, bank_account, Some(members))
    }

    /// A household of a list: no members, the bank account masked.
    pub fn listed(&self, h: ListedHousehold) -> Household {
        let bank_account = h.bank_account_masked.clone();
        self.shown(h, bank_account, None)
    }

    fn shown(
        &self,
        h: ListedHousehold,
        bank_account: Option<String>,
        members: Option<Vec<Member>>,
    ) -> Household {
        Household {
            worker_name: if self.reveal.name {
                h.worker_name.clone()
            } else {
                mask_name(&h.worker_name)
            },
            bank_account,
            housing_area_m2: h.housing_area_dm2.map(|a| a as f64 / 100.0),
            secondary_causes: causes_of(&h.secondary_causes),
            resolved_causes: causes_of(&h.resolved_causes),
            assets: Assets {
                homes_count: h.homes_count,
                homes_area_m2: h.homes_area_dm2 as f64 / 100.0,
                vehicles_count: h.vehicles_count,
                vehicle_disability_exempt: h.vehicle_disability_exempt,
                controlling_shareholder: h.controlling_shareholder,
                high_fee_schooling: h.high_fee_schooling,
                refuses_cooperation: h.refuses_cooperation,
            },
            members,
            revealed: self.reveal.names(),
            id: h.id,
            file_number: h.file_number,
            organisation_id: h.organisation_id,
            region_code: h.region_code,
            address: h.address,
            enterprise_id: h.enterprise_id,
            housing_type: h.housing_type,
            bank_name: h.bank_name,
            main_cause: h.main_cause,
            single_parent: h.single_parent,
            disability_household: h.disability_household,
            zero_employment: h.zero_employment,
            legal_dispute: h.legal_dispute,
            category: h.category,
            status: h.status,
            members_count: h.members_count,
            version: h.version,
            created_at: utc(h.created_at),
            updated_at: utc(h.updated_at),
        }
    }

    pub fn member(&self, m: MemberRow) -> ApiResult<Member> {
        let national_id = if self.reveal.national_id {
            Some(self.decrypt(&store::member_context(&m.id), &m.national_id_enc)?)
        } else {
            None
        };
        let health = match (&m.health_enc, self.reveal.health) {
            (Some(enc), true) => Some(
                serde_json::from_str(&self.decrypt(&store::health_context(&m.id), enc)?)
                    .map_err(ApiError::internal)?,
            ),
            _ => None,
        };
        Ok(self.shown_member(ListedMember::from(m), national_id, health))
    }

    /// A member with the identity number and health given when revealed (decrypted by the caller).
    fn shown_member(
        &self,
        m: ListedMember,
        national_id: Option<String>,
        health: Option<Health>,
    ) -> Member {
        let national_id = national_id.unwrap_or_else(|| m.national_id_masked.clone());
        let schooling = m
            .schooling_level
            .as_deref()
            .and_then(|l| l.parse().ok())
            .map(|level| Schooling {
                level,
                school: m.school.clone(),
                year: m.school_year,
            });
        Member {
            name: if self.reveal.name {
                m.name.clone()
            } else {
                mask_name(&m.name)
            },
            birth_date: if self.reveal.national_id {
                m.birth_date.to_string()
            } else {
                masked_birth_date(m.birth_date)
            },
            national_id,
            health,
            schooling,
            id: m.id,
            relation: m.relation,
            sex: m.sex,
            work_status: m.work_status,
            laid_off: m.laid_off,
            business_plan: m.business_plan,
            residents_pension: m.residents_pension,
            included: m.included,
            exclusion_reason: m.exclusion_reason,
        }
    }
}

/// A birth date with its month and day hidden, as chrono's `%Y-**-**` writes it.
fn masked_birth_date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    match d.year() {
        y @ 0..=9999 => format!("{y:04}-**-**"),
        _ => d.format("%Y-**-**").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::masked_birth_date;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// The masked birth date is what chrono's `%Y-**-**` writes, for any date chrono holds.
        #[test]
        fn masked_birth_date_is_what_chrono_writes(days in -100_000i32..3_000_000) {
            let d = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
            prop_assert_eq!(masked_birth_date(d), d.format("%Y-**-**").to_string());
        }
    }

    #[test]
    fn masked_birth_date_keeps_the_year_only() {
        let d = NaiveDate::from_ymd_opt(1989, 3, 14).unwrap();
        assert_eq!(masked_birth_date(d), "1989-**-**");
        let d = NaiveDate::from_ymd_opt(987, 1, 2).unwrap();
        assert_eq!(masked_birth_date(d), "0987-**-**");
    }
}
