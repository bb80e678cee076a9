//! `tenantctl`: bbws tenants from the command line, with nothing but
//! `bbws-core` — the engine the Terraform provider also uses. An example of
//! embedding the library: list an environment's tenants, show one (parts,
//! status, health), plan and apply a tenant described in YAML, destroy one.
//!
//! ```text
//! tenantctl --platform .bbws/settings.json list
//! tenantctl --platform .bbws/settings.json show 123456789012 --json
//! tenantctl --platform .bbws/settings.json plan -f tenant.yaml
//! tenantctl --platform .bbws/settings.json apply -f tenant.yaml
//! tenantctl --platform .bbws/settings.json destroy 123456789012
//! tenantctl --platform .bbws/settings.json orphans
//! tenantctl --platform .bbws/settings.json sweep 123456789012
//! tenantctl --platform .bbws/settings.json logs 123456789012 --since 10m --follow
//! tenantctl --platform .bbws/settings.json metrics 123456789012
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bbws_core::aws::{self, AwsSettings};
use bbws_core::engine::observe_and_plan;
use bbws_core::health::TenantHealth;
use bbws_core::{DatabaseSettings, Engine, ObservedTenant, Part, Platform, TenantInput};
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Parser)]
#[command(about = "bbws tenants from the command line, on bbws-core")]
struct Cli {
    /// The platform: a JSON or YAML file with the provider's settings
    /// (the local stack writes one to .bbws/settings.json).
    #[arg(long, global = true, default_value = ".bbws/settings.json")]
    platform: PathBuf,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every tenant of the environment, with its status.
    List,
    /// One tenant: parts, status, health.
    Show {
        /// The 12-digit tenant id.
        tenant_id: String,
    },
    /// What `apply` would change.
    Plan {
        /// The tenant, as YAML (the bbws_tenant attributes).
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Converges the tenant to the file.
    Apply {
        /// The tenant, as YAML (the bbws_tenant attributes).
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Destroys a tenant (its guards apply).
    Destroy {
        /// The 12-digit tenant id.
        tenant_id: String,
    },
    /// Tenants whose parts are incomplete (left by failed or killed runs),
    /// with their age and parts (SOP §7.2: documented, then cleaned).
    Orphans,
    /// Removes one orphan: its parts, and its database if it holds no
    /// table. Refuses complete tenants and tenants being created.
    Sweep {
        /// The 12-digit tenant id.
        tenant_id: String,
    },
    /// The tenant's log events (every stream of its log group), newest last.
    Logs {
        /// The 12-digit tenant id.
        tenant_id: String,
        /// How far back to start: `30s`, `10m`, `2h`, `1d`.
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        since: Duration,
        /// Keep reading new events (polling, less often while none come).
        #[arg(long)]
        follow: bool,
    },
    /// Requests, 5xx answers, response time, CPU and memory of the tenant
    /// (one GetMetricData call).
    Metrics {
        /// The 12-digit tenant id.
        tenant_id: String,
        /// The window, ending now: `1h`, `30m`, `1d`.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        window: Duration,
    },
}

/// The platform file: the provider block's settings.
#[derive(Deserialize)]
struct PlatformFile {
    environment: String,
    domain: String,
    region: Option<String>,
    endpoint: Option<String>,
    cluster: String,
    vpc_id: String,
    subnet_ids: Vec<String>,
    security_group_ids: Vec<String>,
    listener_arn: String,
    hosted_zone_id: String,
    efs_file_system_id: String,
    database: DatabaseFile,
    #[serde(default)]
    default_tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct DatabaseFile {
    instance_identifier: String,
    host: Option<String>,
    port: Option<u16>,
    admin_secret_arn: String,
    /// `VERIFY_IDENTITY` when unset.
    ssl_mode: Option<String>,
    /// A PEM file of CA certificates to trust (the stack's CA).
    ssl_ca_file: Option<String>,
}

/// A tenant file: the `bbws_tenant` attributes.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    name: String,
    contact_email: String,
    tenant_id: String,
    subdomain: Option<String>,
    tier: Option<String>,
    wordpress_version: Option<String>,
    php_version: Option<String>,
    image: Option<String>,
    cpu: Option<i64>,
    memory: Option<i64>,
    desired_count: Option<i64>,
    status: Option<String>,
    #[serde(default)]
    environment_variables: BTreeMap<String, String>,
    log_retention_days: Option<i64>,
    deletion_protection: Option<bool>,
    confirm_destroy: Option<String>,
    retain_data_on_destroy: Option<bool>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

impl From<TenantFile> for TenantInput {
    fn from(f: TenantFile) -> Self {
        TenantInput {
            name: f.name,
            contact_email: f.contact_email,
            tenant_id: Some(f.tenant_id),
            subdomain: f.subdomain,
            tier: f.tier,
            wordpress_version: f.wordpress_version,
            php_version: f.php_version,
            image: f.image,
            cpu: f.cpu,
            memory: f.memory,
            desired_count: f.desired_count,
            status: f.status,
            environment_variables: f.environment_variables,
            log_retention_days: f.log_retention_days,
            deletion_protection: f.deletion_protection,
            confirm_destroy: f.confirm_destroy,
            retain_data_on_destroy: f.retain_data_on_destroy,
            tags: f.tags,
            ..TenantInput::default()
        }
    }
}

type Failure = String;

fn read_yaml<T: for<'de> Deserialize<'de>>(path: &PathBuf) -> Result<T, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // YAML is a superset of JSON: one parser for both.
    serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn engine(path: &PathBuf) -> Result<Engine, Failure> {
    let f: PlatformFile = read_yaml(path)?;
    let environment = f
        .environment
        .parse()
        .map_err(|e| format!("{}: environment: {e}", path.display()))?;
    let platform = Platform {
        environment,
        domain: f.domain,
        region: f.region.clone().unwrap_or_default(),
        cluster: f.cluster,
        vpc_id: f.vpc_id,
        subnet_ids: f.subnet_ids,
        security_group_ids: f.security_group_ids,
        listener_arns: vec![f.listener_arn],
        max_tenants_per_listener: None,
        hosted_zone_id: f.hosted_zone_id,
        efs_file_system_id: f.efs_file_system_id,
        database: DatabaseSettings {
            instance_identifier: f.database.instance_identifier,
            host: f.database.host,
            port: f.database.port,
            admin_secret_arn: f.database.admin_secret_arn,
            ssl_mode: f
                .database
                .ssl_mode
                .as_deref()
                .and_then(|m| m.parse().ok())
                .unwrap_or_default(),
            ssl_ca: f
                .database
                .ssl_ca_file
                .as_deref()
                .and_then(|file| std::fs::read_to_string(file).ok()),
            ..DatabaseSettings::default()
        },
        default_tags: f.default_tags,
        backup: None,
        ..Platform::default()
    };
    let endpoints = f
        .endpoint
        .map(|e| {
            aws::ENDPOINT_KEYS
                .iter()
                .map(|k| ((*k).to_owned(), e.clone()))
                .collect()
        })
        .unwrap_or_default();
    let settings = AwsSettings {
        region: f.region,
        endpoints,
        ..AwsSettings::default()
    };
    Ok(Engine::new(Arc::new(platform), aws::connect(&settings).await))
}

/// A spinner on stderr for long operations; silent with `--json` or when
/// stderr is not a terminal.
fn spinner(json: bool, message: String) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn parts_json(o: &ObservedTenant) -> serde_json::Value {
    Part::ALL
        .iter()
        .map(|p| {
            (
                p.as_str().to_owned(),
                json!(if o.has(*p) { "present" } else { "missing" }),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[derive(Serialize)]
struct HealthView {
    running_count: u32,
    desired_count: u32,
    healthy_targets: usize,
    database_reachable: bool,
    database_error: Option<String>,
    http_status: Option<u16>,
    http_error: Option<String>,
    healthy: bool,
    /// `healthy`, `unhealthy` or `unknown` (a check errored).
    state: &'static str,
    /// Each check's state.
    checks: BTreeMap<&'static str, &'static str>,
    targets_error: Option<String>,
}

impl From<&TenantHealth> for HealthView {
    fn from(h: &TenantHealth) -> Self {
        HealthView {
            running_count: h.running_count,
            desired_count: h.desired_count,
            healthy_targets: h.healthy_targets(),
            database_reachable: h.database_reachable,
            database_error: h.database_error.clone(),
            http_status: h.http_status,
            http_error: h.http_error.clone(),
            healthy: h.is_healthy(),
            state: h.state().as_str(),
            checks: h.checks().into_iter().map(|(c, s)| (c, s.as_str())).collect(),
            targets_error: h.targets_error.clone(),
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let engine = engine(&cli.platform).await?;
    let domain = engine.platform().domain.clone();
    match cli.command {
        Command::List => {
            let bar = spinner(cli.json, "listing tenants".into());
            let all = engine.observe_all().await.map_err(|e| e.to_string())?;
            bar.finish_and_clear();
            let rows: Vec<_> = all
                .iter()
                .map(|o| {
                    let s = o.summary(engine.platform());
                    json!({
                        "tenant_id": s.tenant_id,
                        "name": s.name,
                        "subdomain": s.subdomain,
                        "status": s.status.as_str(),
                    })
                })
                .collect();
            if cli.json {
                println!("{}", json!(rows));
            } else {
                println!("{:<14} {:<12} {:<24} NAME", "TENANT", "STATUS", "SUBDOMAIN");
                for r in rows {
                    println!(
                        "{:<14} {:<12} {:<24} {}",
                        r["tenant_id"].as_str().unwrap_or_default(),
                        r["status"].as_str().unwrap_or_default(),
                        r["subdomain"].as_str().unwrap_or("-"),
                        r["name"].as_str().unwrap_or("-")
                    );
                }
            }
        }
        Command::Show { tenant_id } => {
            let bar = spinner(cli.json, format!("reading tenant {tenant_id}"));
            let o = engine.observe_by_id(&tenant_id).await.map_err(|e| e.to_string())?;
            if !o.exists() {
                return Err(format!("tenant {tenant_id} does not exist in this environment"));
            }
            let summary = o.summary(engine.platform());
            let sub = summary.subdomain.unwrap_or_else(|| tenant_id.clone());
            let url = format!("https://{sub}.{domain}");
            let health = engine.health(&o, &url).await;
            bar.finish_and_clear();
            let view = json!({
                "tenant_id": tenant_id,
                "name": summary.name,
                "url": url,
                "status": summary.status.as_str(),
                "parts": parts_json(&o),
                "health": HealthView::from(&health),
            });
            if cli.json {
                println!("{view}");
            } else {
                println!("tenant  {tenant_id} ({})", view["name"].as_str().unwrap_or("-"));
                println!("url     {url}\nstatus  {}", view["status"].as_str().unwrap_or_default());
                for p in Part::ALL {
                    println!("  {:<16} {}", p.as_str(), if o.has(p) { "present" } else { "MISSING" });
                }
                let checks = health.checks().map(|(c, s)| format!("{c} {}", s.as_str())).join(", ");
                println!("health  {} ({checks})", health.state().as_str());
                if let Some(e) = &health.targets_error {
                    println!("        targets unknown: {e}");
                }
                println!(
                    "        {}/{} tasks, {} healthy targets, database {}, site {}",
                    health.running_count,
                    health.desired_count,
                    health.healthy_targets(),
                    if health.database_reachable {
                        "reachable"
                    } else {
                        "UNREACHABLE"
                    },
                    health
                        .http_status
                        .map_or_else(|| health.http_error.clone().unwrap_or_default(), |s| s.to_string())
                );
            }
        }
        Command::Plan { file } => {
            let input: TenantInput = read_yaml::<TenantFile>(&file)?.into();
            let spec = input
                .resolve(engine.platform().clone())
                .map_err(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))?;
            let (_, plan) = observe_and_plan(&engine, &spec, &[]).await.map_err(|e| e.to_string())?;
            if cli.json {
                let changes: Vec<_> = plan
                    .changes
                    .iter()
                    .map(|c| json!({"part": c.part.as_str(), "action": c.action.to_string()}))
                    .collect();
                println!(
                    "{}",
                    json!({"tenant_id": spec.tenant_id, "changes": changes, "empty": plan.is_empty()})
                );
            } else {
                println!("{plan}");
            }
        }
        Command::Apply { file } => {
            let input: TenantInput = read_yaml::<TenantFile>(&file)?.into();
            let spec = input
                .resolve(engine.platform().clone())
                .map_err(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))?;
            let bar = spinner(cli.json, format!("applying tenant {}", spec.tenant_id));
            let (observed, plan) = observe_and_plan(&engine, &spec, &[]).await.map_err(|e| e.to_string())?;
            let after = engine.apply(&spec, &observed, &plan).await.map_err(|e| e.to_string())?;
            // tenantctl keeps no state that could still be lost: done is done.
            engine.confirm_applied(&after).await;
            bar.finish_and_clear();
            let out = after.outputs(&spec.names());
            let view = json!({
                "tenant_id": spec.tenant_id,
                "url": out.url,
                "changed": !plan.is_empty(),
                "status": after.status().as_str(),
                "service_arn": out.service_arn,
            });
            if cli.json {
                println!("{view}");
            } else if plan.is_empty() {
                println!("tenant {} is up to date: {}", spec.tenant_id, out.url);
            } else {
                println!("{plan}\napplied: {}", out.url);
            }
        }
        Command::Orphans => print_orphans(&engine, cli.json).await?,
        Command::Logs {
            tenant_id,
            since,
            follow,
        } => print_logs(&engine, &tenant_id, since, follow, cli.json).await?,
        Command::Metrics { tenant_id, window } => print_metrics(&engine, &tenant_id, window, cli.json).await?,
        Command::Sweep { tenant_id } => {
            let report = engine.sweep(&tenant_id).await.map_err(|e| e.to_string())?;
            print_report(&tenant_id, "swept", &report, cli.json);
        }
        Command::Destroy { tenant_id } => {
            let bar = spinner(cli.json, format!("destroying tenant {tenant_id}"));
            let first = engine
                .observe_tenant(&tenant_id, &[])
                .await
                .map_err(|e| e.to_string())?;
            let input = first
                .recovered_input(engine.platform())
                .ok_or_else(|| format!("tenant {tenant_id} has no settings secret; nothing bbws made to destroy"))?;
            let spec = input
                .resolve(engine.platform().clone())
                .map_err(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))?;
            let observed = engine
                .observe_tenant(&tenant_id, std::slice::from_ref(&spec.subdomain))
                .await
                .map_err(|e| e.to_string())?;
            let plan = bbws_core::plan_destroy(&spec, &observed);
            let report = engine
                .destroy(&spec, &observed, &plan)
                .await
                .map_err(|e| e.to_string())?;
            bar.finish_and_clear();
            print_report(&tenant_id, "destroyed", &report, cli.json);
        }
    }
    Ok(())
}

async fn print_orphans(engine: &Engine, json_out: bool) -> Result<(), Failure> {
    let orphans = engine.orphans().await.map_err(|e| e.to_string())?;
    let parts = |ps: &[Part]| ps.iter().map(|p| p.as_str()).collect::<Vec<_>>();
    if json_out {
        let rows: Vec<_> = orphans
            .iter()
            .map(|o| {
                json!({
                    "tenant_id": o.tenant_id,
                    "age_seconds": o.age.map(|a| a.as_secs()),
                    "present": parts(&o.present),
                    "missing": parts(&o.missing),
                    "being_created": o.being_created,
                })
            })
            .collect();
        println!("{}", json!(rows));
        return Ok(());
    }
    println!("{:<14} {:<10} PARTS PRESENT (MISSING)", "TENANT", "AGE");
    for o in &orphans {
        let age = o.age.map_or("-".to_owned(), |a| format!("{}m", a.as_secs() / 60));
        let note = if o.being_created { "  [being created]" } else { "" };
        println!(
            "{:<14} {:<10} {} ({}){note}",
            o.tenant_id,
            age,
            parts(&o.present).join(","),
            parts(&o.missing).join(",")
        );
    }
    Ok(())
}

/// Prints the tenant's events from `since` ago, oldest first; with
/// `follow`, keeps polling (the engine's backoff) until interrupted.
async fn print_logs(
    engine: &Engine,
    tenant_id: &str,
    since: Duration,
    follow: bool,
    json_out: bool,
) -> Result<(), Failure> {
    let from = SystemTime::now().checked_sub(since).unwrap_or(UNIX_EPOCH);
    let mut tail = engine.tail_logs(tenant_id, from).await.map_err(|e| e.to_string())?;
    loop {
        for e in engine.read_logs(&mut tail).await.map_err(|e| e.to_string())? {
            let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(e.timestamp_ms).unwrap_or(0));
            let time = humantime::format_rfc3339_millis(at).to_string();
            if json_out {
                println!(
                    "{}",
                    json!({"timestamp": time, "stream": e.stream, "message": e.message})
                );
            } else {
                println!("{time} {} {}", e.stream, e.message.trim_end());
            }
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(tail.pause()).await;
    }
}

/// Prints the tenant's metrics: one line per metric with a small chart
/// of its points (a blank where a period has no data), or JSON.
async fn print_metrics(engine: &Engine, tenant_id: &str, window: Duration, json_out: bool) -> Result<(), Failure> {
    let m = engine
        .tenant_metrics(tenant_id, window, SystemTime::now())
        .await
        .map_err(|e| e.to_string())?;
    if json_out {
        let metrics: serde_json::Map<String, serde_json::Value> = m
            .metrics
            .iter()
            .map(|x| (x.name.to_owned(), json!({"unit": x.unit, "points": x.points})))
            .collect();
        let view = json!({"tenant_id": tenant_id, "start": m.start, "end": m.end,
            "period_seconds": m.period_seconds, "metrics": metrics});
        println!("{view}");
        return Ok(());
    }
    println!(
        "tenant {tenant_id}: the last {}, one point per {} s",
        humantime::format_duration(window),
        m.period_seconds
    );
    for x in &m.metrics {
        let values: Vec<f64> = x.points.iter().map(|(_, v)| *v).collect();
        let summary = match (x.unit, values.is_empty()) {
            (_, true) => "no data".to_owned(),
            ("count", false) => format!("total {}", values.iter().sum::<f64>()),
            (unit, false) => format!("max {:.2} {unit}", values.iter().copied().fold(f64::MIN, f64::max)),
        };
        println!("  {:<14} {}  {summary}", x.name, chart(&m, &x.points));
    }
    Ok(())
}

/// One character per period of the window, `▁` (lowest) to `█` (highest).
fn chart(m: &bbws_core::engine::TenantMetrics, points: &[(i64, f64)]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let period = i64::from(m.period_seconds.max(1));
    let slots = usize::try_from((m.end - m.start) / period).unwrap_or(0);
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let mut row = vec![' '; slots];
    for (t, v) in points {
        let slot = usize::try_from((t - m.start) / period).unwrap_or(usize::MAX);
        if let Some(c) = row.get_mut(slot) {
            let level = if max > 0.0 { (v / max * 7.0).round() } else { 0.0 };
            *c = BARS[(level as usize).min(7)];
        }
    }
    row.into_iter().collect()
}

fn print_report(tenant_id: &str, verb: &str, report: &bbws_core::engine::DestroyReport, json_out: bool) {
    let deleted: Vec<&str> = report.deleted.iter().map(|p| p.as_str()).collect();
    if json_out {
        println!(
            "{}",
            json!({"tenant_id": tenant_id, "deleted": deleted, "retained": report.retained})
        );
    } else {
        println!("{verb} {tenant_id}: {}", deleted.join(", "));
        for r in &report.retained {
            println!("kept: {r}");
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenantctl: {e}");
            ExitCode::FAILURE
        }
    }
}
