//! Python's ways of writing values, which chat templates rely on: `str()` when
//! jinja2 prints a value, and `json.dumps` behind HF's `tojson` filter.

use std::fmt::Write;

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// The `json.dumps` options HF's `tojson` exposes.
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonStyle {
    pub ensure_ascii: bool,
    /// `None`: one line; `Some(unit)`: one item per line, indented by `unit` per level.
    pub indent: Option<String>,
    /// (item separator, key separator); Python's default depends on `indent`.
    pub separators: Option<(String, String)>,
    pub sort_keys: bool,
}

/// `json.dumps(value, ...)` for a template value.
pub(crate) fn py_json(value: &Value, style: &JsonStyle) -> Result<String, Error> {
    let (item_sep, key_sep) = match &style.separators {
        Some((item, key)) => (item.clone(), key.clone()),
        None if style.indent.is_some() => (",".to_string(), ": ".to_string()),
        None => (", ".to_string(), ": ".to_string()),
    };
    let mut out = String::new();
    let writer = JsonWriter {
        style,
        item_sep: &item_sep,
        key_sep: &key_sep,
    };
    writer.write(&mut out, value, 0)?;
    Ok(out)
}

struct JsonWriter<'a> {
    style: &'a JsonStyle,
    item_sep: &'a str,
    key_sep: &'a str,
}

impl JsonWriter<'_> {
    fn write(&self, out: &mut String, value: &Value, depth: usize) -> Result<(), Error> {
        match value.kind() {
            ValueKind::None => out.push_str("null"),
            ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
            ValueKind::Number => out.push_str(&number(value, true)),
            ValueKind::String => {
                json_string(out, value.as_str().unwrap_or(""), self.style.ensure_ascii)
            }
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = value.try_iter()?.collect();
                self.write_container(out, depth, ('[', ']'), &items, |w, out, item, d| {
                    w.write(out, item, d)
                })?;
            }
            ValueKind::Map => {
                let mut keys: Vec<Value> = value.try_iter()?.collect();
                if self.style.sort_keys {
                    keys.sort();
                }
                self.write_container(out, depth, ('{', '}'), &keys, |w, out, key, d| {
                    let name = match key.as_str() {
                        Some(s) => s.to_string(),
                        None => py_json(key, &JsonStyle::default())?,
                    };
                    json_string(out, &name, w.style.ensure_ascii);
                    out.push_str(w.key_sep);
                    w.write(out, &value.get_item(key)?, d)
                })?;
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson cannot serialize a value of type {}", value.kind()),
                ))
            }
        }
        Ok(())
    }

    fn write_container(
        &self,
        out: &mut String,
        depth: usize,
        (open, close): (char, char),
        items: &[Value],
        write_item: impl Fn(&Self, &mut String, &Value, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        out.push(open);
        if items.is_empty() {
            out.push(close);
            return Ok(());
        }
        let newline = |out: &mut String, level: usize| {
            if let Some(unit) = &self.style.indent {
                out.push('\n');
                for _ in 0..level {
                    out.push_str(unit);
                }
            }
        };
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(self.item_sep);
            }
            newline(out, depth + 1);
            write_item(self, out, item, depth + 1)?;
        }
        newline(out, depth);
        out.push(close);
        Ok(())
    }
}

fn json_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number as Python writes it: `3`, `1.0`, `1e+16`, `inf` (or JSON's `Infinity`).
fn number(value: &Value, json: bool) -> String {
    if value.is_integer() {
        return value.to_string();
    }
    match f64::try_from(value.clone()) {
        Ok(f) => py_float(f, json),
        Err(_) => value.to_string(),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, always with a `.0` or an
/// exponent, exponents signed and at least two digits.
pub(crate) fn py_float(f: f64, json: bool) -> String {
    if f.is_nan() {
        return if json { "NaN" } else { "nan" }.to_string();
    }
    if f.is_infinite() {
        let name = if json { "Infinity" } else { "inf" };
        return if f < 0.0 {
            format!("-{name}")
        } else {
            name.to_string()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let sci = format!("{f:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let plain = format!("{f}");
    if plain.contains('.') {
        plain
    } else {
        format!("{plain}.0")
    }
}

/// Python's `str()` of a value, as jinja2 prints it.
pub(crate) fn py_str(value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::String => Ok(value.as_str().unwrap_or("").to_string()),
        _ => py_repr(value),
    }
}

/// Python's `repr()`: strings quoted, containers with `repr` of their items.
fn py_repr(value: &Value) -> Result<String, Error> {
    Ok(match value.kind() {
        ValueKind::None => "None".into(),
        ValueKind::Undefined => String::new(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => number(value, false),
        ValueKind::String => py_repr_str(value.as_str().unwrap_or("")),
        ValueKind::Seq => {
            let items: Result<Vec<String>, Error> =
                value.try_iter()?.map(|v| py_repr(&v)).collect();
            format!("[{}]", items?.join(", "))
        }
        ValueKind::Map => {
            let mut items = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                items.push(format!("{}: {}", py_repr(&key)?, py_repr(&item)?));
            }
            format!("{{{}}}", items.join(", "))
        }
        _ => value.to_string(),
    })
}

fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(py_float(1.0, false), "1.0");
        assert_eq!(py_float(0.5, false), "0.5");
        assert_eq!(py_float(1e16, false), "1e+16");
        assert_eq!(py_float(1.5e-5, false), "1.5e-05");
        assert_eq!(py_float(0.0001, false), "0.0001");
        assert_eq!(py_float(-2.0, false), "-2.0");
        assert_eq!(py_float(f64::INFINITY, true), "Infinity");
    }

    #[test]
    fn json_matches_python_defaults() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, 2.5, null, true], "a": "हिंदी \"q\"\n"}"#).unwrap();
        let one_line = py_json(&v, &JsonStyle::default()).unwrap();
        assert_eq!(
            one_line,
            r#"{"b": [1, 2.5, null, true], "a": "हिंदी \"q\"\n"}"#
        );
        let ascii = JsonStyle {
            ensure_ascii: true,
            ..JsonStyle::default()
        };
        assert!(py_json(&Value::from("हि"), &ascii).unwrap() == r#""\u0939\u093f""#);
        let indented = JsonStyle {
            indent: Some("  ".into()),
            sort_keys: true,
            ..JsonStyle::default()
        };
        assert_eq!(
            py_json(&v, &indented).unwrap(),
            "{\n  \"a\": \"हिंदी \\\"q\\\"\\n\",\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ]\n}"
        );
        assert_eq!(
            py_json(
                &Value::from_serialize(serde_json::json!({"x": []})),
                &indented
            )
            .unwrap(),
            "{\n  \"x\": []\n}"
        );
    }

    #[test]
    fn repr_matches_python() {
        let v: Value =
            serde_json::from_str(r#"["it's", "a", 1, null, false, {"k": 1.0}]"#).unwrap();
        assert_eq!(
            py_str(&v).unwrap(),
            r#"["it's", 'a', 1, None, False, {'k': 1.0}]"#
        );
        assert_eq!(py_str(&Value::from("plain")).unwrap(), "plain");
    }
}
