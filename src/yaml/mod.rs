//! A small YAML document tree that remembers where every node came from.
//!
//! Plan files are read into this tree (rather than straight into typed structs) so that
//! validation can report *every* problem at once, each with its line and column. The
//! tree is built from the event stream of `saphyr-parser`; aliases are expanded with a
//! budget so that "billion laughs" documents fail fast instead of exhausting memory.
//!
//! Writing goes the other way through [`escape`]: every value cutover prints into YAML
//! (templates, plan edits, the starter plan) is escaped there.

pub mod escape;
pub mod locate;
pub mod resolve;
pub mod splice;

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Deepest nesting of sequences and mappings a plan may use.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may hold once aliases are expanded.
pub const MAX_NODES: usize = 200_000;

/// A position in the source: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number, in characters.
    pub col: usize,
    /// 0-based offset from the start of the source, in characters.
    pub index: usize,
}

/// The source range a node was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// First character of the node.
    pub start: Pos,
    /// One past the last character of the node (may be on a later line).
    pub end: Pos,
}

impl Span {
    fn from_saphyr(span: saphyr_parser::Span) -> Span {
        Span {
            start: Pos {
                line: span.start.line(),
                col: span.start.col() + 1,
                index: span.start.index(),
            },
            end: Pos {
                line: span.end.line(),
                col: span.end.col() + 1,
                index: span.end.index(),
            },
        }
    }
}

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unquoted; its type is inferred from its text (YAML 1.2 core schema).
    Plain,
    /// Single- or double-quoted, or a block scalar: always a string.
    Quoted,
}

/// A scalar's text, as written, with its style and optional tag.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The scalar's value after YAML unescaping.
    pub text: String,
    /// Plain or quoted.
    pub style: Style,
    /// The tag's suffix for core-schema tags (`str`, `int`, ...), or the whole tag otherwise.
    pub tag: Option<String>,
}

/// What a scalar resolves to under the YAML 1.2 core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved<'a> {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Anything else.
    Str(&'a str),
}

impl Resolved<'_> {
    /// A short name of the type for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Resolved::Null => "null",
            Resolved::Bool(_) => "a boolean",
            Resolved::Int(_) => "an integer",
            Resolved::Float(_) => "a number",
            Resolved::Str(_) => "a string",
        }
    }
}

/// The content of a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

/// A YAML node and the span it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's content.
    pub value: Value,
    /// Where it was written: from its anchor or tag if it has one, to its last
    /// character (a flow collection's closing bracket; a block collection's span runs on
    /// to where the next token starts).
    pub span: Span,
    /// How it is written, beyond its value.
    pub form: Form,
}

/// How a node is written, beyond its value and style: what editing its text needs
/// ([`splice`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Form {
    /// A flow collection (`[a, b]`, `{a: b}`) rather than a block one.
    pub flow: bool,
    /// The id of its anchor (`&a`), when it has one; ids count from 1 in document order.
    pub anchor: Option<usize>,
    /// For an alias (`*a`), the id of its anchor: the node is a copy of the anchored one,
    /// whose descendants keep the spans of the anchored text.
    pub alias: Option<usize>,
}

/// A fatal problem reading a YAML document.
#[derive(Clone, Debug, PartialEq)]
pub struct YamlError {
    /// What went wrong.
    pub message: String,
    /// Where, when known.
    pub span: Option<Span>,
    /// The field path of the node being read (`migrations[0].from`), empty at the top.
    pub path: String,
}

impl YamlError {
    fn at(span: Span, message: impl Into<String>) -> YamlError {
        YamlError {
            message: message.into(),
            span: Some(span),
            path: String::new(),
        }
    }
}

