//! Crash safety (issue 13, point 4) with the real terraform: an apply of a
//! few tenants is killed with SIGKILL — terraform and the provider, the
//! whole process group — at a seeded random moment, in several rounds of
//! creates and updates. After each kill, one apply must converge: it
//! succeeds without a manual import, the plan after it is empty, and every
//! part exists exactly once (counted with boto3 and the mariadb client).
//!
//! The seed is `BBWS_KILL_SEED` (default 9); each round prints when it
//! killed and what the recovering apply said.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bbws_acceptance_tests::{FLEET_PARTS, FaultProxy, PROVIDER_BLOCK, Stack, Workdir, random_tenant_id};

const TENANTS: usize = 6;
/// Added to every AWS request of a killed apply: AWS's answers take tens
/// of milliseconds.
const LATENCY_MS: u64 = 60;
/// About how long the killed applies write, in milliseconds (measured at
/// LATENCY_MS): a create of six tenants, an update of them.
const CREATE_WRITES: u64 = 2000;
const UPDATE_WRITES: u64 = 800;
const PARALLELISM: &str = "-parallelism=6";

/// A small seeded generator (splitmix64): the kill moments are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

/// What one round changes, applied to every tenant.
#[derive(Clone, Copy)]
struct Shape {
    /// A marker in the environment variables (a new task definition revision).
    generation: u32,
    /// Subdomain suffix (listener rule and DNS record updated in place).
    sub: &'static str,
    desired_count: u32,
    suspended: bool,
    tenants: usize,
}

fn config(ids: &[String], s: Shape) -> String {
    let mut hcl = PROVIDER_BLOCK.to_owned();
    for (i, tid) in ids.iter().take(s.tenants).enumerate() {
        let status = if s.suspended { "suspended" } else { "active" };
        hcl.push_str(&format!(
            r#"
resource "bbws_tenant" "t{i}" {{
  name                   = "Crash {i}"
  contact_email          = "ops@crash.example"
  tenant_id              = "{tid}"
  subdomain              = "crash{i}{sub}-{short}"
  desired_count          = {count}
  status                 = "{status}"
  environment_variables  = {{ GENERATION = "{generation}" }}
  retain_data_on_destroy = false
}}
"#,
            sub = s.sub,
            short = &tid[6..],
            count = s.desired_count,
            generation = s.generation,
        ));
    }
    hcl
}

