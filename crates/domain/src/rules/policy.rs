//! The policy book (政策参数): effective-dated, region-scoped parameters, each with the document
//! that set it. A lookup picks, among the versions in force on a date, the one of the most
//! specific region prefix; the past is never rewritten, a change is a new dated version.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::household::{IncomeKind, Month};

/// How a bound compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// at most (≤)
    Le,
    /// below (<)
    Lt,
}

impl Comparator {
    pub fn holds(self, lhs: i128, rhs: i128) -> bool {
        match self {
            Comparator::Le => lhs <= rhs,
            Comparator::Lt => lhs < rhs,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Le => "≤",
            Comparator::Lt => "<",
        }
    }
}

crate::closed_list! {
    /// Every parameter of the book.
    ParamKey ("Policy parameter", "政策参数") {
        DibaoStandardFen = "dibao_standard_fen" ("urban minimum living standard (dibao), fen per person per month", "城市低保标准（分/人/月）"),
        DeepMultiplierBp = "deep_multiplier_bp" ("multiple of the standard that bounds deep hardship, in basis points", "深度困难倍数（基点）"),
        DeepComparator = "deep_comparator" ("how income compares with the deep-hardship bound (le: at most, lt: below)", "深度困难比较方式"),
        RelativeMultiplierBp = "relative_multiplier_bp" ("multiple of the standard that bounds relative hardship, in basis points", "相对困难倍数（基点）"),
        RelativeComparator = "relative_comparator" ("how income compares with the relative-hardship bound (le: at most, lt: below)", "相对困难比较方式"),
        LookbackMonths = "lookback_months" ("months of income counted", "收入计算月数"),
        ExcludedIncomeKinds = "excluded_income_kinds" ("kinds of income not counted", "不计入收入的类别"),
        ImputeUnemployed = "impute_unemployed" ("able-bodied members without work are counted at the minimum wage", "无业有劳动能力成员按最低工资计收入"),
        MinimumWageFen = "minimum_wage_fen" ("minimum wage, fen per month", "最低工资标准（分/月）"),
        WorkingAgeFrom = "working_age_from" ("working age from, in years", "劳动年龄起"),
        RetirementAgeMale = "retirement_age_male" ("retirement age of men, in years", "男性退休年龄"),
        RetirementAgeFemale = "retirement_age_female" ("retirement age of women, in years", "女性退休年龄"),
        AccidentThresholdBp = "accident_threshold_bp" ("share of annual income that accident costs must exceed, in basis points", "意外致困支出占年收入比例（基点）"),
        RelativeCauses = "relative_causes" ("hardship causes recognised for relative hardship", "相对困难认可的致困原因"),
        ExcludeHomesOver = "exclude_homes_over" ("most homes a household may own", "住房套数上限（超过则排除）"),
        ExcludeHomesAreaPerCapitaDm2 = "exclude_homes_area_per_capita_dm2" ("most floor area per person, in 0.01 m²", "人均住房面积上限（0.01平方米）"),
        ExcludeVehicles = "exclude_vehicles" ("owning a motor vehicle excludes (disability mobility vehicles aside)", "有机动车排除（残疾人代步车除外）"),
        ExcludeControllingShareholder = "exclude_controlling_shareholder" ("a member controlling a company excludes", "控股股东排除"),
        ExcludeHighFeeSchooling = "exclude_high_fee_schooling" ("a child at a high-fee private school excludes", "高收费择校排除"),
        ExcludeRefusal = "exclude_refusal" ("refusing to cooperate with checks excludes", "拒不配合核查排除"),
        ExitMonths = "exit_months" ("consecutive months above the standard for an exit out of hardship", "脱困须连续超过标准的月数"),
        NoticeDays = "notice_days" ("length of a public notice, in days", "公示天数"),
        NoticeWorkingDays = "notice_working_days" ("the notice is counted in working days", "公示按工作日计"),
        ReviewIntervalMonths = "review_interval_months" ("months between annual reviews", "年度复核间隔（月）"),
        MonitoringMonths = "monitoring_months" ("months of monitoring after an exit", "退出后监测期（月）"),
        ReferralDueWorkingDays = "referral_due_working_days" ("working days a lead unit has to answer a referral", "牵头单位办理转介的期限（工作日）"),
        AssistanceCapMeasureFen = "assistance_cap_measure_fen" ("most help in money recorded for one household under one measure in a calendar year, fen", "每户每项措施每年帮扶金额上限（分）"),
        AssistanceCapTotalFen = "assistance_cap_total_fen" ("most help in money recorded for one household in a calendar year, all measures and units together, fen", "每户每年帮扶金额总上限（分，各措施、各单位合计）"),
        VerificationDueWorkingDays = "verification_due_working_days" ("working days a department has to answer a verification task", "部门答复数据核对任务的期限（工作日）"),
        VerificationOnReview = "verification_on_review" ("starting the county review opens a verification of every data domain, where the household's consents cover them", "县总工会开始审核时自动发起全部类别的数据核对（须授权覆盖）"),
        ContactVisitGapDays = "contact_visit_gap_days" ("most days a dual contact may go without a visit (《实施方案》三(七)14)", "双包联系人最长未走访天数（《实施方案》三(七)14）"),
        ContactActivityTypes = "contact_activity_types" ("the activity types visits of the dual contacts are recorded with (《实施方案》三(七)14)", "双包联系走访登记的活动类型（《实施方案》三(七)14）"),
    }
}

