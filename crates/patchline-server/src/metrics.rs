//! Prometheus metrics (`GET /metrics`, OpenMetrics text). Gauges of the queue and the
//! advisory DB's age are read from the store at scrape time; counters and histograms are
//! this process's.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// `webhook`, `slack`, `email`.
    pub channel: String,
    /// `ok`, `failed`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// This process's counters and histograms.
pub struct Metrics {
    /// Seconds from a scan job's start to its findings stored.
    pub scan_seconds: Histogram,
    /// Seconds of one rescan job (all the images it rematched).
    pub rescan_seconds: Histogram,
    /// Jobs this process finished, by kind and outcome.
    pub jobs_finished: Family<KindLabels, Counter>,
    pub jobs_failed: Family<KindLabels, Counter>,
    /// Notification deliveries by channel and outcome.
    pub deliveries: Family<ChannelLabels, Counter>,
    /// Registry events accepted.
    pub hook_events: Counter,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            scan_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
            rescan_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 16)),
            jobs_finished: Family::default(),
            jobs_failed: Family::default(),
            deliveries: Family::default(),
            hook_events: Counter::default(),
        }
    }
}

impl Metrics {
    /// Registers this process's metrics in `registry` (the scrape handler adds the gauges
    /// it reads from the store).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "patchline_scan_seconds",
            "Seconds from a scan job's start to its findings stored",
            self.scan_seconds.clone(),
        );
        registry.register(
            "patchline_rescan_seconds",
            "Seconds of one rescan job",
            self.rescan_seconds.clone(),
        );
        registry.register(
            "patchline_jobs_finished",
            "Jobs finished by this process",
            self.jobs_finished.clone(),
        );
        registry.register(
            "patchline_jobs_failed",
            "Job runs that failed in this process",
            self.jobs_failed.clone(),
        );
        registry.register(
            "patchline_notification_deliveries",
            "Notification delivery attempts",
            self.deliveries.clone(),
        );
        registry.register(
            "patchline_registry_events",
            "Registry events accepted",
            self.hook_events.clone(),
        );
    }
}
