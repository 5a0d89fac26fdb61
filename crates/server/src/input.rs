//! Reading a posted message (`POST /v1/messages`): the trace row's JSON Lines shape without
//! `seq` and `time`, read by the trace reader's own rules, with errors that name the field.

use lnp_model::{CarrierCode, Message, MsgKind, TelephoneNumber, TraceFormat, TraceReader};
use serde_json::Value;

/// A message or action as an external carrier posted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub from: CarrierCode,
    /// `None` for an action row.
    pub to: Option<CarrierCode>,
    pub message: Message,
}

/// What is wrong with a request, and in which field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Option<String>,
    pub error: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            error: error.into(),
        }
    }

    pub fn body(error: impl Into<String>) -> Self {
        Self {
            field: None,
            error: error.into(),
        }
    }
}

/// The fields a posted message may have.
pub const FIELDS: [&str; 8] = ["msg", "from", "to", "ref", "category", "numbers", "code", "detail"];

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a posted message. Checks the shape (a JSON object with the required fields, each of
/// its type, no unknown or server-assigned field), then reads it as the trace reader reads a
/// JSON Lines row, so that a value means here what it means in a trace file.
pub fn parse_message(body: &[u8]) -> Result<Incoming, FieldError> {
    let text = std::str::from_utf8(body).map_err(|e| FieldError::body(format!("the body is not UTF-8: {e}")))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| FieldError::body(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(map) = &value else {
        return Err(FieldError::body(format!(
            "the body is one message, a JSON object; found {}",
            kind_of(&value)
        )));
    };
    for key in map.keys() {
        match key.as_str() {
            "seq" | "time" => {
                return Err(FieldError::new(
                    key,
                    format!("the server assigns `{key}`; leave it out"),
                ))
            }
            k if FIELDS.contains(&k) => {}
            _ => {
                return Err(FieldError::new(
                    key,
                    format!("unknown field; a message has {}", FIELDS.join(", ")),
                ))
            }
        }
    }
    let string = |name: &str, required: bool| -> Result<Option<&str>, FieldError> {
        match map.get(name) {
            None if required => Err(FieldError::new(name, "missing")),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(FieldError::new(
                name,
                format!("expected a string, found {}", kind_of(other)),
            )),
        }
    };
    let msg = string("msg", true)?.ok_or_else(|| FieldError::new("msg", "missing"))?;
    let kind: MsgKind = msg.trim().parse().map_err(|_| {
        let all: Vec<&str> = MsgKind::ALL.iter().map(|k| k.keyword()).collect();
        FieldError::new("msg", format!("unknown msg {msg:?}; one of {}", all.join(", ")))
    })?;
    let from = string("from", true)?.ok_or_else(|| FieldError::new("from", "missing"))?;
    from.trim()
        .parse::<CarrierCode>()
        .map_err(|e| FieldError::new("from", e.to_string()))?;
    let to = string("to", false)?.filter(|t| !t.trim().is_empty());
    match (kind.is_action(), to) {
        (false, None) => {
            return Err(FieldError::new(
                "to",
                format!("missing: {kind} is a message, and `to` names its receiver"),
            ))
        }
        (true, Some(_)) => {
            return Err(FieldError::new(
                "to",
                format!("{kind} is an action (it has no receiver): leave `to` out"),
            ))
        }
        _ => {}
    }
    if let Some(t) = to {
        t.trim()
            .parse::<CarrierCode>()
            .map_err(|e| FieldError::new("to", e.to_string()))?;
    }
    if !map.contains_key("ref") {
        return Err(FieldError::new("ref", "missing"));
    }
    let port_ref = string("ref", false)?.filter(|r| !r.trim().is_empty());
    if port_ref.is_none() && kind != MsgKind::GiveBack {
        return Err(FieldError::new("ref", format!("missing: every {kind} names its port")));
    }
    match map.get("numbers") {
        None => return Err(FieldError::new("numbers", "missing")),
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(FieldError::new("numbers", "empty: a message names at least one number"));
            }
            for (i, item) in items.iter().enumerate() {
                let field = format!("numbers[{i}]");
                let Value::String(s) = item else {
                    return Err(FieldError::new(
                        field,
                        format!("expected a string, found {}", kind_of(item)),
                    ));
                };
                s.trim()
                    .parse::<TelephoneNumber>()
                    .map_err(|e| FieldError::new(field, e.to_string()))?;
            }
        }
        Some(other) => {
            return Err(FieldError::new(
                "numbers",
                format!("expected an array of strings, found {}", kind_of(other)),
            ))
        }
    }
    string("category", false)?;
    string("code", false)?;
    match map.get("detail") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(other) => {
            return Err(FieldError::new(
                "detail",
                format!("expected an object of strings, found {}", kind_of(other)),
            ))
        }
    }
    // The trace reader reads one line; a JSON text has no raw line breaks inside its strings,
    // so those outside them can go.
    let flat: String = text
        .trim()
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let inner = flat.strip_prefix('{').unwrap_or(&flat);
    let line = format!("{{\"seq\":1,\"time\":\"2000-01-01T00:00:00+11:00\",{inner}");
    let mut reader =
        TraceReader::new(line.as_bytes(), TraceFormat::Jsonl).map_err(|e| FieldError::body(e.to_string()))?;
    match reader.next() {
        Some(Ok(r)) => Ok(Incoming {
            from: r.from,
            to: r.to,
            message: r.message,
        }),
        Some(Err(e)) => Err(FieldError {
            field: e.column.clone(),
            error: e.message,
        }),
        None => Err(FieldError::body("empty body")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> FieldError {
        parse_message(body.as_bytes()).expect_err(body)
    }

    #[test]
    fn a_message_is_read_as_a_trace_row() {
        let m = parse_message(
            br#"{"msg":"SNA","from":"9002","to":"9001","ref":"P1","category":"A",
                 "numbers":["0255501234"],"detail":{"ca_date":"2026-02-25"}}"#,
        )
        .expect("valid");
        assert_eq!(m.message.kind, MsgKind::Sna);
        assert_eq!(m.to.map(|t| t.to_string()).as_deref(), Some("9001"));
        let a = parse_message(
            br#"{"msg":"CUTOVER","from":"9001","ref":"P1","numbers":["0255501234"],"detail":{"current":"9002"}}"#,
        )
        .expect("an action");
        assert_eq!(a.to, None);
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err("{").field, None);
        assert_eq!(err("[]").field, None);
        assert_eq!(
            err(r#"{"from":"9002","to":"9001","ref":"P1","numbers":[]}"#)
                .field
                .as_deref(),
            Some("msg")
        );
        let e = err(r#"{"msg":"HELLO","from":"9002","to":"9001","ref":"P1","numbers":["0255501234"]}"#);
        assert_eq!(e.field.as_deref(), Some("msg"));
        assert!(e.error.contains("unknown msg"), "{e:?}");
        let e = err(r#"{"msg":"SNA","from":"9002","to":"9001","ref":"P1","numbers":["0255501234","12"]}"#);
        assert_eq!(e.field.as_deref(), Some("numbers[1]"));
        let e = err(r#"{"msg":"SNA","from":9002,"to":"9001","ref":"P1","numbers":["0255501234"]}"#);
        assert_eq!(e.field.as_deref(), Some("from"));
        let e = err(r#"{"msg":"SNA","from":"9002","ref":"P1","numbers":["0255501234"]}"#);
        assert_eq!(e.field.as_deref(), Some("to"));
        let e = err(r#"{"msg":"SNA","from":"9002","to":"9001","ref":"P1","numbers":["0255501234"],"seq":4}"#);
        assert_eq!(e.field.as_deref(), Some("seq"));
        let e = err(r#"{"msg":"SNA","from":"9002","to":"9001","ref":"P1","numbers":["0255501234"],"code":3}"#);
        assert_eq!(e.field.as_deref(), Some("code"));
        let e = err(
            r#"{"msg":"SNA","from":"9002","to":"9001","ref":"P1","numbers":["0255501234"],"detail":{"cutover":"soon"}}"#,
        );
        assert_eq!(e.field.as_deref(), Some("detail"));
        let e = err(r#"{"msg":"SNA","from":"9002","to":"9001","ref":"P1","numbers":["0255501234"],"colour":"red"}"#);
        assert_eq!(e.field.as_deref(), Some("colour"));
    }
}
