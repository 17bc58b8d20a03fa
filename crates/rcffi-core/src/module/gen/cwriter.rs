//! Lines of a generated C file, with the declaration each range of lines
//! belongs to (so that a compiler diagnostic on a line can name the cdef
//! declaration it checks).

/// Lines of the generated file that belong to one declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// 1-based, inclusive.
    pub first: usize,
    pub last: usize,
    /// `function 'f'`, `struct s`, ...
    pub what: String,
    /// `cdef line 3`, `file.h:3`.
    pub origin: String,
    /// Said once after the problems found in the region.
    pub hint: Option<String>,
}

#[derive(Default)]
pub struct CWriter {
    pub lines: Vec<String>,
    pub regions: Vec<Region>,
}

/// A C string literal of `s`.
pub fn c_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\{:03o}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl CWriter {
    /// Writes `text` (one or more lines).
    pub fn w(&mut self, text: impl AsRef<str>) {
        let text = text.as_ref();
        let text = text.strip_suffix('\n').unwrap_or(text);
        self.lines.extend(text.split('\n').map(str::to_owned));
    }

    /// The number (1-based) of the next line.
    pub fn next_line(&self) -> usize {
        self.lines.len() + 1
    }

    /// The lines written since line `start` belong to `what`.
    pub fn region(&mut self, start: usize, what: &str, origin: &str, hint: Option<&str>) {
        let last = self.lines.len();
        if last >= start {
            self.regions.push(Region {
                first: start,
                last,
                what: what.to_owned(),
                origin: origin.to_owned(),
                hint: hint.map(str::to_owned),
            });
        }
    }

    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }
}
