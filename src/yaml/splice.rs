//! Editing a YAML document's own text into a new value.
//!
//! [`splice`] turns the text of one YAML document into text that reads as a target value,
//! changing as little of it as it can, so that a reviewer comparing the two sees only
//! what changed, and every comment, quoting style, flow or block style and key order the
//! target keeps stays as written. It walks the document's tree ([`super::parse`]) beside
//! the value it reads as and the target:
//!
//! - a node the target keeps is kept as written;
//! - two mappings are edited key by key: a value is edited in place, a key the target
//!   drops is removed with its lines, a new key goes after the key it follows in the
//!   target, at the mapping's indentation. When the target orders the kept keys
//!   differently, the whole mapping is written anew;
//! - two sequences are aligned by their items (a diff on equal items; within a changed
//!   stretch, items that share the most entries are paired and edited in place), then
//!   items are inserted, removed or edited;
//! - a flow collection is edited in place as well, its line breaks and comments kept: a
//!   new element goes before the one it precedes (on a line of its own at that one's
//!   indentation when that one has a line of its own), or after the last one; written as
//!   JSON when the collection is. One written on one line that the edit would make longer
//!   than [`MAX_LINE`] is written as a block collection instead;
//! - anything else is written anew in the node's place: a block collection at the
//!   document's indentation, a flow collection or a scalar on one line.
//!
//! What it writes reads the same to YAML 1.1 readers (client-go, so kubectl and Argo CD)
//! and YAML 1.2 readers, as [`crate::vs::VirtualService::to_yaml`] does. So do the plain
//! scalars of the kept text: one that YAML 1.1 may read as another value than YAML 1.2
//! (`yes`, `on`, `012`, `1e3`, `2001-12-14`) is written again, quoted or as a number both
//! read alike; quoted scalars stay as written.
//!
//! The result is read back and must be the target exactly (key order included); [`splice`]
//! says why ([`Unspliced`]) when it is not, and when an edit cannot be made in the text: a
//! change under an anchor that an alias repeats, a character only YAML 1.1 takes for a
//! line break, a document [`super::parse`] refuses. The caller then writes the target
//! afresh.
//!
//! [`document_text`] cuts the text of one document out of a file of several
//! ([`locate::texts`]), as the source of a splice.

use std::collections::HashSet;
use std::ops::Range;

use serde_yaml::{Mapping, Value};
use similar::{capture_diff_slices, Algorithm, DiffOp};

use super::{escape, locate, Node, Scalar, Style, Value as Tree};
use crate::vs;

/// The text of the document of `source` (a YAML stream of one or more documents) that
/// reads as `doc`, as a stage file holds it: from the line after the `---` that opens it,
/// so with the comments above it (and for the first document, the file's header above its
/// `---`, [`locate::header`]), to the marker that closes it, without marker lines,
/// blank lines around it or a byte order mark, with every line break a line feed (as in
/// every file cutover writes) and a line break at the end. `None` when no document's text
/// reads as `doc` on its own.
pub fn document_text(source: &str, doc: &Value) -> Option<String> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let ranges = locate::texts(source);
    let header = ranges.first().map(|r| locate::header(source, r));
    ranges.into_iter().enumerate().find_map(|(i, range)| {
        let head = match (i, &header) {
            (0, Some(h)) => &source[h.clone()],
            _ => "",
        };
        let text = tidy(&format!("{head}{}", &source[range]));
        reads_as(&text, doc).then_some(text)
    })
}

/// `text` with LF line breaks, without blank lines at its start and end, ending with one
/// line break.
fn tidy(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let blank = |l: &str| l.trim_matches([' ', '\t']).is_empty();
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| !blank(l)).unwrap_or(lines.len());
    let last = lines
        .iter()
        .rposition(|l| !blank(l))
        .map_or(first, |i| i + 1);
    let mut out = lines[first..last].join("\n");
    out.push('\n');
    out
}

/// Whether `text` is one YAML document that reads as `value`, key order included.
fn reads_as(text: &str, value: &Value) -> bool {
    one_document(text).is_some_and(|v| vs::identical(&v, value))
}

fn one_document(text: &str) -> Option<Value> {
    let mut docs = vs::documents(text).ok()?;
    (docs.len() == 1).then(|| docs.remove(0))
}

/// `source`, the text of one YAML document, edited to read as `target`: see the module
/// documentation. The result reads as `target` exactly; an error says why the edit cannot
/// be made in the text.
pub fn splice(source: &str, target: &Value) -> Result<String, Unspliced> {
    let text = edit(source, target)?;
    match reads_as(&text, target) {
        true => Ok(text),
        false => Err(Unspliced::Differs),
    }
}

/// The edit of [`splice`], before the result is read back.
fn edit(source: &str, target: &Value) -> Result<String, Unspliced> {
    // YAML 1.1 takes these for line breaks, in comments too.
    if source.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return Err(Unspliced::LineBreak);
    }
    let root = super::parse(source)
        .map_err(|e| Unspliced::Unread(Some(e.message)))?
        .ok_or(Unspliced::Unread(None))?;
    let base = one_document(source).ok_or(Unspliced::Unread(None))?;
    let mut s = Splice::new(source, &root);
    s.node(&root, &base, target, Place::Root)?;
    let edits = std::mem::take(&mut s.edits);
    apply(source, 0..source.len(), edits)
}

/// Why a document's text cannot be edited into the target ([`splice`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unspliced {
    /// An edit changes, or removes, a node whose anchor an alias repeats.
    Alias,
    /// The text holds a character only YAML 1.1 takes for a line break.
    LineBreak,
    /// The document is not one the splice reads: the message of [`super::parse`] (an
    /// unknown or a root tag, duplicate keys), or `None` when it holds no node.
    Unread(Option<String>),
    /// An edit of another kind that cannot be made in the text.
    Edit,
    /// The edited text does not read as the target (a flaw of the splice itself).
    Differs,
}

impl std::fmt::Display for Unspliced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unspliced::Alias => f.write_str("an alias repeats a node the stage changes"),
            Unspliced::LineBreak => f.write_str(
                "it holds a character YAML 1.1 reads as a line break (U+0085, U+2028, U+2029)",
            ),
            Unspliced::Unread(Some(m)) => write!(f, "its text cannot be edited ({m})"),
            Unspliced::Unread(None) => f.write_str("its text holds no document"),
            Unspliced::Edit => f.write_str("an edit cannot be made in its text"),
            Unspliced::Differs => f.write_str("its edited text does not read as the stage"),
        }
    }
}

/// The error of a step of the walk.
type GiveUp = Unspliced;

type Step = Result<(), GiveUp>;

/// Where a node sits, which says how a node written in its place must look.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// The document's root.
    Root,
    /// In a flow collection: one line of flow text.
    Flow,
    /// A block sequence's item, after its `- `.
    Item,
    /// A block mapping's value: `colon` is the byte after its key's `:` (on line
    /// `line`), `key_col` the key's column.
    Value {
        colon: usize,
        line: usize,
        key_col: usize,
    },
}

/// One step of aligning a sequence's items with the target's: keep item `i`, edit item
/// `i` into target item `j`, delete item `i`, insert target item `j`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Align {
    Keep(usize),
    Edit(usize, usize),
    Delete(usize),
    Insert(usize),
}

/// An element of a flow collection as edited: one of the source's (by index), or the
/// text of a new one.
enum Part {
    Old(usize),
    New(String),
}

/// The longest line an edit of a flow collection written on one line may make (when the
/// line was not longer): the limit the repository's yamllint configuration sets
/// (`.yamllint.yaml`). A longer one is written as a block collection instead.
pub const MAX_LINE: usize = 160;

/// A value compared as [`vs::identical`] does (for the diff of sequence items).
#[derive(Hash)]
struct Same<'a>(&'a Value);

impl PartialEq for Same<'_> {
    fn eq(&self, other: &Self) -> bool {
        vs::identical(self.0, other.0)
    }
}

impl Eq for Same<'_> {}

struct Splice<'a> {
    src: &'a str,
    /// The byte offset of each character (the tree's positions count characters).
    bytes: Vec<usize>,
    /// The line break new lines get: the document's first one.
    eol: &'static str,
    /// The anchors some alias repeats.
    aliased: HashSet<usize>,
    /// Columns from a key to the `-` of a block sequence under it, and to the keys of a
    /// block mapping under it, as the document writes them.
    seq_indent: usize,
    map_indent: usize,
    /// Byte ranges and their new text, in the order they were made.
    edits: Vec<(usize, usize, String)>,
}

