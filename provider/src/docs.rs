//! Registry-style documentation generated from the schemas and the
//! examples. `docs/` is never edited by hand: the test below fails when it
//! is stale; `BBWS_UPDATE_DOCS=1 cargo test -p terraform-provider-bbws docs`
//! rewrites it.

use std::fmt::Write as _;
use std::path::Path;

use magma_protocol::tfplugin6::{Schema, schema};

/// One generated page: path under `docs/` and content.
pub struct Page {
    /// Relative path, e.g. `resources/tenant.md`.
    pub path: &'static str,
    /// Markdown.
    pub content: String,
}

fn type_name(ty: &[u8]) -> String {
    match std::str::from_utf8(ty).unwrap_or("") {
        "\"string\"" => "String".into(),
        "\"number\"" => "Number".into(),
        "\"bool\"" => "Boolean".into(),
        "[\"map\",\"string\"]" => "Map of String".into(),
        "[\"list\",\"string\"]" => "List of String".into(),
        "[\"set\",\"string\"]" => "Set of String".into(),
        other if other.starts_with("[\"list\",[\"object\"") => "List of Object".into(),
        other => other.to_owned(),
    }
}

fn attributes(out: &mut String, block: &schema::Block, anchor: &str) {
    type Pick = fn(&schema::Attribute) -> bool;
    let groups: [(&str, Pick); 4] = [
        ("Required", |a| a.required),
        ("Optional", |a| a.optional && !a.write_only),
        ("Write-only", |a| a.write_only),
        ("Read-Only", |a| a.computed && !a.optional),
    ];
    for (title, pick) in groups {
        let attrs: Vec<_> = block.attributes.iter().filter(|a| pick(a)).collect();
        if attrs.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        for a in attrs {
            let mut notes = Vec::new();
            if a.sensitive {
                notes.push("Sensitive");
            }
            if a.write_only {
                notes.push("Write-only: never stored in state");
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(", {}", notes.join(", "))
            };
            let _ = writeln!(
                out,
                "- `{}` ({}{notes}) {}",
                a.name,
                type_name(&a.r#type),
                a.description.trim()
            );
        }
        out.push('\n');
    }
    for b in &block.block_types {
        let Some(inner) = &b.block else { continue };
        let _ = writeln!(
            out,
            "<a id=\"{anchor}--{name}\"></a>\n### Nested block `{name}`\n",
            name = b.type_name
        );
        if !inner.description.is_empty() {
            let _ = writeln!(out, "{}\n", inner.description.trim());
        }
        let mut nested = String::new();
        attributes(&mut nested, inner, &format!("{anchor}--{}", b.type_name));
        out.push_str(&nested.replace("### ", "#### "));
    }
}

fn example(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|_| format!("# missing example: {rel}\n"))
}

fn front_matter(title: &str, description: &str) -> String {
    format!("---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n  {description}\n---\n\n")
}

fn usage(out: &mut String, root: &Path, lang: &str, rel: &str) {
    let _ = writeln!(out, "```{lang}\n{}```\n", example(root, rel));
}

/// One schema page: front matter, description, example, attributes.
fn schema_page(title: &str, heading: &str, schema: &Schema, root: &Path, examples: &[(&str, &str)]) -> String {
    let description = schema
        .block
        .as_ref()
        .map(|b| b.description.trim().to_owned())
        .unwrap_or_default();
    let first_sentence = description
        .split(". ")
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_owned();
    let mut out = front_matter(title, &first_sentence);
    let _ = writeln!(out, "# {heading}\n\n{description}\n\n## Example Usage\n");
    for (lang, rel) in examples {
        usage(&mut out, root, lang, rel);
    }
    out.push_str("## Schema\n\n");
    if let Some(b) = &schema.block {
        attributes(&mut out, b, "nestedblock");
    }
    out
}

