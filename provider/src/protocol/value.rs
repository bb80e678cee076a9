//! Terraform values as they cross the wire: msgpack (cty's encoding) in
//! `DynamicValue`, JSON in raw state. Objects and maps are both `Map`;
//! lists, sets and tuples are all `List` — the schema gives them meaning.

use std::collections::BTreeMap;

use magma_protocol::tfplugin6::DynamicValue;

/// A Terraform value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// Not known until apply.
    Unknown,
    /// A bool.
    Bool(bool),
    /// A number that fits an i64.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    String(String),
    /// A list, set or tuple.
    List(Vec<Value>),
    /// An object or map.
    Map(BTreeMap<String, Value>),
}

/// A value that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// Bad msgpack.
    #[error("invalid msgpack: {0}")]
    Msgpack(String),
    /// Bad JSON.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A msgpack type Terraform never sends.
    #[error("unexpected msgpack value: {0}")]
    Unexpected(String),
}

static NULL: Value = Value::Null;

impl Value {
    /// An object from attribute names and values.
    #[cfg(test)]
    pub fn object<'a>(attrs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Map(attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// The attribute or map element `key`; `Null` when absent or not a map.
    pub fn get(&self, key: &str) -> &Value {
        match self {
            Value::Map(m) => m.get(key).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A number attribute as a whole number: `Ok(None)` when null or
    /// unknown, `Err` with the rule it breaks when it is a fraction, not
    /// finite, beyond an i64 (cty sends numbers too large for a float as
    /// strings) or not a number at all. [`Value::as_i64`] would read all of
    /// those as unset, and a default would be planned instead.
    pub fn whole_number(&self) -> Result<Option<i64>, &'static str> {
        // 2^63 as a float: every float below it in magnitude fits an i64.
        const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;
        match self {
            Value::Null | Value::Unknown => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            Value::Float(f) if !f.is_finite() => Err("must be a finite number"),
            Value::Float(f) if f.fract() != 0.0 => Err("must be a whole number"),
            Value::Float(f) if f.abs() >= I64_LIMIT => Err("is out of range"),
            // Whole and within range: the conversion is exact.
            #[allow(clippy::cast_possible_truncation)]
            Value::Float(f) => Ok(Some(*f as i64)),
            Value::String(s) if s.trim().parse::<f64>().is_ok() => Err("is out of range"),
            _ => Err("must be a number"),
        }
    }

    /// The bool, if known.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The entries, if this is a map or object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// No unknown anywhere inside.
    pub fn is_known_deep(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(l) => l.iter().all(Value::is_known_deep),
            Value::Map(m) => m.values().all(Value::is_known_deep),
            _ => true,
        }
    }
}

fn to_rmpv(v: &Value) -> rmpv::Value {
    match v {
        Value::Null => rmpv::Value::Nil,
        // cty's unknown: fixext1, extension type 0, one zero byte.
        Value::Unknown => rmpv::Value::Ext(0, vec![0]),
        Value::Bool(b) => rmpv::Value::Boolean(*b),
        Value::Int(n) => rmpv::Value::from(*n),
        Value::Float(f) => rmpv::Value::F64(*f),
        Value::String(s) => rmpv::Value::from(s.as_str()),
        Value::List(l) => rmpv::Value::Array(l.iter().map(to_rmpv).collect()),
        Value::Map(m) => rmpv::Value::Map(
            m.iter()
                .map(|(k, v)| (rmpv::Value::from(k.as_str()), to_rmpv(v)))
                .collect(),
        ),
    }
}

