//! The same contract suite the fake passes (in core's unit tests), run
//! against the real ports on the moto emulator and MariaDB — so the fake
//! stays honest.

use bbws_acceptance_tests::Stack;

#[test]
fn real_ports_honour_the_contract() {
    let stack = Stack::load();
    // SAFETY: this binary's only test sets the emulator's credentials
    // before any runtime thread exists or reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", stack.get("aws_access_key_id"));
        std::env::set_var("AWS_SECRET_ACCESS_KEY", stack.get("aws_secret_access_key"));
    }
    // The S3 contract writes into a backup bucket of its own.
    let bucket = format!("bbws-contract-{}", bbws_acceptance_tests::random_tenant_id());
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("s3", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
kw = {} if s["region"] == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": s["region"]}}
c.create_bucket(Bucket=sys.argv[2], **kw)
"#;
    stack.python(script, &[&bucket]);
    let platform = bbws_core::Platform {
        backup: Some(bbws_core::spec::BackupSettings {
            bucket,
            prefix: "tenants/".into(),
        }),
        ..stack.platform()
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        let ports = stack.ports().await;
        let all = bbws_core::contract::run_all(&ports, &platform).await;
        // moto issues a certificate MOTO_ACM_VALIDATION_WAIT seconds after
        // its request (3 s, set by the stack), standing in for DNS validation.
        let certificates = bbws_core::contract::certificates(&ports, &platform).await;
        match (all, certificates) {
            (Ok(()), Ok(())) => Ok(()),
            (a, b) => Err([a.err(), b.err()].into_iter().flatten().collect::<Vec<_>>().join("\n")),
        }
    });
    if let Err(e) = result {
        panic!("the real ports break the contract:\n{e}");
    }
}
