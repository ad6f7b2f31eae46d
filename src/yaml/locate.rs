//! Where each node of any YAML file starts, by field path (`spec.http[0].route[1].weight`),
//! for messages about files cutover does not parse into its own tree (`lint` reads any
//! manifest with `serde_yaml`).
//!
//! Lenient where [`super::parse`] is strict: several documents, any tag, duplicate keys
//! (the first one is kept); a syntax error ends the walk with the positions found so far.
//!
//! [`texts`] cuts a file of several documents into the text of each (a stage file is
//! spliced from its base document's own text, [`super::splice`]).

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::{Pos, Span};

/// For each document of `source`, in order, the start of every node reachable by a
/// path of string keys and sequence indexes. The document's root is at the empty path.
pub fn documents(source: &str) -> Vec<HashMap<String, Pos>> {
    walk(source).into_iter().map(|w| w.found).collect()
}

/// A plain scalar value (unquoted, untagged, not a mapping key): where it is and how it
/// is written. The text decides what it reads as, which YAML versions disagree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plain {
    /// Its path, as [`documents`] names nodes.
    pub path: String,
    /// Where it starts (for an alias of a plain scalar, where the alias is).
    pub pos: Pos,
    /// Its text.
    pub text: String,
}

/// [`documents`], and for each document its plain scalar values ([`Plain`]) in order.
pub fn documents_and_plain_scalars(source: &str) -> Vec<(HashMap<String, Pos>, Vec<Plain>)> {
    walk(source)
        .into_iter()
        .map(|w| (w.found, w.plain))
        .collect()
}

