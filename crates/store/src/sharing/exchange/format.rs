//! The exchange file: CSV (UTF-8 with a byte-order mark, or GB18030 as departments' own exports
//! often are) or JSON Lines, one row per fact. The outbox writes a row per person asked about with
//! the answer columns empty; the department fills them in, adding rows for more months right after
//! the task's other rows.

use std::io::{BufRead, BufReader, Read, Write};

use serde_json::Value;

/// The columns, by their keys.
pub const COLUMNS: [&str; 13] = [
    "task_id",
    "domain",
    "member_id",
    "name",
    "national_id",
    "relation",
    "due_on",
    "as_of",
    "count",
    "area_m2",
    "status",
    "month",
    "amount_fen",
];

/// The columns' Chinese names: the first header row of a CSV file (the second holds the keys).
pub const COLUMNS_ZH: [&str; 13] = [
    "任务编号",
    "数据类别",
    "成员编号",
    "姓名",
    "身份证号",
    "与职工关系",
    "答复期限",
    "信息截止日期",
    "数量",
    "面积（平方米）",
    "状态",
    "月份（YYYY-MM）",
    "月金额（分）",
];

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// How the bytes of a CSV file are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    Gb18030,
}

/// One data row: its line in the file and its cells by column (absent or blank cells are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub cells: [Option<String>; 13],
}

impl Row {
    pub fn get(&self, key: &str) -> Option<&str> {
        COLUMNS
            .iter()
            .position(|c| *c == key)
            .and_then(|i| self.cells[i].as_deref())
    }
}

/// Why a file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("line {line}: the bytes are not valid {charset}")]
    Encoding { line: u64, charset: &'static str },
    #[error("line {line}: {message}")]
    Shape {
        line: u64,
        message: String,
        message_zh: String,
    },
    #[error("reading the file: {0}")]
    Io(String),
}

fn io(e: impl std::fmt::Display) -> FileError {
    FileError::Io(e.to_string())
}

/// Decodes `input` into UTF-8 text written to `out`, without replacing anything: the first byte
/// sequence the charset does not allow is reported with its line. A byte-order mark is dropped.
pub fn decode(input: impl Read, charset: Charset, mut out: impl Write) -> Result<(), FileError> {
    let (encoding, name) = match charset {
        Charset::Utf8 => (encoding_rs::UTF_8, "UTF-8"),
        Charset::Gb18030 => (encoding_rs::GB18030, "GB18030"),
    };
    let mut decoder = encoding.new_decoder_with_bom_removal();
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut text = String::with_capacity(1 << 17);
    let mut line = 1u64;
    loop {
        let chunk = reader.fill_buf().map_err(io)?;
        let last = chunk.is_empty();
        let mut consumed = 0;
        loop {
            text.reserve(
                decoder
                    .max_utf8_buffer_length_without_replacement(chunk.len() - consumed)
                    .unwrap_or(1 << 17)
                    .max(16),
            );
            let (result, read) =
                decoder.decode_to_string_without_replacement(&chunk[consumed..], &mut text, last);
            consumed += read;
            match result {
                encoding_rs::DecoderResult::InputEmpty => break,
                encoding_rs::DecoderResult::OutputFull => continue,
                encoding_rs::DecoderResult::Malformed(_, _) => {
                    line += text.bytes().filter(|b| *b == b'\n').count() as u64;
                    return Err(FileError::Encoding {
                        line,
                        charset: name,
                    });
                }
            }
        }
        line += text.bytes().filter(|b| *b == b'\n').count() as u64;
        out.write_all(text.as_bytes()).map_err(io)?;
        text.clear();
        reader.consume(consumed);
        if last {
            return Ok(());
        }
    }
}

