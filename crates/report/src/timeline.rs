//! One trace row as a line for people: the terminal timeline of `lnpsim run` and the rows of the
//! plain-text report share these pieces.

use std::fmt::Write as _;

use lnp_model::message::numbers_text;
use lnp_model::{TelephoneNumber, Timestamp, TraceRecord};

/// How a row's instant is written for people: Sydney local time with its zone.
pub const TIME_FORMAT: &str = "%a %d %b %Y %H:%M:%S %Z";

/// `t` in Sydney local time, as [`TIME_FORMAT`] writes it (`Mon 02 Mar 2026 09:00:00 AEDT`).
pub fn time_text(t: Timestamp) -> String {
    t.sydney().format(TIME_FORMAT).to_string()
}

/// The timeline line of a row: seq, Sydney time, sender and receiver (or the acting carrier),
/// keyword, ref, numbers, and the code and detail where present.
pub fn line(r: &TraceRecord) -> String {
    let m = &r.message;
    let route = match r.to {
        Some(to) => format!("{} -> {to}", r.from),
        None => format!("{}        ", r.from),
    };
    let mut line = format!(
        "{:>5}  {}  {route}  {:<24} {:<12} {}",
        r.seq,
        time_text(r.time),
        m.kind.keyword(),
        m.port_ref.map(|p| p.to_string()).unwrap_or_default(),
        numbers_text(&m.numbers),
    );
    line.push_str(&code_and_detail(r));
    line
}

/// `  code X` and `  key=value;…` where the row has them (empty otherwise).
pub fn code_and_detail(r: &TraceRecord) -> String {
    let m = &r.message;
    let mut out = String::new();
    if !m.code.is_none() {
        let _ = write!(out, "  code {}", m.code);
    }
    if !m.detail.is_empty() {
        let _ = write!(out, "  {}", m.detail);
    }
    out
}

/// A list of numbers for a summary: all of them when there are one or two, else the first and
/// last with the count (`0255502000..0255502009 (10)`).
pub fn numbers_brief(numbers: &[TelephoneNumber]) -> String {
    match numbers {
        [first, .., last] if numbers.len() > 2 => format!("{first}..{last} ({})", numbers.len()),
        all => numbers_text(all),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnp_model::trace::read_all;
    use lnp_model::TraceFormat;

    #[test]
    fn a_line_reads_like_the_run_timeline() {
        let text = "seq,time,from,to,msg,ref,category,numbers,code,detail\n\
                    1,2026-03-02T09:00:00+11:00,9002,9001,SNA_REJECT,P1,A,0255501234,003,reason=x\n\
                    2,2026-07-02T09:00:00+10:00,9001,,CUTOVER,P1,A,0255501234,,\n";
        let (rows, bad) = read_all(text.as_bytes(), TraceFormat::Csv).expect("trace");
        assert!(bad.is_empty());
        assert_eq!(
            line(&rows[0]),
            "    1  Mon 02 Mar 2026 09:00:00 AEDT  9002 -> 9001  SNA_REJECT               P1           \
             0255501234  code 003  reason=x"
        );
        assert_eq!(
            line(&rows[1]),
            "    2  Thu 02 Jul 2026 09:00:00 AEST  9001          CUTOVER                  P1           0255501234"
        );
    }
}
