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

/// Every page, from the schemas and the files under `examples/`.
pub fn pages(provider: &Schema, tenant: &Schema, root: &Path) -> Vec<Page> {
    let mut index = String::from(
        "---\npage_title: \"bbws Provider\"\ndescription: |-\n  Tenants of the bbws WordPress hosting platform on AWS.\n---\n\n# bbws Provider\n\n",
    );
    if let Some(b) = &provider.block {
        let _ = writeln!(index, "{}\n", b.description.trim());
    }
    let _ = writeln!(
        index,
        "## Example Usage\n\n```terraform\n{}```\n\n## Schema\n",
        example(root, "examples/quickstart/platform.tf")
    );
    if let Some(b) = &provider.block {
        attributes(&mut index, b, "nestedblock");
    }

    let mut res = String::from(
        "---\npage_title: \"bbws_tenant Resource - bbws\"\nsubcategory: \"\"\ndescription: |-\n  One WordPress tenant as one unit.\n---\n\n# bbws_tenant (Resource)\n\n",
    );
    if let Some(b) = &tenant.block {
        let _ = writeln!(res, "{}\n", b.description.trim());
    }
    let _ = writeln!(
        res,
        "## Example Usage\n\n```terraform\n{}```\n\n## Schema\n",
        example(root, "examples/quickstart/main.tf")
    );
    if let Some(b) = &tenant.block {
        attributes(&mut res, b, "nestedblock");
    }
    let _ = writeln!(
        res,
        "## Import\n\nThe import id is the tenant's 12-digit id:\n\n```shell\nterraform import bbws_tenant.acme 123456789012\n```"
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
        for page in pages(&crate::config::schema(), &crate::tenant::schema(), &root) {
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
