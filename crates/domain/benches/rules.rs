//! `identify` and `assess_exit` over 1,000,000 generated households, on one core.
//! Target: at least 2 million households per second for `identify`.

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiekun_domain::household::{HealthStatus, IncomeKind, Month, Relation, WorkStatus};
use jiekun_domain::national_id::Sex;
use jiekun_domain::rules::{
    assess_exit, default_book, identify, AssetsSnap, AssistanceSnap, ExitPolicy, IncomeSnap,
    MemberSnap, Snapshot,
};

const HOUSEHOLDS: usize = 1_000_000;

/// A small deterministic generator (xorshift), so the bench needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn households(date: NaiveDate) -> Vec<Snapshot> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let this = Month::of(date);
    (0..HOUSEHOLDS)
        .map(|h| {
            let n = 1 + rng.below(4) as usize;
            let members: Vec<MemberSnap> = (0..n)
                .map(|i| MemberSnap {
                    id: format!("{h}-{i}"),
                    relation: if i == 0 {
                        Relation::Worker
                    } else {
                        Relation::Child
                    },
                    included: true,
                    birth_date: NaiveDate::from_ymd_opt(
                        1960 + rng.below(55) as i32,
                        1 + rng.below(12) as u32,
                        1,
                    )
                    .unwrap(),
                    sex: if rng.below(2) == 0 {
                        Sex::Male
                    } else {
                        Sex::Female
                    },
                    work_status: [
                        WorkStatus::Employed,
                        WorkStatus::Unemployed,
                        WorkStatus::Student,
                        WorkStatus::Retired,
                    ][rng.below(4) as usize],
                    health: [
                        None,
                        Some(HealthStatus::Healthy),
                        Some(HealthStatus::SeriousIllness),
                    ][rng.below(3) as usize],
                })
                .collect();
            let mut incomes = Vec::with_capacity(24);
            for m in members
                .iter()
                .filter(|m| m.work_status == WorkStatus::Employed)
            {
                let base = 60_000 + rng.below(300_000) as i64;
                let mut month = this;
                for _ in 0..12 {
                    month = month.prev();
                    incomes.push(IncomeSnap {
                        member_id: Some(m.id.clone()),
                        month: month.key(),
                        kind: IncomeKind::Wage,
                        amount_fen: base,
                        verified: rng.below(2) == 0,
                    });
                }
            }
            Snapshot {
                household_id: h.to_string(),
                region_code: "610724".into(),
                assessment_date: date,
                members,
                incomes,
                expenditures: Vec::new(),
                assets: AssetsSnap::default(),
                main_cause: 1 + rng.below(10) as u8,
                secondary_causes: Vec::new(),
                resolved_causes: Vec::new(),
                single_parent: rng.below(10) == 0,
                disability_household: rng.below(8) == 0,
                accident: None,
                assistance: AssistanceSnap::default(),
                verified: Vec::new(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let date = NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
    let book = default_book();
    let policy = book.resolve("610724", date).unwrap();
    let exit_policy = ExitPolicy::resolve(&book, "610724", date).unwrap();
    let all = households(date);
    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(HOUSEHOLDS as u64));
    group.sample_size(10);
    group.bench_function("identify_1m_households", |b| {
        b.iter(|| {
            let mut deep = 0usize;
            for s in &all {
                deep += usize::from(identify(s, &policy).verdict.rank() == 3);
            }
            criterion::black_box(deep)
        })
    });
    group.bench_function("assess_exit_1m_households", |b| {
        b.iter(|| {
            let mut out = 0usize;
            for s in &all {
                out += usize::from(assess_exit(s, &exit_policy).consecutive_months_above == 6);
            }
            criterion::black_box(out)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
