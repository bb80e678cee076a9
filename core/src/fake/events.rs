//! EventBridge: every event put is kept, in order, with its bus.
//!
//! AWS accepts events for a bus that does not exist and drops them (moto
//! refuses them with `ResourceNotFoundException`); the fake keeps every
//! event, so tests read what was sent, and refuses what AWS refuses: an
//! entry over 256 KB, a detail that is not JSON, a missing source or
//! detail-type.

use async_trait::async_trait;

use super::*;

fn check(event: &BusEvent) -> PortResult<()> {
    let size = event.entry_size();
    if size > MAX_EVENT_ENTRY_BYTES {
        return Err(invalid(
            "ValidationException",
            format!("PutEvents: the entry is {size} bytes; EventBridge takes at most {MAX_EVENT_ENTRY_BYTES}"),
        ));
    }
    if event.source.is_empty() || event.detail_type.is_empty() {
        return Err(invalid(
            "InvalidArgument",
            "PutEvents: the entry was refused: Source and DetailType are required arguments.",
        ));
    }
    if serde_json::from_str::<serde_json::Value>(&event.detail).is_err() {
        return Err(invalid(
            "MalformedDetail",
            "PutEvents: the entry was refused: Detail is malformed.",
        ));
    }
    Ok(())
}

#[async_trait]
impl EventsApi for Port {
    async fn put_event(&self, event: &BusEvent) -> PortResult<()> {
        self.0
            .call("events.PutEvents", &event.bus_name, |s| {
                check(event)?;
                s.events.push(event.clone());
                Ok(())
            })
            .await
    }
}
