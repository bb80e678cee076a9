//! Small builders for `tfplugin6::Schema`: attributes carry their cty type
//! as JSON bytes, descriptions are markdown.

use magma_protocol::tfplugin6::{Schema, StringKind, schema};

/// An attribute under construction.
#[derive(Debug, Clone)]
pub struct Attr(schema::Attribute);

impl Attr {
    fn new(name: &str, cty: &str) -> Attr {
        Attr(schema::Attribute {
            name: name.to_owned(),
            r#type: cty.as_bytes().to_vec(),
            description_kind: StringKind::Markdown as i32,
            ..Default::default()
        })
    }

    /// A string attribute.
    pub fn string(name: &str) -> Attr {
        Attr::new(name, "\"string\"")
    }

    /// A number attribute.
    pub fn number(name: &str) -> Attr {
        Attr::new(name, "\"number\"")
    }

    /// A bool attribute.
    pub fn bool(name: &str) -> Attr {
        Attr::new(name, "\"bool\"")
    }

    /// A map of strings.
    pub fn map_of_string(name: &str) -> Attr {
        Attr::new(name, "[\"map\",\"string\"]")
    }

    /// An attribute of any cty type, given as Terraform's JSON type
    /// notation (e.g. `["list",["object",{"a":"string"}]]`).
    pub fn of_type(name: &str, cty_json: &str) -> Attr {
        Attr::new(name, cty_json)
    }

    /// A list of strings.
    pub fn list_of_string(name: &str) -> Attr {
        Attr::new(name, "[\"list\",\"string\"]")
    }

    /// Must be set.
    pub fn required(mut self) -> Attr {
        self.0.required = true;
        self
    }

    /// May be set.
    pub fn optional(mut self) -> Attr {
        self.0.optional = true;
        self
    }

    /// Set by the provider (with `optional`: when the user does not).
    pub fn computed(mut self) -> Attr {
        self.0.computed = true;
        self
    }

    /// Hidden in Terraform's output.
    pub fn sensitive(mut self) -> Attr {
        self.0.sensitive = true;
        self
    }

    /// Write-only (protocol 6.10): in the config only, never in plan or
    /// state; the provider must answer null for it.
    pub fn write_only(mut self) -> Attr {
        self.0.write_only = true;
        self
    }

    /// Markdown description.
    pub fn description(mut self, text: &str) -> Attr {
        self.0.description = text.to_owned();
        self
    }

    /// The attribute.
    pub fn build(self) -> schema::Attribute {
        self.0
    }
}

/// A block under construction.
#[derive(Debug, Clone, Default)]
pub struct Block(schema::Block);

impl Block {
    /// An empty block; `version` is the schema version of the whole schema.
    pub fn new(version: i64) -> Block {
        Block(schema::Block {
            version,
            description_kind: StringKind::Markdown as i32,
            ..Default::default()
        })
    }

    /// Markdown description.
    pub fn description(mut self, text: &str) -> Block {
        self.0.description = text.to_owned();
        self
    }

    /// Adds an attribute.
    pub fn attr(mut self, a: Attr) -> Block {
        self.0.attributes.push(a.build());
        self
    }

    /// Adds a nested block.
    pub fn block(mut self, b: NestedBlock) -> Block {
        self.0.block_types.push(b.0);
        self
    }

    /// The schema with this block at its root.
    pub fn into_schema(self) -> Schema {
        Schema {
            version: self.0.version,
            block: Some(self.0),
        }
    }
}

/// A nested block under construction.
#[derive(Debug, Clone)]
pub struct NestedBlock(schema::NestedBlock);

impl NestedBlock {
    /// A block that appears at most once.
    pub fn single(name: &str, block: Block) -> NestedBlock {
        NestedBlock(schema::NestedBlock {
            type_name: name.to_owned(),
            block: Some(block.0),
            nesting: schema::nested_block::NestingMode::Single as i32,
            min_items: 0,
            max_items: 0,
        })
    }
}
