//! What an error says to do next: the flag that gets past it, the subcommand that was meant.

use std::path::{Path, PathBuf};

use rdb_format::ErrorKind;
use rdb_pipeline::pipeline::PipelineError;

use crate::UsageError;

/// A first FILE argument that is no file but one typo away from a subcommand
/// (`rdb-convert memroy x.rdb`) was a subcommand meant, not a dump: say so (exit 2) instead
/// of "memroy: No such file or directory".
pub fn unknown_command<'a>(
    files: &[PathBuf],
    commands: impl IntoIterator<Item = &'a str>,
) -> Option<UsageError> {
    let word = files.first()?.to_str()?;
    if word.contains('/') || word == "-" || Path::new(word).exists() {
        return None;
    }
    let (distance, closest) = commands
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .min()?;
    // Two edits: "memroy" (a swap) and "topp" are typos; "dump" is not "top".
    (distance <= 2 && distance < closest.len()).then(|| {
        UsageError(format!(
            "unknown command '{word}' (did you mean '{closest}'?)"
        ))
    })
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours each count one.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

const FUTURE_VERSION: &str = "the dump was written by a newer server than this tool knows; \
     --allow-future-versions reads it anyway (types it does not know still stop it)";
const CHECKSUM: &str = "the dump was damaged or changed after it was written; \
     --no-verify-checksum reads it anyway (values may be wrong)";
const TRUNCATED: &str = "the file looks truncated (incomplete copy?): \
     compare its size with the original, or copy it again";

/// The next step for an error, when one is known: from the decoder's error where the chain
/// still holds it, else from the text (some commands keep only an error's text).
pub fn hint(e: &anyhow::Error) -> Option<&'static str> {
    e.chain()
        .find_map(|cause| {
            if let Some(decode) = cause.downcast_ref::<rdb_format::Error>() {
                return Some(hint_for_kind(&decode.kind));
            }
            match cause.downcast_ref::<PipelineError>() {
                Some(PipelineError::Decode { error, .. }) => Some(hint_for_kind(&error.kind)),
                _ => None,
            }
        })
        .unwrap_or_else(|| hint_from_text(&format!("{e:#}")))
}

fn hint_for_kind(kind: &ErrorKind) -> Option<&'static str> {
    match kind {
        ErrorKind::UnsupportedVersion { .. } => Some(FUTURE_VERSION),
        ErrorKind::ChecksumMismatch { .. } => Some(CHECKSUM),
        ErrorKind::Truncated
        | ErrorKind::PastEnd {
            container: "input", ..
        } => Some(TRUNCATED),
        _ => None,
    }
}

/// The decoder's own words, for errors that reach here as text only.
fn hint_from_text(text: &str) -> Option<&'static str> {
    if text.contains("unsupported RDB version") {
        Some(FUTURE_VERSION)
    } else if text.contains("checksum mismatch") {
        Some(CHECKSUM)
    } else if text.contains("unexpected end of input") || text.contains("past end of input") {
        Some(TRUNCATED)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("memroy", "memory"), 1);
        assert_eq!(edit_distance("memory", "memory"), 0);
        assert_eq!(edit_distance("top", "tpo"), 1);
        assert_eq!(edit_distance("dump", "top"), 3);
        assert_eq!(edit_distance("", "seed"), 4);
    }

    #[test]
    fn typos_of_subcommands() {
        let commands = [
            "convert", "info", "memory", "top", "seed", "split", "filter",
        ];
        let suggest = |w: &str| unknown_command(&[PathBuf::from(w)], commands).map(|e| e.0);
        assert_eq!(
            suggest("memroy").as_deref(),
            Some("unknown command 'memroy' (did you mean 'memory'?)")
        );
        assert_eq!(
            suggest("fliter").as_deref(),
            Some("unknown command 'fliter' (did you mean 'filter'?)")
        );
        assert_eq!(suggest("dump.rdb"), None);
        assert_eq!(suggest("dir/memroy"), None);
        assert_eq!(suggest("-"), None);
        assert_eq!(suggest("backup"), None);
    }
}
