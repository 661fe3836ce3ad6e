//! Metadata documents as zarr-python writes them: its key order, two-space
//! indentation (Python's `json.dumps(indent=2)`), no trailing newline.

use serde_json::{json, Map, Value};

use crate::element::ByteOrder;
use crate::zarr::metadata::{ZarrFormat, ZarrMetadata};

/// A JSON value whose objects keep the order they were built in.
pub(crate) enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Leaf(Value),
}

impl From<&Value> for Ordered {
    fn from(value: &Value) -> Ordered {
        match value {
            Value::Object(map) => Ordered::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Ordered::from(v)))
                    .collect(),
            ),
            Value::Array(list) => Ordered::Array(list.iter().map(Ordered::from).collect()),
            leaf => Ordered::Leaf(leaf.clone()),
        }
    }
}

impl Ordered {
    /// The text of `json.dumps(value, indent=2)`.
    pub(crate) fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, depth: usize| {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        };
        match self {
            Ordered::Leaf(value) => out.push_str(&value.to_string()),
            Ordered::Array(items) if items.is_empty() => out.push_str("[]"),
            Ordered::Object(items) if items.is_empty() => out.push_str("{}"),
            Ordered::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    item.write(out, depth + 1);
                }
                pad(out, depth);
                out.push(']');
            }
            Ordered::Object(items) => {
                out.push('{');
                for (i, (key, item)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push_str(": ");
                    item.write(out, depth + 1);
                }
                pad(out, depth);
                out.push('}');
            }
        }
    }
}

fn entry(key: &str, value: Ordered) -> (String, Ordered) {
    (key.to_owned(), value)
}

fn leaf(value: Value) -> Ordered {
    Ordered::Leaf(value)
}

fn sizes(list: &[usize]) -> Ordered {
    Ordered::Array(list.iter().map(|&n| leaf(json!(n))).collect())
}

/// The v3 data type name of a dtype.
fn v3_name(meta: &ZarrMetadata) -> &'static str {
    use crate::element::Kind::*;
    match (meta.dtype.kind, meta.dtype.size) {
        (Bool, _) => "bool",
        (Int, 1) => "int8",
        (Int, 2) => "int16",
        (Int, 4) => "int32",
        (Int, _) => "int64",
        (Uint, 1) => "uint8",
        (Uint, 2) => "uint16",
        (Uint, 4) => "uint32",
        (Uint, _) => "uint64",
        (Float, 2) => "float16",
        (Float, 4) => "float32",
        (Float, _) => "float64",
        (Complex, 8) => "complex64",
        (Complex, _) => "complex128",
    }
}

/// The `codecs` list: the chunk codecs, or `sharding_indexed` holding them.
fn codecs(meta: &ZarrMetadata) -> Ordered {
    let Some(sharding) = &meta.sharding else {
        return chunk_codecs(meta);
    };
    let mut index_codecs = vec![Ordered::Object(vec![
        entry("name", leaf(json!("bytes"))),
        entry(
            "configuration",
            Ordered::Object(vec![entry("endian", leaf(json!("little")))]),
        ),
    ])];
    if sharding.index_checksum {
        index_codecs.push(Ordered::Object(vec![entry("name", leaf(json!("crc32c")))]));
    }
    let location = if sharding.index_at_start {
        "start"
    } else {
        "end"
    };
    Ordered::Array(vec![Ordered::Object(vec![
        entry("name", leaf(json!("sharding_indexed"))),
        entry(
            "configuration",
            Ordered::Object(vec![
                entry("chunk_shape", sizes(&sharding.inner_shape)),
                entry("codecs", chunk_codecs(meta)),
                entry("index_codecs", Ordered::Array(index_codecs)),
                entry("index_location", leaf(json!(location))),
            ]),
        ),
    ])])
}

/// The codecs of each stored chunk (each inner chunk, when sharded).
fn chunk_codecs(meta: &ZarrMetadata) -> Ordered {
    let mut list = Vec::new();
    let order = &meta.codecs.order;
    if order.iter().enumerate().any(|(i, &a)| i != a) {
        list.push(Ordered::Object(vec![
            entry("name", leaf(json!("transpose"))),
            entry(
                "configuration",
                Ordered::Object(vec![entry("order", sizes(order))]),
            ),
        ]));
    }
    let mut bytes = vec![entry("name", leaf(json!("bytes")))];
    let endian = match meta.dtype.byte_order {
        ByteOrder::Little => Some("little"),
        ByteOrder::Big => Some("big"),
        ByteOrder::NotApplicable => None,
    };
    if let Some(endian) = endian {
        bytes.push(entry(
            "configuration",
            Ordered::Object(vec![entry("endian", leaf(json!(endian)))]),
        ));
    }
    list.push(Ordered::Object(bytes));
    if meta.codecs.checksum {
        list.push(Ordered::Object(vec![entry("name", leaf(json!("crc32c")))]));
    }
    Ordered::Array(list)
}

