//! The names an export gives its files and folders, and the lists its manifest keeps of
//! them: only names of this form are ever deleted.

use serde_json::Value as Json;

use crate::parquet::TABLES;

/// Files and folders (relative paths) an export wrote.
pub type Listed = (Vec<String>, Vec<String>);

/// The files and folders a manifest says its export wrote; `None` for a manifest written by
/// an older version, which did not list them. Anything listed that is not a name this tool
/// gives its own files or folders is an error: nothing should then be deleted.
pub fn listed(manifest: &Json) -> Result<Option<Listed>, String> {
    let Some(files) = manifest.get("files") else {
        return Ok(None);
    };
    let files = files.as_array().ok_or("\"files\" is not a list")?;
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let p = f
            .get("path")
            .and_then(Json::as_str)
            .ok_or("an entry of \"files\" has no path")?;
        if !is_part_path(p) {
            return Err(format!("\"files\" lists {p:?}, not a part file's name"));
        }
        out.push(p.to_string());
    }
    let mut dirs = Vec::new();
    if let Some(d) = manifest.get("dirs") {
        for d in d.as_array().ok_or("\"dirs\" is not a list")? {
            let d = d.as_str().ok_or("an entry of \"dirs\" is not a string")?;
            if !is_table_dir(d) {
                return Err(format!("\"dirs\" lists {d:?}, not a table folder"));
            }
            dirs.push(d.to_string());
        }
    }
    Ok(Some((out, dirs)))
}

fn is_db_dir(s: &str) -> bool {
    s.strip_prefix("db=")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_data_table(t: &str) -> bool {
    t != "meta" && TABLES.contains(&t)
}

/// `<table>/db=<N>/part-*.parquet` or `meta/part-*.parquet`: the names of part files.
pub fn is_part_path(path: &str) -> bool {
    let name_ok = |n: &str| n.starts_with("part-") && n.ends_with(".parquet");
    match path.split('/').collect::<Vec<_>>().as_slice() {
        ["meta", name] => name_ok(name),
        [table, db, name] => is_data_table(table) && is_db_dir(db) && name_ok(name),
        _ => false,
    }
}

/// `<table>` or `<table>/db=<N>`: the folders part files are published into.
pub fn is_table_dir(path: &str) -> bool {
    match path.split('/').collect::<Vec<_>>().as_slice() {
        [table] => TABLES.contains(table),
        [table, db] => is_data_table(table) && is_db_dir(db),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_part_names_are_deletable() {
        assert!(is_part_path("keys/db=0/part-0000-dump-00000.parquet"));
        assert!(is_part_path("meta/part-0001-a-00003.parquet"));
        for bad in [
            "../etc/passwd",
            "keys/db=0/../../x.parquet",
            "keys/notes.txt",
            "keys/db=x/part-1.parquet",
            "meta/db=0/part-1.parquet",
            "/abs/keys/db=0/part-1.parquet",
            "other/db=0/part-1.parquet",
            "keys/db=0/part-1.parquet/x",
        ] {
            assert!(!is_part_path(bad), "{bad}");
        }
        assert!(is_table_dir("keys") && is_table_dir("keys/db=12") && is_table_dir("meta"));
        assert!(!is_table_dir("..") && !is_table_dir("keys/..") && !is_table_dir("meta/db=0"));
        let m = json!({"files": [{"path": "keys/../../x"}]});
        assert!(listed(&m).is_err());
        assert_eq!(listed(&json!({"status": "COMPLETE"})).unwrap(), None);
    }
}
