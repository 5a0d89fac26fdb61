//! The HTML report: one self-contained page, a ladder diagram in inline SVG, summary tables, and
//! vanilla inline script for the replay. Every style and script is inline and nothing refers to
//! the network, so the file opens from `file://` anywhere.
//!
//! Up to [`PAGE_ROWS`] rows every row is an element of the page. A longer trace is cut into pages
//! of that many rows: the first is in the page as SVG, the others sit in inert script elements
//! (text, not yet elements) that the script turns into SVG when a page is opened, so that a
//! market's 100,000 rows still open quickly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use lnp_audit::{xml_escape, StatStatus};
use lnp_model::{CarrierCode, Timestamp, TraceRecord};

use crate::timeline::{numbers_brief, time_text};
use crate::{wrap, Band, BracketStatus, Input, Story, PAGE_ROWS};

const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// Height of a row, in pixels; the script knows it too (`ROW`).
const ROW: i64 = 22;
const HALF: i64 = ROW / 2;
/// Space above the first row of a page, and below the last.
const TOP: i64 = 8;
const BOTTOM: i64 = 14;
const DATE_X: i64 = 6;
const TIME_X: i64 = 114;
/// The first lifeline, and the distance between lifelines.
const FIRST: i64 = 244;
const GAP: i64 = 190;
/// Room right of the last lifeline for an action's label.
const ACTION_ROOM: i64 = 140;
/// Deadline brackets: lanes and their width, and room for the due time beside them.
const LANES: usize = 8;
const LANE: i64 = 9;
const DUE_ROOM: i64 = 170;
/// Lines of a finding or note band.
const LINE: i64 = 15;
/// Distance between two labels of due times.
const LABEL: i64 = 10;
/// Estimated width of a character of 12px text, for wrapping and widths.
const CHAR: i64 = 6;
/// The most rows of the summary's ports and findings lists (the text report has them all).
const LIST_MAX: usize = 2000;

/// Where things sit across the page.
struct Geometry {
    /// x of each lifeline, by column.
    lifelines: Vec<i64>,
    gutter: i64,
    due_x: i64,
    detail_x: i64,
    width: i64,
    band_width: i64,
    wrap_chars: usize,
}

impl Geometry {
    fn new(story: &Story<'_>) -> Self {
        let n = story.lifelines.len().max(1) as i64;
        let lifelines: Vec<i64> = (0..n).map(|i| FIRST + i * GAP).collect();
        let last = lifelines.last().copied().unwrap_or(FIRST);
        let gutter = last + ACTION_ROOM;
        let due_x = gutter + LANES as i64 * LANE + 4;
        let detail_x = due_x + DUE_ROOM;
        let longest = story
            .records()
            .iter()
            .map(|r| detail_text(r).chars().count())
            .max()
            .unwrap_or(0) as i64;
        let width = (detail_x + longest * CHAR + 24).min(detail_x + 2400);
        let band_width = gutter - 12;
        let wrap_chars = ((band_width - 24) / CHAR).max(30) as usize;
        Self {
            lifelines,
            gutter,
            due_x,
            detail_x,
            width,
            band_width,
            wrap_chars,
        }
    }

    fn x(&self, story: &Story<'_>, c: CarrierCode) -> i64 {
        story
            .column
            .get(&c)
            .and_then(|i| self.lifelines.get(*i))
            .copied()
            .unwrap_or(FIRST)
    }
}

/// The HTML report.
pub fn html(input: &Input<'_>) -> String {
    let story = Story::new(input);
    let geo = Geometry::new(&story);
    let records = story.records();
    let n = records.len();
    let pages: Vec<(usize, usize)> = if n == 0 {
        vec![(0, 0)]
    } else {
        (0..n).step_by(PAGE_ROWS).map(|a| (a, (a + PAGE_ROWS).min(n))).collect()
    };
    let title = xml_escape(input.title);
    let mut out = String::with_capacity(4096 + n * 320);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>LNP replay: {title}</title>");
    let _ = writeln!(out, "<style>\n{CSS}</style>\n</head>\n<body>");
    header(&mut out, &story, &title);
    controls(&mut out, n, pages.len());
    if pages.len() > 1 {
        let _ = writeln!(
            out,
            "<p class=\"paged\">This trace has {} rows. The diagram shows them {} at a time: rows 1 to {} \
             below; with scripting on, the page buttons above show the others. The .txt report has every \
             row.</p>",
            group(n),
            group(PAGE_ROWS),
            group(PAGE_ROWS.min(n))
        );
    }
    out.push_str(
        "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>\
         <marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" \
         markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#33598a\"/></marker>\
         <marker id=\"ahb\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" \
         markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#c0262d\"/></marker>\
         </defs></svg>\n",
    );
    let _ = write!(out, "<div id=\"ladder\">");
    heads(&mut out, &story, &geo);
    out.push_str("<div id=\"pages\">");
    if let Some(&(a, b)) = pages.first() {
        page(&mut out, &story, &geo, 0, a, b);
    }
    out.push_str("</div></div>\n");
    summary(&mut out, &story);
    data(&mut out, &story, &pages);
    for (p, &(a, b)) in pages.iter().enumerate().skip(1) {
        let _ = write!(out, "<script type=\"text/x-lnp-page\" id=\"page-{p}\">");
        page(&mut out, &story, &geo, p, a, b);
        out.push_str("</script>\n");
    }
    let _ = writeln!(out, "<script>\n{JS}</script>\n</body>\n</html>");
    out
}

