//! Zarr groups: directories of arrays and groups (an xarray dataset is a
//! group of arrays with dimension names), and consolidated metadata, which
//! is written only on request and rewritten whenever the group changes.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::zarr::array::{read_metadata_file, ZarrArray};
use crate::zarr::build::ZarrArrayBuilder;
use crate::zarr::json;
use crate::zarr::metadata::ZarrFormat;
use crate::zarr::write::write_atomically;

/// What a member of a group is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZarrNode {
    /// An array.
    Array,
    /// A group.
    Group,
}

/// A Zarr group (v3 `zarr.json` with `node_type: "group"`, or v2 `.zgroup`).
///
/// ```
/// use ndarray_memmap::{ZarrArrayBuilder, ZarrFormat, ZarrGroup, ZarrNode};
/// let dir = tempfile::tempdir()?;
/// // An xarray dataset: xr.open_zarr(path, consolidated=False) opens it.
/// let group = ZarrGroup::create(dir.path().join("ds.zarr"), ZarrFormat::V3)?;
/// let t = group.create_array("t", &ZarrArrayBuilder::new::<f64>(&[4, 3], &[2, 3]).dimension_names(["y", "x"]))?;
/// t.write_region(&[0, 0], &ndarray::Array2::<f64>::zeros((4, 3)))?;
/// t.finish()?;
/// assert_eq!(group.members()?, [("t".to_owned(), ZarrNode::Array)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ZarrGroup {
    dir: PathBuf,
    format: ZarrFormat,
}

fn group_doc(dir: &Path) -> Result<Option<(ZarrFormat, Map<String, Value>)>> {
    let v3 = dir.join("zarr.json");
    if let Some(bytes) = read_metadata_file(&v3)? {
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| Error::ZarrMetadata {
            path: Some(v3.clone()),
            reason: format!("zarr.json is not valid JSON: {e}"),
        })?;
        return Ok(match doc {
            Value::Object(map) if map.get("node_type") == Some(&json!("group")) => {
                Some((ZarrFormat::V3, map))
            }
            _ => None,
        });
    }
    if dir.join(".zgroup").is_file() {
        let attrs = match read_metadata_file(&dir.join(".zattrs"))? {
            Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            None => Map::new(),
        };
        return Ok(Some((ZarrFormat::V2, attrs)));
    }
    Ok(None)
}

impl ZarrGroup {
    /// Makes a new group in `dir` (created if missing): `zarr.json` with
    /// `node_type: "group"` (v3) or `.zgroup` (v2), no consolidated
    /// metadata.
    ///
    /// # Errors
    /// [`Error::ZarrMetadata`] if `dir` already holds Zarr metadata, and
    /// [`Error::Io`].
    pub fn create(dir: impl AsRef<Path>, format: ZarrFormat) -> Result<ZarrGroup> {
        let dir = dir.as_ref();
        let dir = std::path::absolute(dir).map_err(|e| Error::io("resolve path", dir, e))?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        if ["zarr.json", ".zgroup", ".zarray"]
            .iter()
            .any(|m| dir.join(m).exists())
        {
            return Err(Error::ZarrMetadata {
                path: Some(dir),
                reason: "the directory already holds Zarr metadata; open it with ZarrGroup::open, or remove it first".to_owned(),
            });
        }
        match format {
            ZarrFormat::V3 => write_atomically(
                &dir.join("zarr.json"),
                json::v3_group(&Map::new(), None).as_bytes(),
            )?,
            ZarrFormat::V2 => {
                write_atomically(&dir.join(".zgroup"), b"{\n  \"zarr_format\": 2\n}")?
            }
        }
        reconsolidate_ancestors(&dir)?;
        Ok(ZarrGroup { dir, format })
    }

    /// Opens the group in `dir`.
    ///
    /// # Errors
    /// [`Error::ZarrMetadata`] if `dir` holds no group metadata.
    pub fn open(dir: impl AsRef<Path>) -> Result<ZarrGroup> {
        let dir = dir.as_ref();
        let dir = std::path::absolute(dir).map_err(|e| Error::io("resolve path", dir, e))?;
        match group_doc(&dir)? {
            Some((format, _)) => Ok(ZarrGroup { dir, format }),
            None => Err(Error::ZarrMetadata {
                path: Some(dir),
                reason: "there is no group zarr.json (v3) or .zgroup (v2): the directory is not a Zarr group (an array? open it with ZarrArray::open)".to_owned(),
            }),
        }
    }

    /// The group's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The group's format.
    pub fn format(&self) -> ZarrFormat {
        self.format
    }