/// A function's page: signature, description, example, arguments.
fn function_page(name: &str, f: &magma_protocol::tfplugin6::Function, root: &Path, example_rel: &str) -> String {
    let mut out = front_matter(&format!("{name} function - bbws"), f.summary.trim());
    let params: Vec<String> = f
        .parameters
        .iter()
        .map(|p| format!("{} {}", p.name, type_name(&p.r#type).to_lowercase()))
        .collect();
    let _ = writeln!(
        out,
        "# function: {name}\n\n{}\n\n## Example Usage\n",
        f.description.trim()
    );
    usage(&mut out, root, "terraform", example_rel);
    let _ = writeln!(
        out,
        "## Signature\n\n```text\n{name}({}) object\n```\n\n## Arguments\n",
        params.join(", ")
    );
    for (i, p) in f.parameters.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. `{}` ({}) {}",
            i + 1,
            p.name,
            type_name(&p.r#type),
            p.description.trim()
        );
    }
    out
}

/// An action's page, e.g. `actions/tenant_restart.md`.
fn action_page(action: &'static str, path: &'static str, root: &Path) -> Page {
    let mut content = schema_page(
        &format!("{action} Action - bbws"),
        &format!("{action} (Action)"),
        &crate::actions::schema(action),
        root,
        &[("terraform", &format!("examples/actions/{action}/action.tf"))],
    );
    let _ = writeln!(
        content,
        "## Invoke\n\n```shell\nterraform apply -invoke=action.{action}.acme\n```\n\nor from a resource's `lifecycle {{ action_trigger {{ … }} }}`. Progress is streamed while it runs."
    );
    Page { path, content }
}

/// The schemas the docs describe.
pub struct Schemas {
    /// Provider configuration.
    pub provider: Schema,
    /// `bbws_tenant` resource.
    pub tenant: Schema,
    /// `bbws_tenant` identity.
    pub identity: magma_protocol::tfplugin6::ResourceIdentitySchema,
    /// `bbws_tenant` data source.
    pub data_tenant: Schema,
    /// `bbws_tenants` data source.
    pub data_tenants: Schema,
    /// `bbws_platform` data source.
    pub data_platform: Schema,
    /// `bbws_tenant` list resource.
    pub list_tenant: Schema,
    /// `bbws_tenant_credentials` ephemeral resource.
    pub tenant_credentials: Schema,
    /// Provider functions, by name.
    pub functions: std::collections::HashMap<String, magma_protocol::tfplugin6::Function>,
}

impl Schemas {
    /// The provider's schemas.
    pub fn current() -> Self {
        Schemas {
            provider: crate::config::schema(),
            tenant: crate::tenant::schema(),
            identity: crate::tenant::identity_schema(),
            data_tenant: crate::data_sources::tenant_schema(),
            data_tenants: crate::data_sources::tenants_schema(),
            data_platform: crate::platform_data::schema(),
            list_tenant: crate::list_tenant::schema(),
            tenant_credentials: crate::ephemeral::schema(),
            functions: crate::functions::definitions(),
        }
    }
}

/// The provider's page: the block's description, usage and schema.
fn index_page(s: &Schemas, root: &Path) -> String {
    let mut index = front_matter(
        "bbws Provider",
        "Tenants of the bbws WordPress hosting platform on AWS.",
    );
    index.push_str("# bbws Provider\n\n");
    if let Some(b) = &s.provider.block {
        let _ = writeln!(index, "{}\n", b.description.trim());
    }
    index.push_str("## Example Usage\n\n");
    usage(&mut index, root, "terraform", "examples/provider/provider.tf");
    index.push_str(
        "## Several AWS accounts

DEV, SIT and PROD in three accounts: one provider alias each, assuming its account's role (`assume_role`) and refusing any other account (`allowed_account_ids`), as the AWS provider does (`examples/environments`):

",
    );
    usage(&mut index, root, "terraform", "examples/environments/providers.tf");
    index.push_str(
        "## Resources, data sources and list resources\n\n- [bbws_tenant](resources/tenant.md) (resource)\n- [bbws_tenant](data-sources/tenant.md) (data source)\n- [bbws_tenants](data-sources/tenants.md) (data source)\n- [bbws_platform](data-sources/platform.md) (data source)\n- [bbws_tenant](list-resources/tenant.md) (list resource, `terraform query`)\n- [bbws_tenant_credentials](ephemeral-resources/tenant_credentials.md) (ephemeral resource)\n- [bbws_tenant_restart](actions/tenant_restart.md) (action)\n- [bbws_tenant_rotate_credentials](actions/tenant_rotate_credentials.md) (action)\n- [bbws_tenant_backup](actions/tenant_backup.md) (action)\n- [bbws_tenant_restore](actions/tenant_restore.md) (action)\n- [tenant_names](functions/tenant_names.md) (function, `provider::bbws::tenant_names`)\n\n## Schema\n\n",
    );
    if let Some(b) = &s.provider.block {
        attributes(&mut index, b, "nestedblock");
    }
    index
}

/// The resource's page: schema, identity and import.
fn resource_page(s: &Schemas, root: &Path) -> String {
    let mut res = schema_page(
        "bbws_tenant Resource - bbws",
        "bbws_tenant (Resource)",
        &s.tenant,
        root,
        &[("terraform", "examples/resources/bbws_tenant/resource.tf")],
    );
    res.push_str("## Resource Identity\n\n");
    for a in &s.identity.identity_attributes {
        let _ = writeln!(
            res,
            "- `{}` (String, Required for import) {}",
            a.name,
            a.description.trim()
        );
    }
    res.push_str("\n## Import\n\nBy the tenant's 12-digit id:\n\n");
    usage(&mut res, root, "shell", "examples/resources/bbws_tenant/import.sh");
    res.push_str("By identity, in an `import` block:\n\n");
    usage(
        &mut res,
        root,
        "terraform",
        "examples/resources/bbws_tenant/import-by-identity.tf",
    );
    res
}

/// Every page, from the schemas and the files under `examples/`.
pub fn pages(s: &Schemas, root: &Path) -> Vec<Page> {
    let index = index_page(s, root);
    let res = resource_page(s, root);
    let data_tenant = schema_page(
        "bbws_tenant Data Source - bbws",
        "bbws_tenant (Data Source)",
        &s.data_tenant,
        root,
        &[("terraform", "examples/data-sources/bbws_tenant/data-source.tf")],
    );
    let data_tenants = schema_page(
        "bbws_tenants Data Source - bbws",
        "bbws_tenants (Data Source)",
        &s.data_tenants,
        root,
        &[("terraform", "examples/data-sources/bbws_tenants/data-source.tf")],
    );
    let data_platform = schema_page(
        "bbws_platform Data Source - bbws",
        "bbws_platform (Data Source)",
        &s.data_platform,
        root,
        &[("terraform", "examples/data-sources/bbws_platform/data-source.tf")],
    );
    let list = schema_page(
        "bbws_tenant List Resource - bbws",
        "bbws_tenant (List Resource)",
        &s.list_tenant,
        root,
        &[("terraform", "examples/list-resources/bbws_tenant/list.tfquery.hcl")],
    );
    vec![
        Page {
            path: "index.md",
            content: index,
        },
        Page {
            path: "resources/tenant.md",
            content: res,
        },
        Page {
            path: "data-sources/tenant.md",
            content: data_tenant,
        },
        Page {
            path: "data-sources/tenants.md",
            content: data_tenants,
        },
        Page {
            path: "data-sources/platform.md",
            content: data_platform,
        },
        Page {
            path: "list-resources/tenant.md",
            content: list,
        },
    ]
    .into_iter()
    .chain(operation_pages(s, root))
    .collect()
}

/// The pages of what is not a resource: the ephemeral resource, the
/// actions, the function.
fn operation_pages(s: &Schemas, root: &Path) -> Vec<Page> {
    vec![
        Page {
            path: "ephemeral-resources/tenant_credentials.md",
            content: schema_page(
                "bbws_tenant_credentials Ephemeral Resource - bbws",
                "bbws_tenant_credentials (Ephemeral Resource)",
                &s.tenant_credentials,
                root,
                &[(
                    "terraform",
                    "examples/ephemeral-resources/bbws_tenant_credentials/ephemeral-resource.tf",
                )],
            ),
        },
        action_page(crate::actions::RESTART, "actions/tenant_restart.md", root),
        action_page(
            crate::actions::ROTATE_CREDENTIALS,
            "actions/tenant_rotate_credentials.md",
            root,
        ),
        action_page(crate::actions::BACKUP, "actions/tenant_backup.md", root),
        action_page(crate::actions::RESTORE, "actions/tenant_restore.md", root),
        Page {
            path: "functions/tenant_names.md",
            content: s
                .functions
                .get(crate::functions::TENANT_NAMES)
                .map(|f| {
                    function_page(
                        crate::functions::TENANT_NAMES,
                        f,
                        root,
                        "examples/functions/tenant_names/function.tf",
                    )
                })
                .unwrap_or_default(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_are_fresh() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_path_buf();
        let update = std::env::var_os("BBWS_UPDATE_DOCS").is_some();
        let mut stale = Vec::new();
        for page in pages(&Schemas::current(), &root) {
            let path = root.join("docs").join(page.path);
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current != page.content {
                if update {
                    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir docs");
                    std::fs::write(&path, &page.content).expect("write docs");
                } else {
                    stale.push(page.path);
                }
            }
        }
        assert!(
            stale.is_empty(),
            "docs/ is stale for {stale:?}; regenerate with `BBWS_UPDATE_DOCS=1 cargo test -p terraform-provider-bbws docs`"
        );
    }
}