/// The type of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A whole number, not negative (fen, months, years, basis points, days).
    Int,
    /// `true` or `false`.
    Bool,
    /// `le` (at most) or `lt` (below).
    Comparator,
    /// A list of income kinds.
    IncomeKinds,
    /// A list of hardship cause codes, 1–10.
    Causes,
    /// A list of codes (lower-case letters, digits and `_`).
    Codes,
}

impl ParamKey {
    /// The type of value the parameter takes.
    pub fn value_kind(self) -> ValueKind {
        use ParamKey as K;
        match self {
            K::DeepComparator | K::RelativeComparator => ValueKind::Comparator,
            K::ExcludedIncomeKinds => ValueKind::IncomeKinds,
            K::RelativeCauses => ValueKind::Causes,
            K::ContactActivityTypes => ValueKind::Codes,
            K::ImputeUnemployed
            | K::ExcludeVehicles
            | K::ExcludeControllingShareholder
            | K::ExcludeHighFeeSchooling
            | K::ExcludeRefusal
            | K::NoticeWorkingDays
            | K::VerificationOnReview => ValueKind::Bool,
            _ => ValueKind::Int,
        }
    }
}

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Bool(bool),
    Comparator(Comparator),
    Kinds(Vec<IncomeKind>),
    Causes(Vec<u8>),
    Codes(Vec<String>),
}

/// One dated version of one parameter for one region prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Stable id of this version (the store's id), quoted in explanations.
    pub id: String,
    pub key: ParamKey,
    /// GB/T 2260 prefix: "" (everywhere), "61", "6107", "610724".
    pub region_prefix: String,
    pub effective_from: NaiveDate,
    /// Exclusive end; `None` while in force.
    pub effective_to: Option<NaiveDate>,
    pub value: ParamValue,
    /// The document that set it (文号), e.g. 西民发〔2025〕12号.
    pub document: String,
}

impl Parameter {
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.effective_from <= on && self.effective_to.is_none_or(|t| on < t)
    }

    pub fn applies_to(&self, region: &str) -> bool {
        region.starts_with(&self.region_prefix)
    }

    /// Whether this is one of the built-in defaults (`default_book`) rather than an entered version.
    pub fn is_default(&self) -> bool {
        self.id.starts_with(DEFAULT_ID_PREFIX)
    }
}

/// How the ids of the built-in defaults begin.
pub const DEFAULT_ID_PREFIX: &str = "default-";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("no version of {key} is in force for region {region} on {date}")]
    Missing {
        key: &'static str,
        region: String,
        date: NaiveDate,
    },
    #[error("{key} has a value of the wrong type")]
    WrongType { key: &'static str },
}

/// All parameter versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyBook {
    pub parameters: Vec<Parameter>,
}

