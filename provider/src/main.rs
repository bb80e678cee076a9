//! `terraform-provider-bbws`: the Terraform plugin (protocol 6.10) for
//! bbws tenants. A thin adapter: the protocol lives in `protocol`, the
//! mapping to `bbws-core` in `tenant` and `config`, the handlers in `server`,
//! the RPC routing in `grpc`.

mod config;
mod data_sources;
#[cfg(test)]
mod docs;
mod grpc;
mod list_tenant;
mod protocol;
mod server;
mod tenant;

use tracing_subscriber::EnvFilter;

/// Logs go to stderr as hclog JSON lines, where Terraform collects them;
/// the level follows `TF_LOG_PROVIDER` or `TF_LOG` as Terraform users set
/// them. Nothing logged carries a secret: passwords travel as
/// `DbPassword`, whose Debug is redacted, and values are never logged.
fn init_logging() {
    let level = std::env::var("TF_LOG_PROVIDER")
        .or_else(|_| std::env::var("TF_LOG"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let filter = match level.as_str() {
        "trace" | "json" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" => "warn",
        "error" => "error",
        _ => "off",
    };
    let filter = EnvFilter::new(format!(
        "{filter},h2=off,hyper=off,tower=off,rustls=off,aws_smithy_runtime=warn,aws_config=warn"
    ));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(protocol::log::HclogJson)
        .try_init();
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    init_logging();
    if let Err(e) = protocol::plugin::serve(grpc::BbwsProvider::default()).await {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