impl<'a> Splice<'a> {
    fn new(src: &'a str, root: &Node) -> Splice<'a> {
        let mut s = Splice {
            src,
            bytes: super::byte_offsets(src),
            eol: if src.contains("\r\n") { "\r\n" } else { "\n" },
            aliased: HashSet::new(),
            seq_indent: 0,
            map_indent: 2,
            edits: Vec::new(),
        };
        let (mut seq, mut map) = (None, None);
        survey(root, &mut s.aliased, &mut seq, &mut map);
        s.seq_indent = seq.unwrap_or(0);
        s.map_indent = map.unwrap_or(2);
        s
    }

    // --- positions --------------------------------------------------------------------

    fn byte(&self, pos: super::Pos) -> usize {
        self.bytes.get(pos.index).copied().unwrap_or(self.src.len())
    }

    fn start(&self, node: &Node) -> usize {
        self.byte(node.span.start)
    }

    /// The byte after a node's last character (a block mapping whose last value is empty
    /// ends with that key's `:`).
    fn end(&self, node: &Node) -> Result<usize, GiveUp> {
        if node.form.flow || node.form.alias.is_some() {
            return Ok(self.byte(node.span.end));
        }
        match &node.value {
            Tree::Scalar(_) => Ok(self.byte(node.span.end)),
            Tree::Seq(items) => self.end(items.last().ok_or(GiveUp::Edit)?),
            Tree::Map(entries) => {
                let (k, v) = entries.last().ok_or(GiveUp::Edit)?;
                self.entry_end(k, v)
            }
        }
    }

    fn entry_end(&self, key: &Node, value: &Node) -> Result<usize, GiveUp> {
        if is_empty(value) {
            self.colon_after(key)
        } else {
            self.end(value)
        }
    }

    /// The byte after the `:` that follows a block mapping's key.
    fn colon_after(&self, key: &Node) -> Result<usize, GiveUp> {
        let end = self.end(key)?;
        let rest = &self.src[end..];
        let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        match rest[gap..].starts_with(':') {
            true => Ok(end + gap + 1),
            false => Err(GiveUp::Edit),
        }
    }

    fn line_start(&self, at: usize) -> usize {
        self.src[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1)
    }

    /// The byte where the line holding `at` breaks (the end of the source on the last).
    fn line_end(&self, at: usize) -> usize {
        self.src[at..]
            .find(['\n', '\r'])
            .map_or(self.src.len(), |i| at + i)
    }

    /// The start of the line after the one holding `at`.
    fn next_line(&self, at: usize) -> usize {
        let end = self.line_end(at);
        let rest = &self.src[end..];
        end + if rest.starts_with("\r\n") {
            2
        } else {
            usize::from(!rest.is_empty())
        }
    }

    fn first_on_line(&self, at: usize) -> bool {
        self.src[self.line_start(at)..at].chars().all(|c| c == ' ')
    }

    /// The byte of the `-` of a block sequence's item.
    fn dash(&self, item: &Node) -> Result<usize, GiveUp> {
        let before = self.src[..self.start(item)].trim_end_matches([' ', '\t', '\r', '\n']);
        match before.ends_with('-') {
            true => Ok(before.len() - 1),
            false => Err(GiveUp::Edit),
        }
    }

    fn column(&self, at: usize) -> usize {
        self.src[self.line_start(at)..at].chars().count()
    }

    /// Inserts `lines` (indented) on new lines after `node`: at the start of the line
    /// after its last one, so that an edit that removes lines up to there (the end of the
    /// node before) comes first. A keep-chomped block scalar (`|+`) at its end owns the
    /// blank lines after it: they go before the new lines.
    fn insert_lines_after(&mut self, node: &Node, lines: String) -> Step {
        let mut at = self.end(node)?;
        if self.keeps_trailing_lines(node) {
            while self.line_end(at) < self.src.len() {
                let next = self.next_line(at);
                let line = &self.src[next..self.line_end(next)];
                if !line.trim_matches([' ', '\t']).is_empty() {
                    break;
                }
                at = next;
            }
        }
        let end = self.line_end(at);
        if end == self.src.len() {
            self.edit(end..end, format!("{}{lines}", self.eol));
        } else {
            let next = self.next_line(at);
            self.edit(next..next, format!("{lines}{}", self.eol));
        }
        Ok(())
    }

    /// Whether `node` ends with a keep-chomped block scalar (`|+`, `>2+`), whose content
    /// runs on into the blank lines after its last line.
    fn keeps_trailing_lines(&self, node: &Node) -> bool {
        if node.form.alias.is_some() || node.form.flow {
            return false;
        }
        match &node.value {
            Tree::Seq(items) => items.last().is_some_and(|n| self.keeps_trailing_lines(n)),
            Tree::Map(entries) => entries.last().is_some_and(|(k, v)| match is_empty(v) {
                true => self.keeps_trailing_lines(k),
                false => self.keeps_trailing_lines(v),
            }),
            Tree::Scalar(s) if s.style == Style::Quoted => {
                let Ok(end) = self.end(node) else {
                    return false;
                };
                let start = self.start(node);
                // The header (`|+`) is in the span after properties (`&a !!str |+`), or
                // else the last word of the line before the content, comment left out.
                let mut words = self.src[start..end].split_whitespace();
                let header = match words.find(|w| !w.starts_with(['&', '!'])) {
                    Some(h) if h.starts_with(['|', '>']) => Some(h),
                    _ => {
                        let before = self.src[..start].trim_end_matches([' ', '\t', '\r', '\n']);
                        let line = &before[self.line_start(before.len())..];
                        let line = line.split(" #").next().unwrap_or_default();
                        line.split_whitespace().last()
                    }
                };
                header.is_some_and(|h| h.starts_with(['|', '>']) && h.contains('+'))
            }
            Tree::Scalar(_) => false,
        }
    }

    fn edit(&mut self, range: Range<usize>, text: String) {
        self.edits.push((range.start, range.end, text));
    }

    // --- the walk ---------------------------------------------------------------------

    /// Edits `node`, which reads as `base`, to read as `target`.
    fn node(&mut self, node: &Node, base: &Value, target: &Value, place: Place) -> Step {
        if vs::identical(base, target) {
            return self.keep(node, base);
        }
        if node.form.alias.is_some() {
            return self.replace(node, target, place);
        }
        if node.form.anchor.is_some_and(|a| self.aliased.contains(&a)) {
            // An edit here would change the aliases too.
            return Err(GiveUp::Alias);
        }
        if node.form.flow
            && !matches!(place, Place::Flow)
            && node.span.start.line == node.span.end.line
        {
            return self.one_line_flow(node, base, target, place);
        }
        self.collection(node, base, target, place)
    }

    /// [`Self::node`]'s edit of a node that is not kept as it is.
    fn collection(&mut self, node: &Node, base: &Value, target: &Value, place: Place) -> Step {
        match (&node.value, base, target) {
            (Tree::Map(entries), Value::Mapping(b), Value::Mapping(t)) if !t.is_empty() => {
                self.mapping(node, entries, b, t, place)
            }
            (Tree::Seq(items), Value::Sequence(b), Value::Sequence(t)) if !t.is_empty() => {
                self.sequence(node, items, b, t, place)
            }
            _ => self.replace(node, target, place),
        }
    }

    /// Keeps `node`, which reads as `value`, as written, except for its plain scalars
    /// that YAML 1.1 may read otherwise.
    fn keep(&mut self, node: &Node, value: &Value) -> Step {
        if node.form.alias.is_some() {
            // Its anchored node is kept (or written) where it stands.
            return Ok(());
        }
        match (&node.value, value) {
            (Tree::Scalar(s), v) => self.keep_scalar(node, s, v),
            (Tree::Seq(items), Value::Sequence(values)) if items.len() == values.len() => items
                .iter()
                .zip(values)
                .try_for_each(|(n, v)| self.keep(n, v)),
            (Tree::Map(entries), Value::Mapping(m)) if entries.len() == m.len() => {
                entries.iter().zip(m).try_for_each(|((kn, vn), (k, v))| {
                    self.keep(kn, k)?;
                    self.keep(vn, v)
                })
            }
            _ => Err(GiveUp::Edit),
        }
    }

    /// Writes a plain scalar again when YAML 1.1 may read it otherwise than YAML 1.2
    /// reads it (`value`); the anchor of an anchored one stays.
    fn keep_scalar(&mut self, node: &Node, s: &Scalar, value: &Value) -> Step {
        if s.style != Style::Plain || s.tag.as_deref() == Some("str") || agrees(&s.text, value) {
            return Ok(());
        }
        let text = scalar(value, false)?;
        let (start, end) = (self.start(node), self.end(node)?);
        let start = match (node.form.anchor, &s.tag) {
            (None, _) => start,
            (Some(_), None) if self.src[start..end].ends_with(s.text.as_str()) => {
                end - s.text.len()
            }
            _ => return Err(GiveUp::Edit),
        };
        self.edit(start..end, text);
        Ok(())
    }

    /// Gives up when removing or rewriting `node` would remove an anchor an alias uses.
    fn removable(&self, node: &Node) -> Step {
        if node.form.alias.is_some() {
            return Ok(());
        }
        if node.form.anchor.is_some_and(|a| self.aliased.contains(&a)) {
            return Err(GiveUp::Alias);
        }
        match &node.value {
            Tree::Scalar(_) => Ok(()),
            Tree::Seq(items) => items.iter().try_for_each(|n| self.removable(n)),
            Tree::Map(entries) => entries.iter().try_for_each(|(k, v)| {
                self.removable(k)?;
                self.removable(v)
            }),
        }
    }

    /// Writes `target` in `node`'s place.
    fn replace(&mut self, node: &Node, target: &Value, place: Place) -> Step {
        if node.form.flow {
            // A flow collection stays one.
            self.removable(node)?;
            let (start, end) = (self.start(node), self.end(node)?);
            let text = match self.json_style(node) {
                true => json_flow(target)?,
                false => flow(target)?,
            };
            self.edit(start..end, text);
            return Ok(());
        }
        if let (Tree::Scalar(_), Value::String(text)) = (&node.value, target) {
            let start = self.start(node);
            if self.src[start..].starts_with('"') {
                // A double-quoted string stays one (a JSON document stays JSON).
                let end = self.end(node)?;
                self.edit(start..end, json_string(text));
                return Ok(());
            }
        }
        self.replace_block(node, target, place)
    }

    /// Writes `target` in `node`'s place, a collection as a block one (but in a flow
    /// collection).
    fn replace_block(&mut self, node: &Node, target: &Value, place: Place) -> Step {
        self.removable(node)?;
        let (start, end) = (self.start(node), self.end(node)?);
        let nested = is_block(target);
        match place {
            Place::Flow => self.edit(start..end, flow(target)?),
            Place::Root | Place::Item if nested => {
                let text = self.block(target, self.column(start))?;
                self.edit(start..end, text);
            }
            Place::Root | Place::Item => self.edit(start..end, scalar(target, false)?),
            Place::Value {
                colon,
                line,
                key_col,
            } => {
                let empty = is_empty(node);
                let end = if empty { colon } else { end };
                let later = empty || node.span.start.line != line;
                if !nested {
                    let text = scalar(target, false)?;
                    match later {
                        true => self.edit(colon..end, format!(" {text}")),
                        false => self.edit(start..end, text),
                    }
                    return Ok(());
                }
                let indent = key_col + self.indent_under_key(target);
                if later && !empty && self.first_on_line(start) && self.column(start) == indent {
                    // On its own lines: what stands between the key and it (a comment)
                    // stays.
                    let text = self.block(target, indent)?;
                    self.edit(start..end, text);
                } else {
                    let text = format!(
                        "{}{}{}",
                        self.eol,
                        spaces(indent),
                        self.block(target, indent)?
                    );
                    self.edit(colon..end, text);
                }
            }
        }
        Ok(())
    }

    /// Edits a flow collection written on one line, outside any other: in place, unless
    /// that makes its line longer than [`MAX_LINE`] (when it was not), in which case it is
    /// written anew as a block collection.
    fn one_line_flow(&mut self, node: &Node, base: &Value, target: &Value, place: Place) -> Step {
        let outer = std::mem::take(&mut self.edits);
        let done = self.collection(node, base, target, place);
        let inner = std::mem::replace(&mut self.edits, outer);
        done?;
        let (start, end) = (self.start(node), self.end(node)?);
        let text = apply(self.src, start..end, inner.clone())?;
        let (line, line_end) = (self.line_start(start), self.line_end(end));
        let width = |s: &str| s.chars().count();
        let was = width(&self.src[line..line_end]);
        let now = width(&self.src[line..start]) + width(&text) + width(&self.src[end..line_end]);
        if now > MAX_LINE && was <= MAX_LINE && is_block(target) {
            return self.replace_block(node, target, place);
        }
        self.edits.extend(inner);
        Ok(())
    }

    fn indent_under_key(&self, v: &Value) -> usize {
        match v {
            Value::Sequence(_) => self.seq_indent,
            _ => self.map_indent,
        }
    }

    /// The text of `node` edited to read as `target`, for a flow collection written
    /// anew around it.
    fn text_of(&mut self, node: &Node, base: &Value, target: &Value) -> Result<String, GiveUp> {
        let outer = std::mem::take(&mut self.edits);
        let done = self.node(node, base, target, Place::Flow);
        let edits = std::mem::replace(&mut self.edits, outer);
        done?;
        let range = self.start(node)..self.end(node)?;
        apply(self.src, range, edits)
    }

    // --- mappings ---------------------------------------------------------------------

    fn mapping(
        &mut self,
        node: &Node,
        entries: &[(Node, Node)],
        base: &Mapping,
        target: &Mapping,
        place: Place,
    ) -> Step {
        if entries.len() != base.len() {
            return Err(GiveUp::Edit);
        }
        let kept: Vec<&Value> = base.keys().filter(|k| target.contains_key(*k)).collect();
        let order: Vec<&Value> = target.keys().filter(|k| base.contains_key(*k)).collect();
        if kept.is_empty() || kept != order {
            return self.replace(node, &Value::Mapping(target.clone()), place);
        }
        if !node.form.flow {
            return self.block_mapping(entries, base, target);
        }
        if !entries.iter().any(|(_, v)| is_empty(v)) {
            return self.flow_mapping(node, entries, base, target);
        }
        // Keys come or go around an empty value (`{a: , b: 1}`), which has no place of
        // its own: the collection is written again, its kept entries as they are
        // (edited).
        let mut parts = Vec::new();
        for (k, v) in target {
            let part = match base.keys().position(|b| b == k) {
                Some(i) => {
                    let (kn, vn) = &entries[i];
                    let key = self.text_of(kn, k, k)?;
                    let value = match is_empty(vn) {
                        true => flow(v)?,
                        false => self.text_of(vn, base.get(k).ok_or(GiveUp::Edit)?, v)?,
                    };
                    format!("{key}: {value}")
                }
                None => format!("{}: {}", key(k, true)?, flow(v)?),
            };
            parts.push(part);
        }
        for ((kn, vn), k) in entries.iter().zip(base.keys()) {
            if !target.contains_key(k) {
                self.removable(kn)?;
                self.removable(vn)?;
            }
        }
        let range = self.start(node)..self.end(node)?;
        self.edit(range, format!("{{{}}}", parts.join(", ")));
        Ok(())
    }

    /// Edits a flow mapping in place: a value in place, a key the target drops removed,
    /// a new key before the kept key it precedes in the target, or after the last one.
    fn flow_mapping(
        &mut self,
        node: &Node,
        entries: &[(Node, Node)],
        base: &Mapping,
        target: &Mapping,
    ) -> Step {
        let json = self.json_style(node);
        let mut order = Vec::new();
        for (k, v) in target {
            match base.keys().position(|b| b == k) {
                Some(i) => {
                    let (kn, vn) = &entries[i];
                    self.keep(kn, k)?;
                    self.node(vn, base.get(k).ok_or(GiveUp::Edit)?, v, Place::Flow)?;
                    order.push(Part::Old(i));
                }
                None => order.push(Part::New(match json {
                    true => format!("{}: {}", json_key(k)?, json_flow(v)?),
                    false => format!("{}: {}", key(k, true)?, flow(v)?),
                })),
            }
        }
        let mut gone = vec![false; entries.len()];
        for (i, ((kn, vn), k)) in entries.iter().zip(base.keys()).enumerate() {
            if !target.contains_key(k) {
                self.removable(kn)?;
                self.removable(vn)?;
                gone[i] = true;
            }
        }
        let elements = entries
            .iter()
            .map(|(k, v)| Ok(self.start(k)..self.end(v)?))
            .collect::<Result<Vec<_>, GiveUp>>()?;
        self.flow_in_place(node, &elements, &order, &gone)
    }

    /// Makes the edits of a flow collection whose elements (items, or entries from key
    /// to value) are at `elements`: those `gone` are removed, new ones inserted where
    /// `order` (the result's elements, kept ones in their order) puts them. A new element
    /// goes before the kept one that follows it (`NEW, ` on its line, or on a line of its
    /// own at its indentation when it starts its line), or after the last kept one; line
    /// breaks and comments stay.
    fn flow_in_place(
        &mut self,
        node: &Node,
        elements: &[Range<usize>],
        order: &[Part],
        gone: &[bool],
    ) -> Step {
        let mut pending: Vec<&str> = Vec::new();
        let mut last = None;
        for part in order {
            match part {
                Part::New(text) => pending.push(text),
                Part::Old(i) => {
                    let at = elements[*i].start;
                    let text: String = match self.first_on_line(at) {
                        true => {
                            let indent = &self.src[self.line_start(at)..at];
                            pending
                                .drain(..)
                                .map(|t| format!("{t},{}{indent}", self.eol))
                                .collect()
                        }
                        false => pending.drain(..).map(|t| format!("{t}, ")).collect(),
                    };
                    if !text.is_empty() {
                        self.edit(at..at, text);
                    }
                    last = Some(*i);
                }
            }
        }
        let last = last.ok_or(GiveUp::Edit)?;
        if !pending.is_empty() {
            self.flow_append(node, &elements[last], &pending)?;
        }
        // Runs of removed elements.
        let mut i = 0;
        while i < elements.len() {
            if !gone[i] {
                i += 1;
                continue;
            }
            let run = (i..elements.len()).take_while(|&j| gone[j]).count();
            self.flow_remove(elements, i, i + run - 1)?;
            i += run;
        }
        Ok(())
    }

    /// Inserts new elements after `last`, the last element kept of a flow collection.
    fn flow_append(&mut self, node: &Node, last: &Range<usize>, new: &[&str]) -> Step {
        let close = self.end(node)?.checked_sub(1).ok_or(GiveUp::Edit)?;
        let rest = &self.src[last.end..close];
        let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let comma = rest[gap..].starts_with(',');
        let on_own_line = self.first_on_line(last.start) && rest.contains(['\n', '\r']);
        if !on_own_line {
            let text: String = new.iter().map(|t| format!(", {t}")).collect();
            self.edit(last.end..last.end, text);
            return Ok(());
        }
        let indent = self.src[self.line_start(last.start)..last.start].to_owned();
        let lines: Vec<String> = new.iter().map(|t| format!("{indent}{t}")).collect();
        let at = match comma {
            // The collection ends its elements with a comma: so do the new ones.
            true => {
                let lines: String = lines.iter().map(|l| format!("{l},{}", self.eol)).collect();
                (last.end + gap + 1, lines)
            }
            false => {
                self.edit(last.end..last.end, ",".to_owned());
                let sep = format!(",{}", self.eol);
                (last.end, format!("{}{}", lines.join(&sep), self.eol))
            }
        };
        let next = self.next_line(at.0);
        self.edit(next..next, at.1);
        Ok(())
    }

    /// Removes elements `first..=last` of a flow collection (`elements`), with the commas
    /// that go with them: by their lines when they have lines of their own.
    fn flow_remove(&mut self, elements: &[Range<usize>], first: usize, last: usize) -> Step {
        let (f, l) = (&elements[first], &elements[last]);
        let next = elements.get(last + 1);
        let rest = &self.src[l.end..];
        let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let after = l.end + gap + usize::from(rest[gap..].starts_with(','));
        let tail = self.src[after..self.line_end(after)].trim_start_matches([' ', '\t']);
        let own_lines = self.first_on_line(f.start)
            && (tail.is_empty() || tail.starts_with('#'))
            && next.is_none_or(|n| self.first_on_line(n.start));
        if own_lines && (next.is_some() || after > l.end) {
            self.edit(
                self.line_start(f.start)..self.next_line(after),
                String::new(),
            );
            return Ok(());
        }
        match (next, first.checked_sub(1).map(|p| &elements[p])) {
            (Some(n), _) => self.edit(f.start..n.start, String::new()),
            (None, Some(p)) => self.edit(p.end..l.end, String::new()),
            (None, None) => return Err(GiveUp::Edit),
        }
        Ok(())
    }

    /// Whether a flow collection is written as JSON: its (first) key, or its first
    /// item's, double-quoted. New elements are written so too.
    fn json_style(&self, node: &Node) -> bool {
        let quoted = |n: &Node| self.src[self.start(n)..].starts_with('"');
        match &node.value {
            Tree::Map(entries) => entries.first().is_some_and(|(k, _)| quoted(k)),
            Tree::Seq(items) => items
                .first()
                .is_some_and(|i| quoted(i) || (i.form.flow && self.json_style(i))),
            Tree::Scalar(_) => false,
        }
    }

    fn block_mapping(
        &mut self,
        entries: &[(Node, Node)],
        base: &Mapping,
        target: &Mapping,
    ) -> Step {
        let key_col = self.column(self.start(&entries[0].0));
        let keys: Vec<&Value> = base.keys().collect();
        // New entries, by the kept entry they follow (`None`: before the first).
        let mut before = String::new();
        let mut after: Vec<Vec<String>> = vec![Vec::new(); entries.len()];
        let mut last = None;
        for (k, v) in target {
            match keys.iter().position(|b| *b == k) {
                Some(i) => last = Some(i),
                None => {
                    let text = self.entry(k, v, key_col)?;
                    match last {
                        None => before.push_str(&format!("{text}{}{}", self.eol, spaces(key_col))),
                        Some(i) => after[i].push(format!("{}{text}", spaces(key_col))),
                    }
                }
            }
        }
        let mut i = 0;
        while i < entries.len() {
            let (kn, vn) = &entries[i];
            let Some(t) = target.get(keys[i]) else {
                let run = (i..entries.len())
                    .take_while(|&j| !target.contains_key(keys[j]))
                    .count();
                self.remove_entries(&entries[i..i + run], entries.get(i + run))?;
                i += run;
                continue;
            };
            if !before.is_empty() {
                let at = self.start(kn);
                self.edit(at..at, std::mem::take(&mut before));
            }
            self.keep(kn, keys[i])?;
            let colon = self.colon_after(kn)?;
            let place = Place::Value {
                colon,
                line: kn.span.start.line,
                key_col,
            };
            self.node(vn, base.get(keys[i]).ok_or(GiveUp::Edit)?, t, place)?;
            if !after[i].is_empty() {
                let lines = after[i].join(self.eol);
                let last = if is_empty(vn) { kn } else { vn };
                self.insert_lines_after(last, lines)?;
            }
            i += 1;
        }
        Ok(())
    }

    /// Removes a run of entries of a block mapping, followed by `next` (an entry kept).
    fn remove_entries(&mut self, run: &[(Node, Node)], next: Option<&(Node, Node)>) -> Step {
        for (k, v) in run {
            self.removable(k)?;
            self.removable(v)?;
        }
        let (first, last) = (&run[0], &run[run.len() - 1]);
        let start = self.start(&first.0);
        if self.first_on_line(start) {
            let end = self.next_line(self.entry_end(&last.0, &last.1)?);
            self.edit(self.line_start(start)..end, String::new());
        } else {
            // The first entry of a `- key: value` item: the next entry moves up.
            let next = next.ok_or(GiveUp::Edit)?;
            self.edit(start..self.start(&next.0), String::new());
        }
        Ok(())
    }

    // --- sequences --------------------------------------------------------------------

    fn sequence(
        &mut self,
        node: &Node,
        items: &[Node],
        base: &[Value],
        target: &[Value],
        place: Place,
    ) -> Step {
        if items.len() != base.len() {
            return Err(GiveUp::Edit);
        }
        let steps = align(base, target);
        let kept = steps
            .iter()
            .any(|s| matches!(s, Align::Keep(_) | Align::Edit(..)));
        if !kept {
            return self.replace(node, &Value::Sequence(target.to_vec()), place);
        }
        if !node.form.flow {
            // An item removed by its lines has its `-` first on its line (not the inner
            // one of `- - a`).
            let by_lines = steps.iter().all(|s| match s {
                Align::Delete(i) => self.dash(&items[*i]).is_ok_and(|d| self.first_on_line(d)),
                _ => true,
            });
            if !by_lines {
                return self.replace(node, &Value::Sequence(target.to_vec()), place);
            }
            return self.block_sequence(items, base, target, &steps);
        }
        let json = self.json_style(node);
        let (mut order, mut gone) = (Vec::new(), vec![false; items.len()]);
        for step in steps {
            match step {
                Align::Keep(i) => self.keep(&items[i], &base[i])?,
                Align::Edit(i, j) => self.node(&items[i], &base[i], &target[j], Place::Flow)?,
                Align::Delete(i) => {
                    self.removable(&items[i])?;
                    gone[i] = true;
                }
                Align::Insert(j) => order.push(Part::New(match json {
                    true => json_flow(&target[j])?,
                    false => flow(&target[j])?,
                })),
            }
            if let Align::Keep(i) | Align::Edit(i, _) = step {
                order.push(Part::Old(i));
            }
        }
        let elements = items
            .iter()
            .map(|n| Ok(self.start(n)..self.end(n)?))
            .collect::<Result<Vec<_>, GiveUp>>()?;
        self.flow_in_place(node, &elements, &order, &gone)
    }

    fn block_sequence(
        &mut self,
        items: &[Node],
        base: &[Value],
        target: &[Value],
        steps: &[Align],
    ) -> Step {
        let dash = self.dash(&items[0])?;
        let indent = self.column(dash);
        let mut before = String::new();
        let mut previous: Option<usize> = None;
        let mut deleted: Vec<usize> = Vec::new();
        for &step in steps {
            if !matches!(step, Align::Delete(_)) {
                self.delete_items(items, &mut deleted)?;
            }
            match step {
                Align::Keep(i) | Align::Edit(i, _) => {
                    if !before.is_empty() {
                        let at = self.dash(&items[i])?;
                        self.edit(at..at, std::mem::take(&mut before));
                    }
                    match step {
                        Align::Edit(_, j) => {
                            self.node(&items[i], &base[i], &target[j], Place::Item)?
                        }
                        _ => self.keep(&items[i], &base[i])?,
                    }
                    previous = Some(i);
                }
                Align::Delete(i) => deleted.push(i),
                Align::Insert(j) => {
                    let text = self.item(&target[j], indent)?;
                    match previous {
                        None => before.push_str(&format!("{text}{}{}", self.eol, spaces(indent))),
                        Some(p) => {
                            let lines = format!("{}{text}", spaces(indent));
                            self.insert_lines_after(&items[p], lines)?;
                        }
                    }
                }
            }
        }
        self.delete_items(items, &mut deleted)
    }

    /// Removes the lines of a run of items of a block sequence.
    fn delete_items(&mut self, items: &[Node], run: &mut Vec<usize>) -> Step {
        let (Some(&first), Some(&last)) = (run.first(), run.last()) else {
            return Ok(());
        };
        for &i in run.iter() {
            self.removable(&items[i])?;
        }
        let dash = self.dash(&items[first])?;
        if !self.first_on_line(dash) {
            return Err(GiveUp::Edit);
        }
        let end = self.next_line(self.end(&items[last])?);
        self.edit(self.line_start(dash)..end, String::new());
        run.clear();
        Ok(())
    }

    // --- writing new nodes ------------------------------------------------------------

    /// `v` as a block node whose first line starts at column `indent` (the text holds no
    /// indentation before it), the others indented by `indent`.
    fn block(&self, v: &Value, indent: usize) -> Result<String, GiveUp> {
        let mut out = String::new();
        match v {
            Value::Mapping(m) if !m.is_empty() => {
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(self.eol);
                        out.push_str(&spaces(indent));
                    }
                    out.push_str(&self.entry(k, v, indent)?);
                }
            }
            Value::Sequence(items) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(self.eol);
                        out.push_str(&spaces(indent));
                    }
                    out.push_str(&self.item(item, indent)?);
                }
            }
            v => out.push_str(&scalar(v, false)?),
        }
        Ok(out)
    }

    /// A block sequence item, `- ` included, whose `-` is at column `indent`.
    fn item(&self, v: &Value, indent: usize) -> Result<String, GiveUp> {
        Ok(format!("- {}", self.block(v, indent + 2)?))
    }

    /// A block mapping entry whose key is at column `indent`.
    fn entry(&self, k: &Value, v: &Value, indent: usize) -> Result<String, GiveUp> {
        let key = key(k, false)?;
        if !is_block(v) {
            return Ok(format!("{key}: {}", scalar(v, false)?));
        }
        let inner = indent + self.indent_under_key(v);
        Ok(format!(
            "{key}:{}{}{}",
            self.eol,
            spaces(inner),
            self.block(v, inner)?
        ))
    }
}