impl Node {
    /// Resolves a scalar to its core-schema value; `None` for collections.
    pub fn resolve(&self) -> Option<Resolved<'_>> {
        match &self.value {
            Value::Scalar(s) => Some(resolve_scalar(s)),
            _ => None,
        }
    }

    /// A short name of the node's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar(s) => resolve_scalar(s).type_name(),
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node as a string, if it is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self.resolve() {
            Some(Resolved::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether the node is an explicit or implicit null.
    pub fn is_null(&self) -> bool {
        matches!(self.resolve(), Some(Resolved::Null))
    }
}

/// The value of a scalar. [`parse`] refuses a tag that does not fit its value, so a
/// tagged scalar resolves to its tag's type; were one not to fit anyway, it resolves as if
/// untagged rather than as a string.
fn resolve_scalar(s: &Scalar) -> Resolved<'_> {
    let t = s.text.as_str();
    let tagged = match s.tag.as_deref() {
        Some("str") => Some(Resolved::Str(t)),
        Some("int") => parse_int(t).map(Resolved::Int),
        Some("float") => parse_float(t)
            .or_else(|| parse_int(t).map(|i| i as f64))
            .map(Resolved::Float),
        Some("bool") => parse_bool(t).map(Resolved::Bool),
        Some("null") => is_null(t).then_some(Resolved::Null),
        _ => None,
    };
    if let Some(r) = tagged {
        return r;
    }
    if s.style == Style::Quoted {
        return Resolved::Str(t);
    }
    if is_null(t) {
        return Resolved::Null;
    }
    if let Some(b) = parse_bool(t) {
        return Resolved::Bool(b);
    }
    if let Some(i) = parse_int(t) {
        return Resolved::Int(i);
    }
    if let Some(f) = parse_float(t) {
        return Resolved::Float(f);
    }
    Resolved::Str(t)
}

/// Whether the plain scalar `t` reads as the string `t` under the YAML 1.2 core schema
/// (as plans are read): not a null, boolean, integer or float, an integer too large for
/// 64 bits included.
pub(crate) fn plain_is_string(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let plain = Scalar {
        text: t.to_owned(),
        style: Style::Plain,
        tag: None,
    };
    matches!(resolve_scalar(&plain), Resolved::Str(_))
}

/// The core schema's null: `null`, `Null`, `NULL`, `~` or nothing.
fn is_null(t: &str) -> bool {
    matches!(t, "" | "~" | "null" | "Null" | "NULL")
}

fn parse_bool(t: &str) -> Option<bool> {
    match t {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        if oct.is_empty() || !oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return None;
        }
        i64::from_str_radix(oct, 8).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -value } else { value })
}

fn parse_float(t: &str) -> Option<f64> {
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // YAML 1.2 core: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let b = t.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i > int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits |= i > frac_start;
    }
    if !digits {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Parses a single-document YAML source into a [`Node`] tree.
///
/// Returns `Ok(None)` when the source holds no document (empty, or only comments).
/// Multiple documents, duplicate mapping keys, unknown tags, nesting deeper than
/// [`MAX_DEPTH`] and alias expansions beyond [`MAX_NODES`] are errors.
pub fn parse(source: &str) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder::default();
    parse_events(source, &mut builder).map_err(|mut e| {
        e.path = builder.path();
        e
    })
}

/// How a scalar is written in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// Unquoted.
    Plain,
    /// `'...'`.
    SingleQuoted,
    /// `"..."`.
    DoubleQuoted,
    /// A literal block scalar (`|`).
    Literal,
    /// A folded block scalar (`>`).
    Folded,
}

/// A scalar found in the source by where it starts (see [`scalar_at`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceScalar {
    /// How it is written.
    pub written: Written,
    /// Its value after YAML unescaping.
    pub text: String,
    /// Its characters, as in the tree [`parse`] builds: from its anchor or tag if it has
    /// one, else its first character (for a block scalar, the first character of its
    /// content, after the header line), to its last character (a closing quote; for a
    /// block scalar the end of its last line that is not blank), never a comment or
    /// line break after it.
    pub span: Span,
    /// Whether an anchor or a tag is written before it.
    pub properties: bool,
}

