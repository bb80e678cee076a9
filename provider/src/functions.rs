//! Provider functions (`provider::bbws::…`): pure, callable before the
//! provider is configured, so they take nothing from the provider block.

use std::collections::HashMap;

use bbws_core::naming::TenantNames;
use bbws_core::spec::Environment;
use bbws_core::validate::is_tenant_id;
use magma_protocol::tfplugin6::{self as tf, DynamicValue, FunctionError, function};

use crate::model::{TfString, Writer};
use crate::protocol::value::{self, Value};

/// `provider::bbws::tenant_names(environment, tenant_id)`.
pub const TENANT_NAMES: &str = "tenant_names";

/// The attributes of `tenant_names`'s result: name, the SPEC §2 name it
/// holds, and where `TenantNames` keeps it. The DNS name is not among them:
/// it depends on the subdomain and the provider's domain, which a function
/// does not see.
type NameAttribute = (&'static str, &'static str, fn(&TenantNames) -> &str);

const NAME_ATTRIBUTES: [NameAttribute; 11] = [
    ("id", "the Terraform id, `{env}-{tenant_id}`", |n| &n.id),
    ("service", "the ECS service, `{env}-{tenant_id}-service`", |n| {
        &n.service
    }),
    (
        "task_definition_family",
        "the ECS task definition family, `{env}-{tenant_id}`",
        |n| &n.task_family,
    ),
    ("target_group", "the ALB target group, `{env}-{tenant_id}-tg`", |n| {
        &n.target_group
    }),
    (
        "target_group_alternate",
        "the target group's name on the next load balancer when the tenant moves listeners (a group belongs to one ALB, so a move alternates between the two names), `{env}-{tenant_id}-tgb`",
        |n| &n.target_group_alternate,
    ),
    (
        "access_point",
        "the EFS access point's Name tag, `{env}-{tenant_id}-ap`",
        |n| &n.access_point,
    ),
    (
        "access_point_root",
        "the access point's root directory, `/{tenant_id}`",
        |n| &n.access_point_root,
    ),
    ("database", "the MySQL database, `{tenant_id}_db`", |n| &n.database),
    ("database_user", "the MySQL user, `{tenant_id}_user`", |n| {
        &n.database_user
    }),
    (
        "secret",
        "the Secrets Manager secret, `{env}-{tenant_id}-db-credentials`",
        |n| &n.secret,
    ),
    ("log_group", "the CloudWatch log group, `/ecs/{env}-{tenant_id}`", |n| {
        &n.log_group
    }),
];

fn names_object(n: &TenantNames) -> Value {
    NAME_ATTRIBUTES
        .iter()
        .fold(Writer::default(), |w, (attr, _, name)| {
            w.set(attr, &TfString::of(name(n)))
        })
        .finish()
}

/// The cty type of the result: an object of strings.
fn names_type() -> Vec<u8> {
    let attrs: serde_json::Map<String, serde_json::Value> = NAME_ATTRIBUTES
        .iter()
        .map(|(a, _, _)| ((*a).to_owned(), serde_json::Value::from("string")))
        .collect();
    serde_json::json!(["object", attrs]).to_string().into_bytes()
}

fn parameter(name: &str, description: &str) -> function::Parameter {
    function::Parameter {
        name: name.into(),
        r#type: b"\"string\"".to_vec(),
        description: description.into(),
        ..Default::default()
    }
}

fn tenant_names_definition() -> tf::Function {
    let attrs: Vec<String> = NAME_ATTRIBUTES
        .iter()
        .map(|(a, what, _)| format!("- `{a}`: {what}"))
        .collect();
    tf::Function {
        parameters: vec![
            parameter("environment", "`dev`, `sit` or `prod`."),
            parameter("tenant_id", "The tenant's 12-digit id."),
        ],
        r#return: Some(function::Return { r#type: names_type() }),
        summary: "The names of a tenant's parts".into(),
        description: format!(
            "Every SPEC §2 name of a tenant's parts, as an object, for IAM policies, dashboards and alarms written against them. The same names bbws itself uses, from the same code; it needs no provider configuration and calls no AWS API.\n\n{}",
            attrs.join("\n")
        ),
        ..Default::default()
    }
}

/// Every function, by name (GetFunctions, GetProviderSchema).
pub fn definitions() -> HashMap<String, tf::Function> {
    HashMap::from([(TENANT_NAMES.to_owned(), tenant_names_definition())])
}