impl PolicyBook {
    /// The version of `key` for `region` on `date`, whatever the order of the book: among the
    /// versions in force on the date, the longest matching prefix wins; among versions of the same
    /// prefix, the latest start on or before the date. A key, prefix and start have one version
    /// (the store refuses a second); should a book hold two all the same, an entered version wins
    /// over a built-in default, then the one entered last (the greater id).
    pub fn lookup(
        &self,
        key: ParamKey,
        region: &str,
        date: NaiveDate,
    ) -> Result<&Parameter, PolicyError> {
        fn rank(p: &Parameter) -> (usize, NaiveDate, bool, &str) {
            (
                p.region_prefix.len(),
                p.effective_from,
                !p.is_default(),
                p.id.as_str(),
            )
        }
        self.parameters
            .iter()
            .filter(|p| p.key == key && p.applies_to(region) && p.in_force(date))
            .max_by(|a, b| rank(a).cmp(&rank(b)))
            .ok_or_else(|| PolicyError::Missing {
                key: key.as_str(),
                region: region.to_owned(),
                date,
            })
    }

    /// Everything the rules need for one region on one date, resolved once.
    pub fn resolve(&self, region: &str, date: NaiveDate) -> Result<Resolved, PolicyError> {
        let int = |k: ParamKey| -> Result<(i64, u16), PolicyError> {
            let p = self.lookup(k, region, date)?;
            match &p.value {
                ParamValue::Int(v) => Ok((*v, self.index_of(p))),
                _ => Err(PolicyError::WrongType { key: k.as_str() }),
            }
        };
        let flag = |k: ParamKey| -> Result<(bool, u16), PolicyError> {
            let p = self.lookup(k, region, date)?;
            match &p.value {
                ParamValue::Bool(v) => Ok((*v, self.index_of(p))),
                _ => Err(PolicyError::WrongType { key: k.as_str() }),
            }
        };
        let cmp = |k: ParamKey| -> Result<(Comparator, u16), PolicyError> {
            let p = self.lookup(k, region, date)?;
            match &p.value {
                ParamValue::Comparator(v) => Ok((*v, self.index_of(p))),
                _ => Err(PolicyError::WrongType { key: k.as_str() }),
            }
        };
        let kinds = {
            let p = self.lookup(ParamKey::ExcludedIncomeKinds, region, date)?;
            match &p.value {
                ParamValue::Kinds(v) => (v.clone(), self.index_of(p)),
                _ => {
                    return Err(PolicyError::WrongType {
                        key: "excluded_income_kinds",
                    })
                }
            }
        };
        let causes = {
            let p = self.lookup(ParamKey::RelativeCauses, region, date)?;
            match &p.value {
                ParamValue::Causes(v) => (v.clone(), self.index_of(p)),
                _ => {
                    return Err(PolicyError::WrongType {
                        key: "relative_causes",
                    })
                }
            }
        };
        let lookback = int(ParamKey::LookbackMonths)?;
        let month = Month::of(date);
        // The minimum wage is dated too: imputation takes it month by month over the window.
        let mut minimum_wage = Vec::with_capacity(lookback.0.max(0) as usize);
        let mut m = month;
        for _ in 0..lookback.0.max(0) {
            m = m.prev();
            let p = self.lookup(ParamKey::MinimumWageFen, region, m.first_day())?;
            match &p.value {
                ParamValue::Int(v) => minimum_wage.push((m, *v, self.index_of(p))),
                _ => {
                    return Err(PolicyError::WrongType {
                        key: "minimum_wage_fen",
                    })
                }
            }
        }
        minimum_wage.reverse();
        Ok(Resolved {
            region: region.to_owned(),
            date,
            dibao_standard_fen: int(ParamKey::DibaoStandardFen)?,
            deep_multiplier_bp: int(ParamKey::DeepMultiplierBp)?,
            deep_comparator: cmp(ParamKey::DeepComparator)?,
            relative_multiplier_bp: int(ParamKey::RelativeMultiplierBp)?,
            relative_comparator: cmp(ParamKey::RelativeComparator)?,
            lookback_months: lookback,
            excluded_income_kinds: kinds,
            impute_unemployed: flag(ParamKey::ImputeUnemployed)?,
            minimum_wage,
            working_age_from: int(ParamKey::WorkingAgeFrom)?,
            retirement_age_male: int(ParamKey::RetirementAgeMale)?,
            retirement_age_female: int(ParamKey::RetirementAgeFemale)?,
            accident_threshold_bp: int(ParamKey::AccidentThresholdBp)?,
            relative_causes: causes,
            exclude_homes_over: int(ParamKey::ExcludeHomesOver)?,
            exclude_homes_area_per_capita_dm2: int(ParamKey::ExcludeHomesAreaPerCapitaDm2)?,
            exclude_vehicles: flag(ParamKey::ExcludeVehicles)?,
            exclude_controlling_shareholder: flag(ParamKey::ExcludeControllingShareholder)?,
            exclude_high_fee_schooling: flag(ParamKey::ExcludeHighFeeSchooling)?,
            exclude_refusal: flag(ParamKey::ExcludeRefusal)?,
            exit_months: int(ParamKey::ExitMonths)?,
        })
    }

