//! Route53 record creates of concurrent applies, sent as one change batch.
//!
//! Route53 allows five requests a second for the whole account, and one
//! Terraform walk creates many tenants at once, each with one record. The
//! batcher is group commit: a create finding no batch of its zone in flight
//! is sent at once (no added latency when calm); creates arriving while one
//! is in flight wait and go together as the next batch. A batch is atomic on
//! Route53: when it is refused (one record exists), each of its records is
//! created alone, so one tenant's conflict is that tenant's only. Updates
//! and deletes (a rollback) go one by one, as before: a rollback never
//! undoes another tenant's record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::parts::{DnsRecordSpec, ObservedDnsRecord};
use crate::ports::{PortError, PortErrorKind, PortResult, Route53Api};

/// Changes one ChangeResourceRecordSets takes from the batcher (Route53
/// allows 1000; a smaller batch keeps one refusal's fallback short).
pub const MAX_BATCH: usize = 100;

type Waiting = (DnsRecordSpec, oneshot::Sender<PortResult<()>>);

/// A [`Route53Api`] whose record creates share change batches.
pub struct Route53Batcher {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Arc<dyn Route53Api>,
    /// Per zone: the creates waiting for the batch in flight to return.
    zones: Mutex<HashMap<String, ZoneQueue>>,
}

#[derive(Default)]
struct ZoneQueue {
    in_flight: bool,
    waiting: Vec<Waiting>,
}

impl Route53Batcher {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Route53Api>) -> Self {
        Route53Batcher {
            shared: Arc::new(Shared {
                inner,
                zones: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl Shared {
    /// The next batch of `zone`, or none (and the zone idle).
    fn next_batch(&self, zone: &str) -> Vec<Waiting> {
        let mut zones = self.zones.lock().unwrap_or_else(PoisonError::into_inner);
        let q = zones.entry(zone.to_owned()).or_default();
        let n = q.waiting.len().min(MAX_BATCH);
        let batch: Vec<Waiting> = q.waiting.drain(..n).collect();
        if batch.is_empty() {
            q.in_flight = false;
        }
        batch
    }

    /// Sends the zone's batches until none is waiting.
    async fn drain(self: Arc<Self>, zone: String) {
        loop {
            let batch = self.next_batch(&zone);
            if batch.is_empty() {
                return;
            }
            let (specs, replies): (Vec<DnsRecordSpec>, Vec<_>) = batch.into_iter().unzip();
            let results = self.send(&zone, &specs).await;
            for (reply, result) in replies.into_iter().zip(results) {
                // A caller that went away (its run stopped) needs no answer.
                let _ = reply.send(result);
            }
        }
    }

    /// One batch; refused as a whole, each record alone.
    async fn send(&self, zone: &str, specs: &[DnsRecordSpec]) -> Vec<PortResult<()>> {
        match self.inner.create_records(zone, specs).await {
            Ok(()) => specs.iter().map(|_| Ok(())).collect(),
            Err(e) if specs.len() > 1 && !e.is_retryable() => {
                tracing::info!(zone, records = specs.len(), error = %e, "a record batch was refused; creating each record alone");
                futures::future::join_all(specs.iter().map(|s| self.inner.create_record(s))).await
            }
            Err(e) => specs.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}

#[async_trait]
impl Route53Api for Route53Batcher {
    async fn list_records(&self, zone_id: &str) -> PortResult<Vec<ObservedDnsRecord>> {
        self.shared.inner.list_records(zone_id).await
    }

    async fn records_named(&self, zone_id: &str, names: &[String]) -> PortResult<Vec<ObservedDnsRecord>> {
        self.shared.inner.records_named(zone_id, names).await
    }

    async fn create_record(&self, spec: &DnsRecordSpec) -> PortResult<()> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut zones = self.shared.zones.lock().unwrap_or_else(PoisonError::into_inner);
            let q = zones.entry(spec.zone_id.clone()).or_default();
            q.waiting.push((spec.clone(), tx));
            !std::mem::replace(&mut q.in_flight, true)
        };
        if lead {
            // Its own task: a caller dropped mid-batch (a stopped run) must
            // not strand the others waiting behind it.
            tokio::spawn(self.shared.clone().drain(spec.zone_id.clone()));
        }
        rx.await.unwrap_or_else(|_| {
            Err(PortError::new(
                PortErrorKind::Transient,
                "BatchLost",
                "ChangeResourceRecordSets: the record batch ended without an answer",
            ))
        })
    }

    async fn create_records(&self, zone_id: &str, specs: &[DnsRecordSpec]) -> PortResult<()> {
        self.shared.inner.create_records(zone_id, specs).await
    }

    async fn upsert_record(&self, spec: &DnsRecordSpec) -> PortResult<()> {
        self.shared.inner.upsert_record(spec).await
    }

    async fn delete_record(&self, record: &ObservedDnsRecord) -> PortResult<()> {
        self.shared.inner.delete_record(record).await
    }

    async fn public_zone_named(&self, name: &str) -> PortResult<Option<String>> {
        self.shared.inner.public_zone_named(name).await
    }
}

#[cfg(test)]
mod tests;