/// Finds the anchors aliases use, and how the document indents a block sequence and a
/// block mapping under a key.
fn survey(
    node: &Node,
    aliased: &mut HashSet<usize>,
    seq: &mut Option<usize>,
    map: &mut Option<usize>,
) {
    if let Some(a) = node.form.alias {
        aliased.insert(a);
        return;
    }
    match &node.value {
        Tree::Scalar(_) => {}
        Tree::Seq(items) => items.iter().for_each(|n| survey(n, aliased, seq, map)),
        Tree::Map(entries) => {
            for (k, v) in entries {
                let own_lines = !v.form.flow
                    && v.form.alias.is_none()
                    && v.form.anchor.is_none()
                    && v.span.start.line > k.span.start.line;
                let found = match &v.value {
                    Tree::Seq(_) if own_lines => Some(&mut *seq),
                    Tree::Map(_) if own_lines => Some(&mut *map),
                    _ => None,
                };
                if let Some(found) = found.filter(|f| f.is_none()) {
                    *found = v.span.start.col.checked_sub(k.span.start.col);
                }
                survey(k, aliased, seq, map);
                survey(v, aliased, seq, map);
            }
        }
    }
}

/// Whether a node is an empty plain scalar (`key:` with nothing after it).
fn is_empty(node: &Node) -> bool {
    node.form == super::Form::default()
        && matches!(&node.value, Tree::Scalar(s) if s.text.is_empty() && s.style == Style::Plain && s.tag.is_none())
}

