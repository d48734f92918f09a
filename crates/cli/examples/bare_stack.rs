//! The bare stack `make bench` measures jiekun against: actix-web + diesel + r2d2 and nothing
//! else — no authentication, no scope, no audit, no encryption. It serves the same paths as the
//! benchmark scripts request, so that the same wrk scripts drive both:
//!
//! - `GET /api/v1/households/{id}`: one row by primary key, as JSON;
//! - `POST /api/v1/households`: one row inserted;
//!
//! over a table of `--rows` rows (created and filled on start when it holds fewer) of about the
//! width of a household row. The ids are written to `--ids FILE` for the wrk scripts.
//!
//! ```text
//! cargo run --release -p jiekun-cli --example bare_stack -- sqlite://target/bench/bare.db 127.0.0.1:18081 100000 target/bench/bare-ids.txt
//! ```

use actix_web::{get, post, web, App, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sql_types::{BigInt, Text};

diesel::table! {
    bare_households (id) {
        id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        name_enc -> Text,
        address -> Text,
        status -> Text,
        main_cause -> BigInt,
        version -> BigInt,
        created_at -> Text,
    }
}

#[derive(Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = bare_households)]
struct Row {
    id: String,
    organisation_path: String,
    region_code: String,
    name_enc: String,
    address: String,
    status: String,
    main_cause: i64,
    version: i64,
    created_at: String,
}

fn row(i: u64) -> Row {
    Row {
        id: format!("01J{:023}", i),
        organisation_path: "/01JCITY0000000000000000000/01JCOUNTY00000000000000000/".into(),
        region_code: "610724".into(),
        name_enc: format!("v1:{:064x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        address: format!("西乡县城关镇{}号", i % 1000),
        status: ["draft", "filed", "monitoring"][(i % 3) as usize].into(),
        main_cause: (i % 10 + 1) as i64,
        version: 1,
        created_at: "2026-01-01T00:00:00".into(),
    }
}

const CREATE: &str = "CREATE TABLE IF NOT EXISTS bare_households (id TEXT PRIMARY KEY, \
    organisation_path TEXT NOT NULL, region_code TEXT NOT NULL, name_enc TEXT NOT NULL, \
    address TEXT NOT NULL, status TEXT NOT NULL, main_cause BIGINT NOT NULL, \
    version BIGINT NOT NULL, created_at TEXT NOT NULL)";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The same connection settings jiekun uses on SQLite: WAL, a busy timeout, a memory map.
#[derive(Debug)]
struct Wal;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Wal {
    fn on_acquire(&self, c: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        c.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA mmap_size = 1073741824;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

macro_rules! stack {
    ($conn:ty, $pool:expr, $bind:expr) => {{
        type P = Pool<ConnectionManager<$conn>>;

        #[get("/api/v1/households/{id}")]
        async fn get_one(pool: web::Data<P>, id: web::Path<String>) -> HttpResponse {
            let found = web::block(move || {
                let mut c = pool.get().expect("connection");
                bare_households::table
                    .find(id.into_inner())
                    .select(Row::as_select())
                    .first(&mut c)
                    .optional()
            })
            .await;
            match found {
                Ok(Ok(Some(r))) => HttpResponse::Ok().json(r),
                Ok(Ok(None)) => HttpResponse::NotFound().finish(),
                _ => HttpResponse::InternalServerError().finish(),
            }
        }

        #[post("/api/v1/households")]
        async fn create(pool: web::Data<P>) -> HttpResponse {
            let done = web::block(move || {
                let mut c = pool.get().expect("connection");
                let r = row(rand::random::<u64>() >> 1);
                diesel::insert_into(bare_households::table)
                    .values(&r)
                    .execute(&mut c)
                    .map(|_| r)
            })
            .await;
            match done {
                Ok(Ok(r)) => HttpResponse::Created().json(r),
                _ => HttpResponse::InternalServerError().finish(),
            }
        }

        let pool: P = $pool;
        HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(pool.clone()))
                .service(get_one)
                .service(create)
        })
        .bind($bind)?
        .run()
        .await
    }};
}

/// Creates the table, fills it up to `rows` rows in transactions of 2,000, and writes 20,000 ids.
macro_rules! fill {
    ($c:expr, $rows:expr, $ids:expr) => {{
        let c = $c;
        c.batch_execute(CREATE)?;
        let have = diesel::sql_query("SELECT COUNT(*) AS n FROM bare_households")
            .get_result::<Count>(c)?
            .n as u64;
        let mut i = have;
        while i < $rows {
            let chunk: Vec<Row> = (i..(i + 2000).min($rows)).map(row).collect();
            c.transaction(|c| {
                for part in chunk.chunks(3000 / 9) {
                    diesel::insert_into(bare_households::table)
                        .values(part)
                        .execute(c)?;
                }
                diesel::QueryResult::Ok(())
            })?;
            i += 2000;
        }
        let sample: Vec<Id> =
            diesel::sql_query("SELECT id FROM bare_households LIMIT 20000").load(c)?;
        let text: String = sample.into_iter().map(|r| r.id + "\n").collect();
        std::fs::write($ids, text)?;
    }};
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, bind, rows, ids] = args.as_slice() else {
        anyhow::bail!("usage: bare_stack DATABASE_URL BIND ROWS IDS_FILE");
    };
    let rows: u64 = rows.parse()?;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut c = SqliteConnection::establish(path)?;
        c.batch_execute("PRAGMA journal_mode = WAL;")?;
        fill!(&mut c, rows, ids);
        let pool = Pool::builder()
            .max_size(8)
            .connection_customizer(Box::new(Wal))
            .build(ConnectionManager::<SqliteConnection>::new(path))?;
        stack!(SqliteConnection, pool, bind.as_str())?;
    } else {
        let mut c = PgConnection::establish(url)?;
        fill!(&mut c, rows, ids);
        let pool = Pool::builder()
            .max_size(8)
            .build(ConnectionManager::<PgConnection>::new(url.as_str()))?;
        stack!(PgConnection, pool, bind.as_str())?;
    }
    Ok(())
}