/// 12,345
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn header(out: &mut String, story: &Story<'_>, title: &str) {
    let records = story.records();
    let a = story.input.audit;
    let _ = writeln!(out, "<header>\n<h1>LNP replay: {title}</h1>");
    let span = match (records.first(), records.last()) {
        (Some(f), Some(l)) => format!(" · {} to {}", time_text(f.time), time_text(l.time)),
        _ => String::new(),
    };
    let failed = a.statistics.iter().filter(|s| s.status == StatStatus::Fail).count();
    let verdict = if a.is_clean() {
        "<span class=\"ok\">no findings</span>".to_string()
    } else {
        let mut parts = Vec::new();
        if !a.findings.is_empty() {
            parts.push(format!(
                "{} finding{}",
                a.findings.len(),
                if a.findings.len() == 1 { "" } else { "s" }
            ));
        }
        if failed > 0 {
            parts.push(format!(
                "{failed} failed statistic{}",
                if failed == 1 { "" } else { "s" }
            ));
        }
        if !a.malformed_rows.is_empty() {
            parts.push(format!("{} malformed rows", a.malformed_rows.len()));
        }
        format!("<span class=\"fail\">{}</span>", parts.join(", "))
    };
    let _ = writeln!(
        out,
        "<p class=\"sub\">{} rows{span} (Sydney local time) · audit: {verdict} · judged to {}</p>",
        group(records.len()),
        time_text(story.horizon)
    );
    out.push_str(
        "<ul class=\"legend\">\
         <li><span class=\"sw oh\"></span>outside Standard Hours</li>\
         <li><span class=\"sw nb\"></span>not a business day</li>\
         <li><span class=\"sw ar\"></span>message</li>\
         <li><span class=\"sw mk\"></span>action</li>\
         <li><span class=\"sw fd\"></span>finding (rule, sentence, rule text)</li>\
         <li><span class=\"sw nt\"></span>trainer's note</li>\
         <li><span class=\"sw dl\"></span>deadline met</li>\
         <li><span class=\"sw dlx\"></span>deadline missed or late (dashed: how late)</li>\
         <li><span class=\"sw dlo\"></span>deadline not yet due</li>\
         </ul>\n</header>\n",
    );
}

fn controls(out: &mut String, n: usize, pages: usize) {
    out.push_str(
        "<noscript><p class=\"ns\">Scripting is off: the whole diagram is below and readable; \
         step-through, filters and the keys need scripting.</p></noscript>\n",
    );
    let _ = writeln!(
        out,
        "<div id=\"ctl\" hidden>\
         <button type=\"button\" data-act=\"first\" title=\"First row (Home)\">First</button>\
         <button type=\"button\" data-act=\"back\" title=\"Step back (&#x2190; or ,)\">&#x25C0;</button>\
         <button type=\"button\" data-act=\"play\" title=\"Play or pause (Space)\">Play</button>\
         <button type=\"button\" data-act=\"fwd\" title=\"Step forward (&#x2192; or .)\">&#x25B6;</button>\
         <button type=\"button\" data-act=\"all\" title=\"Show every row (Esc)\">All</button>\
         <input type=\"range\" id=\"seek\" min=\"0\" max=\"{}\" value=\"0\" aria-label=\"Seek to a row\">\
         <button type=\"button\" data-act=\"prev\" title=\"Previous finding (p)\">&#x25C0; finding</button>\
         <button type=\"button\" data-act=\"next\" title=\"Next finding (n)\">finding &#x25B6;</button>\
         <label>Port <input id=\"fport\" list=\"refs\" size=\"12\" autocomplete=\"off\"></label>\
         <datalist id=\"refs\"></datalist>\
         <label>Number <input id=\"fnum\" size=\"12\" inputmode=\"numeric\" autocomplete=\"off\"></label>\
         {}<span class=\"keys\">Keys: n / p finding, Space play, &#x2190; &#x2192; step, Home, End, Esc</span>\
         <output id=\"status\"></output></div>",
        n.saturating_sub(1),
        if pages > 1 {
            "<span id=\"pager\"><button type=\"button\" data-act=\"pprev\">&#x25C0; page</button> \
             <span id=\"pageno\"></span> <button type=\"button\" data-act=\"pnext\">page &#x25B6;</button></span>"
        } else {
            ""
        }
    );
}