/// Whether `v` is written as a block collection (a non-empty one).
fn is_block(v: &Value) -> bool {
    match v {
        Value::Mapping(m) => !m.is_empty(),
        Value::Sequence(s) => !s.is_empty(),
        _ => false,
    }
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// The text of `range` of `src` with `edits` made (each inside it, none overlapping
/// another; at one place, insertions first, in the order they were made).
fn apply(
    src: &str,
    range: Range<usize>,
    mut edits: Vec<(usize, usize, String)>,
) -> Result<String, GiveUp> {
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = String::with_capacity(range.len());
    let mut at = range.start;
    for (start, end, text) in edits {
        if start < at || end < start || end > range.end {
            return Err(GiveUp::Edit);
        }
        out.push_str(&src[at..start]);
        out.push_str(&text);
        at = end;
    }
    out.push_str(&src[at..range.end]);
    Ok(out)
}

/// A scalar (or an empty collection) on one line, as YAML 1.1 and 1.2 readers read alike
/// ([`vs::portable_scalar`]); in a flow collection (`flow`), never a plain scalar that
/// holds a flow indicator.
fn scalar(v: &Value, flow: bool) -> Result<String, GiveUp> {
    let text = match v {
        Value::Sequence(s) if s.is_empty() => return Ok("[]".to_owned()),
        Value::Mapping(m) if m.is_empty() => return Ok("{}".to_owned()),
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => return Err(GiveUp::Edit),
        v => match vs::portable_scalar(v) {
            Some(text) => text,
            None => serde_yaml::to_string(v)
                .map_err(|_| GiveUp::Edit)?
                .trim_end_matches('\n')
                .to_owned(),
        },
    };
    let plain = !text.starts_with(['"', '\'']);
    let unfit = text.contains(['\n', '\r'])
        || (flow && plain && text.contains([',', '[', ']', '{', '}', '#', ':']));
    match (unfit, v) {
        (false, _) => Ok(text),
        (true, Value::String(s)) => Ok(escape::double_quoted(s)),
        (true, _) => Err(GiveUp::Edit),
    }
}

/// A mapping key: a scalar short enough for an implicit key.
fn key(k: &Value, flow: bool) -> Result<String, GiveUp> {
    let text = scalar(k, flow)?;
    match is_block(k) || text.len() > 1000 {
        true => Err(GiveUp::Edit),
        false => Ok(text),
    }
}

/// `v` as flow text on one line.
fn flow(v: &Value) -> Result<String, GiveUp> {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            let parts: Result<Vec<String>, GiveUp> = m
                .iter()
                .map(|(k, v)| Ok(format!("{}: {}", key(k, true)?, flow(v)?)))
                .collect();
            Ok(format!("{{{}}}", parts?.join(", ")))
        }
        Value::Sequence(s) if !s.is_empty() => {
            let parts: Result<Vec<String>, GiveUp> = s.iter().map(flow).collect();
            Ok(format!("[{}]", parts?.join(", ")))
        }
        v => scalar(v, true),
    }
}

