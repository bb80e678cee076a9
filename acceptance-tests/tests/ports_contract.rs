//! The same contract suite the fake passes (in core's unit tests), run
//! against the real ports on the moto emulator and MariaDB — so the fake
//! stays honest.

use std::collections::BTreeMap;

use bbws_acceptance_tests::Stack;
use bbws_core::aws::{self, AwsSettings};
use bbws_core::{DatabaseSettings, Environment, Platform};

fn platform(stack: &Stack) -> Platform {
    let s = &stack.settings;
    let list = |k: &str| {
        s[k].as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let db = &s["database"];
    Platform {
        environment: Environment::Dev,
        domain: stack.get("domain"),
        region: stack.get("region"),
        cluster: stack.get("cluster"),
        vpc_id: stack.get("vpc_id"),
        subnet_ids: list("subnet_ids"),
        security_group_ids: list("security_group_ids"),
        listener_arn: stack.get("listener_arn"),
        hosted_zone_id: stack.get("hosted_zone_id"),
        efs_file_system_id: stack.get("efs_file_system_id"),
        execution_role_arn: None,
        task_role_arn: None,
        database: DatabaseSettings {
            instance_identifier: db["instance_identifier"].as_str().unwrap_or_default().to_owned(),
            host: db["host"].as_str().map(str::to_owned),
            port: db["port"].as_u64().and_then(|p| u16::try_from(p).ok()),
            admin_secret_arn: db["admin_secret_arn"].as_str().unwrap_or_default().to_owned(),
        },
        default_tags: BTreeMap::new(),
    }
}

#[test]
fn real_ports_honour_the_contract() {
    let stack = Stack::load();
    // SAFETY: this binary's only test sets the emulator's credentials
    // before any runtime thread exists or reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", stack.get("aws_access_key_id"));
        std::env::set_var("AWS_SECRET_ACCESS_KEY", stack.get("aws_secret_access_key"));
    }
    let endpoint = stack.get("endpoint");
    let endpoints = ["ecs", "elbv2", "route53", "efs", "secretsmanager", "logs", "rds", "sts"]
        .into_iter()
        .map(|s| (s.to_owned(), endpoint.clone()))
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        let ports = aws::connect(&AwsSettings {
            region: Some(stack.get("region")),
            profile: None,
            endpoints,
        })
        .await;
        bbws_core::contract::run_all(&ports, &platform(&stack)).await
    });
    if let Err(e) = result {
        panic!("the real ports break the contract:\n{e}");
    }
}