fn argument_error(index: i64, text: String) -> FunctionError {
    FunctionError {
        text,
        function_argument: Some(index),
    }
}

fn string_argument(args: &[DynamicValue], index: usize, name: &str) -> Result<String, FunctionError> {
    let position = i64::try_from(index).unwrap_or(i64::MAX);
    let raw = args
        .get(index)
        .ok_or_else(|| argument_error(position, format!("{name} is missing")))?;
    let decoded = value::decode(raw).map_err(|e| argument_error(position, format!("{name}: {e}")))?;
    decoded
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| argument_error(position, format!("{name} must be a string")))
}

fn tenant_names(args: &[DynamicValue]) -> Result<Value, FunctionError> {
    let environment = string_argument(args, 0, "environment")?;
    let environment: Environment = environment
        .parse()
        .map_err(|e| argument_error(0, format!("environment: {e}")))?;
    let tenant_id = string_argument(args, 1, "tenant_id")?;
    if !is_tenant_id(&tenant_id) {
        return Err(argument_error(
            1,
            format!("tenant_id must be exactly 12 digits, got {tenant_id:?}"),
        ));
    }
    // The subdomain and domain only shape the DNS name, which is not returned.
    Ok(names_object(&TenantNames::new(environment, &tenant_id, &tenant_id, "")))
}

/// CallFunction.
pub fn call(name: &str, args: &[DynamicValue]) -> tf::call_function::Response {
    let result = match name {
        TENANT_NAMES => tenant_names(args),
        other => Err(FunctionError {
            text: format!("terraform-provider-bbws has no function {other:?}"),
            function_argument: None,
        }),
    };
    match result {
        Ok(v) => tf::call_function::Response {
            result: Some(value::encode(&v)),
            error: None,
        },
        Err(e) => tf::call_function::Response {
            result: None,
            error: Some(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(values: &[Value]) -> Vec<DynamicValue> {
        values.iter().map(value::encode).collect()
    }

    fn string(s: &str) -> Value {
        Value::String(s.into())
    }

    #[test]
    fn tenant_names_are_the_naming_tables() {
        let response = call(TENANT_NAMES, &args(&[string("prod"), string("123456789012")]));
        assert_eq!(response.error, None);
        let result = value::decode(&response.result.expect("result")).expect("decode");
        let expected = [
            ("id", "prod-123456789012"),
            ("service", "prod-123456789012-service"),
            ("task_definition_family", "prod-123456789012"),
            ("target_group", "prod-123456789012-tg"),
            ("target_group_alternate", "prod-123456789012-tgb"),
            ("access_point", "prod-123456789012-ap"),
            ("access_point_root", "/123456789012"),
            ("database", "123456789012_db"),
            ("database_user", "123456789012_user"),
            ("secret", "prod-123456789012-db-credentials"),
            ("log_group", "/ecs/prod-123456789012"),
        ];
        assert_eq!(result, Value::object(expected.map(|(k, v)| (k, string(v)))));
    }

    #[test]
    fn bad_arguments_name_the_argument_and_the_rule() {
        let cases: [(&[Value], i64, &str); 4] = [
            (&[string("staging"), string("123456789012")], 0, "must be one of"),
            (&[string("dev"), string("12345")], 1, "exactly 12 digits"),
            (&[string("dev"), Value::Int(123456789012)], 1, "must be a string"),
            (&[string("dev")], 1, "tenant_id is missing"),
        ];
        for (arguments, index, rule) in cases {
            let error = call(TENANT_NAMES, &args(arguments)).error.expect("an error");
            assert_eq!(error.function_argument, Some(index), "{arguments:?}");
            assert!(error.text.contains(rule), "{}: wanted {rule}", error.text);
        }
    }

    #[test]
    fn the_declared_type_lists_every_attribute() {
        let ty: serde_json::Value = serde_json::from_slice(&names_type()).expect("json");
        let attrs = ty[1].as_object().expect("object type");
        assert_eq!(attrs.len(), NAME_ATTRIBUTES.len());
        assert!(attrs.values().all(|t| t == "string"));
    }

    #[test]
    fn an_unknown_function_is_an_error() {
        let error = call("nope", &[]).error.expect("an error");
        assert!(error.text.contains("no function \"nope\""));
    }
}