/// `v` as flow text on one line, written as JSON (strings double-quoted), which reads as
/// `v` to YAML readers too; a key that is not a string, or a number JSON cannot hold, is
/// written as YAML.
fn json_flow(v: &Value) -> Result<String, GiveUp> {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            let parts: Result<Vec<String>, GiveUp> = m
                .iter()
                .map(|(k, v)| Ok(format!("{}: {}", json_key(k)?, json_flow(v)?)))
                .collect();
            Ok(format!("{{{}}}", parts?.join(", ")))
        }
        Value::Sequence(s) if !s.is_empty() => {
            let parts: Result<Vec<String>, GiveUp> = s.iter().map(json_flow).collect();
            Ok(format!("[{}]", parts?.join(", ")))
        }
        Value::String(s) => Ok(json_string(s)),
        v => scalar(v, true),
    }
}

fn json_key(k: &Value) -> Result<String, GiveUp> {
    match k {
        Value::String(s) => Ok(json_string(s)),
        k => key(k, true),
    }
}

/// A string as JSON writes it, when YAML 1.1 reads that alike (it takes U+0085, U+2028
/// and U+2029, which JSON leaves raw, for line breaks); else YAML's double-quoted form.
fn json_string(s: &str) -> String {
    match serde_json::to_string(s) {
        Ok(text) if !text.contains(['\u{85}', '\u{2028}', '\u{2029}']) => text,
        _ => escape::double_quoted(s),
    }
}

/// Whether a plain scalar written `text`, which YAML 1.2 reads as `value`, reads the same
/// to YAML 1.1 readers (PyYAML, and go-yaml v2 as client-go uses it): a string that no
/// version reads as anything else ([`vs::maybe_not_a_string`]), or a null, boolean or
/// number written in a form all of them read alike.
fn agrees(text: &str, value: &Value) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    match value {
        Value::String(s) => !vs::maybe_not_a_string(s),
        Value::Null => matches!(text, "" | "~" | "null" | "Null" | "NULL"),
        Value::Bool(_) => matches!(text, "true" | "True" | "TRUE" | "false" | "False" | "FALSE"),
        Value::Number(n) if n.is_f64() => {
            if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
                return true;
            }
            if matches!(text, ".nan" | ".NaN" | ".NAN") {
                return true;
            }
            let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
                Some((m, e)) => (m, Some(e)),
                None => (unsigned, None),
            };
            let exponent_ok =
                exponent.is_none_or(|e| e.strip_prefix(['-', '+']).is_some_and(digits));
            let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, "x"));
            digits(int) && (fraction.is_empty() || digits(fraction)) && exponent_ok
        }
        Value::Number(_) => unsigned == "0" || (digits(unsigned) && !unsigned.starts_with('0')),
        _ => false,
    }
}

