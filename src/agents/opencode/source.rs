//! Which OpenCode sessions to read, and their child sessions.
//!
//! Root sessions come from `opencode session list` (the current project only). Children
//! (subagents, `parentID`) are hidden from that list and absent from the parent's export, so one
//! `opencode db` query walks `session.parent_id` recursively to find every descendant; each
//! session is then read with `opencode export`.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::cli::{check_id, Listed, OpenCode, OpenCodeError, Result};
use crate::session::Session;

/// Which sessions to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// The most recently updated root session of the current project.
    Latest,
    /// One session (and its descendants), which must belong to the current project.
    Session(String),
    /// Every root session of the current project.
    All,
}

/// One step of a read, for a progress line.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    /// The session being read.
    pub id: &'a str,
    /// Its position (1-based) among all sessions read.
    pub index: usize,
    /// How many sessions are read in all (children included).
    pub total: usize,
}

/// A session row from OpenCode's store.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    parent_id: Option<String>,
    project_id: String,
    directory: String,
}

/// Reads the chosen sessions and all their descendants from the local OpenCode, parents before
/// children. The result is flat: [`crate::session::save_set::assemble`] puts the children under their
/// parents.
pub fn read(
    opencode: &OpenCode,
    which: &Which,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Read> {
    let Roots {
        ids: roots,
        other_checkouts: skipped,
    } = pick_roots(opencode, which)?;
    let rows = descendants(opencode, &roots)?;
    if let Which::Session(id) = which {
        let Some(row) = rows.iter().find(|r| &r.id == id) else {
            return Err(OpenCodeError::NoSuchSession { id: id.clone() });
        };
        // The project of the current directory is the one of its sessions.
        let project = opencode.session_list(Some(1))?.into_iter().next();
        if project.is_none_or(|p| p.project_id != row.project_id) {
            return Err(OpenCodeError::OtherProject {
                id: id.clone(),
                directory: row.directory.clone(),
            });
        }
    }
    let order = parents_first(&roots, &rows);
    let mut out = Vec::with_capacity(order.len());
    for (index, id) in order.iter().enumerate() {
        progress(Progress {
            id,
            index: index + 1,
            total: order.len(),
        });
        out.push(opencode.export(id)?);
    }
    Ok(Read {
        sessions: out,
        other_checkouts: skipped,
    })
}

/// Sessions read, and the root sessions of the project left out because they ran in another
/// checkout (id, directory).
#[derive(Debug, Default)]
pub struct Read {
    /// The sessions read, parents before children (flat).
    pub sessions: Vec<Session>,
    /// Root sessions of other checkouts of the project: id and directory.
    pub other_checkouts: Vec<(String, String)>,
}

/// Whether `directory` (as OpenCode recorded it) is `root` or below it.
pub(crate) fn in_checkout(directory: &str, root: &Path) -> bool {
    let dir = Path::new(directory);
    dir.starts_with(root) || std::fs::canonicalize(dir).is_ok_and(|real| real.starts_with(root))
}

/// The SQL that lists `roots` and all their descendants with their parent and project.
pub fn descendants_sql(roots: &[String]) -> String {
    let list = roots
        .iter()
        .map(|id| format!("'{}'", id.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "WITH RECURSIVE tree(id) AS (SELECT id FROM session WHERE id IN ({list}) \
         UNION SELECT s.id FROM session s JOIN tree t ON s.parent_id = t.id) \
         SELECT s.id AS id, s.parent_id AS parent_id, s.project_id AS project_id, \
         s.directory AS directory FROM session s JOIN tree t ON s.id = t.id"
    )
}

fn descendants(opencode: &OpenCode, roots: &[String]) -> Result<Vec<Row>> {
    for id in roots {
        check_id(id)?;
    }
    let rows = opencode.query(&descendants_sql(roots))?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let text = |key: &str| row.get(key).and_then(Value::as_str).map(str::to_owned);
            Some(Row {
                id: text("id")?,
                parent_id: text("parent_id"),
                project_id: text("project_id").unwrap_or_default(),
                directory: text("directory").unwrap_or_default(),
            })
        })
        .collect())
}

