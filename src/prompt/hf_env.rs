//! A minijinja environment that behaves like the jinja2 environment HF transformers
//! renders chat templates in (`_compile_jinja_template`): trim_blocks and
//! lstrip_blocks, no autoescape, `raise_exception`, `strftime_now`, a `tojson` that
//! keeps non-ASCII text, Python string methods, and Python-style printing of values.

use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State};

use super::pyfmt::{py_json, py_str, JsonStyle};
use super::strftime::strftime_now;

/// The environment every chat template is compiled in.
pub(crate) fn hf_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(false);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(python_formatter);
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", strftime_fn);
    env.add_filter("tojson", tojson);
    env
}

/// jinja2 prints values with Python's `str()`: `None`, `True`, `['a', 1]`.
fn python_formatter(
    out: &mut minijinja::Output,
    state: &State,
    value: &Value,
) -> Result<(), Error> {
    match value.kind() {
        ValueKind::None | ValueKind::Bool | ValueKind::Number | ValueKind::Seq | ValueKind::Map => {
            let text = py_str(value)?;
            out.write_str(&text)
                .map_err(|e| Error::new(ErrorKind::WriteFailure, e.to_string()))
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

fn strftime_fn(format: String) -> Result<Value, Error> {
    Ok(Value::from(strftime_now(&format)))
}

/// HF's `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`,
/// which is Python's `json.dumps` with those arguments.
fn tojson(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    let (positional, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let names = ["ensure_ascii", "indent", "separators", "sort_keys"];
    if positional.len() > names.len() {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "tojson takes at most 4 arguments",
        ));
    }
    let mut given: [Option<Value>; 4] = Default::default();
    for (slot, v) in given.iter_mut().zip(positional) {
        *slot = Some(v.clone());
    }
    for (slot, name) in given.iter_mut().zip(names) {
        if let Some(v) = kwargs.get::<Option<Value>>(name)? {
            *slot = Some(v);
        }
    }
    kwargs.assert_all_used()?;
    let [ensure_ascii, indent, separators, sort_keys] = given;
    let style = JsonStyle {
        ensure_ascii: ensure_ascii.is_some_and(|v| v.is_true()),
        indent: json_indent(indent)?,
        separators: json_separators(separators)?,
        sort_keys: sort_keys.is_some_and(|v| v.is_true()),
    };
    Ok(Value::from_safe_string(py_json(value, &style)?))
}

/// Python accepts an int (that many spaces) or a string as `indent`; `None` means
/// one line.
fn json_indent(indent: Option<Value>) -> Result<Option<String>, Error> {
    let Some(indent) = indent.filter(|v| !v.is_none() && !v.is_undefined()) else {
        return Ok(None);
    };
    if let Some(s) = indent.as_str() {
        return Ok(Some(s.to_string()));
    }
    match i64::try_from(indent) {
        Ok(n) => Ok(Some(" ".repeat(n.max(0) as usize))),
        Err(_) => Err(Error::new(
            ErrorKind::InvalidOperation,
            "tojson indent must be an integer or a string",
        )),
    }
}

fn json_separators(separators: Option<Value>) -> Result<Option<(String, String)>, Error> {
    let Some(seps) = separators.filter(|v| !v.is_none() && !v.is_undefined()) else {
        return Ok(None);
    };
    let item = seps
        .get_item_by_index(0)
        .ok()
        .and_then(|v| v.as_str().map(String::from));
    let key = seps
        .get_item_by_index(1)
        .ok()
        .and_then(|v| v.as_str().map(String::from));
    match (item, key, seps.len()) {
        (Some(item), Some(key), Some(2)) => Ok(Some((item, key))),
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            "tojson separators must be a pair of strings",
        )),
    }
}
