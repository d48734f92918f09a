//! The shapes of a report: one envelope for every report (what was asked, as of when, in whose
//! scope, the columns and the rows, with a hash of it all), and its CSV rendering.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::schema;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The moment the report describes, RFC 3339 (default: now; never in the future). The same
    /// report with the same `as_of` gives the same figures and the same `sha256` later, whatever
    /// has changed since. 报表所反映的时点（RFC 3339，默认当前，不得晚于当前）；同一时点的报表日后重取，数字与摘要不变。
    #[param(example = "2026-11-30T16:00:00Z", max_length = 40)]
    pub as_of: Option<String>,
    /// `json` (the default) or `csv`; `Accept: text/csv` also asks for CSV. 输出格式：json（默认）或 csv。
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
    /// flows and assistance: the first month, `YYYY-MM` (default: eleven months before `to`).
    /// 起始月份（flows、assistance）。
    #[param(pattern = r"^\d{4}-\d{2}$", example = "2026-01")]
    pub from: Option<String>,
    /// flows and assistance: the last month, `YYYY-MM` (default: the month of `as_of`, China
    /// Standard Time); at most 120 months after `from`. 截止月份（flows、assistance，默认 as_of 所在月份）。
    #[param(pattern = r"^\d{4}-\d{2}$", example = "2026-12")]
    pub to: Option<String>,
}

/// A report's column: its key in JSON and in the CSV's second header row, and its names.
/// 报表列：键名及中英文列名。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Column {
    #[schema(example = "households")]
    pub key: &'static str,
    #[schema(example = "households")]
    pub name: &'static str,
    #[schema(example = "户数")]
    pub name_zh: &'static str,
    /// Whether the column counts something, and so has a total.
    #[serde(skip)]
    pub counts: bool,
}

impl Column {
    /// A column of labels.
    pub const fn label(key: &'static str, name: &'static str, name_zh: &'static str) -> Self {
        Column {
            key,
            name,
            name_zh,
            counts: false,
        }
    }

    /// A column of counts or amounts, summed in `totals`.
    pub const fn count(key: &'static str, name: &'static str, name_zh: &'static str) -> Self {
        Column {
            key,
            name,
            name_zh,
            counts: true,
        }
    }
}

/// One cell: text, a whole number, or nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    Null,
}

impl Cell {
    fn csv(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Null => String::new(),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map_or(Cell::Null, Cell::Text)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

/// Whose figures a report holds: the caller's union and its subtree, or a department key's
/// region. 报表范围：调用者所在工会及其下级，或部门密钥所在地区。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportScope {
    /// The union whose subtree is counted (people). 统计其本级及下级的工会（用户）。
    pub organisation_id: Option<String>,
    /// The region counted (department keys). 统计的地区（部门密钥）。
    pub region_code: Option<String>,
}

/// A report: what was asked and what it found. Its `sha256` is the SHA-256 (hex) of this object
/// without `sha256` and `title`/`title_zh`, serialised as compact JSON with the keys in the order
/// documented here; the CSV form carries the same hash in `X-Report-Sha256`, so both forms of a
/// report can be checked against each other.
/// 报表：参数、时点、范围、列与行；sha256 为去掉 sha256 和标题后按文档键序紧凑序列化的 JSON 的摘要，CSV 格式在 X-Report-Sha256 响应头中给出同一摘要。
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOut {
    #[schema(schema_with = schema::closed::<jiekun_domain::report::ReportName>)]
    pub report: String,
    pub title: &'static str,
    pub title_zh: &'static str,
    /// The moment described. 报表时点。
    pub as_of: DateTime<Utc>,
    /// The parameters as applied (defaults filled in). 实际适用的参数（含默认值）。
    #[schema(value_type = Object, example = json!({"from": "2026-01", "to": "2026-12"}))]
    pub parameters: serde_json::Map<String, serde_json::Value>,
    pub scope: ReportScope,
    /// The policy versions the report's rules used, as `code@valid_from` (none for a report that
    /// applies no rule). 报表所用规则的政策参数版本（不涉及规则的报表为空）。
    pub policy_versions: Vec<String>,
    pub columns: Vec<Column>,
    /// One object per row, keyed by the columns' keys. 每行一个对象，键为列键名。
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    pub row_count: u64,
    /// The sums of the numeric columns over every row. 各数值列合计。
    #[schema(value_type = Object)]
    pub totals: serde_json::Map<String, serde_json::Value>,
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub sha256: String,
}

/// What the hash covers, in order.
#[derive(Serialize)]
struct Canonical<'a> {
    report: &'a str,
    as_of: &'a DateTime<Utc>,
    parameters: &'a serde_json::Map<String, serde_json::Value>,
    scope: &'a ReportScope,
    policy_versions: &'a [String],
    columns: Vec<&'static str>,
    rows: &'a [Vec<Cell>],
    row_count: u64,
}