/// Reads the rows of UTF-8 text, calling `each` in file order. A CSV file's key header row
/// (`task_id,…`) must come within its first two rows; unknown columns are refused.
pub fn read_rows(
    text: impl Read,
    format: Format,
    mut each: impl FnMut(Row) -> Result<(), FileError>,
) -> Result<u64, FileError> {
    let mut n = 0u64;
    match format {
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text);
            let mut positions: Option<Vec<Option<usize>>> = None;
            let mut record = csv::StringRecord::new();
            let mut seen = 0;
            while r.read_record(&mut record).map_err(|e| shape_of_csv(&e))? {
                let line = record.position().map_or(0, |p| p.line());
                seen += 1;
                let Some(pos) = &positions else {
                    if record.get(0).map(str::trim) == Some("task_id") {
                        positions = Some(header(&record, line)?);
                    } else if seen >= 2 {
                        return Err(FileError::Shape {
                            line,
                            message: "the header row of keys (task_id, domain, …) is missing"
                                .into(),
                            message_zh: "缺少列名行（task_id、domain……）".into(),
                        });
                    }
                    continue;
                };
                if record.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                let mut row = Row {
                    line,
                    ..Row::default()
                };
                for (i, p) in pos.iter().enumerate() {
                    if let Some(p) = p {
                        row.cells[*p] = record
                            .get(i)
                            .map(str::trim)
                            .filter(|c| !c.is_empty())
                            .map(str::to_owned);
                    }
                }
                n += 1;
                each(row)?;
            }
            if positions.is_none() {
                return Err(FileError::Shape {
                    line: 1,
                    message: "the file has no header row of keys".into(),
                    message_zh: "文件缺少列名行".into(),
                });
            }
        }
        Format::Jsonl => {
            let reader = BufReader::new(text);
            for (i, l) in reader.lines().enumerate() {
                let l = l.map_err(io)?;
                let line = i as u64 + 1;
                if l.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Map<String, Value> =
                    serde_json::from_str(&l).map_err(|e| FileError::Shape {
                        line,
                        message: format!("not a JSON object: {e}"),
                        message_zh: "该行不是 JSON 对象".into(),
                    })?;
                let mut row = Row {
                    line,
                    ..Row::default()
                };
                for (k, v) in v {
                    let Some(p) = COLUMNS.iter().position(|c| *c == k) else {
                        return Err(unknown(line, &k));
                    };
                    row.cells[p] = match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
                        other => Some(other.to_string()),
                    };
                }
                n += 1;
                each(row)?;
            }
        }
    }
    Ok(n)
}

fn unknown(line: u64, key: &str) -> FileError {
    FileError::Shape {
        line,
        message: format!("unknown column `{key}`"),
        message_zh: format!("未知列“{key}”"),
    }
}

fn header(record: &csv::StringRecord, line: u64) -> Result<Vec<Option<usize>>, FileError> {
    record
        .iter()
        .map(|k| {
            let k = k.trim();
            if k.is_empty() {
                return Ok(None);
            }
            COLUMNS
                .iter()
                .position(|c| *c == k)
                .map(Some)
                .ok_or_else(|| unknown(line, k))
        })
        .collect()
}

fn shape_of_csv(e: &csv::Error) -> FileError {
    FileError::Shape {
        line: e.position().map_or(0, |p| p.line()),
        message: format!("not readable as CSV: {e}"),
        message_zh: "无法按 CSV 读取".into(),
    }
}