    /// The group's members, by name, sorted: every subdirectory that holds
    /// an array or a group (read from the store, never from consolidated
    /// metadata, which may be stale).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn members(&self) -> Result<Vec<(String, ZarrNode)>> {
        let mut members = Vec::new();
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| Error::io("list group", &self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list group", &self.dir, e))?;
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if group_doc(&path)?.is_some() {
                members.push((name, ZarrNode::Group));
            } else if path.join("zarr.json").is_file() || path.join(".zarray").is_file() {
                members.push((name, ZarrNode::Array));
            }
        }
        members.sort();
        Ok(members)
    }

    /// Opens the member array `name` for reading.
    ///
    /// # Errors
    /// As for [`ZarrArray::open`].
    pub fn open_array(&self, name: &str) -> Result<ZarrArray> {
        ZarrArray::open(self.dir.join(name))
    }

    /// Creates the array `name` in this group, in the group's format; it
    /// appears when [`ZarrArray::finish`] writes its metadata (which also
    /// rewrites the group's consolidated metadata, if it has any).
    ///
    /// # Errors
    /// As for [`ZarrArrayBuilder::create`].
    pub fn create_array(&self, name: &str, builder: &ZarrArrayBuilder) -> Result<ZarrArray> {
        builder
            .clone()
            .format(self.format)
            .create(self.dir.join(name))
    }

    /// Creates the group `name` in this group.
    ///
    /// # Errors
    /// As for [`create`](Self::create).
    pub fn create_group(&self, name: &str) -> Result<ZarrGroup> {
        ZarrGroup::create(self.dir.join(name), self.format)
    }

    /// Writes consolidated metadata for the group and everything below it
    /// (v3: inline in `zarr.json`, as zarr-python does; v2: `.zmetadata`).
    /// From then on, every array finished and group created below it
    /// rewrites it, so it never goes stale through this crate.
    ///
    /// # Errors
    /// [`Error::ZarrMetadata`] for a member with invalid metadata, and
    /// [`Error::Io`].
    pub fn consolidate(&self) -> Result<()> {
        consolidate(&self.dir, self.format)
    }
}

/// Whether the group in `dir` has consolidated metadata.
fn is_consolidated(dir: &Path) -> Result<Option<ZarrFormat>> {
    Ok(match group_doc(dir)? {
        Some((ZarrFormat::V3, doc))
            if doc
                .get("consolidated_metadata")
                .is_some_and(|c| !c.is_null()) =>
        {
            Some(ZarrFormat::V3)
        }
        Some((ZarrFormat::V2, _)) if dir.join(".zmetadata").is_file() => Some(ZarrFormat::V2),
        _ => None,
    })
}

/// Rewrites the consolidated metadata of every enclosing group that has it,
/// after a change below it.
pub(crate) fn reconsolidate_ancestors(dir: &Path) -> Result<()> {
    let mut current = dir.parent();
    while let Some(parent) = current {
        if group_doc(parent)?.is_none() {
            break;
        }
        if let Some(format) = is_consolidated(parent)? {
            consolidate(parent, format)?;
        }
        current = parent.parent();
    }
    Ok(())
}

/// Every node's metadata below `dir`, keyed by `prefix` and its path
/// relative to `dir`.
fn collect(
    dir: &Path,
    prefix: &str,
    format: ZarrFormat,
    out: &mut Map<String, Value>,
) -> Result<()> {
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("list group", dir, e))? {
        let entry = entry.map_err(|e| Error::io("list group", dir, e))?;
        if entry.path().is_dir() {
            names.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
    }
    names.sort();
    for (name, path) in names {
        let key = format!("{prefix}{name}");
        let documents: &[&str] = match format {
            ZarrFormat::V3 => &["zarr.json"],
            ZarrFormat::V2 => &[".zarray", ".zgroup", ".zattrs"],
        };
        let mut found = false;
        for document in documents {
            let file = path.join(document);
            if let Some(bytes) = read_metadata_file(&file)? {
                let mut value: Value =
                    serde_json::from_slice(&bytes).map_err(|e| Error::ZarrMetadata {
                        path: Some(file.clone()),
                        reason: format!("not valid JSON: {e}"),
                    })?;
                if let Value::Object(map) = &mut value {
                    map.remove("consolidated_metadata");
                }
                found = true;
                match format {
                    ZarrFormat::V3 => {
                        out.insert(key.clone(), value);
                    }
                    ZarrFormat::V2 => {
                        out.insert(format!("{key}/{document}"), value);
                    }
                }
            }
        }
        if found {
            collect(&path, &format!("{key}/"), format, out)?;
        }
    }
    Ok(())
}

fn consolidate(dir: &Path, format: ZarrFormat) -> Result<()> {
    let mut members = Map::new();
    collect(dir, "", format, &mut members)?;
    match format {
        ZarrFormat::V3 => {
            let attributes = group_doc(dir)?
                .and_then(|(_, doc)| doc.get("attributes").and_then(Value::as_object).cloned())
                .unwrap_or_default();
            write_atomically(
                &dir.join("zarr.json"),
                json::v3_group(&attributes, Some(&members)).as_bytes(),
            )
        }
        ZarrFormat::V2 => {
            members.insert(".zgroup".to_owned(), json!({"zarr_format": 2}));
            let attrs = match read_metadata_file(&dir.join(".zattrs"))? {
                Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({})),
                None => json!({}),
            };
            members.insert(".zattrs".to_owned(), attrs);
            let doc = json!({"metadata": members, "zarr_consolidated_format": 1});
            write_atomically(&dir.join(".zmetadata"), doc.to_string().as_bytes())
        }
    }
}