/// `zarr.json` of an array, as zarr-python writes it.
pub(crate) fn v3_array(meta: &ZarrMetadata) -> String {
    let separator = meta.keys.separator.to_string();
    let encoding = if meta.keys.prefix_c { "default" } else { "v2" };
    let mut doc = vec![
        entry("shape", sizes(&meta.shape)),
        entry("data_type", leaf(json!(v3_name(meta)))),
        entry(
            "chunk_grid",
            Ordered::Object(vec![
                entry("name", leaf(json!("regular"))),
                entry(
                    "configuration",
                    Ordered::Object(vec![entry("chunk_shape", sizes(&meta.chunk_shape))]),
                ),
            ]),
        ),
        entry(
            "chunk_key_encoding",
            Ordered::Object(vec![
                entry("name", leaf(json!(encoding))),
                entry(
                    "configuration",
                    Ordered::Object(vec![entry("separator", leaf(json!(separator)))]),
                ),
            ]),
        ),
        entry(
            "fill_value",
            Ordered::from(&meta.fill.to_json(meta.dtype, ZarrFormat::V3)),
        ),
        entry("codecs", codecs(meta)),
        entry(
            "attributes",
            Ordered::from(&Value::Object(meta.attributes.clone())),
        ),
    ];
    if let Some(names) = &meta.dimension_names {
        doc.push(entry(
            "dimension_names",
            Ordered::Array(names.iter().map(|n| leaf(json!(n))).collect()),
        ));
    }
    doc.push(entry("zarr_format", leaf(json!(3))));
    doc.push(entry("node_type", leaf(json!("array"))));
    doc.push(entry("storage_transformers", Ordered::Array(Vec::new())));
    Ordered::Object(doc).pretty()
}

/// `.zarray` of an array, as zarr-python writes it for `zarr_format=2`.
pub(crate) fn v2_zarray(meta: &ZarrMetadata) -> String {
    let fortran = meta
        .codecs
        .order
        .iter()
        .rev()
        .enumerate()
        .all(|(i, &a)| i == a)
        && meta.codecs.order.len() > 1;
    Ordered::Object(vec![
        entry("shape", sizes(&meta.shape)),
        entry("chunks", sizes(&meta.chunk_shape)),
        entry("dtype", leaf(json!(meta.dtype.descr()))),
        entry(
            "fill_value",
            Ordered::from(&meta.fill.to_json(meta.dtype, ZarrFormat::V2)),
        ),
        entry("order", leaf(json!(if fortran { "F" } else { "C" }))),
        entry("filters", leaf(Value::Null)),
        entry(
            "dimension_separator",
            leaf(json!(meta.keys.separator.to_string())),
        ),
        entry("compressor", leaf(Value::Null)),
        entry("zarr_format", leaf(json!(2))),
    ])
    .pretty()
}

/// `.zattrs` of a v2 array: the attributes, and the dimension names where
/// xarray looks for them.
pub(crate) fn v2_zattrs(meta: &ZarrMetadata) -> String {
    let mut attributes: Map<String, Value> = meta.attributes.clone();
    if let Some(names) = &meta.dimension_names {
        attributes.insert("_ARRAY_DIMENSIONS".to_owned(), json!(names));
    }
    Ordered::from(&Value::Object(attributes)).pretty()
}

/// A group's `zarr.json`, with consolidated metadata when given.
pub(crate) fn v3_group(
    attributes: &Map<String, Value>,
    consolidated: Option<&Map<String, Value>>,
) -> String {
    let mut doc = vec![
        entry(
            "attributes",
            Ordered::from(&Value::Object(attributes.clone())),
        ),
        entry("zarr_format", leaf(json!(3))),
    ];
    if let Some(members) = consolidated {
        doc.push(entry(
            "consolidated_metadata",
            Ordered::Object(vec![
                entry("kind", leaf(json!("inline"))),
                entry("must_understand", leaf(json!(false))),
                entry("metadata", Ordered::from(&Value::Object(members.clone()))),
            ]),
        ));
    }
    doc.push(entry("node_type", leaf(json!("group"))));
    Ordered::Object(doc).pretty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_matches_pythons_indent_2() {
        let value = json!({"a": [1, 2], "b": {}, "c": [], "d": {"e": "NaN"}});
        assert_eq!(
            Ordered::from(&value).pretty(),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": {\n    \"e\": \"NaN\"\n  }\n}"
        );
    }
}