/// The scalar whose span (as in the tree [`parse`] builds) starts at character `index`
/// of `source`; `None` when no scalar starts there (an alias does not count), or the
/// source cannot be read up to it.
pub fn scalar_at(source: &str, index: usize) -> Option<SourceScalar> {
    let mut cursor = Cursor::new(source);
    for event in Parser::new_from_str(source) {
        let (event, span) = event.ok()?;
        if let Event::Scalar(text, style, anchor, tag) = event {
            if span.start.index() == index {
                let written = match style {
                    ScalarStyle::Plain => Written::Plain,
                    ScalarStyle::SingleQuoted => Written::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Written::DoubleQuoted,
                    ScalarStyle::Literal => Written::Literal,
                    ScalarStyle::Folded => Written::Folded,
                };
                return Some(SourceScalar {
                    written,
                    text: text.into_owned(),
                    span: cursor.scalar_span(Span::from_saphyr(span), style),
                    properties: anchor > 0 || tag.is_some(),
                });
            }
        }
    }
    None
}

/// The byte offset of each character of `source`, and of its end (the parser counts
/// characters).
pub(crate) fn byte_offsets(source: &str) -> Vec<usize> {
    source
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(source.len()))
        .collect()
}

/// Walks the source forward to turn the parser's scalar spans into exact ones: the
/// parser ends a quoted scalar's span where the next token starts (after spaces and a
/// comment), and a block scalar's after its trailing line breaks.
struct Cursor<'a> {
    source: &'a str,
    /// A character offset and its byte offset.
    chars: usize,
    bytes: usize,
}

impl<'a> Cursor<'a> {
    fn new(source: &'a str) -> Cursor<'a> {
        Cursor {
            source,
            chars: 0,
            bytes: 0,
        }
    }

    /// The byte offset of character `index` (the end of the source past its last one).
    /// Scalars come in source order, so the walk goes forward.
    fn byte_at(&mut self, index: usize) -> usize {
        if index < self.chars {
            (self.chars, self.bytes) = (0, 0);
        }
        for c in self.source[self.bytes..].chars() {
            if self.chars == index {
                break;
            }
            self.chars += 1;
            self.bytes += c.len_utf8();
        }
        self.bytes
    }

    /// The span of a sequence the parser starts at `span`: it starts a block sequence
    /// written at its key's indentation (`key:\n- a`) at its first item; the span starts
    /// at the `-` (or at the anchor or tag, with `properties`).
    fn sequence_span(&mut self, span: Span, properties: bool) -> Span {
        let at = self.byte_at(span.start.index);
        let before = self.source[..at].trim_end_matches(' ');
        let mut span = span;
        if !properties && !self.source[at..].starts_with(['-', '[']) && before.ends_with('-') {
            let back = at + 1 - before.len();
            span.start.index -= back;
            span.start.col = span.start.col.saturating_sub(back);
        }
        span
    }

    /// The span of the end of a collection, which the parser spans as `span`, and whether
    /// it is a flow collection: that ends with its bracket (the parser spans the comment
    /// after it too), a block one with no token of its own.
    fn end_span(&mut self, span: Span) -> (Span, bool) {
        let at = self.byte_at(span.start.index);
        if !self.source[at..].starts_with([']', '}']) {
            return (span, false);
        }
        let end = end_pos(span.start, &self.source[at..at + 1]);
        (
            Span {
                start: span.start,
                end,
            },
            true,
        )
    }

    /// The exact span of a scalar written in `style` that the parser spans as `span`.
    fn scalar_span(&mut self, span: Span, style: ScalarStyle) -> Span {
        let start = self.byte_at(span.start.index);
        let end = self.byte_at(span.end.index).max(start);
        let written = &self.source[start..end];
        let len = match style {
            ScalarStyle::Plain => return span,
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => quoted_len(written),
            ScalarStyle::Literal | ScalarStyle::Folded => block_len(written),
        };
        let Some(len) = len else { return span };
        Span {
            start: span.start,
            end: end_pos(span.start, &written[..len]),
        }
    }
}

/// The length in bytes of the quoted scalar that `written` starts with (after any
/// anchor and tag), up to its closing quote.
fn quoted_len(written: &str) -> Option<usize> {
    let mut at = 0;
    // Properties (`&anchor`, `!tag`), then spaces, line breaks and comments.
    loop {
        let rest = &written[at..];
        match rest.chars().next()? {
            '&' | '!' => at += rest.find([' ', '\t', '\r', '\n']).unwrap_or(rest.len()),
            ' ' | '\t' | '\r' | '\n' => at += 1,
            '#' => at += rest.find(['\r', '\n']).unwrap_or(rest.len()),
            _ => break,
        }
    }
    let mut chars = written[at..].char_indices();
    let quote = chars.next()?.1;
    if quote != '"' && quote != '\'' {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            ('"', '\\') => {
                chars.next();
            }
            ('\'', '\'') if written[at + i + 1..].starts_with('\'') => {
                chars.next();
            }
            (q, c) if q == c => return Some(at + i + 1),
            _ => {}
        }
    }
    None
}