    fn index_of(&self, p: &Parameter) -> u16 {
        self.parameters
            .iter()
            .position(|q| std::ptr::eq(q, p))
            .unwrap_or(0) as u16
    }

    /// The workflow parameters for one region on one date: notice length and how it is counted,
    /// the annual review interval and the monitoring period after exit.
    pub fn workflow(&self, region: &str, date: NaiveDate) -> Result<WorkflowPolicy, PolicyError> {
        let int = |k: ParamKey| -> Result<i64, PolicyError> {
            match &self.lookup(k, region, date)?.value {
                ParamValue::Int(v) => Ok(*v),
                _ => Err(PolicyError::WrongType { key: k.as_str() }),
            }
        };
        let working = match &self
            .lookup(ParamKey::NoticeWorkingDays, region, date)?
            .value
        {
            ParamValue::Bool(v) => *v,
            _ => {
                return Err(PolicyError::WrongType {
                    key: ParamKey::NoticeWorkingDays.as_str(),
                })
            }
        };
        Ok(WorkflowPolicy {
            notice_days: int(ParamKey::NoticeDays)?,
            notice_working_days: working,
            review_interval_months: int(ParamKey::ReviewIntervalMonths)?,
            monitoring_months: int(ParamKey::MonitoringMonths)?,
        })
    }

    /// The dual-contact parameters for one region on one date: how long a contact may go without
    /// a visit, and the activity types visits are recorded with.
    pub fn contacts(&self, region: &str, date: NaiveDate) -> Result<ContactPolicy, PolicyError> {
        let gap = self.lookup(ParamKey::ContactVisitGapDays, region, date)?;
        let ParamValue::Int(visit_gap_days) = gap.value else {
            return Err(PolicyError::WrongType {
                key: ParamKey::ContactVisitGapDays.as_str(),
            });
        };
        let types = self.lookup(ParamKey::ContactActivityTypes, region, date)?;
        // Stored values are read without their key: a list of codes that are all income kinds
        // (or an empty one) reads as one.
        let activity_types = match &types.value {
            ParamValue::Codes(v) => v.clone(),
            ParamValue::Kinds(v) => v.iter().map(|k| k.as_str().to_owned()).collect(),
            _ => {
                return Err(PolicyError::WrongType {
                    key: ParamKey::ContactActivityTypes.as_str(),
                })
            }
        };
        Ok(ContactPolicy {
            visit_gap_days,
            activity_types,
        })
    }

    /// The measure parameters for one region on one date.
    pub fn measures(&self, region: &str, date: NaiveDate) -> Result<MeasurePolicy, PolicyError> {
        let int = |k: ParamKey| -> Result<i64, PolicyError> {
            match &self.lookup(k, region, date)?.value {
                ParamValue::Int(v) => Ok(*v),
                _ => Err(PolicyError::WrongType { key: k.as_str() }),
            }
        };
        Ok(MeasurePolicy {
            referral_due_working_days: int(ParamKey::ReferralDueWorkingDays)?,
            caps: crate::assistance::Caps {
                per_measure_fen: Some(int(ParamKey::AssistanceCapMeasureFen)?),
                total_fen: Some(int(ParamKey::AssistanceCapTotalFen)?),
            },
        })
    }

