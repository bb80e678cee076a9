//! Typed attribute values, as terraform-plugin-framework's `types`: every
//! attribute of a model is null, unknown (until apply) or a known value of
//! its type. Models (`tenant::model`, `data_sources`, `list_tenant`,
//! `config`) are converted from and to [`Value`] once, at the protocol
//! edge; handlers work on their fields.

use std::collections::BTreeMap;

use bbws_core::validate::Violation;

use crate::protocol::value::Value;

/// An attribute's value: null, unknown, or known.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Tf<T> {
    /// Not set.
    #[default]
    Null,
    /// Known only after apply.
    Unknown,
    /// Set.
    Known(T),
}

/// A string attribute.
pub type TfString = Tf<String>;
/// A bool attribute.
pub type TfBool = Tf<bool>;
/// A number attribute.
pub type TfNumber = Tf<Number>;
/// A map of strings; an element may be unknown (or null) by itself.
pub type TfMap = Tf<BTreeMap<String, TfString>>;
/// A list (or set) of strings.
pub type TfList = Tf<Vec<TfString>>;

impl<T> Tf<T> {
    /// The value, when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }

    /// Whether it is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Tf::Null)
    }

    /// Whether it is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Tf::Unknown)
    }

    /// `Known(v)`, or null for `None`.
    pub fn from_option(v: Option<T>) -> Self {
        v.map_or(Tf::Null, Tf::Known)
    }

    /// Unknown where null: a computed attribute the plan cannot tell yet.
    #[must_use]
    pub fn or_unknown(self) -> Self {
        match self {
            Tf::Null => Tf::Unknown,
            other => other,
        }
    }
}

impl Tf<String> {
    /// The string, when known.
    pub fn as_str(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }

    /// A known string.
    pub fn of(s: impl Into<String>) -> Self {
        Tf::Known(s.into())
    }
}

impl Tf<Number> {
    /// A known whole number.
    pub fn of(n: impl Into<i64>) -> Self {
        Tf::Known(Number::Int(n.into()))
    }

    /// As a whole number: `Ok(None)` when null or unknown, `Err` with the
    /// rule it breaks otherwise (see [`Value::whole_number`]).
    pub fn whole(&self) -> Result<Option<i64>, &'static str> {
        self.to_value().whole_number()
    }
}

/// A number as Terraform sent it: cty numbers beyond an i64 or a float
/// arrive as floats or strings, and are kept as sent so that a violation
/// shows what was written.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// Fits an i64.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// Sent as a string (too large for a float), or not a number at all.
    Text(String),
}

/// Conversion between a typed attribute and its wire [`Value`].
pub trait Attribute: Sized {
    /// From a value; a value of another type reads as null (Terraform
    /// sends values of the schema's types).
    fn from_value(v: &Value) -> Self;
    /// To a value.
    fn to_value(&self) -> Value;
    /// No unknown anywhere inside.
    fn is_known_deep(&self) -> bool;
}

fn tf_from<T>(v: &Value, known: impl FnOnce(&Value) -> Option<T>) -> Tf<T> {
    match v {
        Value::Null => Tf::Null,
        Value::Unknown => Tf::Unknown,
        other => Tf::from_option(known(other)),
    }
}

fn tf_to<T>(t: &Tf<T>, known: impl FnOnce(&T) -> Value) -> Value {
    match t {
        Tf::Null => Value::Null,
        Tf::Unknown => Value::Unknown,
        Tf::Known(v) => known(v),
    }
}

impl Attribute for TfString {
    fn from_value(v: &Value) -> Self {
        tf_from(v, |v| v.as_str().map(str::to_owned))
    }
    fn to_value(&self) -> Value {
        tf_to(self, |s| Value::String(s.clone()))
    }
    fn is_known_deep(&self) -> bool {
        !self.is_unknown()
    }
}

impl Attribute for TfBool {
    fn from_value(v: &Value) -> Self {
        tf_from(v, Value::as_bool)
    }
    fn to_value(&self) -> Value {
        tf_to(self, |b| Value::Bool(*b))
    }
    fn is_known_deep(&self) -> bool {
        !self.is_unknown()
    }
}

impl Attribute for TfNumber {
    fn from_value(v: &Value) -> Self {
        tf_from(v, |v| {
            Some(match v {
                Value::Int(n) => Number::Int(*n),
                Value::Float(f) => Number::Float(*f),
                Value::String(s) => Number::Text(s.clone()),
                other => Number::Text(format!("{other:?}")),
            })
        })
    }
    fn to_value(&self) -> Value {
        tf_to(self, |n| match n {
            Number::Int(n) => Value::Int(*n),
            Number::Float(f) => Value::Float(*f),
            Number::Text(s) => Value::String(s.clone()),
        })
    }
    fn is_known_deep(&self) -> bool {
        !self.is_unknown()
    }
}

impl Attribute for TfMap {
    fn from_value(v: &Value) -> Self {
        tf_from(v, |v| {
            v.as_map()
                .map(|m| m.iter().map(|(k, e)| (k.clone(), TfString::from_value(e))).collect())
        })
    }
    fn to_value(&self) -> Value {
        tf_to(self, |m| {
            Value::Map(m.iter().map(|(k, e)| (k.clone(), e.to_value())).collect())
        })
    }
    fn is_known_deep(&self) -> bool {
        match self {
            Tf::Unknown => false,
            Tf::Null => true,
            Tf::Known(m) => m.values().all(Attribute::is_known_deep),
        }
    }
}

impl Attribute for TfList {
    fn from_value(v: &Value) -> Self {
        tf_from(v, |v| v.as_list().map(|l| l.iter().map(TfString::from_value).collect()))
    }
    fn to_value(&self) -> Value {
        tf_to(self, |l| Value::List(l.iter().map(Attribute::to_value).collect()))
    }
    fn is_known_deep(&self) -> bool {
        match self {
            Tf::Unknown => false,
            Tf::Null => true,
            Tf::Known(l) => l.iter().all(Attribute::is_known_deep),
        }
    }
}