/// The length in bytes of a block scalar's content `written` without the blank lines
/// and line breaks after its last line (spaces at the end of that line are content).
fn block_len(written: &str) -> Option<usize> {
    let last = written.trim_end_matches([' ', '\t', '\r', '\n']).len();
    Some(
        written[last..]
            .find(['\r', '\n'])
            .map_or(written.len(), |i| last + i),
    )
}

/// The position just after `text`, which starts at `start`. A line break is CR LF, LF
/// or CR alone, as for the parser.
fn end_pos(start: Pos, text: &str) -> Pos {
    let mut end = start;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        end.index += 1;
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => {
                end.line += 1;
                end.col = 1;
            }
            _ => end.col += 1,
        }
    }
    end
}

/// A scalar's node, from its event.
fn scalar_node(
    cursor: &mut Cursor<'_>,
    span: Span,
    text: String,
    style: ScalarStyle,
    anchor: usize,
    tag: Option<std::borrow::Cow<'_, saphyr_parser::Tag>>,
) -> Result<Node, YamlError> {
    let mut span = cursor.scalar_span(span, style);
    if text.is_empty() && style == ScalarStyle::Plain && anchor == 0 && tag.is_none() {
        // An empty value: the parser spans the token after it.
        span.end = span.start;
    }
    let tag = check_tag(tag.as_deref(), &text, span)?;
    let style = match style {
        ScalarStyle::Plain => Style::Plain,
        _ => Style::Quoted,
    };
    Ok(Node {
        value: Value::Scalar(Scalar { text, style, tag }),
        span,
        form: Form {
            anchor: (anchor > 0).then_some(anchor),
            ..Form::default()
        },
    })
}

fn parse_events(source: &str, builder: &mut Builder) -> Result<Option<Node>, YamlError> {
    let mut documents = 0usize;
    let mut root: Option<Node> = None;
    let mut cursor = Cursor::new(source);
    for event in Parser::new_from_str(source) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            let pos = Pos {
                line: m.line(),
                col: m.col() + 1,
                index: m.index(),
            };
            YamlError::at(
                Span {
                    start: pos,
                    end: pos,
                },
                format!("YAML syntax error: {}", e.info()),
            )
        })?;
        let span = Span::from_saphyr(span);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError::at(
                        span,
                        "the file holds more than one YAML document; a plan is one document",
                    ));
                }
            }
            Event::Alias(id) => {
                let node = builder.alias(id, span)?;
                if let Some(done) = builder.push_node(node)? {
                    root = Some(done);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let node = scalar_node(&mut cursor, span, text.into_owned(), style, anchor, tag)?;
                builder.count(1, node.span)?;
                if anchor > 0 {
                    builder.anchors.insert(anchor, (node.clone(), 1));
                }
                if let Some(done) = builder.push_node(node)? {
                    root = Some(done);
                }
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", span)?;
                let span = cursor.sequence_span(span, anchor > 0 || tag.is_some());
                builder.open(Frame::Seq(Vec::new()), anchor, span)?;
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", span)?;
                builder.open(Frame::Map(Vec::new(), None, HashMap::new()), anchor, span)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (span, flow) = cursor.end_span(span);
                if let Some(done) = builder.close(span, flow)? {
                    root = Some(done);
                }
            }
        }
    }
    Ok(root)
}

