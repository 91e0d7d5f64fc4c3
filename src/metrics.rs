//! What Herald counts for Prometheus (`GET /metrics`, served by `scrape`): requests by route
//! and status with their latencies, deliveries by outcome, and the gauges read from the
//! database when scraped (messages by channel and state, the oldest queued message, the
//! pools, the scheduler's lag). One [`Metrics`] per application (no global registry, so
//! several in one process, as in the tests, keep their own counts).

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route's pattern (`/api/tickets/{id}`), never the raw path.
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    channel: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    channel: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The delivery outcomes counted by the workers of this instance.
#[derive(Debug, Clone, Default)]
pub struct Deliveries(Family<OutcomeLabels, Counter>);

impl Deliveries {
    /// Counts `n` messages of `channel` (`email`, `sms`, `webhook`) with this outcome (`sent`,
    /// `delivered`, `undelivered`, `retry`, `failed`, `released`).
    pub fn count(&self, channel: &'static str, outcome: &'static str, n: u64) {
        self.0
            .get_or_create(&OutcomeLabels { channel, outcome })
            .inc_by(n);
    }
}

/// The gauges read when scraped.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// (channel, state, messages).
    pub messages: Vec<(String, String, i64)>,
    pub oldest_queued_age: Option<Duration>,
    /// (pool, connections open, of which idle, most allowed).
    pub pools: Vec<(&'static str, u32, u32, u32)>,
    /// How late the most overdue pending scheduled job is (zero when none is due).
    pub scheduler_lag: Duration,
}

#[derive(Debug, Clone)]
pub struct Metrics {
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    pub deliveries: Deliveries,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::new_with_constructor(latency_histogram),
            deliveries: Deliveries::default(),
        }
    }
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    /// One answered request (`route` is the matched pattern, or `unmatched`).
    pub fn request(&self, method: &axum::http::Method, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method_label(method),
                route: route.to_owned(),
                status,
            })
            .observe(took.as_secs_f64());
    }

    /// The text exposition format, counters and the scraped gauges together.
    pub fn render(&self, scrape: &Scrape) -> String {
        let mut registry = Registry::with_prefix("herald");
        registry.register(
            "http_request_duration_seconds",
            "Requests by route pattern, method and status, and how long they took",
            self.requests.clone(),
        );
        registry.register(
            "deliveries",
            "Messages whose delivery attempt ended, by channel and outcome, on this instance",
            self.deliveries.0.clone(),
        );
        let messages = Family::<MessageLabels, Gauge>::default();
        for (channel, state, n) in &scrape.messages {
            messages
                .get_or_create(&MessageLabels {
                    channel: channel.clone(),
                    state: state.clone(),
                })
                .set(*n);
        }
        registry.register("messages", "Messages by channel and state", messages);
        let oldest = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        oldest.set(scrape.oldest_queued_age.map_or(0.0, |d| d.as_secs_f64()));
        registry.register(
            "oldest_queued_message_age_seconds",
            "How long the oldest message still to deliver has waited (0 when none waits)",
            oldest,
        );
        let pools = Family::<PoolLabels, Gauge>::default();
        let max = Family::<PoolLabels, Gauge>::default();
        for (pool, size, idle, most) in &scrape.pools {
            let label = |state| PoolLabels { pool, state };
            pools.get_or_create(&label("idle")).set(i64::from(*idle));
            pools
                .get_or_create(&label("in_use"))
                .set(i64::from(size.saturating_sub(*idle)));
            max.get_or_create(&label("max")).set(i64::from(*most));
        }
        registry.register(
            "db_pool_connections",
            "Database connections of this instance by pool, idle or in use",
            pools,
        );
        registry.register(
            "db_pool_max_connections",
            "The most connections each pool may open",
            max,
        );
        let lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        lag.set(scrape.scheduler_lag.as_secs_f64());
        registry.register(
            "scheduler_lag_seconds",
            "How late the most overdue scheduled job is (0 when none is overdue)",
            lag,
        );
        let mut out = String::new();
        encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }
}