impl TfMap {
    /// The known entries (an unset map is empty).
    pub fn known_entries(&self) -> BTreeMap<String, String> {
        self.known()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A known map of known strings; an empty one is null (as when unset).
    pub fn of_entries(m: &BTreeMap<String, String>) -> Self {
        if m.is_empty() {
            Tf::Null
        } else {
            Tf::Known(m.iter().map(|(k, v)| (k.clone(), TfString::of(v.clone()))).collect())
        }
    }
}

impl TfList {
    /// The known elements (an unset list is empty).
    pub fn known_elements(&self) -> Vec<String> {
        self.known()
            .map(|l| l.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// A known list of known strings.
    pub fn of_elements(l: impl IntoIterator<Item = String>) -> Self {
        Tf::Known(l.into_iter().map(TfString::Known).collect())
    }
}

/// A whole-number attribute read for core: its value, or (a fraction, NaN,
/// an overflow) `None` with a violation pushed, never a silent unset
/// (which would plan a default in its place).
pub fn whole_number(n: &TfNumber, path: &str, violations: &mut Vec<Violation>) -> Option<i64> {
    match n.whole() {
        Ok(n) => n,
        Err(rule) => {
            violations.push(number_violation(path, n, rule));
            None
        }
    }
}

/// `attribute = value must be a whole number [whole_number]`.
pub fn number_violation(path: &str, value: &TfNumber, rule: &str) -> Violation {
    let shown = match value {
        Tf::Known(Number::Int(n)) => n.to_string(),
        Tf::Known(Number::Float(f)) => f.to_string(),
        Tf::Known(Number::Text(s)) => s.clone(),
        other => format!("{:?}", other.to_value()),
    };
    Violation {
        attribute: path.split('.').map(str::to_owned).collect(),
        rule: "whole_number".to_owned(),
        message: format!("{path} = {shown} {rule}"),
    }
}

/// Reads the object's attributes into a model, field by field.
pub struct Reader<'a>(pub &'a Value);

impl Reader<'_> {
    /// The attribute `name`, typed.
    pub fn get<T: Attribute>(&self, name: &str) -> T {
        T::from_value(self.0.get(name))
    }

    /// The nested block (object) `name`.
    pub fn block(&self, name: &str) -> Reader<'_> {
        Reader(self.0.get(name))
    }

    /// Whether the object itself is null.
    pub fn is_null(&self) -> bool {
        self.0.is_null()
    }
}

/// Writes a model's attributes into an object value.
#[derive(Default)]
pub struct Writer(BTreeMap<String, Value>);

impl Writer {
    /// Sets the attribute `name`.
    #[must_use]
    pub fn set(mut self, name: &str, v: &impl Attribute) -> Self {
        self.0.insert(name.to_owned(), v.to_value());
        self
    }

    /// Sets the attribute `name` to an already built value (a nested object
    /// or list of objects).
    #[must_use]
    pub fn set_value(mut self, name: &str, v: Value) -> Self {
        self.0.insert(name.to_owned(), v);
        self
    }

    /// The object.
    pub fn finish(self) -> Value {
        Value::Map(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_their_types() {
        let values = [
            Value::Null,
            Value::Unknown,
            Value::String("acme".into()),
            Value::Bool(true),
            Value::Int(512),
            Value::Float(512.5),
            Value::String("1e400".into()),
        ];
        for v in &values {
            match v {
                Value::String(_) => assert_eq!(&TfString::from_value(v).to_value(), v),
                Value::Bool(_) => assert_eq!(&TfBool::from_value(v).to_value(), v),
                Value::Int(_) | Value::Float(_) => assert_eq!(&TfNumber::from_value(v).to_value(), v),
                _ => {
                    assert_eq!(&TfString::from_value(v).to_value(), v);
                    assert_eq!(&TfNumber::from_value(v).to_value(), v);
                    assert_eq!(&TfMap::from_value(v).to_value(), v);
                }
            }
        }
        let partly = Value::object([("A", Value::String("1".into())), ("B", Value::Unknown)]);
        let m = TfMap::from_value(&partly);
        assert_eq!(m.to_value(), partly, "an unknown element stays one");
        assert!(!m.is_known_deep() && !m.is_unknown());
        assert_eq!(m.known_entries().len(), 1);
        let l = Value::List(vec![Value::String("a".into()), Value::Unknown]);
        assert_eq!(TfList::from_value(&l).to_value(), l);
        assert!(!TfList::from_value(&l).is_known_deep());
    }

    #[test]
    fn a_number_that_is_not_whole_is_a_violation_showing_what_was_written() {
        let mut violations = Vec::new();
        let half = TfNumber::from_value(&Value::Float(512.5));
        assert_eq!(whole_number(&half, "cpu", &mut violations), None);
        let big = TfNumber::from_value(&Value::String("1e400".into()));
        assert_eq!(whole_number(&big, "database.port", &mut violations), None);
        assert_eq!(whole_number(&TfNumber::of(7), "x", &mut violations), Some(7));
        assert_eq!(whole_number(&TfNumber::Unknown, "x", &mut violations), None);
        let messages: Vec<_> = violations
            .iter()
            .map(|v| (v.attribute.join("."), v.message.clone()))
            .collect();
        assert_eq!(
            messages,
            [
                ("cpu".to_owned(), "cpu = 512.5 must be a whole number".to_owned()),
                (
                    "database.port".to_owned(),
                    "database.port = 1e400 is out of range".to_owned()
                ),
            ]
        );
    }
}
