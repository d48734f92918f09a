//! Keyset pagination: rows ordered by id (UUIDv7, so by creation), resumed after the last id seen.

/// Which page to read: at most `limit` rows with an id greater than `after`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id to resume after, when more rows follow.
    pub next_after: Option<String>,
}

impl PageRequest {
    /// The number of rows to fetch: one more than the page, to learn whether another follows.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    pub(crate) fn finish<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> &str) -> Page<T> {
        let limit = self.limit as usize;
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| id(r).to_owned())
        } else {
            None
        };
        Page {
            items: rows,
            next_after,
        }
    }
}