/// The YAML core schema's namespace: `!!int` is `tag:yaml.org,2002:int`.
const CORE: &str = "tag:yaml.org,2002:";

/// The core-schema type a tag names (`int` for `!!int` or `!<tag:yaml.org,2002:int>`), or
/// `None` for any other tag.
fn core_type(tag: &saphyr_parser::Tag) -> Option<&str> {
    if tag.handle == CORE {
        Some(&tag.suffix)
    } else if tag.handle.is_empty() {
        tag.suffix.strip_prefix(CORE)
    } else {
        None
    }
}

/// A tag as written (`!!int` rather than its expansion).
fn written(tag: &saphyr_parser::Tag) -> String {
    match core_type(tag) {
        Some(t) => format!("!!{t}"),
        None => format!("{}{}", tag.handle, tag.suffix),
    }
}

fn unsupported(tag: &saphyr_parser::Tag, span: Span) -> YamlError {
    YamlError::at(
        span,
        format!(
            "unsupported YAML tag `{}`; plans use plain values",
            written(tag)
        ),
    )
}

/// A scalar's tag: one of the core schema's scalar tags (`!!str`, `!!int`, `!!float`,
/// `!!bool`, `!!null`), and only on a value of that type (`!!int b.example.com` is an
/// error, not a string). Returns the type's name.
fn check_tag(
    tag: Option<&saphyr_parser::Tag>,
    text: &str,
    span: Span,
) -> Result<Option<String>, YamlError> {
    let Some(tag) = tag else { return Ok(None) };
    let what = match core_type(tag) {
        Some("str") => return Ok(Some("str".to_owned())),
        Some("int") => "a 64-bit integer",
        Some("float") => "a number",
        Some("bool") => "a boolean (`true` or `false`)",
        Some("null") => "null (`null`, `~` or nothing)",
        Some("seq" | "map") => "a collection",
        _ => return Err(unsupported(tag, span)),
    };
    let ty = core_type(tag).unwrap_or_default().to_owned();
    let fits = match ty.as_str() {
        "int" => parse_int(text).is_some(),
        "float" => parse_float(text).is_some() || parse_int(text).is_some(),
        "bool" => parse_bool(text).is_some(),
        "null" => is_null(text),
        _ => false,
    };
    if fits {
        return Ok(Some(ty));
    }
    let shown: String = text.chars().take(80).collect();
    let more = if shown.len() < text.len() { "…" } else { "" };
    Err(YamlError::at(
        span,
        format!(
            "the value `{}{more}` does not fit its tag `{}`: it is not {what}",
            shown.escape_debug(),
            written(tag)
        ),
    ))
}

/// A collection's tag: none, or the core schema's `!!seq` for a sequence and `!!map` for a
/// mapping.
fn check_collection_tag(
    tag: Option<&saphyr_parser::Tag>,
    expected: &str,
    span: Span,
) -> Result<(), YamlError> {
    let Some(tag) = tag else { return Ok(()) };
    match core_type(tag) {
        Some(t) if t == expected => Ok(()),
        Some("str" | "int" | "float" | "bool" | "null" | "seq" | "map") => {
            let what = if expected == "seq" {
                "a sequence"
            } else {
                "a mapping"
            };
            Err(YamlError::at(
                span,
                format!("{what} does not fit its tag `{}`", written(tag)),
            ))
        }
        _ => Err(unsupported(tag, span)),
    }
}

enum Frame {
    Seq(Vec<Node>),
    /// Entries, the key waiting for its value, and the keys seen (resolved) → their line.
    Map(Vec<(Node, Node)>, Option<Node>, HashMap<String, usize>),
}

#[derive(Default)]
struct Builder {
    /// Open collections, innermost last, with their anchor id, start span and the node count at open.
    stack: Vec<(Frame, usize, Span, usize)>,
    /// Anchored nodes with their size in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes created so far, aliases counted at their expanded size.
    nodes: usize,
}