    /// The verification parameters for one region on one date.
    pub fn verification(
        &self,
        region: &str,
        date: NaiveDate,
    ) -> Result<VerificationPolicy, PolicyError> {
        let due = match &self
            .lookup(ParamKey::VerificationDueWorkingDays, region, date)?
            .value
        {
            ParamValue::Int(v) => *v,
            _ => {
                return Err(PolicyError::WrongType {
                    key: ParamKey::VerificationDueWorkingDays.as_str(),
                })
            }
        };
        let on_review = match &self
            .lookup(ParamKey::VerificationOnReview, region, date)?
            .value
        {
            ParamValue::Bool(v) => *v,
            _ => {
                return Err(PolicyError::WrongType {
                    key: ParamKey::VerificationOnReview.as_str(),
                })
            }
        };
        Ok(VerificationPolicy {
            due_working_days: due,
            open_on_review: on_review,
        })
    }

    /// The dibao standard in force in each month (first day of the month), for exit windows.
    pub fn standard_in(
        &self,
        region: &str,
        month: Month,
    ) -> Result<(i64, &Parameter), PolicyError> {
        let p = self.lookup(ParamKey::DibaoStandardFen, region, month.first_day())?;
        match &p.value {
            ParamValue::Int(v) => Ok((*v, p)),
            _ => Err(PolicyError::WrongType {
                key: "dibao_standard_fen",
            }),
        }
    }
}

/// The parameters for one region and date, each with the index of its version in the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub region: String,
    pub date: NaiveDate,
    pub dibao_standard_fen: (i64, u16),
    pub deep_multiplier_bp: (i64, u16),
    pub deep_comparator: (Comparator, u16),
    pub relative_multiplier_bp: (i64, u16),
    pub relative_comparator: (Comparator, u16),
    pub lookback_months: (i64, u16),
    pub excluded_income_kinds: (Vec<IncomeKind>, u16),
    pub impute_unemployed: (bool, u16),
    /// (month, minimum wage in fen, version) over the look-back window, oldest first.
    pub minimum_wage: Vec<(Month, i64, u16)>,
    pub working_age_from: (i64, u16),
    pub retirement_age_male: (i64, u16),
    pub retirement_age_female: (i64, u16),
    pub accident_threshold_bp: (i64, u16),
    pub relative_causes: (Vec<u8>, u16),
    pub exclude_homes_over: (i64, u16),
    pub exclude_homes_area_per_capita_dm2: (i64, u16),
    pub exclude_vehicles: (bool, u16),
    pub exclude_controlling_shareholder: (bool, u16),
    pub exclude_high_fee_schooling: (bool, u16),
    pub exclude_refusal: (bool, u16),
    pub exit_months: (i64, u16),
}

/// The parameters the measures follow: how long a lead unit has to answer a referral, and the
/// yearly caps on help recorded for one household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasurePolicy {
    pub referral_due_working_days: i64,
    pub caps: crate::assistance::Caps,
}

/// The parameters of information sharing: how long a department has to answer a verification
/// task, and whether starting the county review opens a verification by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationPolicy {
    pub due_working_days: i64,
    pub open_on_review: bool,
}

/// The parameters of the dual contacts (plan §三(七)14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPolicy {
    /// Most days a contact may go without a visit.
    pub visit_gap_days: i64,
    /// The activity types a visit may be recorded with.
    pub activity_types: Vec<String>,
}

/// The parameters the workflows follow: notice length and counting, review interval, monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkflowPolicy {
    pub notice_days: i64,
    pub notice_working_days: bool,
    pub review_interval_months: i64,
    pub monitoring_months: i64,
}