/// The lifelines' heads (code and name), above the diagram; they stay in view as it scrolls.
fn heads(out: &mut String, story: &Story<'_>, geo: &Geometry) {
    let _ = write!(out, "<div class=\"hd\" style=\"width:{}px\">", geo.width);
    let _ = write!(
        out,
        "<div class=\"col\" style=\"left:{DATE_X}px;width:{}px\"><b>Sydney date</b></div>\
         <div class=\"col\" style=\"left:{TIME_X}px;width:90px\"><b>time</b></div>",
        TIME_X - DATE_X - 4
    );
    for (i, c) in story.lifelines.iter().enumerate() {
        let x = geo.lifelines.get(i).copied().unwrap_or(FIRST);
        let name = story.carrier_name(*c).map(xml_escape).unwrap_or_default();
        let _ = write!(
            out,
            "<div style=\"left:{}px\" title=\"{c} {name}\"><b>{c}</b>{name}</div>",
            x - 90
        );
    }
    let _ = write!(
        out,
        "<div class=\"col\" style=\"left:{}px;width:{}px\"><b>deadlines</b></div>\
         <div class=\"col\" style=\"left:{}px;width:300px\"><b>numbers, code, detail</b></div></div>",
        geo.gutter,
        LANES as i64 * LANE + DUE_ROOM,
        geo.detail_x
    );
}