/// Orders `rows` depth first from each root, parents before their children, children in id
/// order (OpenCode ids sort by creation time).
fn parents_first(roots: &[String], rows: &[Row]) -> Vec<String> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for row in rows {
        if let Some(parent) = &row.parent_id {
            children.entry(parent).or_default().push(&row.id);
        }
    }
    for list in children.values_mut() {
        list.sort_unstable();
    }
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for root in roots {
        if !rows.iter().any(|r| &r.id == root) {
            // Listed, but gone by the time of the query: `export` will say so.
            out.push(root.clone());
            continue;
        }
        let mut stack = vec![root.as_str()];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            out.push(id.to_owned());
            if let Some(kids) = children.get(id) {
                stack.extend(kids.iter().rev());
            }
        }
    }
    out
}

/// What [`pick_roots`] found.
pub(crate) struct Roots {
    /// The root sessions to read, newest first.
    pub ids: Vec<String>,
    /// Sessions of other checkouts of this project that were left out: (id, directory).
    pub other_checkouts: Vec<(String, String)>,
}

/// The root sessions `which` names, as `session list` gives them (newest first), and the
/// sessions of other checkouts of this project left out (id, directory). OpenCode 1.x and 2
/// list alike.
pub(crate) fn pick_roots(opencode: &OpenCode, which: &Which) -> Result<Roots> {
    let mut skipped = Vec::new();
    let roots = match which {
        Which::Latest | Which::All => {
            let listed = opencode.session_list(None)?;
            if listed.is_empty() {
                return Err(OpenCodeError::NoSessions {
                    dir: opencode.dir().to_path_buf(),
                });
            }
            // OpenCode groups sessions by project, and every checkout of a repository is one
            // project: keep those that ran in this checkout.
            let (here, elsewhere): (Vec<Listed>, Vec<Listed>) = listed
                .into_iter()
                .partition(|l| in_checkout(&l.directory, opencode.dir()));
            if here.is_empty() {
                let mut others: Vec<String> = elsewhere.into_iter().map(|l| l.directory).collect();
                others.sort();
                others.dedup();
                return Err(OpenCodeError::OnlyInOtherCheckouts {
                    dir: opencode.dir().to_path_buf(),
                    others,
                });
            }
            skipped.extend(elsewhere.into_iter().map(|l| (l.id, l.directory)));
            let limit = if *which == Which::Latest {
                1
            } else {
                here.len()
            };
            here.into_iter().take(limit).map(|l| l.id).collect()
        }
        Which::Session(id) => {
            check_id(id)?;
            vec![id.clone()]
        }
    };
    Ok(Roots {
        ids: roots,
        other_checkouts: skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, parent: Option<&str>) -> Row {
        Row {
            id: id.into(),
            parent_id: parent.map(str::to_owned),
            project_id: "p".into(),
            directory: "/w".into(),
        }
    }

    #[test]
    fn parents_come_before_their_children() {
        let rows = vec![
            row("ses_c2", Some("ses_c1")),
            row("ses_b", Some("ses_a")),
            row("ses_c1", Some("ses_a")),
            row("ses_a", None),
            row("ses_z", None),
        ];
        let order = parents_first(&["ses_a".into(), "ses_z".into()], &rows);
        assert_eq!(order, ["ses_a", "ses_b", "ses_c1", "ses_c2", "ses_z"]);
    }

    #[test]
    fn the_query_quotes_ids_and_recurses_over_parent_id() {
        let sql = descendants_sql(&["ses_a".into(), "ses_b".into()]);
        assert!(sql.contains("IN ('ses_a','ses_b')"), "{sql}");
        assert!(sql.contains("WITH RECURSIVE"), "{sql}");
        assert!(sql.contains("s.parent_id = t.id"), "{sql}");
    }
}