fn from_rmpv(v: rmpv::Value) -> Result<Value, ValueError> {
    Ok(match v {
        rmpv::Value::Nil => Value::Null,
        // Type 0 is unknown; type 12 is a refined unknown (1.6+).
        rmpv::Value::Ext(..) => Value::Unknown,
        rmpv::Value::Boolean(b) => Value::Bool(b),
        rmpv::Value::Integer(i) => match i.as_i64() {
            Some(n) => Value::Int(n),
            None => Value::Float(i.as_f64().unwrap_or(f64::MAX)),
        },
        rmpv::Value::F32(f) => Value::Float(f64::from(f)),
        rmpv::Value::F64(f) => Value::Float(f),
        // cty sends numbers too large for a float as strings; so do strings.
        rmpv::Value::String(s) => Value::String(
            s.into_str()
                .ok_or_else(|| ValueError::Unexpected("non-UTF-8 string".into()))?,
        ),
        rmpv::Value::Binary(b) => {
            Value::String(String::from_utf8(b).map_err(|_| ValueError::Unexpected("binary".into()))?)
        }
        rmpv::Value::Array(a) => Value::List(a.into_iter().map(from_rmpv).collect::<Result<_, _>>()?),
        rmpv::Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| {
                    let k = match k {
                        rmpv::Value::String(s) => s
                            .into_str()
                            .ok_or_else(|| ValueError::Unexpected("non-UTF-8 key".into()))?,
                        other => return Err(ValueError::Unexpected(format!("map key {other}"))),
                    };
                    Ok((k, from_rmpv(v)?))
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Encodes a value as msgpack.
pub fn encode(v: &Value) -> DynamicValue {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut buf, &to_rmpv(v));
    DynamicValue {
        msgpack: buf,
        json: Vec::new(),
    }
}

/// Decodes a `DynamicValue` (msgpack, or JSON when that is what was sent).
pub fn decode(d: &DynamicValue) -> Result<Value, ValueError> {
    if d.msgpack.is_empty() && !d.json.is_empty() {
        return from_json(&d.json);
    }
    if d.msgpack.is_empty() {
        return Ok(Value::Null);
    }
    let mut slice = d.msgpack.as_slice();
    let v = rmpv::decode::read_value(&mut slice).map_err(|e| ValueError::Msgpack(e.to_string()))?;
    from_rmpv(v)
}

/// Decodes JSON (raw state).
pub fn from_json(bytes: &[u8]) -> Result<Value, ValueError> {
    fn conv(j: serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0)), Value::Int),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::List(a.into_iter().map(conv).collect()),
            serde_json::Value::Object(o) => Value::Map(o.into_iter().map(|(k, v)| (k, conv(v))).collect()),
        }
    }
    Ok(conv(serde_json::from_slice(bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_cty_fixext1() {
        assert_eq!(encode(&Value::Unknown).msgpack, vec![0xd4, 0, 0]);
        let refined = DynamicValue {
            msgpack: vec![0xc7, 2, 12, 1, 2],
            json: vec![],
        };
        assert_eq!(decode(&refined).expect("decode"), Value::Unknown);
    }

    #[test]
    fn every_variant_round_trips() {
        let v = Value::object([
            ("null", Value::Null),
            ("unknown", Value::Unknown),
            ("bool", Value::Bool(true)),
            ("int", Value::Int(-42)),
            ("float", Value::Float(1.5)),
            ("string", Value::String("héllo".into())),
            ("list", Value::List(vec![Value::String("a".into()), Value::Int(1)])),
            ("map", Value::object([("k", Value::String("v".into()))])),
        ]);
        assert_eq!(decode(&encode(&v)).expect("decode"), v);
        assert!(!v.is_known_deep());
        assert_eq!(v.get("missing"), &Value::Null);
        assert_eq!(v.get("int").whole_number(), Ok(Some(-42)));
    }

    #[test]
    fn whole_numbers_are_told_from_fractions_and_overflow() {
        assert_eq!(Value::Int(-3).whole_number(), Ok(Some(-3)));
        assert_eq!(Value::Float(512.0).whole_number(), Ok(Some(512)));
        assert_eq!(Value::Null.whole_number(), Ok(None));
        assert_eq!(Value::Unknown.whole_number(), Ok(None));
        assert_eq!(Value::Float(512.5).whole_number(), Err("must be a whole number"));
        assert_eq!(Value::Float(f64::NAN).whole_number(), Err("must be a finite number"));
        assert_eq!(
            Value::Float(f64::INFINITY).whole_number(),
            Err("must be a finite number")
        );
        assert_eq!(Value::Float(1e19).whole_number(), Err("is out of range"));
        assert_eq!(Value::String("1e400".into()).whole_number(), Err("is out of range"));
        assert_eq!(Value::Bool(true).whole_number(), Err("must be a number"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        // Terraform's bytes are outside input: decoding returns an error,
        // never a panic, whatever they are.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let msgpack = DynamicValue { msgpack: bytes.clone(), json: Vec::new() };
            let _ = decode(&msgpack);
            let json = DynamicValue { msgpack: Vec::new(), json: bytes.clone() };
            let _ = decode(&json);
            let _ = from_json(&bytes);
        }

        #[test]
        fn decoded_values_encode_and_decode_again(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            if let Ok(v) = decode(&DynamicValue { msgpack: bytes, json: Vec::new() }) {
                let again = decode(&encode(&v)).expect("what we encode decodes");
                // NaN is the one value not equal to itself.
                if !format!("{v:?}").contains("NaN") {
                    proptest::prop_assert_eq!(again, v);
                }
            }
        }
    }

    #[test]
    fn deeply_nested_input_is_an_error_not_a_stack_overflow() {
        // 100 000 nested one-element arrays (msgpack fixarray 0x91) and
        // JSON brackets.
        let msgpack = DynamicValue {
            msgpack: vec![0x91; 100_000],
            json: Vec::new(),
        };
        assert!(decode(&msgpack).is_err());
        assert!(from_json(&vec![b'['; 100_000]).is_err());
    }

    #[test]
    fn json_state_decodes() {
        let v = from_json(br#"{"name":"x","cpu":256,"tags":{"a":"b"},"ids":["1"],"n":null}"#).expect("json");
        assert_eq!(v.get("cpu").whole_number(), Ok(Some(256)));
        assert_eq!(v.get("tags").get("a").as_str(), Some("b"));
        assert!(v.get("n").is_null());
    }
}
