//! Logs in go-hclog's JSON line format on stderr. go-plugin reads a
//! plugin's stderr line by line; a JSON line with `@level`, `@message` and
//! `@timestamp` becomes a structured entry of Terraform's log at that
//! level, which is what `TF_LOG` / `TF_LOG_PROVIDER` then show. Anything
//! else would be logged as unstructured debug output.

use std::fmt;
use std::time::SystemTime;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats each event as one hclog JSON line.
pub struct HclogJson;

struct Fields(Map<String, Json>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Json::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Json::String(format!("{value:?}")));
    }
}

fn level(l: &Level) -> &'static str {
    match *l {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

impl<S, N> FormatEvent<S, N> for HclogJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let mut line = Map::new();
        line.insert("@level".into(), level(event.metadata().level()).into());
        let message = fields.0.remove("message").unwrap_or(Json::String(String::new()));
        line.insert("@message".into(), message);
        line.insert("@module".into(), event.metadata().target().replace("::", ".").into());
        line.insert("@timestamp".into(), bbws_core::audit::rfc3339(SystemTime::now()).into());
        line.extend(fields.0);
        writeln!(w, "{}", Json::Object(line))
    }
}