/// The national defaults of the programme plus demonstration figures for 西乡县. The dibao
/// standard and minimum wage here are examples, not the county's official figures, which are
/// entered as dated versions with their documents.
pub fn default_book() -> PolicyBook {
    let from = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
    let national = "全国总工会困难职工帮扶办法（默认值）";
    let mut ps = Vec::new();
    let mut add = |key: ParamKey, prefix: &str, from: NaiveDate, value: ParamValue, doc: &str| {
        ps.push(Parameter {
            id: format!("{DEFAULT_ID_PREFIX}{}-{prefix}-{from}", key.as_str()),
            key,
            region_prefix: prefix.to_owned(),
            effective_from: from,
            effective_to: None,
            value,
            document: doc.to_owned(),
        });
    };
    use ParamValue::*;
    add(ParamKey::DeepMultiplierBp, "", from, Int(10_000), national);
    add(
        ParamKey::DeepComparator,
        "",
        from,
        Comparator(self::Comparator::Le),
        national,
    );
    add(
        ParamKey::RelativeMultiplierBp,
        "",
        from,
        Int(20_000),
        national,
    );
    add(
        ParamKey::RelativeComparator,
        "",
        from,
        Comparator(self::Comparator::Le),
        national,
    );
    add(ParamKey::LookbackMonths, "", from, Int(12), national);
    add(
        ParamKey::ExcludedIncomeKinds,
        "",
        from,
        Kinds(vec![
            IncomeKind::Award,
            IncomeKind::Scholarship,
            IncomeKind::ResidentsBasicPension,
        ]),
        national,
    );
    add(ParamKey::ImputeUnemployed, "", from, Bool(true), national);
    add(ParamKey::WorkingAgeFrom, "", from, Int(16), national);
    add(ParamKey::RetirementAgeMale, "", from, Int(60), national);
    add(ParamKey::RetirementAgeFemale, "", from, Int(50), national);
    add(
        ParamKey::AccidentThresholdBp,
        "",
        from,
        Int(8_000),
        national,
    );
    add(
        ParamKey::RelativeCauses,
        "",
        from,
        Causes(vec![6, 7, 8, 9]),
        national,
    );
    add(ParamKey::ExcludeHomesOver, "", from, Int(1), national);
    add(
        ParamKey::ExcludeHomesAreaPerCapitaDm2,
        "",
        from,
        Int(4_000),
        national,
    );
    add(ParamKey::ExcludeVehicles, "", from, Bool(true), national);
    add(
        ParamKey::ExcludeControllingShareholder,
        "",
        from,
        Bool(true),
        national,
    );
    add(
        ParamKey::ExcludeHighFeeSchooling,
        "",
        from,
        Bool(true),
        national,
    );
    add(ParamKey::ExcludeRefusal, "", from, Bool(true), national);
    add(ParamKey::ExitMonths, "", from, Int(6), national);
    add(ParamKey::NoticeDays, "", from, Int(7), national);
    add(ParamKey::NoticeWorkingDays, "", from, Bool(false), national);
    add(ParamKey::ReviewIntervalMonths, "", from, Int(12), national);
    add(ParamKey::MonitoringMonths, "", from, Int(24), national);
    add(
        ParamKey::ReferralDueWorkingDays,
        "",
        from,
        Int(20),
        national,
    );
    add(
        ParamKey::AssistanceCapMeasureFen,
        "",
        from,
        Int(2_000_000),
        national,
    );
    add(
        ParamKey::AssistanceCapTotalFen,
        "",
        from,
        Int(5_000_000),
        national,
    );
    add(
        ParamKey::VerificationDueWorkingDays,
        "",
        from,
        Int(5),
        national,
    );
    add(
        ParamKey::VerificationOnReview,
        "",
        from,
        Bool(false),
        national,
    );
    add(ParamKey::ContactVisitGapDays, "", from, Int(90), national);
    add(
        ParamKey::ContactActivityTypes,
        "",
        from,
        Codes(
            crate::contact::DEFAULT_ACTIVITY_TYPES
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
        ),
        national,
    );
    let demo = "示例参数，非官方标准（demonstration value）";
    add(ParamKey::DibaoStandardFen, "61", from, Int(60_000), demo);
    add(
        ParamKey::DibaoStandardFen,
        "6107",
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default(),
        Int(68_000),
        demo,
    );
    add(
        ParamKey::DibaoStandardFen,
        "6107",
        NaiveDate::from_ymd_opt(2026, 7, 1).unwrap_or_default(),
        Int(72_000),
        demo,
    );
    add(ParamKey::MinimumWageFen, "61", from, Int(195_000), demo);
    add(
        ParamKey::MinimumWageFen,
        "61",
        NaiveDate::from_ymd_opt(2025, 5, 1).unwrap_or_default(),
        Int(205_000),
        demo,
    );
    PolicyBook {
        parameters: close_superseded(ps),
    }
}