/// Walks every document of `source`.
fn walk(source: &str) -> Vec<Walk> {
    let mut docs = Vec::new();
    let mut walk = Walk::default();
    // The text of each anchored plain scalar, by anchor id, for its aliases.
    let mut anchored: HashMap<usize, String> = HashMap::new();
    for event in Parser::new_from_str(source) {
        let Ok((event, span)) = event else { break };
        let start = Span::from_saphyr(span).start;
        match event {
            Event::DocumentStart(_) => walk = Walk::default(),
            Event::DocumentEnd => docs.push(std::mem::take(&mut walk)),
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain && tag.is_none();
                if plain && anchor != 0 {
                    anchored.insert(anchor, text.to_string());
                }
                let plain = plain.then(|| text.to_string());
                walk.node(start, Some(text.into_owned()), None, plain);
            }
            Event::Alias(id) => walk.node(start, None, None, anchored.get(&id).cloned()),
            Event::SequenceStart(..) => walk.node(start, None, Some(Open::Seq(0)), None),
            Event::MappingStart(..) => walk.node(start, None, Some(Open::Map(None)), None),
            Event::SequenceEnd | Event::MappingEnd => {
                walk.stack.pop();
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
    docs
}

/// For each document of `source`, in order, the byte range of its text: from the start of
/// the line after the `---` that opens it (the start of the source, or the line after the
/// previous document's `...`, for a document without one) to the start of the line of the
/// marker that closes it (the next document's `---`, or `...`), or to the end of the
/// source. So it holds the comments written between the markers and no marker line. A
/// document whose content starts on its `---` line loses that content: a reader of the
/// range must check that it reads as the document. A syntax error ends the list with the
/// documents before it.
pub fn texts(source: &str) -> Vec<Range<usize>> {
    let bytes = super::byte_offsets(source);
    let byte = |index: usize| bytes.get(index).copied().unwrap_or(source.len());
    let line_start = |at: usize| source[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let next_line = |at: usize| {
        source[at..]
            .find('\n')
            .or_else(|| source[at..].find('\r'))
            .map_or(source.len(), |i| at + i + 1)
    };
    let marker = |at: usize| source[at..].starts_with("---") || source[at..].starts_with("...");
    let mut out = Vec::new();
    let (mut from, mut open) = (0, None);
    for event in Parser::new_from_str(source) {
        let Ok((event, span)) = event else { break };
        let at = byte(span.start.index());
        match event {
            Event::DocumentStart(explicit) => {
                open = Some(if explicit && marker(at) {
                    next_line(at)
                } else {
                    from
                });
            }
            Event::DocumentEnd => {
                let Some(start) = open.take() else { continue };
                let end = if marker(at) { line_start(at) } else { at };
                out.push(start..end.max(start));
                from = if source[at..].starts_with("...") {
                    next_line(at)
                } else {
                    end
                };
            }
            _ => {}
        }
    }
    out
}

/// The comment lines above the `---` that opens the first document of `source` (a file's
/// header: who owns it, a licence), which [`texts`] leaves out with the marker; `first`
/// is the first range [`texts`] gives. Empty when that document has no `---`, or when
/// anything but comments and blank lines (a directive) stands before it.
pub fn header(source: &str, first: &Range<usize>) -> Range<usize> {
    let Some(before) = source.get(..first.start) else {
        return 0..0;
    };
    let before = before.strip_suffix('\n').unwrap_or(before);
    let before = before.strip_suffix('\r').unwrap_or(before);
    let marker = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let head = &source[..marker];
    let comments = head.lines().all(|l| {
        let l = l.trim_start_matches([' ', '\t', '\u{feff}']);
        l.is_empty() || l.starts_with('#')
    });
    match first.start > 0 && before[marker..].starts_with("---") && comments {
        true => 0..marker,
        false => 0..0,
    }
}

/// The start of `path`, or of its nearest ancestor found in `doc` (at worst the
/// document's root).
pub fn nearest(doc: &HashMap<String, Pos>, path: &str) -> Option<Pos> {
    let mut p = path;
    loop {
        if let Some(pos) = doc.get(p) {
            return Some(*pos);
        }
        match p.rfind(['.', '[']) {
            Some(i) => p = &p[..i],
            None => return doc.get("").copied(),
        }
    }
}

/// A collection being walked: a sequence (the next index), or a mapping (the key whose
/// value comes next, if a key was just read).
enum Open {
    Seq(usize),
    Map(Option<String>),
}

#[derive(Default)]
struct Walk {
    /// Open collections and their paths.
    stack: Vec<(String, Open)>,
    found: HashMap<String, Pos>,
    plain: Vec<Plain>,
}

impl Walk {
    /// A node starting at `start`: a scalar (`text`), an alias, or a collection that
    /// opens (`open`); `plain`: the text of a plain scalar (or of an alias of one).
    fn node(
        &mut self,
        start: Pos,
        text: Option<String>,
        open: Option<Open>,
        plain: Option<String>,
    ) {
        let path = match self.stack.last_mut() {
            None => Some(String::new()),
            Some((parent, Open::Seq(i))) => {
                let p = format!("{parent}[{i}]");
                *i += 1;
                Some(p)
            }
            Some((parent, Open::Map(key))) => match key.take() {
                Some(k) if parent.is_empty() => Some(k),
                Some(k) => Some(format!("{parent}.{k}")),
                None => {
                    // A key: a scalar names the value that follows; a complex key
                    // names nothing (its own nodes are not reachable by a path).
                    *key = Some(text.unwrap_or_default());
                    if let Some(open) = open {
                        self.stack.push((String::from("\u{0}"), open));
                    }
                    return;
                }
            },
        };
        let Some(path) = path else { return };
        self.found.entry(path.clone()).or_insert(start);
        if let Some(text) = plain {
            self.plain.push(Plain {
                path: path.clone(),
                pos: start,
                text,
            });
        }
        if let Some(open) = open {
            self.stack.push((path, open));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(doc: &HashMap<String, Pos>, path: &str) -> (usize, usize) {
        let p = doc
            .get(path)
            .unwrap_or_else(|| panic!("{path} not in {doc:?}"));
        (p.line, p.col)
    }

    #[test]
    fn every_node_of_every_document_is_found_by_its_path() {
        let src = "kind: Service\n---\nspec:\n  hosts: [a, \"b\"]\n  http:\n  - route:\n    - destination: {host: x}\n      weight: 10\n";
        let docs = documents(src);
        assert_eq!(docs.len(), 2);
        assert_eq!(at(&docs[0], "kind"), (1, 7));
        assert_eq!(at(&docs[1], "spec.hosts[1]"), (4, 14));
        assert_eq!(
            at(&docs[1], "spec.http[0].route[0].destination.host"),
            (7, 27)
        );
        assert_eq!(at(&docs[1], "spec.http[0].route[0].weight"), (8, 15));
        let near = nearest(&docs[1], "spec.http[0].route[0].destination.port.number");
        assert_eq!(near.map(|p| p.line), Some(7));
        assert_eq!(nearest(&docs[1], "nope").map(|p| p.line), Some(3));
    }

    #[test]
    fn plain_scalar_values_are_listed_with_their_text() {
        let src =
            "a: 012\nb: '012'\nc: !!str 012\n012: x\nd: [yes, \"no\", &n 07]\ne: *n\nf: {g: 1e3}\n";
        let docs = documents_and_plain_scalars(src);
        let plain: Vec<(&str, &str, usize)> = docs[0]
            .1
            .iter()
            .map(|p| (p.path.as_str(), p.text.as_str(), p.pos.line))
            .collect();
        assert_eq!(
            plain,
            [
                ("a", "012", 1),
                ("012", "x", 4),
                ("d[0]", "yes", 5),
                ("d[2]", "07", 5),
                ("e", "07", 6),
                ("f.g", "1e3", 7)
            ]
        );
    }

    #[test]
    fn texts_hold_the_comments_between_markers_and_no_marker() {
        let src = "# file\n---\n# one\na: 1\n\n---\nb: 2\n# after b\n...\n# between\n--- # c\nc: 3";
        let docs: Vec<&str> = texts(src).into_iter().map(|r| &src[r]).collect();
        assert_eq!(docs, ["# one\na: 1\n\n", "b: 2\n# after b\n", "c: 3"]);
        let src = "# top\na: 1\r\n---\r\nb: 2\r\n";
        let docs: Vec<&str> = texts(src).into_iter().map(|r| &src[r]).collect();
        assert_eq!(docs, ["# top\na: 1\r\n", "b: 2\r\n"]);
        assert_eq!(texts("a: é\n"), vec![0..6]);
        assert!(texts("a: [\n").is_empty());
    }

    #[test]
    fn the_header_is_the_comments_above_the_first_marker() {
        fn header_of(src: &str) -> &str {
            let first = texts(src).remove(0);
            &src[header(src, &first)]
        }
        assert_eq!(
            header_of("# owner\n\n#  x\n--- # c\na: 1\n"),
            "# owner\n\n#  x\n"
        );
        assert_eq!(header_of("# owner\r\n---\r\na: 1\r\n"), "# owner\r\n");
        assert_eq!(header_of("# top\na: 1\n---\nb: 2\n"), "");
        assert_eq!(header_of("%YAML 1.2\n# c\n---\na: 1\n"), "");
        assert_eq!(header_of("---\na: 1\n"), "");
    }

    #[test]
    fn complex_keys_and_syntax_errors_do_not_derail_it() {
        let docs = documents("? [a, b]\n: 1\nc: 2\n");
        assert_eq!(at(&docs[0], "c"), (3, 4));
        // The walk stops at the error; what came before is kept.
        let docs = documents("a: 1\n---\nb: [\n");
        assert_eq!(docs.len(), 1);
        assert_eq!(at(&docs[0], "a"), (1, 4));
    }
}