/// How the items of `base` become those of `target`: a diff on equal items, in which each
/// changed stretch pairs the items that are most alike ([`pair`]).
fn align(base: &[Value], target: &[Value]) -> Vec<Align> {
    let old: Vec<Same<'_>> = base.iter().map(Same).collect();
    let new: Vec<Same<'_>> = target.iter().map(Same).collect();
    let mut out = Vec::new();
    // The changed stretch being gathered (the diff may cut one into several operations).
    let (mut from, mut to) = (0..0, 0..0);
    for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
        let (o, n) = (op.old_range(), op.new_range());
        if let DiffOp::Equal { .. } = op {
            out.extend(pair(base, from.clone(), target, to.clone()));
            out.extend(o.clone().map(Align::Keep));
            (from, to) = (o.end..o.end, n.end..n.end);
        } else {
            if from.is_empty() && to.is_empty() {
                (from, to) = (o.start..o.start, n.start..n.start);
            }
            (from.end, to.end) = (o.end, n.end);
        }
    }
    out.extend(pair(base, from, target, to));
    out
}

/// Aligns a changed stretch: the order-keeping pairing of old and new items with the
/// most entries in common (mappings sharing no entry are not paired); unpaired old items
/// are deleted, unpaired new ones inserted.
fn pair(base: &[Value], old: Range<usize>, target: &[Value], new: Range<usize>) -> Vec<Align> {
    let (n, m) = (old.len(), new.len());
    let score = |i: usize, j: usize| shared(&base[old.start + i], &target[new.start + j]);
    // Too long a stretch to weigh every pair: nothing is paired.
    let scores: Vec<Vec<usize>> = if n.saturating_mul(m) <= 10_000 {
        (0..n)
            .map(|i| (0..m).map(|j| score(i, j)).collect())
            .collect()
    } else {
        vec![vec![0; m]; n]
    };
    // best[i][j]: the most shared entries pairing old[i..] with new[j..].
    let mut best = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let paired = match scores[i][j] {
                0 => 0,
                s => s + best[i + 1][j + 1],
            };
            best[i][j] = paired.max(best[i + 1][j]).max(best[i][j + 1]);
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && scores[i][j] > 0 && best[i][j] == scores[i][j] + best[i + 1][j + 1] {
            out.push(Align::Edit(old.start + i, new.start + j));
            (i, j) = (i + 1, j + 1);
        } else if j < m && (i == n || best[i][j] == best[i][j + 1]) {
            out.push(Align::Insert(new.start + j));
            j += 1;
        } else {
            out.push(Align::Delete(old.start + i));
            i += 1;
        }
    }
    out
}