/// What a page's rows and bands are, top to bottom: each with the y its own coordinates start
/// from (a row's middle, a band's top) and the top of the room it takes.
enum Item {
    Row {
        i: usize,
        y: i64,
        top: i64,
    },
    Band {
        band: Band,
        y: i64,
        h: i64,
        top: i64,
        lines: Vec<(String, &'static str)>,
    },
}

impl Item {
    fn top(&self) -> i64 {
        match self {
            Item::Row { top, .. } | Item::Band { top, .. } => *top,
        }
    }
}

/// The lines of a band, each with its class (`""` plain).
fn band_lines(story: &Story<'_>, band: Band, wrap_chars: usize) -> Vec<(String, &'static str)> {
    let mut lines = Vec::new();
    match band {
        Band::Finding(i) => {
            if let Some(f) = story.finding(i) {
                lines.extend(wrap(&f.message, wrap_chars).into_iter().map(|l| (l, "")));
                lines.extend(
                    wrap(&story.rule_text(f.rule), wrap_chars)
                        .into_iter()
                        .map(|l| (l, "mn")),
                );
            }
        }
        Band::Note(i) => {
            if let Some(note) = story.notes.get(i) {
                lines.extend(wrap(&note.text, wrap_chars).into_iter().map(|l| (l, "")));
            }
        }
    }
    lines
}

/// Something drawn across rows (a shaded run, a deadline bracket): its markup in parts, each
/// with the y range it covers, so that each chunk of a page draws the parts it shows.
struct Overlay {
    /// The opening tag of its group, and what only the chunk it starts in carries (a title).
    open: String,
    head: String,
    /// Where the head goes: the chunk holding this y.
    head_y: i64,
    parts: Vec<(i64, i64, String)>,
    lo: i64,
    hi: i64,
    close: &'static str,
}

/// Rows per chunk of a page. Each chunk is its own `<svg>` in an element the browser may skip
/// rendering while it is out of view (`content-visibility`), so that a long page opens fast.
const CHUNK_ROWS: usize = 500;

/// One page of the diagram: rows `a..b`, in chunks of [`CHUNK_ROWS`] rows.
fn page(out: &mut String, story: &Story<'_>, geo: &Geometry, number: usize, a: usize, b: usize) {
    let records = story.records();
    // Lay out rows and bands; the bands after a page's last row end that page.
    let mut items: Vec<Item> = Vec::new();
    let mut row_y: Vec<i64> = Vec::with_capacity(b - a);
    let mut y = TOP;
    let place_bands = |k: usize, y: &mut i64, items: &mut Vec<Item>| {
        for band in story.bands.get(k).into_iter().flatten() {
            let lines = band_lines(story, *band, geo.wrap_chars);
            let tall = (lines.len() as i64 + 1) * LINE + 10;
            items.push(Item::Band {
                band: *band,
                y: *y + 2,
                h: tall,
                top: *y,
                lines,
            });
            *y += tall + 6;
        }
    };
    if a == 0 {
        place_bands(0, &mut y, &mut items);
    }
    for i in a..b {
        row_y.push(y + HALF);
        items.push(Item::Row { i, y: y + HALF, top: y });
        y += ROW;
        place_bands(i + 1, &mut y, &mut items);
    }
    let height = y + BOTTOM;
    let mut spans = shading(story, geo, a, &row_y);
    spans.extend(brackets(story, geo, a, b, &row_y, height));
    // Chunks: runs of items holding CHUNK_ROWS rows, each band with the row before it.
    let mut cuts: Vec<usize> = vec![0];
    let mut rows_in = 0;
    for (k, item) in items.iter().enumerate() {
        if let Item::Row { .. } = item {
            if rows_in == CHUNK_ROWS {
                cuts.push(k);
                rows_in = 0;
            }
            rows_in += 1;
        }
    }
    cuts.push(items.len());
    let _ = write!(
        out,
        "<div class=\"pgw\" id=\"pg{number}\" data-page=\"{number}\" role=\"img\" aria-label=\"Ladder diagram, rows {} to {}\">",
        a + 1,
        b
    );
    let mut prev_date = None;
    for (c, w) in cuts.windows(2).enumerate() {
        let (from, to) = (w[0], w[1]);
        let top = if c == 0 {
            0
        } else {
            items.get(from).map_or(0, Item::top)
        };
        let bottom = items.get(to).map_or(height, Item::top);
        let _ = write!(
            out,
            "<div class=\"ck\" style=\"width:{w}px;height:{tall}px\"><svg class=\"pg\" width=\"{w}\" height=\"{tall}\" \
             viewBox=\"0 {top} {w} {tall}\">",
            w = geo.width,
            tall = bottom - top
        );
        for s in &spans {
            if s.hi < top || s.lo > bottom {
                continue;
            }
            out.push_str(&s.open);
            if (top..bottom).contains(&s.head_y) || (c == 0 && s.head_y < top) {
                out.push_str(&s.head);
            }
            for (lo, hi, part) in &s.parts {
                if *hi >= top && *lo <= bottom {
                    out.push_str(part);
                }
            }
            out.push_str(s.close);
        }
        for x in &geo.lifelines {
            let _ = write!(
                out,
                "<line class=\"ll\" x1=\"{x}\" x2=\"{x}\" y1=\"{top}\" y2=\"{bottom}\"/>"
            );
        }
        for item in items.get(from..to).unwrap_or_default() {
            match item {
                Item::Row { i, y, .. } => {
                    if let Some(r) = records.get(*i) {
                        let date = r.time.sydney_date();
                        row(out, story, geo, *i, r, *y, prev_date != Some(date));
                        prev_date = Some(date);
                    }
                }
                Item::Band { band, y, h, lines, .. } => band_svg(out, story, geo, *band, *y, *h, lines),
            }
        }
        out.push_str("</svg></div>");
    }
    out.push_str("</div>");
}

/// A run of rows shaded alike: the class (and the day, for a day that is not a business day), its
/// top and its bottom.
type Run = ((&'static str, Option<chrono::NaiveDate>), i64, i64);

/// Bands behind the rows: hours outside Standard Hours, and days that are not business days.
fn shading(story: &Story<'_>, geo: &Geometry, a: usize, row_y: &[i64]) -> Vec<Overlay> {
    let cal = story.input.calendar;
    let records = story.records();
    let class_of = |r: &TraceRecord| {
        let date = r.time.sydney_date();
        if !cal.is_business_day(date) {
            Some(("nb", Some(date)))
        } else if cal.in_standard_hours(r.time) {
            None
        } else {
            Some(("oh", None))
        }
    };
    let mut spans = Vec::new();
    let flush = |spans: &mut Vec<Overlay>, run: Option<Run>| {
        if let Some(((class, date), top, bottom)) = run {
            let why = match date {
                Some(d) => {
                    let names = cal.holiday_names(d);
                    let day = d.format("%A %d %B %Y");
                    if names.is_empty() {
                        format!("{day}: not a business day")
                    } else {
                        format!("{day}: {}, not a business day", xml_escape(&names.join(", ")))
                    }
                }
                None => "outside Standard Hours".to_string(),
            };
            spans.push(Overlay {
                open: String::new(),
                head: String::new(),
                head_y: top,
                parts: vec![(
                    top,
                    bottom,
                    format!(
                        "<rect class=\"{class}\" y=\"{top}\" width=\"{}\" height=\"{}\"><title>{why}</title></rect>",
                        geo.width,
                        bottom - top
                    ),
                )],
                lo: top,
                hi: bottom,
                close: "",
            });
        }
    };
    let mut run: Option<Run> = None;
    for (k, y) in row_y.iter().enumerate() {
        let Some(r) = records.get(a + k) else { continue };
        let class = class_of(r);
        let (top, bottom) = (y - HALF, y + HALF);
        run = match (run, class) {
            (Some((c, t, _)), Some(now)) if c == now => Some((c, t, bottom)),
            (prev, now) => {
                flush(&mut spans, prev);
                now.map(|c| (c, top, bottom))
            }
        };
    }
    flush(&mut spans, run);
    spans
}

/// The detail column of a row: numbers, code, detail.
fn detail_text(r: &TraceRecord) -> String {
    let m = &r.message;
    let mut s = numbers_brief(&m.numbers);
    if !m.code.is_none() {
        let _ = write!(s, "  code {}", m.code);
    }
    if !m.detail.is_empty() {
        let _ = write!(s, "  {}", m.detail);
    }
    s
}

/// One row: a message's arrow or an action's mark, with its time and detail.
fn row(out: &mut String, story: &Story<'_>, geo: &Geometry, i: usize, r: &TraceRecord, y: i64, new_date: bool) {
    let m = &r.message;
    let port = story.ports.get(i).copied().flatten();
    let bad = story.named.get(i).copied().unwrap_or(false);
    let action = r.to.is_none_or(|to| to == r.from);
    let class = match (bad, action) {
        (true, true) => "r act bad",
        (true, false) => "r bad",
        (false, true) => "r act",
        (false, false) => "r",
    };
    let _ = write!(out, "<g class=\"{class}\" data-seq=\"{}\"", r.seq);
    if let Some(p) = port {
        let _ = write!(out, " data-ref=\"{}\"", xml_escape(&p.to_string()));
    }
    let _ = write!(out, " transform=\"translate(0,{y})\">");
    if new_date {
        let date = r.time.sydney_date();
        let local = r.time.sydney();
        let _ = write!(
            out,
            "<line class=\"sep\" x2=\"{}\" y1=\"-{HALF}\" y2=\"-{HALF}\"/><text class=\"d\" x=\"{DATE_X}\" y=\"-1\">{}</text>",
            geo.width,
            local.format("%a %d %b %Y")
        );
        let names = story.input.calendar.holiday_names(date);
        let zone = local.format("%Z").to_string();
        let sub = if names.is_empty() {
            zone
        } else {
            format!("{zone} · {}", xml_escape(&names.join(", ")))
        };
        let _ = write!(out, "<text class=\"z\" x=\"{DATE_X}\" y=\"9\">{sub}</text>");
    }
    let _ = write!(
        out,
        "<text class=\"t\" x=\"{TIME_X}\">{}</text>",
        r.time.sydney().format("%H:%M:%S")
    );
    let mut label = m.kind.keyword().to_string();
    if let Some(p) = m.port_ref {
        let _ = write!(label, " {p}");
    }
    if let Some(st) = m.detail.status {
        let _ = write!(label, " {st}");
    }
    if let Some(code) = m.code.reject_code() {
        let _ = write!(label, " {code}");
    }
    let label = xml_escape(&label);
    let from = geo.x(story, r.from);
    match r.to.filter(|_| !action) {
        Some(to) => {
            let to = geo.x(story, to);
            // The arrowhead stops just short of the receiver's lifeline.
            let end = if to > from { to - 2 } else { to + 2 };
            let _ = write!(
                out,
                "<line class=\"a\" x1=\"{from}\" x2=\"{end}\"/><text class=\"l\" x=\"{}\">{label}</text>",
                i64::midpoint(from, to)
            );
        }
        None => {
            let _ = write!(
                out,
                "<rect class=\"mk\" x=\"{}\" y=\"-5\" width=\"9\" height=\"10\"/><text class=\"la\" x=\"{}\">{label}</text>",
                from - 4,
                from + 10
            );
        }
    }
    let detail = detail_text(r);
    if !detail.is_empty() {
        let _ = write!(
            out,
            "<text class=\"x\" x=\"{}\">{}</text>",
            geo.detail_x,
            xml_escape(&detail)
        );
    }
    out.push_str("</g>");
}

/// A finding's or a note's band between rows.
fn band_svg(
    out: &mut String,
    story: &Story<'_>,
    geo: &Geometry,
    band: Band,
    y: i64,
    h: i64,
    lines: &[(String, &'static str)],
) {
    match band {
        Band::Finding(i) => {
            let Some(f) = story.finding(i) else { return };
            let _ = write!(
                out,
                "<g class=\"fd\" id=\"f{i}\" data-rule=\"{}\" data-seq=\"{}\"",
                f.rule.as_str(),
                f.seq.first().copied().unwrap_or(0)
            );
            if let Some(p) = f.port_ref {
                let _ = write!(out, " data-ref=\"{}\"", xml_escape(&p.to_string()));
            }
            let seqs: Vec<String> = f.seq.iter().map(ToString::to_string).collect();
            let port = f
                .port_ref
                .map(|p| format!(" · {}", xml_escape(&p.to_string())))
                .unwrap_or_default();
            let _ = write!(
                out,
                " transform=\"translate(0,{y})\"><rect x=\"4\" width=\"{}\" height=\"{h}\" rx=\"3\"/>\
                 <text x=\"12\" y=\"15\"><tspan class=\"rid\">{}</tspan> · seq {}{port}</text>",
                geo.band_width,
                f.rule.as_str(),
                seqs.join(", ")
            );
        }
        Band::Note(i) => {
            let Some(note) = story.notes.get(i) else { return };
            out.push_str("<g class=\"nt\"");
            if let Some(p) = note.port {
                let _ = write!(out, " data-ref=\"{}\"", xml_escape(&p.to_string()));
            }
            let port = note
                .port
                .map(|p| format!(" · {}", xml_escape(&p.to_string())))
                .unwrap_or_default();
            let _ = write!(
                out,
                " transform=\"translate(0,{y})\"><rect x=\"4\" width=\"{}\" height=\"{h}\" rx=\"3\"/>\
                 <text x=\"12\" y=\"15\"><tspan class=\"rid\">Note</tspan> · {}{port}</text>",
                geo.band_width,
                time_text(note.at)
            );
        }
    }
    for (k, (line, class)) in lines.iter().enumerate() {
        let ly = 15 + (k as i64 + 1) * LINE;
        if class.is_empty() {
            let _ = write!(out, "<text x=\"12\" y=\"{ly}\">{}</text>", xml_escape(line));
        } else {
            let _ = write!(
                out,
                "<text class=\"{class}\" x=\"12\" y=\"{ly}\">{}</text>",
                xml_escape(line)
            );
        }
    }
    out.push_str("</g>");
}

/// The deadline brackets of the duties that rows `a..b` start, in lanes right of the lifelines.
fn brackets(story: &Story<'_>, geo: &Geometry, a: usize, b: usize, row_y: &[i64], height: i64) -> Vec<Overlay> {
    let records = story.records();
    let times: Vec<Timestamp> = records.get(a..b).unwrap_or_default().iter().map(|r| r.time).collect();
    let bottom = height - BOTTOM / 2;
    let last_time = records.last().map(|r| r.time);
    // Where an instant falls on this page: below the last row at or before it.
    let at = |t: Timestamp| -> (i64, bool) {
        let k = times.partition_point(|x| *x <= t);
        let beyond = k == times.len() && (b < records.len() || last_time.is_some_and(|l| t > l));
        if beyond {
            (bottom, true)
        } else if k == 0 {
            (row_y.first().copied().unwrap_or(TOP) - HALF, false)
        } else {
            (row_y.get(k - 1).copied().unwrap_or(TOP) + HALF - 2, false)
        }
    };
    let mut lane_end: [i64; LANES] = [i64::MIN; LANES];
    // The due times' labels take slots LABEL apart, so that two never print over each other.
    let mut labels: BTreeSet<i64> = BTreeSet::new();
    let mut spans = Vec::new();
    for i in a..b {
        for &bi in story.brackets_from.get(i).into_iter().flatten() {
            let Some(br) = story.brackets.get(bi) else { continue };
            let y1 = row_y.get(i - a).copied().unwrap_or(TOP);
            let (due_y, due_beyond) = at(br.due);
            let done = br.done_by.and_then(|d| {
                if d >= a && d < b {
                    row_y.get(d - a).copied()
                } else if d >= b {
                    Some(bottom)
                } else {
                    None
                }
            });
            let end = done.unwrap_or(due_y).max(due_y);
            // The first lane free by now, else the one that frees first.
            let lane = (0..LANES)
                .find(|l| lane_end[*l] < y1 - 2)
                .unwrap_or_else(|| (0..LANES).min_by_key(|l| lane_end[*l]).unwrap_or(0));
            lane_end[lane] = end;
            let x = geo.gutter + lane as i64 * LANE + 4;
            let status = match br.status {
                BracketStatus::InTime => "ok",
                BracketStatus::Late => "late",
                BracketStatus::Missed => "missed",
                BracketStatus::Open => "open",
            };
            let mut open = format!("<g class=\"dl {status}\"");
            if let Some(p) = br.port {
                let _ = write!(open, " data-ref=\"{}\"", xml_escape(&p.to_string()));
            }
            open.push('>');
            let head = format!("<title>{}</title>", xml_escape(&story.bracket_text(br)));
            let mut parts = vec![(
                y1,
                due_y,
                format!(
                    "<path d=\"M{} {y1}H{x}V{due_y}{}\"/>",
                    x - 5,
                    if due_beyond {
                        String::new()
                    } else {
                        format!("H{}", x - 5)
                    }
                ),
            )];
            match (br.status, done) {
                (BracketStatus::Late, Some(dy)) => {
                    parts.push((due_y, dy, format!("<path class=\"ov\" d=\"M{x} {due_y}V{dy}\"/>")));
                    parts.push((dy - 3, dy + 3, format!("<circle cx=\"{x}\" cy=\"{dy}\" r=\"2.5\"/>")));
                }
                (BracketStatus::InTime, Some(dy)) => {
                    parts.push((dy - 3, dy + 3, format!("<circle cx=\"{x}\" cy=\"{dy}\" r=\"2.5\"/>")));
                }
                (BracketStatus::Missed, _) => parts.push((
                    due_y - 3,
                    due_y + 3,
                    format!(
                        "<path d=\"M{} {}l6 6M{} {}l-6 6\"/>",
                        x - 3,
                        due_y - 3,
                        x + 3,
                        due_y - 3
                    ),
                )),
                _ => {}
            }
            let start_date = records.get(br.from).map(|r| r.time.sydney_date());
            let due_local = br.due.sydney();
            let due = if start_date == Some(br.due.sydney_date()) {
                due_local.format("%H:%M:%S").to_string()
            } else {
                due_local.format("%a %d %b %H:%M").to_string()
            };
            let mut label_y = due_y + 3;
            while labels.range(label_y - LABEL + 1..label_y + LABEL).next().is_some() {
                label_y += LABEL;
            }
            labels.insert(label_y);
            parts.push((
                label_y - 8,
                label_y + 4,
                format!(
                    "<text class=\"dt\" x=\"{}\" y=\"{label_y}\">{} &#x2264; {due}</text>",
                    geo.due_x,
                    br.rule.as_str()
                ),
            ));
            spans.push(Overlay {
                open,
                head,
                head_y: y1,
                lo: y1.min(due_y) - 8,
                hi: end.max(label_y) + 4,
                parts,
                close: "</g>",
            });
        }
    }
    spans
}

fn summary(out: &mut String, story: &Story<'_>) {
    let a = story.input.audit;
    let when = |t: Option<Timestamp>| {
        t.map_or_else(
            || "&#x2013;".to_string(),
            |t| t.sydney().format("%a %d %b %Y %H:%M:%S").to_string(),
        )
    };
    out.push_str("<section id=\"summary\">\n<h2>Ports</h2>\n");
    if story.port_times.is_empty() {
        out.push_str("<p>No row names a port.</p>\n");
    } else {
        out.push_str(
            "<table class=\"ports\"><thead><tr><th>Ref</th><th>Cat</th><th>Numbers</th><th>Losing</th>\
             <th>Gaining</th><th>Outcome</th><th>Submitted</th><th>Confirmed</th><th>Cutover</th>\
             <th>Completed</th><th>Published</th><th>Rows</th></tr></thead><tbody>\n",
        );
        for t in story.port_times.values().take(LIST_MAX) {
            let code = |c: Option<CarrierCode>| c.map_or_else(|| "?".to_string(), |c| c.to_string());
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"o-{}\" title=\"{}\">{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} (seq {}&#x2013;{})</td></tr>",
                xml_escape(&t.port_ref.to_string()),
                t.category.map(|c| c.to_string()).unwrap_or_default(),
                numbers_brief(&t.numbers),
                code(t.losing),
                code(t.gaining),
                t.outcome.as_str(),
                xml_escape(&t.stage),
                t.outcome.as_str(),
                when(t.submitted),
                when(t.confirmed),
                when(t.cutover),
                when(t.completed),
                when(t.published),
                t.rows,
                t.first_seq,
                t.last_seq
            );
        }
        out.push_str("</tbody></table>\n");
        if story.port_times.len() > LIST_MAX {
            let _ = writeln!(
                out,
                "<p>… and {} more ports: the .txt report lists every one.</p>",
                group(story.port_times.len() - LIST_MAX)
            );
        }
    }
    out.push_str("<h2>Findings</h2>\n");
    if a.findings.is_empty() {
        out.push_str("<p class=\"ok\">No findings.</p>\n");
    } else {
        out.push_str("<ol class=\"findings\">\n");
        for (i, f) in a.findings.iter().enumerate().take(LIST_MAX) {
            let seqs: Vec<String> = f.seq.iter().map(ToString::to_string).collect();
            let port = f
                .port_ref
                .map(|p| format!(" · {}", xml_escape(&p.to_string())))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<li><a href=\"#f{i}\" data-f=\"{i}\">{}</a> seq {}{port}: {}</li>",
                f.rule.as_str(),
                seqs.join(", "),
                xml_escape(&f.message)
            );
        }
        out.push_str("</ol>\n");
        if a.findings.len() > LIST_MAX {
            let _ = writeln!(
                out,
                "<p>… and {} more findings: the .txt report lists every one.</p>",
                group(a.findings.len() - LIST_MAX)
            );
        }
    }
    out.push_str("<h2>Findings by rule</h2>\n");
    if a.summary.by_rule.is_empty() {
        out.push_str("<p class=\"ok\">No rule is violated.</p>\n");
    } else {
        out.push_str(
            "<table><thead><tr><th>Rule</th><th>Findings</th><th>What it requires</th><th>Clause</th>\
             <th>Value</th></tr></thead><tbody>\n",
        );
        for (rule, count) in &a.summary.by_rule {
            let parsed = rule.parse::<lnp_model::RuleId>().ok();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{count}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                xml_escape(rule),
                parsed.map(|r| xml_escape(r.meaning())).unwrap_or_default(),
                parsed.map(|r| xml_escape(r.clause())).unwrap_or_default(),
                parsed
                    .map(|r| xml_escape(&story.input.rulebook.value_text(r)))
                    .unwrap_or_default()
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("<h2>Statistics</h2>\n");
    if a.statistics.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>Rule</th><th>Status</th><th>Figure</th></tr></thead><tbody>\n");
        for s in &a.statistics {
            let class = match s.status {
                StatStatus::Pass => "ok",
                StatStatus::Fail => "fail",
                StatStatus::NotApplicable => "na",
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"{class}\">{}</td><td>{}</td></tr>",
                s.rule.as_str(),
                s.status.as_str(),
                xml_escape(&s.value)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !a.not_checked.is_empty() {
        out.push_str("<h2>Not checked</h2>\n<table><thead><tr><th>Rule</th><th>Why</th></tr></thead><tbody>\n");
        for nc in &a.not_checked {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                nc.rule.as_str(),
                xml_escape(&nc.reason)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !a.malformed_rows.is_empty() {
        let _ = writeln!(out, "<h2>Malformed rows ({})</h2>\n<ul>", a.malformed_rows.len());
        for m in a.malformed_rows.iter().take(LIST_MAX) {
            let _ = writeln!(out, "<li>line {}: {}</li>", m.line, xml_escape(&m.message));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

/// What the script needs that the page does not show: pages, findings and ports' numbers.
fn data(out: &mut String, story: &Story<'_>, pages: &[(usize, usize)]) {
    let records = story.records();
    let page_of = |i: usize| i / PAGE_ROWS;
    let pages_json: Vec<serde_json::Value> = pages
        .iter()
        .map(|&(a, b)| {
            let seq = |i: usize| records.get(i).map_or(0, |r| r.seq);
            serde_json::json!([a, b - a, seq(a), seq(b.saturating_sub(1))])
        })
        .collect();
    let findings: Vec<serde_json::Value> = story
        .input
        .audit
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = story
                .finding_at
                .get(i)
                .copied()
                .unwrap_or(0)
                .min(records.len().saturating_sub(1));
            serde_json::json!([
                f.rule.as_str(),
                f.seq,
                page_of(at),
                at,
                f.port_ref.map(|p| p.to_string())
            ])
        })
        .collect();
    let ports: BTreeMap<String, String> = story
        .port_times
        .values()
        .map(|t| {
            let numbers: Vec<String> = t.numbers.iter().map(ToString::to_string).collect();
            (t.port_ref.to_string(), numbers.join(";"))
        })
        .collect();
    let value = serde_json::json!({
        "rows": records.len(),
        "row": ROW,
        "pages": pages_json,
        "findings": findings,
        "ports": ports,
    });
    // `<` only ever stands inside a JSON string here; escaped, no text can close the element.
    let text = value.to_string().replace('<', "\\u003c");
    let _ = writeln!(out, "<script type=\"application/json\" id=\"lnp-data\">{text}</script>");
}