/// `terraform apply` in a process group of its own, SIGKILLed (the whole
/// group: terraform and the provider) `after` the first resource started
/// changing (`Creating...`, `Modifying...` in its output: the provider is
/// then writing). Returns whether the apply was still running when killed.
fn apply_and_kill(w: &Workdir, vars: &str, endpoint: &str, after: Duration, out: &std::path::Path) -> bool {
    let log = std::fs::File::create(out).expect("apply log");
    let err = log.try_clone().expect("apply log");
    let mut child = w
        .command(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            PARALLELISM,
            "-var-file",
            vars,
            "-var",
            endpoint,
        ])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .expect("start terraform apply");
    let pgid = child.id();
    let writing =
        || std::fs::read_to_string(out).is_ok_and(|t| t.contains(": Creating...") || t.contains(": Modifying..."));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !writing() && Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let start = Instant::now();
    while start.elapsed() < after {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Every change already reported done: what is left is Terraform closing
    // the provider (which then releases its creation leases) and saving the
    // state. A kill between those two loses finished tenants from the state
    // as it loses any provider's resources, and they want an import: not
    // the crash this test is about. Let such an apply finish.
    if std::fs::read_to_string(out).is_ok_and(|t| all_changes_done(&t)) {
        let _ = child.wait();
        return false;
    }
    let killed = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status()
        .is_ok_and(|s| s.success());
    let _ = child.wait();
    // Nothing of the group may live on (a provider finishing its work
    // would not be a crash).
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let alive = Command::new("kill")
            .args(["-0", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !alive {
            return killed;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("process group {pgid} outlived SIGKILL");
}

/// Whether the apply's output reports every planned change complete
/// ("Plan: A to add, C to change" against the "complete after" lines).
fn all_changes_done(output: &str) -> bool {
    let planned = output.lines().find_map(|l| {
        let rest = l.strip_prefix("Plan: ")?;
        let mut n = rest
            .split(", ")
            .filter_map(|p| p.split(' ').next()?.parse::<usize>().ok());
        Some(n.next()? + n.next()?)
    });
    let done = output.lines().filter(|l| l.contains(" complete after ")).count();
    planned.is_some_and(|p| done >= p)
}

/// Parts of the round's tenants counted other than `expected` times.
fn counted_other_than(stack: &Stack, ids: &[String], s: Shape, expected: u64) -> Vec<String> {
    let tenants: Vec<(String, String)> = ids
        .iter()
        .take(s.tenants)
        .enumerate()
        .map(|(i, tid)| (tid.clone(), format!("crash{i}{}-{}", s.sub, &tid[6..])))
        .collect();
    let counts = stack.fleet_counts(&tenants);
    let mut out = Vec::new();
    for (tid, _) in &tenants {
        for part in FLEET_PARTS {
            let n = counts[tid.as_str()][part].as_u64().unwrap_or(0);
            if n != expected {
                out.push(format!("{tid} {part}: {n}"));
            }
        }
    }
    out
}

/// The state in S3 (moto), as pipelines keep it: the local backend rewrites
/// `terraform.tfstate` in place, so a SIGKILL during that write leaves an
/// empty file and Terraform itself forgets every resource (seen here: a
/// 0-byte state after a kill, the backup intact). An S3 object is replaced
/// whole or not at all.
fn remote_state(stack: &Stack, w: &Workdir, key: &str) {
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
s3 = boto3.client("s3", endpoint_url=s["endpoint"], region_name=s["region"],
                  aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
try:
    s3.create_bucket(Bucket="bbws-tfstate", CreateBucketConfiguration={"LocationConstraint": s["region"]})
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
"#;
    stack.python(script, &[]);
    w.write(
        "backend.tf",
        &format!(
            r#"terraform {{
  backend "s3" {{
    bucket                      = "bbws-tfstate"
    key                         = "kill9/{key}.tfstate"
    region                      = "{region}"
    endpoints                   = {{ s3 = "{endpoint}" }}
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }}
}}
"#,
            region = stack.get("region"),
            endpoint = stack.get("endpoint"),
        ),
    );
    w.tf(&["init", "-input=false", "-no-color"]).ok();
}

#[test]
fn applies_killed_at_random_moments_converge_on_the_next_apply() {
    let stack = Stack::load();
    let seed = std::env::var("BBWS_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
    let mut rng = Rng(seed);
    let ids: Vec<String> = (0..TENANTS + 2).map(|_| random_tenant_id()).collect();
    let w = Workdir::new(&stack, "kill9");
    remote_state(&stack, &w, &ids[0]);
    let vars = stack.tfvars_path().display().to_string();
    // The killed applies talk to moto at AWS's pace: moto answers in a
    // millisecond or two, and an apply that ends before its kill proves
    // nothing. The recovering applies go to moto directly.
    let proxy = FaultProxy::latency(&stack, LATENCY_MS);
    let via = format!("aws_endpoint={}", proxy.url);
    let base = Shape {
        generation: 1,
        sub: "",
        desired_count: 1,
        suspended: false,
        tenants: TENANTS,
    };
    // Creates, then updates of every kind: a new revision, routing, scaling,
    // more tenants, suspend and resume.
    let rounds = [
        ("create", base),
        ("new revision", Shape { generation: 2, ..base }),
        (
            "subdomain",
            Shape {
                generation: 2,
                sub: "b",
                ..base
            },
        ),
        (
            "scale and two more tenants",
            Shape {
                generation: 3,
                sub: "b",
                desired_count: 2,
                tenants: TENANTS + 2,
                ..base
            },
        ),
        (
            "suspend",
            Shape {
                generation: 3,
                sub: "b",
                desired_count: 2,
                suspended: true,
                tenants: TENANTS + 2,
            },
        ),
        (
            "resume and a new revision",
            Shape {
                generation: 4,
                sub: "b",
                desired_count: 2,
                tenants: TENANTS + 2,
                ..base
            },
        ),
    ];
    let mut report = Vec::new();
    let mut interrupted = 0;
    for (n, (what, shape)) in rounds.iter().enumerate() {
        w.write("main.tf", &config(&ids, *shape));
        // After the writes began: through AWS's latency, a create of six
        // tenants writes for about CREATE_WRITES, an update for about
        // UPDATE_WRITES.
        let after = if n == 0 {
            rng.millis(0, CREATE_WRITES)
        } else {
            rng.millis(0, UPDATE_WRITES)
        };
        let out = w.dir.join(format!("killed-{n}.log"));
        let killed = apply_and_kill(&w, &vars, &via, after, &out);
        interrupted += usize::from(killed);
        let recover = w.with_vars("apply", &["-auto-approve", PARALLELISM]);
        let plan = w.with_vars("plan", &["-detailed-exitcode", PARALLELISM]);
        let wrong = counted_other_than(&stack, &ids, *shape, 1);
        let line = format!(
            "round {n} ({what}): killed {after:?} after the writes began (still running: {killed}); recovering apply exit {}, plan after exit {}, parts not exactly once: {wrong:?}",
            recover.code, plan.code
        );
        println!("{line}");
        report.push(line);
        let summary = std::io::stdout();
        let _ = summary.lock().flush();
        assert_eq!(
            recover.code,
            0,
            "round {n} ({what}): the apply after the kill converges without an import\n{}\n--- killed run\n{}\n--- stdout\n{}\n--- stderr\n{}",
            report.join("\n"),
            std::fs::read_to_string(&out).unwrap_or_default(),
            recover.stdout,
            recover.stderr
        );
        assert_eq!(
            plan.code, 0,
            "round {n} ({what}): then nothing to change:\n{}",
            plan.stdout
        );
        assert!(
            wrong.is_empty(),
            "round {n} ({what}): every part exactly once: {wrong:?}"
        );
    }
    // A kill that came after the apply ended proves nothing.
    assert!(
        interrupted * 2 >= rounds.len(),
        "most rounds were killed while applying ({interrupted} of {}):\n{}",
        rounds.len(),
        report.join("\n")
    );
    w.with_vars("destroy", &["-auto-approve", PARALLELISM]).ok();
    let left = counted_other_than(&stack, &ids, rounds[rounds.len() - 1].1, 0);
    assert!(left.is_empty(), "nothing is left after the destroy: {left:?}");
}
