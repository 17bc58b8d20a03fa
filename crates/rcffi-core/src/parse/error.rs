//! Parse errors and the mapping from byte offsets to lines and columns.

use super::ast::Span;

/// A syntax error at a place in the source.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub span: Span,
}

impl ParseError {
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        ParseError {
            message: message.into(),
            span,
        }
    }
}

/// A place for humans: 1-based line and column, and the file named by the
/// last `#line` marker before it (if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub file: Option<String>,
    pub line: u32,
    pub column: u32,
    /// The text of the source line (without its newline).
    pub text: String,
}

/// A `#line N "file"` marker: physical line `at` (1-based) is the first
/// line after the marker and is reported as line `line` of `file`.
#[derive(Clone, Debug, PartialEq)]
struct Marker {
    at: u32,
    line: u32,
    file: Option<String>,
}

/// Turns spans of one source into [`Position`]s.
#[derive(Clone, Debug, Default)]
pub struct LineMap {
    src: String,
    /// Byte offset of the start of every physical line.
    starts: Vec<u32>,
    markers: Vec<Marker>,
}

impl LineMap {
    pub fn new(src: &str) -> Self {
        let mut starts = vec![0u32];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i as u32 + 1);
            }
        }
        LineMap {
            src: src.to_owned(),
            starts,
            markers: Vec::new(),
        }
    }

    /// Records a `#line` marker found on physical line `marker_line`
    /// (1-based): the next physical line is `line` of `file`.
    pub fn add_marker(&mut self, marker_line: u32, line: u32, file: Option<String>) {
        let file = file.or_else(|| self.markers.last().and_then(|m| m.file.clone()));
        self.markers.push(Marker {
            at: marker_line + 1,
            line,
            file,
        });
    }

    /// The physical line (1-based) holding byte `offset`.
    pub fn physical_line(&self, offset: u32) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    pub fn position(&self, offset: u32) -> Position {
        let offset = offset.min(self.src.len() as u32);
        let phys = self.physical_line(offset);
        let start = self.starts[phys as usize - 1];
        let end = self
            .starts
            .get(phys as usize)
            .map(|e| e - 1)
            .unwrap_or(self.src.len() as u32);
        let text = self.src[start as usize..end as usize].trim_end_matches('\r');
        let column = self.src[start as usize..offset as usize].chars().count() as u32 + 1;
        let (line, file) = match self.markers.iter().rev().find(|m| m.at <= phys) {
            Some(m) => (m.line + (phys - m.at), m.file.clone()),
            None => (phys, None),
        };
        Position {
            file,
            line,
            column,
            text: text.to_owned(),
        }
    }

    /// "line 3, column 7" (with "file.h:" in front after a `#line`), a
    /// newline, the source line, and a caret under the column.
    pub fn describe(&self, span: Span) -> String {
        let p = self.position(span.start);
        let place = match &p.file {
            Some(f) => format!("{f}:{}:{}", p.line, p.column),
            None => format!("line {}, column {}", p.line, p.column),
        };
        let caret_pad: String = p
            .text
            .chars()
            .take(p.column as usize - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{place}:\n    {}\n    {caret_pad}^", p.text)
    }

    /// `message` placed at `span`: the full text of a CDefError.
    pub fn render(&self, message: &str, span: Span) -> String {
        format!("{message}\n  at {}", self.describe(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_markers() {
        let src = "int a;\n#line 10 \"x.h\"\nint b c;\n";
        let mut m = LineMap::new(src);
        m.add_marker(2, 10, Some("x.h".into()));
        let off = src.find('c').unwrap() as u32;
        let p = m.position(off);
        assert_eq!((p.line, p.column, p.file.as_deref()), (10, 7, Some("x.h")));
        assert_eq!(p.text, "int b c;");
        assert_eq!(m.position(0).line, 1);
    }
}