/// A report before it is presented: the rows as cells, in the columns' order.
pub struct Built {
    pub report: jiekun_domain::report::ReportName,
    pub title: (&'static str, &'static str),
    pub as_of: DateTime<Utc>,
    pub parameters: serde_json::Map<String, serde_json::Value>,
    pub scope: ReportScope,
    pub policy_versions: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Built {
    /// The SHA-256 of the report's canonical form.
    pub fn sha256(&self) -> String {
        let c = Canonical {
            report: self.report.as_str(),
            as_of: &self.as_of,
            parameters: &self.parameters,
            scope: &self.scope,
            policy_versions: &self.policy_versions,
            columns: self.columns.iter().map(|c| c.key).collect(),
            rows: &self.rows,
            row_count: self.rows.len() as u64,
        };
        let bytes = serde_json::to_vec(&c).unwrap_or_default();
        format!("{:x}", Sha256::digest(&bytes))
    }

    pub fn json(self) -> ReportOut {
        let sha256 = self.sha256();
        let mut totals = serde_json::Map::new();
        for (i, col) in self.columns.iter().enumerate().filter(|(_, c)| c.counts) {
            let sum: i64 = self
                .rows
                .iter()
                .filter_map(|r| match r.get(i) {
                    Some(Cell::Int(n)) => Some(*n),
                    _ => None,
                })
                .sum();
            totals.insert(col.key.into(), sum.into());
        }
        let rows = self
            .rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .zip(r)
                    .map(|(c, v)| {
                        (
                            c.key.to_owned(),
                            serde_json::to_value(v).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .collect();
        ReportOut {
            report: self.report.as_str().into(),
            title: self.title.0,
            title_zh: self.title.1,
            as_of: self.as_of,
            parameters: self.parameters,
            scope: self.scope,
            policy_versions: self.policy_versions,
            columns: self.columns,
            row_count: self.rows.len() as u64,
            rows,
            totals,
            sha256,
        }
    }

    /// UTF-8 with a byte-order mark (so Excel and WPS open it as such), a row of Chinese column
    /// names, a row of keys, then the rows.
    pub fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        let written = (|| -> csv::Result<()> {
            w.write_record(self.columns.iter().map(|c| c.name_zh))?;
            w.write_record(self.columns.iter().map(|c| c.key))?;
            for r in &self.rows {
                w.write_record(r.iter().map(Cell::csv))?;
            }
            w.flush()?;
            Ok(())
        })();
        debug_assert!(written.is_ok());
        w.into_inner().unwrap_or_default()
    }
}

/// One report of the catalogue. 报表目录条目。
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportInfo {
    #[schema(schema_with = schema::closed::<jiekun_domain::report::ReportName>)]
    pub name: String,
    pub title: &'static str,
    pub title_zh: &'static str,
    pub description: &'static str,
    pub description_zh: &'static str,
    /// The query parameters it takes beside `as_of` and `format`. 除 as_of、format 外适用的查询参数。
    pub parameters: Vec<&'static str>,
    pub columns: Vec<Column>,
}

/// The reports the caller may pull. 可调取的报表目录。
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportCatalogue {
    pub items: Vec<ReportInfo>,
}