impl Builder {
    /// The field path of the position being read, for error messages.
    fn path(&self) -> String {
        let mut out = String::new();
        for (frame, ..) in &self.stack {
            match frame {
                Frame::Seq(items) => out.push_str(&format!("[{}]", items.len())),
                Frame::Map(_, Some(key), _) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(scalar_text(key));
                }
                Frame::Map(_, None, _) => {}
            }
        }
        out
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(YamlError::at(
                span,
                format!(
                    "the document expands to more than {MAX_NODES} nodes (an alias bomb?); refusing to read it"
                ),
            ));
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, anchor: usize, span: Span) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::at(
                span,
                format!("lists and mappings are nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(1, span)?;
        self.stack.push((frame, anchor, span, self.nodes));
        Ok(())
    }

    fn close(&mut self, end: Span, flow: bool) -> Result<Option<Node>, YamlError> {
        let Some((frame, anchor, start, nodes_at_open)) = self.stack.pop() else {
            return Err(YamlError::at(end, "unbalanced YAML collection"));
        };
        let value = match frame {
            Frame::Seq(items) => Value::Seq(items),
            Frame::Map(entries, pending, _) => {
                if let Some(key) = pending {
                    return Err(YamlError::at(key.span, "mapping key without a value"));
                }
                Value::Map(entries)
            }
        };
        let span = Span {
            start: start.start,
            end: end.end,
        };
        let form = Form {
            flow,
            anchor: (anchor > 0).then_some(anchor),
            alias: None,
        };
        let node = Node { value, span, form };
        if anchor > 0 {
            let size = self.nodes - nodes_at_open + 1;
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.push_node(node)
    }

    fn alias(&mut self, id: usize, span: Span) -> Result<Node, YamlError> {
        let Some((node, size)) = self.anchors.get(&id) else {
            return Err(YamlError::at(span, "alias to an unknown anchor"));
        };
        let (mut node, size) = (node.clone(), *size);
        self.count(size, span)?;
        // Report problems inside an alias at the alias itself.
        node.span = span;
        node.form.anchor = None;
        node.form.alias = Some(id);
        Ok(node)
    }

    /// Adds a finished node to the innermost collection; returns it when it is the root.
    fn push_node(&mut self, node: Node) -> Result<Option<Node>, YamlError> {
        match self.stack.last_mut() {
            None => Ok(Some(node)),
            Some((Frame::Seq(items), ..)) => {
                items.push(node);
                Ok(None)
            }
            Some((Frame::Map(entries, pending, seen), ..)) => {
                match pending.take() {
                    None => {
                        if !matches!(node.value, Value::Scalar(_)) {
                            return Err(YamlError::at(
                                node.span,
                                "mapping keys must be plain scalars",
                            ));
                        }
                        let key = format!("{:?}", node.resolve());
                        if let Some(first_line) = seen.get(&key) {
                            let message = format!(
                                "duplicate key `{}` (first defined at line {first_line})",
                                scalar_text(&node),
                            );
                            let span = node.span;
                            // Recorded as pending so the error's field path ends in this key.
                            *pending = Some(node);
                            return Err(YamlError::at(span, message));
                        }
                        seen.insert(key, node.span.start.line);
                        *pending = Some(node);
                    }
                    Some(key) => entries.push((key, node)),
                }
                Ok(None)
            }
        }
    }
}

fn scalar_text(node: &Node) -> &str {
    match &node.value {
        Value::Scalar(s) => &s.text,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(src: &str) -> Node {
        parse(src).unwrap().unwrap()
    }

    #[test]
    fn resolves_core_schema_scalars() {
        let n = root("[10, '10', 1.5, true, null, ~, abc, 0x1f, -3, .5, 1e3, !!str 7, '']");
        let Value::Seq(items) = n.value else { panic!() };
        let got: Vec<_> = items.iter().map(|n| n.resolve().unwrap()).collect();
        assert_eq!(
            got,
            vec![
                Resolved::Int(10),
                Resolved::Str("10"),
                Resolved::Float(1.5),
                Resolved::Bool(true),
                Resolved::Null,
                Resolved::Null,
                Resolved::Str("abc"),
                Resolved::Int(31),
                Resolved::Int(-3),
                Resolved::Float(0.5),
                Resolved::Float(1000.0),
                Resolved::Str("7"),
                Resolved::Str(""),
            ]
        );
    }

    #[test]
    fn yaml_1_1_words_stay_strings() {
        for word in ["yes", "no", "on", "off", "y", "n"] {
            assert_eq!(root(word).resolve(), Some(Resolved::Str(word)));
        }
    }

    #[test]
    fn spans_are_one_based() {
        let n = root("a:\n  b: 12\n");
        let Value::Map(entries) = &n.value else {
            panic!()
        };
        let Value::Map(inner) = &entries[0].1.value else {
            panic!()
        };
        assert_eq!(
            inner[0].1.span.start,
            Pos {
                line: 2,
                col: 6,
                index: 8
            }
        );
    }

    #[test]
    fn empty_and_comment_only_documents_are_none() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# nothing\n").unwrap(), None);
    }

    #[test]
    fn rejects_duplicate_keys_with_position() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(err.message.contains("duplicate key `a`"), "{}", err.message);
        assert_eq!(err.span.unwrap().start.line, 3);
        let err = parse("m:\n- x: 1\n  x: 2\n").unwrap_err();
        assert_eq!(err.path, "m[0].x");
    }

    #[test]
    fn rejects_alias_bombs() {
        let mut src = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            src.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        let err = parse(&src).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn small_aliases_are_expanded() {
        let n = root("a: &s [1, 2]\nb: *s\n");
        let Value::Map(entries) = &n.value else {
            panic!()
        };
        assert_eq!(entries[0].1.value, entries[1].1.value);
    }

    #[test]
    fn rejects_deep_nesting() {
        let src = "[".repeat(10_000);
        let err = parse(&src).unwrap_err();
        assert!(
            err.message.contains("nesting") || err.message.contains("syntax"),
            "{}",
            err.message
        );
    }

    #[test]
    fn rejects_multiple_documents_and_custom_tags() {
        assert!(parse("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .message
            .contains("more than one"));
        assert!(parse("a: !secret x\n").unwrap_err().message.contains("tag"));
    }

    #[test]
    fn standard_tags_on_values_they_fit() {
        let n = root(
            "[!!int 10, !!int '0x1f', !!float 1, !!float .5, !!bool true, !!null ~, !!null '', !!str 7, !<tag:yaml.org,2002:int> 3]",
        );
        let Value::Seq(items) = n.value else { panic!() };
        let got: Vec<_> = items.iter().map(|n| n.resolve().unwrap()).collect();
        assert_eq!(
            got,
            vec![
                Resolved::Int(10),
                Resolved::Int(31),
                Resolved::Float(1.0),
                Resolved::Float(0.5),
                Resolved::Bool(true),
                Resolved::Null,
                Resolved::Null,
                Resolved::Str("7"),
                Resolved::Int(3),
            ]
        );
        assert!(parse("a: !!seq [1]\nb: !!map {c: 1}\n").is_ok());
    }

    #[test]
    fn a_tag_that_does_not_fit_its_value_is_an_error() {
        let err = parse("from: a.example.com\nto: !!int b.example.com\n").unwrap_err();
        assert_eq!(
            err.message,
            "the value `b.example.com` does not fit its tag `!!int`: it is not a 64-bit integer"
        );
        let at = err.span.unwrap().start;
        assert_eq!((at.line, at.col), (2, 5));
        assert_eq!(err.path, "to");
        for (src, tag) in [
            ("a: !!float abc", "!!float"),
            ("a: !!bool yes", "!!bool"),
            ("a: !!null x", "!!null"),
            ("a: !!int 99999999999999999999", "!!int"),
            ("a: !!int 1.5", "!!int"),
            ("a: !!seq x", "!!seq"),
            ("a: !!str [x]", "!!str"),
            ("a: !!seq {b: 1}", "!!seq"),
            ("a: !!map [1]", "!!map"),
            ("!!int x: 1", "!!int"),
        ] {
            let err = parse(src).unwrap_err();
            assert!(
                err.message.contains("does not fit its tag") && err.message.contains(tag),
                "{src}: {}",
                err.message
            );
            assert!(err.span.is_some(), "{src}");
        }
    }

    #[test]
    fn only_standard_tags() {
        for (src, shown) in [
            ("a: !foo x", "`!foo`"),
            ("a: ! x", "`!`"),
            ("a: !!binary aGk=", "`!!binary`"),
            ("a: !foo [x]", "`!foo`"),
            (
                "%TAG !! tag:example.com,2000:\n---\na: !!int 1",
                "`tag:example.com,2000:int`",
            ),
        ] {
            let err = parse(src).unwrap_err();
            assert!(
                err.message.starts_with("unsupported YAML tag") && err.message.contains(shown),
                "{src}: {}",
                err.message
            );
        }
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.message.starts_with("YAML syntax error"));
        assert!(err.span.is_some());
    }

    /// The source text of each scalar's span, in document order.
    fn spanned(src: &str) -> Vec<String> {
        fn walk(node: &Node, src: &str, out: &mut Vec<String>) {
            match &node.value {
                Value::Scalar(_) => out.push(
                    src.chars()
                        .skip(node.span.start.index)
                        .take(node.span.end.index - node.span.start.index)
                        .collect(),
                ),
                Value::Seq(items) => items.iter().for_each(|n| walk(n, src, out)),
                Value::Map(entries) => entries.iter().for_each(|(k, v)| {
                    walk(k, src, out);
                    walk(v, src, out);
                }),
            }
        }
        let mut out = Vec::new();
        walk(&root(src), src, &mut out);
        out
    }

    /// Defect (issue 13): a quoted scalar's span ran on over the spaces and the comment
    /// after it (the parser ends it where the next token starts).
    #[test]
    fn quoted_scalar_spans_end_at_the_closing_quote() {
        assert_eq!(
            spanned("prod: \"weight-10\"   # OPS-123\nb: 'it''s' #c\n"),
            ["prod", "\"weight-10\"", "b", "'it''s'"]
        );
        assert_eq!(
            spanned("{a: \"x\\\"y\" , b: 'z' }"),
            ["a", "\"x\\\"y\"", "b", "'z'"]
        );
        assert_eq!(
            spanned("a: &x \"q\"  # c\nb: \"two\\\n  lines\" # c\n"),
            ["a", "&x \"q\"", "b", "\"two\\\n  lines\""]
        );
        let n = root("a: \"x\\\r\n  y\" # c\r\n");
        let Value::Map(entries) = &n.value else {
            panic!()
        };
        let end = entries[0].1.span.end;
        assert_eq!((end.line, end.col, end.index), (2, 5, 12));
    }

    /// Block scalars span their content, without the line breaks and blank lines after.
    #[test]
    fn block_scalar_spans_end_with_their_last_line() {
        for eol in ["\n", "\r\n", "\r"] {
            let src = "a: |-\n  x\n  y  \n\n  \nb: >-\n  z\n".replace('\n', eol);
            let want = ["a", &format!("x{eol}  y  "), "b", "z"];
            assert_eq!(spanned(&src), want, "{eol:?}");
        }
        assert_eq!(spanned("a: |-\n  x"), ["a", "x"]);
    }

    #[test]
    fn scalar_at_finds_a_scalar_by_its_start() {
        let src = "a: 'x'  # c\nb: |-\n  y\n\nc: *z\nd: &z w\n";
        let a = scalar_at(src, 3).unwrap();
        assert_eq!(
            (a.written, a.text.as_str(), a.properties),
            (Written::SingleQuoted, "x", false)
        );
        assert_eq!((a.span.start.index, a.span.end.index), (3, 6));
        let b = scalar_at(src, 20).unwrap();
        assert_eq!((b.written, b.text.as_str()), (Written::Literal, "y"));
        assert_eq!((b.span.start.index, b.span.end.index), (20, 21));
        assert!(scalar_at(src, 4).is_none());
        let d = scalar_at(&src.replace("*z", "z"), 31).unwrap();
        assert!(d.properties, "{d:?}");
    }
}