/// Ends each version no later than where the next version of the same key and prefix begins
/// (an end it already has stays when it is earlier).
pub fn close_superseded(mut ps: Vec<Parameter>) -> Vec<Parameter> {
    let starts: Vec<(ParamKey, String, NaiveDate)> = ps
        .iter()
        .map(|p| (p.key, p.region_prefix.clone(), p.effective_from))
        .collect();
    for p in ps.iter_mut() {
        let next = starts
            .iter()
            .filter(|(k, r, f)| *k == p.key && *r == p.region_prefix && *f > p.effective_from)
            .map(|(_, _, f)| *f)
            .min();
        p.effective_to = match (p.effective_to, next) {
            (Some(end), Some(next)) => Some(end.min(next)),
            (end, next) => end.or(next),
        };
    }
    ps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn most_specific_region_and_latest_version_win() {
        let book = default_book();
        let p = book
            .lookup(ParamKey::DibaoStandardFen, "610724", d(2026, 8, 1))
            .unwrap();
        assert_eq!(p.value, ParamValue::Int(72_000));
        let p = book
            .lookup(ParamKey::DibaoStandardFen, "610724", d(2026, 6, 30))
            .unwrap();
        assert_eq!(
            p.value,
            ParamValue::Int(68_000),
            "the version in force on the date"
        );
        let p = book
            .lookup(ParamKey::DibaoStandardFen, "610124", d(2026, 8, 1))
            .unwrap();
        assert_eq!(
            p.value,
            ParamValue::Int(60_000),
            "another city of the province"
        );
        assert!(book
            .lookup(ParamKey::DibaoStandardFen, "110101", d(2026, 8, 1))
            .is_err());
        assert!(book
            .lookup(ParamKey::DibaoStandardFen, "610724", d(2019, 8, 1))
            .is_err());
    }

    fn version(id: &str, prefix: &str, from: NaiveDate, value: i64) -> Parameter {
        Parameter {
            id: id.into(),
            key: ParamKey::DibaoStandardFen,
            region_prefix: prefix.into(),
            effective_from: from,
            effective_to: None,
            value: ParamValue::Int(value),
            document: "doc".into(),
        }
    }

    #[test]
    fn the_answer_does_not_depend_on_the_order_of_the_book() {
        let ps = vec![
            version("default-x", "6107", d(2026, 1, 1), 1),
            version("0001", "6107", d(2027, 1, 1), 2),
            version("0003", "610724", d(2027, 3, 1), 3),
            // Two versions of one start: the entered one, then the greater id, win.
            version("0004", "610724", d(2027, 6, 1), 4),
            version("0005", "610724", d(2027, 6, 1), 5),
            version("default-y", "610724", d(2027, 6, 1), 6),
        ];
        let want = [
            (d(2026, 12, 31), 1),
            (d(2027, 1, 1), 2),
            (d(2027, 2, 28), 2),
            (d(2027, 3, 1), 3),
            (d(2027, 6, 1), 5),
        ];
        for rotation in 0..ps.len() {
            let mut ps = ps.clone();
            ps.rotate_left(rotation);
            let mut reversed = ps.clone();
            reversed.reverse();
            for ps in [ps, reversed] {
                let book = PolicyBook {
                    parameters: close_superseded(ps),
                };
                for (on, value) in want {
                    let p = book
                        .lookup(ParamKey::DibaoStandardFen, "610724", on)
                        .unwrap();
                    assert_eq!(p.value, ParamValue::Int(value), "on {on}");
                }
            }
        }
    }

    #[test]
    fn an_end_already_set_stays_when_earlier() {
        let mut early = version("0001", "6107", d(2027, 1, 1), 1);
        early.effective_to = Some(d(2027, 2, 1));
        let mut late = version("0002", "6107", d(2027, 1, 1), 1);
        late.effective_to = Some(d(2028, 1, 1));
        let ps = close_superseded(vec![early, late, version("0003", "6107", d(2027, 3, 1), 2)]);
        assert_eq!(ps[0].effective_to, Some(d(2027, 2, 1)));
        assert_eq!(ps[1].effective_to, Some(d(2027, 3, 1)));
        assert_eq!(ps[2].effective_to, None);
    }

    #[test]
    fn resolves_everything_for_a_county() {
        let r = default_book().resolve("610724", d(2026, 11, 29)).unwrap();
        assert_eq!(r.dibao_standard_fen.0, 72_000);
        assert_eq!(r.minimum_wage.len(), 12);
        assert_eq!(r.minimum_wage[0].0.to_string(), "2025-11");
        assert_eq!(r.minimum_wage[11].0.to_string(), "2026-10");
    }
}
