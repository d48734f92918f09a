//! `jiekun serve`: the HTTP server, with limits that keep slow or idle clients from starving
//! the others, and a graceful stop.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use jiekun_api::{AppConfig, AppState};
use jiekun_store::Pool;

/// How the server treats connections.
#[derive(Args, Clone)]
pub struct Connections {
    /// Milliseconds a client has to send the head of a request; a slower one (slowloris) gets
    /// 408 and its connection is closed.
    #[arg(
        long,
        env = "JIEKUN_CLIENT_REQUEST_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub client_request_timeout_ms: u64,
    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, env = "JIEKUN_KEEP_ALIVE", default_value_t = 15)]
    pub keep_alive: u64,
    /// Most connections each worker holds at once; further clients wait to be accepted.
    #[arg(long, env = "JIEKUN_MAX_CONNECTIONS", default_value_t = 1_024)]
    pub max_connections: usize,
    /// On SIGTERM or SIGINT the server stops accepting and lets the requests in flight finish
    /// for up to this many seconds before it exits.
    #[arg(long, env = "JIEKUN_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Serve Prometheus metrics at `/metrics` on this address (an internal one: it is not
    /// authenticated). Unset, there is no metrics endpoint.
    #[arg(long, env = "JIEKUN_METRICS_BIND")]
    pub metrics_bind: Option<String>,
}

/// Latency buckets, in seconds, of every `*_seconds` histogram.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the Prometheus recorder and starts the metrics listener on `bind`, sampling the pool's
/// usage at each scrape.
fn metrics_server(bind: &str, pool: Pool) -> anyhow::Result<actix_web::dev::Server> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .context("metric buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    // Histogram samples wait in the recorder until they are drained: by a scrape, and at least
    // every 5 s here, so that an unscraped endpoint does not grow without bound.
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            upkeep.run_upkeep();
        })
        .context("cannot start the metrics upkeep")?;
    let max = f64::from(pool.max_size());
    let server = actix_web::HttpServer::new(move || {
        let (handle, pool) = (handle.clone(), pool.clone());
        actix_web::App::new().route(
            "/metrics",
            actix_web::web::get().to(move || {
                let (open, idle) = pool.usage();
                metrics::gauge!("db_pool_connections").set(f64::from(open));
                metrics::gauge!("db_pool_idle_connections").set(f64::from(idle));
                metrics::gauge!("db_pool_max_connections").set(max);
                let body = handle.render();
                async move {
                    actix_web::HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4; charset=utf-8")
                        .body(body)
                }
            }),
        )
    })
    .workers(1)
    .bind(bind)
    .with_context(|| format!("cannot listen on {bind} for metrics"))?;
    for addr in server.addrs() {
        tracing::info!(%addr, "metrics");
        say!("  Metrics (Prometheus):  http://{addr}/metrics");
    }
    Ok(server.run())
}

/// One allowed origin: `http(s)://host[:port]`, nothing after it (a browser's `Origin`).
pub fn origin(s: &str) -> Result<String, String> {
    let s = s.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("an origin starts with https:// or http://")?;
    let ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not an origin: scheme, host and port only, e.g. https://app.example.cn"
        ))
    }
}

#[actix_web::main]
pub async fn serve(
    pool: Pool,
    bind: &str,
    workers: Option<usize>,
    connections: &Connections,
    config: AppConfig,
) -> anyhow::Result<()> {
    let metrics = match &connections.metrics_bind {
        Some(bind) => Some(metrics_server(bind, pool.clone())?),
        None => None,
    };
    let pool_size = pool.max_size();
    let state = AppState::new(pool, &config);
    let backend = state.db.pool.backend();
    let limits = if state.auth.login_failures_per_user.is_shared() {
        "shared in the database"
    } else {
        "in this process"
    };
    tracing::info!(backend, limits, "sign-in throttles and API-key limits");
    let mut server = actix_web::HttpServer::new(move || jiekun_api::app(state.clone()))
        .client_request_timeout(Duration::from_millis(connections.client_request_timeout_ms))
        .keep_alive(Duration::from_secs(connections.keep_alive))
        .max_connections(connections.max_connections.max(1))
        .shutdown_timeout(connections.shutdown_timeout)
        .bind(bind)
        .with_context(|| format!("cannot listen on {bind}"))?;
    // On PostgreSQL, short reads run on the HTTP workers while a connection is idle (`db::run`):
    // half as many workers as the pool has connections keep that many reads under way at once,
    // and leave the other half to the work on blocking threads. With one worker per connection,
    // a page of a list held more requests behind it on each worker (on 2 cores with the pool of
    // 8, get-by-id at 64 connections ran alike with 4 workers as with 8, and the list's p99 went
    // from 53-58 ms to 34-43 ms; with 2 workers get-by-id lost a sixth).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let half_the_pool = (pool_size as usize / 2).max(cores);
    let workers = workers.or((backend == "postgres").then_some(half_the_pool));
    if let Some(w) = workers {
        server = server.workers(w);
    }
    for addr in server.addrs() {
        let base = format!("http://{addr}");
        tracing::info!(%base, backend, "serving");
        say!("jiekun is serving on {base} ({backend})");
        say!("  API docs (Swagger UI): {base}{}", jiekun_api::DOCS_PATH);
        say!(
            "  OpenAPI document:      {base}{}",
            jiekun_api::OPENAPI_PATH
        );
    }
    // The metrics listener stops on the same signals; it is stopped here too when the API stops.
    let metrics = metrics.map(|m| {
        let handle = m.handle();
        actix_web::rt::spawn(m);
        handle
    });
    server.run().await?;
    if let Some(m) = metrics {
        m.stop(false).await;
    }
    tracing::info!("stopped");
    say!("jiekun stopped");
    Ok(())
}
