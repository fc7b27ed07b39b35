//! A JSON difference, for keeping what one OpenCode format has and the other has not.
//!
//! A conversion writes the fields it can map; [`diff`] then records how the original differs
//! from what converting back would give, and [`apply`] puts that back. The patch is stored in the
//! converted document's `metadata` (see [`super::convert`]), so a round trip is exact by
//! construction and the patch holds exactly the fields without a counterpart.
//!
//! Forms: `{"=": value}` replaces; `{"{}": {key: patch}, "-": [key]}` patches an object (keys to
//! set or patch, keys to remove); `{"[]": [patch | null]}` patches an array of the same length
//! element by element (`null`: unchanged).

use serde_json::{json, Map, Value};

/// The patch that turns `base` into `target`, or `None` when they are equal.
pub fn diff(base: &Value, target: &Value) -> Option<Value> {
    if base == target {
        return None;
    }
    match (base, target) {
        (Value::Object(b), Value::Object(t)) => {
            let mut set = Map::new();
            for (key, tv) in t {
                match b.get(key) {
                    Some(bv) => {
                        if let Some(p) = diff(bv, tv) {
                            set.insert(key.clone(), p);
                        }
                    }
                    None => {
                        set.insert(key.clone(), json!({ "=": tv }));
                    }
                }
            }
            let removed: Vec<Value> = b
                .keys()
                .filter(|k| !t.contains_key(*k))
                .map(|k| Value::String(k.clone()))
                .collect();
            let mut out = Map::new();
            if !set.is_empty() {
                out.insert("{}".into(), Value::Object(set));
            }
            if !removed.is_empty() {
                out.insert("-".into(), Value::Array(removed));
            }
            Some(Value::Object(out))
        }
        (Value::Array(b), Value::Array(t)) if b.len() == t.len() => Some(json!({
            "[]": b.iter().zip(t).map(|(bv, tv)| diff(bv, tv).unwrap_or(Value::Null)).collect::<Vec<_>>()
        })),
        _ => Some(json!({ "=": target })),
    }
}

/// Applies a patch made by [`diff`] to `base`. Parts of a patch that do not fit `base` (it
/// changed since) replace what is there, or are left out.
pub fn apply(base: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        return;
    };
    if let Some(v) = p.get("=") {
        *base = v.clone();
        return;
    }
    if let Some(items) = p.get("[]").and_then(Value::as_array) {
        if let Value::Array(b) = base {
            if b.len() == items.len() {
                for (bv, pv) in b.iter_mut().zip(items) {
                    if !pv.is_null() {
                        apply(bv, pv);
                    }
                }
            }
        }
        return;
    }
    if let Value::Object(b) = base {
        if let Some(Value::Object(set)) = p.get("{}") {
            for (key, pv) in set {
                match b.get_mut(key) {
                    Some(bv) => apply(bv, pv),
                    None => {
                        if let Some(v) = pv.get("=") {
                            b.insert(key.clone(), v.clone());
                        }
                    }
                }
            }
        }
        if let Some(Value::Array(removed)) = p.get("-") {
            for key in removed.iter().filter_map(Value::as_str) {
                b.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_turns_the_base_into_the_target() {
        let base = json!({"a": 1, "b": [1, {"x": 2}], "c": "gone", "d": [1]});
        let target =
            json!({"a": 1, "b": [1, {"x": 3, "y": null}], "e": {"new": true}, "d": [1, 2]});
        let p = diff(&base, &target).unwrap();
        let mut out = base.clone();
        apply(&mut out, &p);
        assert_eq!(out, target);
        assert!(diff(&target, &target).is_none());
    }
}