/// How alike two items are, 0 for items not worth editing one into the other. Two
/// scalars or two collections of a kind are worth it (a scalar is replaced where it
/// stands; what two collections share deeper down stays as written); two mappings more
/// so for each entry they share (same key, identical value), and most when they share
/// their first entry (the first entry of a list item usually names it: `name`,
/// `destination`, `uri`).
fn shared(a: &Value, b: &Value) -> usize {
    let (Value::Mapping(a), Value::Mapping(b)) = (a, b) else {
        let scalar = |v: &Value| !v.is_sequence() && !v.is_mapping();
        return usize::from((a.is_sequence() && b.is_sequence()) || (scalar(a) && scalar(b)));
    };
    let same = |(k, v): (&Value, &Value)| b.get(k).is_some_and(|w| vs::identical(v, w));
    let first = match (a.iter().next(), b.iter().next()) {
        (Some((ka, va)), Some((kb, vb))) => ka == kb && vs::identical(va, vb),
        _ => false,
    };
    let count = a.iter().filter(|e| same(*e)).count();
    1 + count.min(998) + if first { 1000 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    /// `base` edited to read as `target` (YAML text in any style), checked to read so
    /// before the check [`splice`] makes.
    fn spliced(base: &str, target: &str) -> String {
        let target = value(target);
        let text = edit(base, &target).unwrap_or_else(|e| panic!("no splice of\n{base}: {e}"));
        assert!(
            reads_as(&text, &target),
            "does not read as the target:\n{text}"
        );
        text
    }

    const PAYMENTS: &str = "\
# Payments API: kept by hand.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: payments  # owned by team-payments
  labels: {app: payments, canary: 'on'}
spec:
  hosts:
  - payments.example.com
  http:
  # Card payments first.
  - name: cards
    match:
    - headers:
        x-version:
          exact: \"2\"
    route:
    # The legacy backend.
    - destination:
        host: se.example.com  # the ServiceEntry
      weight: 100
  # Everything else.
  - name: default
    route: [{destination: {host: se.example.com}}]
";

    #[test]
    fn comments_key_order_and_quotes_stay() {
        let mut target = value(PAYMENTS);
        let cards = &mut target["spec"]["http"][0]["route"];
        *cards = value("[{destination: {host: gcp.example.com}, weight: 10}, {destination: {host: se.example.com}, weight: 90}]");
        let default = &mut target["spec"]["http"][1]["route"];
        *default = value("[{destination: {host: gcp.example.com}, weight: 10}, {destination: {host: se.example.com}, weight: 90}]");
        let text = splice(PAYMENTS, &target).unwrap();
        assert_eq!(
            text,
            PAYMENTS
                .replace(
                    "    # The legacy backend.\n    - destination:\n        host: se.example.com  # the ServiceEntry\n      weight: 100\n",
                    "    # The legacy backend.\n    - destination:\n        host: gcp.example.com\n      weight: 10\n    - destination:\n        host: se.example.com  # the ServiceEntry\n      weight: 90\n",
                )
                .replace(
                    "route: [{destination: {host: se.example.com}}]",
                    "route: [{destination: {host: gcp.example.com}, weight: 10}, {destination: {host: se.example.com}, weight: 90}]",
                )
        );
        // Nothing to change: the text itself.
        assert_eq!(splice(PAYMENTS, &value(PAYMENTS)).unwrap(), PAYMENTS);
    }

    #[test]
    fn keys_come_and_go_at_the_mappings_indentation() {
        let base = "a: 1\nm:\n  # about x\n  x: 1  # one\n  v: [1, 2]\n  z: {p: q}\nb: 2\n";
        // A new key after the one it follows, one removed with its line, one before
        // the first.
        assert_eq!(
            spliced(
                base,
                "{a: 1, m: {w: 0, x: 1, new: {k: v}, z: {p: q}}, b: 2}"
            ),
            "a: 1\nm:\n  # about x\n  w: 0\n  x: 1  # one\n  new:\n    k: v\n  z: {p: q}\nb: 2\n"
        );
        // A flow mapping is edited in place too.
        assert_eq!(
            spliced(base, "{a: 1, m: {x: 1, v: [1, 2], z: {p: q, r: s}}, b: 2}"),
            base.replace("{p: q}", "{p: q, r: s}")
        );
        // Kept keys in another order: the mapping is written anew.
        assert_eq!(
            spliced("k:\n  a: 1  # c\n  b: 2\n", "{k: {b: 2, a: 1}}"),
            "k:\n  b: 2\n  a: 1\n"
        );
        // The first key of a `- key: value` item goes, the next moves up.
        assert_eq!(
            spliced("l:\n- a: 1\n  b: 2\n- c: 3\n", "{l: [{b: 2}, {c: 3}]}"),
            "l:\n- b: 2\n- c: 3\n"
        );
        // An empty value gets one.
        assert_eq!(
            spliced("a:\nb: 1\n", "{a: {x: [1]}, b: 1}"),
            "a:\n  x:\n  - 1\nb: 1\n"
        );
    }

    #[test]
    fn items_come_and_go_in_block_and_flow_sequences() {
        let base = "l:\n  - a  # first\n  # before b\n  - b\n  - c\nf: [a, b, c]\n";
        assert_eq!(
            spliced(base, "{l: [x, a, c, 'y'], f: [a, c, 'yes']}"),
            "l:\n  - x\n  - a  # first\n  # before b\n  - c\n  - \"y\"\nf: [a, c, \"yes\"]\n"
        );
        // An item edited in place keeps its comments.
        let base = "r:\n- d: {h: se}  # keep\n  w: 100\n";
        assert_eq!(
            spliced(base, "{r: [{d: {h: gcp}, w: 10}, {d: {h: se}, w: 90}]}"),
            "r:\n- d:\n    h: gcp\n  w: 10\n- d: {h: se}  # keep\n  w: 90\n"
        );
        // A sequence of one style becomes a list of the other kind of value.
        assert_eq!(spliced("a: [1]\n", "{a: {b: 1}}"), "a: {b: 1}\n");
        assert_eq!(spliced("a:\n- 1\n", "{a: 7}"), "a: 7\n");
    }

    #[test]
    fn flow_collections_are_edited_in_place_with_their_lines_and_comments() {
        let base = "route: [\n  # the legacy backend\n  {d: {h: se}, w: 90},\n  # canary\n  {d: {h: other}, w: 10},\n]\n";
        // An item before another that has a line of its own gets one too.
        assert_eq!(
            spliced(base, "{route: [{d: {h: gcp}, w: 9}, {d: {h: se}, w: 81}, {d: {h: other}, w: 10}]}"),
            "route: [\n  # the legacy backend\n  {d: {h: gcp}, w: 9},\n  {d: {h: se}, w: 81},\n  # canary\n  {d: {h: other}, w: 10},\n]\n"
        );
        // After the last item, ending with a comma as the others do; an item removed
        // with its line.
        assert_eq!(
            spliced(base, "{route: [{d: {h: other}, w: 10}, x, 'y']}"),
            "route: [\n  # the legacy backend\n  # canary\n  {d: {h: other}, w: 10},\n  x,\n  \"y\",\n]\n"
        );
        let base = "l: [a,  # one\n  b]  # end\n";
        assert_eq!(
            spliced(base, "{l: [a, b, c]}"),
            "l: [a,  # one\n  b, c]  # end\n"
        );
        assert_eq!(
            spliced(base, "{l: [z, a, b]}"),
            "l: [z, a,  # one\n  b]  # end\n"
        );
        assert_eq!(spliced(base, "{l: [b]}"), "l: [b]  # end\n");
        // A flow mapping gets a key before its closing brace, on a line of its own when
        // its last entry has one.
        let base = "- {name: a,\n   route: r}  # c\n- {\n    name: b,\n    route: r\n  }\n";
        assert_eq!(
            spliced(base, "[{name: a, route: r, mirror: {host: m}}, {name: b, route: r, mirror: {host: m}}]"),
            "- {name: a,\n   route: r, mirror: {host: m}}  # c\n- {\n    name: b,\n    route: r,\n    mirror: {host: m}\n  }\n"
        );
        assert_eq!(
            spliced(base, "[{route: r}, {first: 1, name: b}]"),
            "- {route: r}  # c\n- {\n    first: 1,\n    name: b\n  }\n"
        );
    }

    #[test]
    fn a_one_line_flow_collection_made_too_long_is_written_as_a_block() {
        let host = "h".repeat(60);
        let base = format!("spec:\n  route: [{{d: {{host: {host}}}}}]  # c\n");
        let two = format!(
            "{{spec: {{route: [{{d: {{host: gcp}}, w: 10}}, {{d: {{host: {host}}}, w: 90}}]}}}}"
        );
        let text = spliced(&base, &two);
        assert_eq!(
            text,
            base.replace("[", "[{d: {host: gcp}, w: 10}, ")
                .replace("}}]", "}, w: 90}]")
        );
        let long = format!(
            "{{spec: {{route: [{{d: {{host: {host}}}, w: 10}}, {{d: {{host: {host}}}, w: 90}}]}}}}"
        );
        assert_eq!(
            spliced(&base, &long),
            format!("spec:\n  route:\n  - d:\n      host: {host}\n    w: 10\n  - d:\n      host: {host}\n    w: 90  # c\n")
        );
        // A line that was too long already stays one.
        let base = format!(
            "route: [{{d: {{host: {host}}}}}, {{d: {{host: {host}}}}}, {{d: {{host: {host}}}}}]\n"
        );
        let target = format!("{{route: [{{d: {{host: {host}}}}}, {{d: {{host: {host}}}}}, {{d: {{host: {host}}}, w: 1}}]}}");
        assert_eq!(spliced(&base, &target).lines().count(), 1);
    }

    #[test]
    fn json_collections_get_json_elements() {
        let base = "{\n  \"route\": [\n    {\"d\": {\"h\": \"se\"}, \"w\": 90}\n  ],\n  \"m\": {\"a\": \"x\"}\n}\n";
        assert_eq!(
            spliced(base, "{route: [{d: {h: gcp}, w: 10}, {d: {h: se}, w: 90}], m: {a: y, b: [1, yes]}}"),
            "{\n  \"route\": [\n    {\"d\": {\"h\": \"gcp\"}, \"w\": 10},\n    {\"d\": {\"h\": \"se\"}, \"w\": 90}\n  ],\n  \"m\": {\"a\": \"y\", \"b\": [1, \"yes\"]}\n}\n"
        );
    }

    #[test]
    fn new_lines_go_after_the_kept_blank_lines_of_a_keep_chomped_block_scalar() {
        let base = "l:\n- a: |+\n    beta\n\n  # about b\n- b\nm:\n  x: &s !!str |+\n    kept\n\n\n  z: 1\n";
        assert_eq!(
            spliced(base, "{l: [{a: \"beta\\n\\n\"}, new, b], m: {x: \"kept\\n\\n\\n\", w: 2, z: 1}}"),
            "l:\n- a: |+\n    beta\n\n- new\n  # about b\n- b\nm:\n  x: &s !!str |+\n    kept\n\n\n  w: 2\n  z: 1\n"
        );
        // A block scalar that clips its line breaks keeps new lines right after it.
        assert_eq!(
            spliced("l:\n- k: |\n    a\n\n- b\n", "{l: [{k: \"a\\n\"}, new, b]}"),
            "l:\n- k: |\n    a\n- new\n\n- b\n"
        );
    }

    #[test]
    fn several_documents_and_crlf() {
        let file = "# file\n---\n# The Service.\nkind: Service\n---\n# The VirtualService.\nkind: VirtualService  # ours\nspec: {a: 1}\n\n\n...\n---\nkind: Other\n";
        let doc = value("{kind: VirtualService, spec: {a: 1}}");
        let text = document_text(file, &doc).unwrap();
        assert_eq!(
            text,
            "# The VirtualService.\nkind: VirtualService  # ours\nspec: {a: 1}\n"
        );
        assert_eq!(
            spliced(&text, "{kind: VirtualService, spec: {a: 2}}"),
            "# The VirtualService.\nkind: VirtualService  # ours\nspec: {a: 2}\n"
        );
        assert_eq!(document_text(file, &value("{kind: Nope}")), None);
        // The first document gets the file's header, above its `---`.
        assert_eq!(
            document_text(file, &value("{kind: Service}")).unwrap(),
            "# file\n# The Service.\nkind: Service\n"
        );
        let crlf = file.replace('\n', "\r\n");
        assert_eq!(document_text(&crlf, &doc).unwrap(), text);
        assert_eq!(
            document_text("\u{feff}a: 1\r\n", &value("{a: 1}")).unwrap(),
            "a: 1\n"
        );
        // The splice itself writes the document's line breaks.
        let base = "# c\r\nm:\r\n  x: 1\r\nl:\r\n- a\r\n";
        assert_eq!(
            spliced(base, "{m: {x: 1, w: {z: 2}}, l: [a, b]}"),
            "# c\r\nm:\r\n  x: 1\r\n  w:\r\n    z: 2\r\nl:\r\n- a\r\n- b\r\n"
        );
        assert_eq!(
            spliced(base, "{m: {x: 1}, l: []}"),
            "# c\r\nm:\r\n  x: 1\r\nl: []\r\n"
        );
    }

    #[test]
    fn anchors_and_aliases() {
        let base = "a: &x {h: se}\nb: *x\nc: &y 1\n";
        // The alias changes: written out in its place, the anchor stays.
        assert_eq!(
            spliced(base, "{a: {h: se}, b: {h: gcp}, c: 1}"),
            "a: &x {h: se}\nb: {h: gcp}\nc: &y 1\n"
        );
        // An anchor no alias uses may change.
        assert_eq!(
            spliced(base, "{a: {h: se}, b: {h: se}, c: 2}"),
            "a: &x {h: se}\nb: *x\nc: 2\n"
        );
        // The anchored node changes but its alias must not: no splice.
        assert_eq!(
            edit(base, &value("{a: {h: gcp}, b: {h: se}, c: 1}")),
            Err(Unspliced::Alias)
        );
        assert_eq!(
            edit(base, &value("{b: {h: se}, c: 1}")),
            Err(Unspliced::Alias)
        );
    }

    #[test]
    fn plain_scalars_yaml_1_1_reads_otherwise_are_written_again() {
        let base = "a: yes\nb: 'on'\nc: \"012\"\nd: 012\ne: 1e3\nf: 0x1F\ng: 2001-12-14\nh: ~\ni: 1.5\nj: 07\non: k\nl: &n no\nm: *n\no: 10\np: 1_000\nq: +.inf\n";
        let text = splice(base, &value(base)).unwrap();
        assert_eq!(
            text,
            "a: \"yes\"\nb: 'on'\nc: \"012\"\nd: '012'\ne: 1000.0\nf: 31\ng: \"2001-12-14\"\nh: ~\ni: 1.5\nj: '07'\n\"on\": k\nl: &n \"no\"\nm: *n\no: 10\np: \"1_000\"\nq: +.inf\n"
        );
        for (plain, agreed) in [
            ("10", true),
            ("-3", true),
            ("0", true),
            ("1.5", true),
            ("-0.5e+3", true),
            ("1.", true),
            (".5", false),
            ("1e3", false),
            ("0o17", false),
            ("True", true),
            ("Null", true),
            ("", true),
        ] {
            let v = value(&format!("a: {plain}\n"))["a"].clone();
            assert_eq!(agrees(plain, &v), agreed, "{plain}");
        }
    }

    #[test]
    fn what_cannot_be_spliced() {
        // A raw U+2028: YAML 1.1 breaks the line there.
        assert_eq!(
            edit("a: \"x\u{2028}\"\n", &value("{a: y}")),
            Err(Unspliced::LineBreak)
        );
        // Not one document the tree reader takes (duplicate keys as the core schema reads
        // them).
        assert!(matches!(
            edit("012: a\n12: b\n", &value("{'012': a, 12: c}")),
            Err(Unspliced::Unread(Some(_)))
        ));
        assert_eq!(
            edit("# only a comment\n", &value("a")),
            Err(Unspliced::Unread(None))
        );
        // An unknown tag.
        let e = edit("a: !foo 1\n", &value("{a: 2}")).unwrap_err();
        assert!(matches!(e, Unspliced::Unread(Some(_))), "{e:?}");
    }

    /// Random small documents written in random styles, and random edits of them.
    mod random {
        use super::*;
        use proptest::prelude::*;

        const STRINGS: [&str; 16] = [
            "a",
            "b c",
            "x: y",
            "yes",
            "on",
            "012",
            "1e3",
            "10.0.0.1",
            "",
            "#x",
            "- z",
            "se.example.com",
            "it's",
            "q\"r",
            "[1]",
            "2001-12-14",
        ];
        const KEYS: [&str; 8] = ["a", "b", "c", "host", "weight", "route", "on", "x y"];

        fn scalar_value() -> impl Strategy<Value = Value> {
            prop_oneof![
                4 => proptest::sample::select(STRINGS.to_vec()).prop_map(|s| Value::String(s.into())),
                2 => (0u64..200).prop_map(|n| Value::Number(n.into())),
                1 => Just(Value::Number(1.5.into())),
                1 => any::<bool>().prop_map(Value::Bool),
                1 => Just(Value::Null),
            ]
        }

        fn mapping(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
            proptest::collection::vec((proptest::sample::select(KEYS.to_vec()), inner), 1..5)
                .prop_map(|es| {
                    Value::Mapping(es.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
                })
        }

        fn document() -> impl Strategy<Value = Value> {
            let value = scalar_value().prop_recursive(3, 30, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Sequence),
                    mapping(inner),
                ]
            });
            mapping(value)
        }

        /// A small deterministic generator for styles and edits.
        struct Rng(u64);

        impl Rng {
            fn below(&mut self, n: usize) -> usize {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 % n.max(1) as u64) as usize
            }

            fn coin(&mut self, percent: usize) -> bool {
                self.below(100) < percent
            }

            fn value(&mut self, depth: usize) -> Value {
                match self.below(if depth > 1 { 3 } else { 5 }) {
                    0 => Value::from(STRINGS[self.below(STRINGS.len())]),
                    1 => Value::from(self.below(300) as u64),
                    2 => Value::Bool(self.coin(50)),
                    3 => {
                        Value::Sequence((0..self.below(3)).map(|_| self.value(depth + 1)).collect())
                    }
                    _ => Value::Mapping(
                        (0..1 + self.below(2))
                            .map(|i| (Value::from(format!("k{i}")), self.value(depth + 1)))
                            .collect(),
                    ),
                }
            }

            /// `v` with a few random edits: values changed, keys and items added or
            /// removed, keys swapped.
            fn edit(&mut self, v: &Value, depth: usize) -> Value {
                match v {
                    Value::Mapping(m) if !m.is_empty() => {
                        let mut entries: Vec<(Value, Value)> = m.clone().into_iter().collect();
                        let i = self.below(entries.len());
                        match self.below(7) {
                            0 if entries.len() > 1 => {
                                entries.remove(i);
                            }
                            1 => {
                                let key = Value::from(format!("new{}", self.below(3)));
                                if !m.contains_key(&key) {
                                    entries.insert(
                                        self.below(entries.len() + 1),
                                        (key, self.value(depth)),
                                    );
                                }
                            }
                            2 if entries.len() > 1 && self.coin(30) => {
                                let last = entries.len() - 1;
                                entries.swap(0, last);
                            }
                            3 => entries[i].1 = self.value(depth),
                            _ => {
                                for e in &mut entries {
                                    if self.coin(50) {
                                        e.1 = self.edit(&e.1, depth + 1);
                                    }
                                }
                            }
                        }
                        Value::Mapping(entries.into_iter().collect())
                    }
                    Value::Sequence(items) if !items.is_empty() => {
                        let mut items = items.clone();
                        let i = self.below(items.len());
                        match self.below(5) {
                            0 => {
                                items.remove(i);
                            }
                            1 => items.insert(self.below(items.len() + 1), self.value(depth)),
                            2 => items[i] = self.edit(&items[i], depth + 1),
                            _ => {
                                let new = self.value(depth);
                                items.insert(i, new);
                                let j = self.below(items.len());
                                items[j] = self.edit(&items[j], depth + 1);
                            }
                        }
                        Value::Sequence(items)
                    }
                    _ => self.value(depth),
                }
            }
        }

        /// Writes a value in random styles: plain or quoted scalars, flow or block
        /// collections, sequences indented or not, comments between entries and after
        /// values.
        struct Writer {
            rng: Rng,
            seq_indent: usize,
            out: String,
        }

        impl Writer {
            fn scalar(&mut self, v: &Value, flow: bool) -> String {
                match v {
                    Value::String(s) => {
                        let plain = escape::is_plain_safe_in_1_2(s)
                            && !(flow && s.contains(['[', ']', '{', '}', ',']));
                        if plain && self.rng.coin(60) {
                            s.clone()
                        } else if self.rng.coin(50) {
                            escape::single_quoted(s).unwrap_or_else(|| escape::double_quoted(s))
                        } else {
                            escape::double_quoted(s)
                        }
                    }
                    Value::Null if self.rng.coin(50) => "~".to_owned(),
                    Value::Null => "null".to_owned(),
                    Value::Sequence(_) => "[]".to_owned(),
                    Value::Mapping(_) => "{}".to_owned(),
                    v => serde_yaml::to_string(v).unwrap().trim_end().to_owned(),
                }
            }

            fn flow(&mut self, v: &Value) -> String {
                match v {
                    Value::Mapping(m) if !m.is_empty() => {
                        let parts: Vec<String> = m
                            .iter()
                            .map(|(k, v)| format!("{}: {}", self.scalar(k, true), self.flow(v)))
                            .collect();
                        format!("{{{}}}", parts.join(", "))
                    }
                    Value::Sequence(s) if !s.is_empty() => {
                        let parts: Vec<String> = s.iter().map(|v| self.flow(v)).collect();
                        format!("[{}]", parts.join(", "))
                    }
                    v => self.scalar(v, true),
                }
            }

            fn line_end(&mut self) {
                if self.rng.coin(15) {
                    self.out.push_str("  # after");
                }
                self.out.push('\n');
            }

            /// Entries of a block mapping; the first one's indentation is written.
            fn mapping(&mut self, m: &Mapping, indent: usize) {
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        if self.rng.coin(20) {
                            self.out.push_str(&format!("{}# before\n", spaces(indent)));
                        }
                        self.out.push_str(&spaces(indent));
                    }
                    let key = self.scalar(k, false);
                    self.out.push_str(&format!("{key}:"));
                    match v {
                        Value::Null if self.rng.coin(30) => self.line_end(),
                        v if !is_block(v) || self.rng.coin(25) => {
                            let text = self.flow(v);
                            self.out.push_str(&format!(" {text}"));
                            self.line_end();
                        }
                        Value::Mapping(m) => {
                            self.out.push_str(&format!("\n{}", spaces(indent + 2)));
                            self.mapping(m, indent + 2);
                        }
                        Value::Sequence(s) => {
                            let at = indent + self.seq_indent;
                            self.out.push_str(&format!("\n{}", spaces(at)));
                            self.sequence(s, at);
                        }
                        _ => {}
                    }
                }
            }

            /// Items of a block sequence; the first one's indentation is written.
            fn sequence(&mut self, s: &[Value], indent: usize) {
                for (i, v) in s.iter().enumerate() {
                    if i > 0 {
                        if self.rng.coin(20) {
                            self.out.push_str(&format!("{}# between\n", spaces(indent)));
                        }
                        self.out.push_str(&spaces(indent));
                    }
                    self.out.push_str("- ");
                    match v {
                        v if !is_block(v) || self.rng.coin(25) => {
                            let text = self.flow(v);
                            self.out.push_str(&text);
                            self.line_end();
                        }
                        Value::Mapping(m) => self.mapping(m, indent + 2),
                        Value::Sequence(s) => self.sequence(s, indent + 2),
                        _ => {}
                    }
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

            #[test]
            fn random_edits_of_random_documents_read_as_their_target(
                base in document(),
                seed in 1u64..,
                crlf in any::<bool>(),
            ) {
                let mut rng = Rng(seed);
                let seq_indent = 2 * rng.below(2);
                let mut w = Writer { rng, seq_indent, out: String::from("# top\n") };
                if let Value::Mapping(m) = &base {
                    w.mapping(m, 0);
                }
                let mut text = w.out;
                if crlf {
                    text = text.replace('\n', "\r\n");
                }
                prop_assert!(reads_as(&text, &base), "the writer wrote\n{}", text);
                let target = w.rng.edit(&base, 0);
                let out = edit(&text, &target);
                prop_assert!(out.is_ok(), "no splice of\n{}\ninto {:?}: {:?}", text, target, out);
                let out = out.unwrap();
                prop_assert!(reads_as(&out, &target), "\n{}\nreads as\n{:?}\nnot\n{:?}", out, one_document(&out), target);
                prop_assert!(out.starts_with("# top"));
                prop_assert_eq!(out.contains("\r\n"), crlf);
                prop_assert!(!crlf || !out.replace("\r\n", "").contains('\n'), "a lone line feed:\n{:?}", out);
            }
        }
    }
}
