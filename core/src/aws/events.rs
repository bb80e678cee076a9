//! EventBridge: one `PutEvents` entry per call.
//!
//! PutEvents answers 200 even when it refused the entry: the answer's
//! `FailedEntryCount` and the entry's `ErrorCode` say so, and that is an
//! error here, classified by the code like any service error (the SDK's
//! retries never see it: throttling of an entry comes back as a success).

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::DateTime;

use super::error::{Endpoint, code_kind, on};
use crate::ports::{BusEvent, EventsApi, MAX_EVENT_ENTRY_BYTES, PortError, PortErrorKind, PortResult};

/// [`EventsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsEvents {
    client: Client,
    ep: Endpoint,
}

impl AwsEvents {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsEvents { client, ep }
    }
}

/// An entry too large for EventBridge: refused before it is sent, as AWS
/// would refuse it.
pub(crate) fn too_large(event: &BusEvent) -> Option<PortError> {
    let size = event.entry_size();
    (size > MAX_EVENT_ENTRY_BYTES).then(|| {
        PortError::new(
            PortErrorKind::InvalidInput,
            "ValidationException",
            format!("PutEvents: the entry is {size} bytes; EventBridge takes at most {MAX_EVENT_ENTRY_BYTES}"),
        )
    })
}

/// The error of an entry PutEvents refused (`ErrorCode`, `ErrorMessage`).
pub(crate) fn entry_error(code: &str, message: &str) -> PortError {
    let kind = code_kind(code).unwrap_or(PortErrorKind::Other);
    PortError::new(kind, code, format!("PutEvents: the entry was refused: {message}"))
}

#[async_trait]
impl EventsApi for AwsEvents {
    async fn put_event(&self, event: &BusEvent) -> PortResult<()> {
        let op = "PutEvents";
        if let Some(e) = too_large(event) {
            return Err(e);
        }
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&event.bus_name)
            .source(&event.source)
            .detail_type(&event.detail_type)
            .detail(&event.detail)
            .set_resources(Some(event.resources.clone()))
            .time(DateTime::from(event.time))
            .build();
        let r = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        let failed = r
            .entries()
            .iter()
            .find(|e| e.error_code().is_some_and(|c| !c.is_empty()));
        match (r.failed_entry_count(), failed) {
            (0, None) => Ok(()),
            (_, Some(e)) => Err(entry_error(
                e.error_code().unwrap_or_default(),
                e.error_message().unwrap_or_default(),
            )),
            (n, None) => Err(PortError::new(
                PortErrorKind::Other,
                op,
                format!("PutEvents: {n} entry failed without an error code"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_entry_is_classified_by_its_code() {
        assert_eq!(
            entry_error("ThrottlingException", "Rate exceeded").kind,
            PortErrorKind::Transient
        );
        assert!(entry_error("ThrottlingException", "Rate exceeded").is_retryable());
        assert_eq!(entry_error("InternalFailure", "").kind, PortErrorKind::Transient);
        assert_eq!(
            entry_error("MalformedDetail", "Detail is malformed.").kind,
            PortErrorKind::InvalidInput
        );
        assert_eq!(
            entry_error("AccessDeniedException", "no").kind,
            PortErrorKind::AccessDenied
        );
        assert_eq!(entry_error("SomethingNew", "?").kind, PortErrorKind::Other);
    }
}