/// Writes rows as the format's bytes: CSV with a byte-order mark and both header rows.
pub struct Writer<W: Write> {
    format: Format,
    csv: Option<csv::Writer<W>>,
    raw: Option<W>,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, format: Format) -> Result<Self, FileError> {
        match format {
            Format::Csv => {
                out.write_all("\u{feff}".as_bytes()).map_err(io)?;
                let mut w = csv::WriterBuilder::new().from_writer(out);
                w.write_record(COLUMNS_ZH).map_err(io)?;
                w.write_record(COLUMNS).map_err(io)?;
                Ok(Writer {
                    format,
                    csv: Some(w),
                    raw: None,
                })
            }
            Format::Jsonl => Ok(Writer {
                format,
                csv: None,
                raw: Some(out),
            }),
        }
    }

    pub fn row(&mut self, cells: &[Option<&str>; 13]) -> Result<(), FileError> {
        match (self.format, &mut self.csv, &mut self.raw) {
            (Format::Csv, Some(w), _) => w
                .write_record(cells.iter().map(|c| c.unwrap_or("")))
                .map_err(io),
            (_, _, Some(w)) => {
                let mut m = serde_json::Map::new();
                for (k, v) in COLUMNS.iter().zip(cells) {
                    m.insert(
                        (*k).to_owned(),
                        v.map_or(Value::Null, |s| Value::String(s.to_owned())),
                    );
                }
                serde_json::to_writer(&mut *w, &m).map_err(io)?;
                w.write_all(b"\n").map_err(io)
            }
            _ => Err(FileError::Io("writer in a bad state".into())),
        }
    }

    pub fn finish(self) -> Result<W, FileError> {
        match (self.csv, self.raw) {
            (Some(w), _) => w.into_inner().map_err(|e| io(e.error())),
            (_, Some(w)) => Ok(w),
            _ => Err(FileError::Io("writer in a bad state".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bytes: &[u8], charset: Charset, format: Format) -> Result<Vec<Row>, FileError> {
        let mut text = Vec::new();
        decode(bytes, charset, &mut text)?;
        let mut out = Vec::new();
        read_rows(&text[..], format, |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn written_files_read_back() {
        for format in [Format::Csv, Format::Jsonl] {
            let mut w = Writer::new(Vec::new(), format).unwrap();
            let mut cells: [Option<&str>; 13] = Default::default();
            cells[0] = Some("t1");
            cells[3] = Some("张三, \"老张\"");
            w.row(&cells).unwrap();
            let bytes = w.finish().unwrap();
            if format == Format::Csv {
                assert!(bytes.starts_with("\u{feff}".as_bytes()));
            }
            let got = rows(&bytes, Charset::Utf8, format).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].get("task_id"), Some("t1"));
            assert_eq!(got[0].get("name"), Some("张三, \"老张\""));
            assert_eq!(got[0].line, if format == Format::Csv { 3 } else { 1 });
        }
    }

    #[test]
    fn gb18030_reads_and_a_bad_byte_names_its_line() {
        let text = "task_id,name,count\nt1,张三,1\nt2,李四,0\n";
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        let got = rows(&bytes, Charset::Gb18030, Format::Csv).unwrap();
        assert_eq!(got[1].get("name"), Some("李四"));
        let mut bad = bytes.to_vec();
        let at = bad.iter().rposition(|b| *b == b'0').unwrap();
        bad[at] = 0xFF;
        assert_eq!(
            rows(&bad, Charset::Gb18030, Format::Csv),
            Err(FileError::Encoding {
                line: 3,
                charset: "GB18030"
            })
        );
        // GB18030 bytes are not UTF-8.
        assert!(matches!(
            rows(&bytes, Charset::Utf8, Format::Csv),
            Err(FileError::Encoding { line: 2, .. })
        ));
    }

    #[test]
    fn unknown_columns_and_missing_headers_are_refused() {
        assert!(matches!(
            rows(b"task_id,colour\nt1,red\n", Charset::Utf8, Format::Csv),
            Err(FileError::Shape { line: 1, .. })
        ));
        assert!(matches!(
            rows(b"a,b\nc,d\ne,f\n", Charset::Utf8, Format::Csv),
            Err(FileError::Shape { line: 2, .. })
        ));
        assert!(matches!(
            rows(
                b"{\"task_id\":\"t\",\"x\":1}\n",
                Charset::Utf8,
                Format::Jsonl
            ),
            Err(FileError::Shape { line: 1, .. })
        ));
        let got = rows(
            b"{\"task_id\":\"t\",\"count\":2}\n\n",
            Charset::Utf8,
            Format::Jsonl,
        )
        .unwrap();
        assert_eq!(got[0].get("count"), Some("2"));
    }
}
