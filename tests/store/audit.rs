//! The audit chain's events are appended when their transaction commits, not where they happen.

use diesel::connection::SimpleConnection;
use jiekun_store::audit::{self, Actor, Caller, EventFilter};
use jiekun_store::{Scope, StoreError};

use crate::common::{Backend, TestDb};

fn caller() -> Caller {
    Caller {
        actor: Actor {
            kind: "system",
            name: Some("store test".into()),
            ..Actor::default()
        },
        ..Caller::default()
    }
}

fn event(action: &str) -> audit::NewEvent {
    caller().event(action, "test", "1", serde_json::json!({}))
}

/// The test events on the chain, in chain order.
fn chained(c: &mut jiekun_store::DbConnection) -> Vec<String> {
    let filter = EventFilter {
        resource_type: Some("test".into()),
        ..EventFilter::default()
    };
    let (rows, _) = audit::list(c, &Scope::All, &filter, None, 100).unwrap();
    rows.into_iter().rev().map(|r| r.action).collect()
}

fn audit_events_are_appended_when_their_transaction_commits(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let done: Result<(), StoreError> = jiekun_store::write(&mut c, |c| {
        audit::append(c, event("t.first"))?;
        // Held until the commit: not on the chain yet, even inside the transaction.
        assert!(chained(c).is_empty());
        // A savepoint that fails takes its events with it; one that succeeds keeps them.
        let failed: Result<(), StoreError> = jiekun_store::write(c, |c| {
            audit::append(c, event("t.undone"))?;
            Err(StoreError::NotFound)
        });
        assert!(failed.is_err());
        jiekun_store::write(c, |c| audit::append(c, event("t.second")))?;
        Ok(())
    });
    done.unwrap();
    assert_eq!(chained(&mut c), ["t.first", "t.second"]);
    // A transaction that fails appends nothing.
    let failed: Result<(), StoreError> = jiekun_store::write(&mut c, |c| {
        audit::append(c, event("t.failed"))?;
        Err(StoreError::NotFound)
    });
    assert!(failed.is_err());
    // Outside a write transaction an event is appended at once.
    audit::append(&mut c, event("t.alone")).unwrap();
    assert_eq!(chained(&mut c), ["t.first", "t.second", "t.alone"]);
    let verified = audit::verify(&mut c).unwrap();
    assert!(verified.first_broken.is_none(), "{verified:?}");
}

crate::on_both_backends!(TestDb:
    audit_events_are_appended_when_their_transaction_commits,
);

/// Two write transactions on PostgreSQL overlap until their commits: one that has appended an
/// event does not hold the chain's head, so another commits its own meanwhile. (SQLite has one
/// writer at a time whatever the chain does.)
#[test]
fn postgres_writes_do_not_hold_the_chain_until_they_commit() {
    let Some(db) = TestDb::create(Backend::Postgres) else {
        return;
    };
    let mut first = db.pool.get().unwrap();
    let mut second = db.pool.get().unwrap();
    // Were the head still locked from the first append, the second would wait for it: it gives
    // up after two seconds instead of waiting forever.
    second.batch_execute("SET lock_timeout = '2s'").unwrap();
    let (appended, go_on) = (std::sync::mpsc::channel(), std::sync::mpsc::channel());
    std::thread::scope(|s| {
        let running = s.spawn(|| {
            let (tell, wait) = (appended.0, go_on.1);
            jiekun_store::write(&mut first, |c| -> Result<(), StoreError> {
                audit::append(c, event("t.opened_first"))?;
                tell.send(()).unwrap();
                wait.recv().unwrap();
                Ok(())
            })
        });
        appended.1.recv().unwrap();
        let meanwhile = jiekun_store::write(&mut second, |c| {
            audit::append(c, event("t.committed_first"))
        });
        go_on.0.send(()).unwrap();
        meanwhile.expect("the second write commits while the first is open");
        running.join().unwrap().unwrap();
    });
    assert_eq!(
        chained(&mut second),
        ["t.committed_first", "t.opened_first"],
        "chain order is commit order"
    );
    let verified = audit::verify(&mut second).unwrap();
    assert!(verified.first_broken.is_none(), "{verified:?}");
}
