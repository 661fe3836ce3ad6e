//! Python literals as `.npy` headers and numpy's descrs write them
//! (`ast.literal_eval`'s dicts, tuples, lists, strings, integers, booleans
//! and None): a pure parser and Python's `repr`. A leaf: it imports only
//! the error type; the header and the record descrs both use it.

use crate::error::{Error, Result};

/// Deepest nesting of brackets the parser follows (a header needs 2).
const MAX_DEPTH: usize = 16;

fn literal_error(reason: impl Into<String>) -> Error {
    Error::NpyHeader {
        path: None,
        reason: reason.into(),
    }
}

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug)]
pub(crate) enum Literal {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

impl Literal {
    /// Python's type name, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Literal::Str(_) => "a string",
            Literal::Int(_) => "an integer",
            Literal::Bool(_) => "a bool",
            Literal::None => "None",
            Literal::Tuple(_) => "a tuple",
            Literal::List(_) => "a list",
            Literal::Dict(_) => "a dict",
        }
    }

    /// Python's `repr`, for error messages.
    pub(crate) fn repr(&self) -> String {
        fn seq(items: &[Literal]) -> String {
            items
                .iter()
                .map(Literal::repr)
                .collect::<Vec<_>>()
                .join(", ")
        }
        match self {
            Literal::Str(s) => python_str_repr(s),
            Literal::Int(i) => i.to_string(),
            Literal::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
            Literal::None => "None".to_owned(),
            Literal::Tuple(items) if items.len() == 1 => format!("({},)", items[0].repr()),
            Literal::Tuple(items) => format!("({})", seq(items)),
            Literal::List(items) => format!("[{}]", seq(items)),
            Literal::Dict(pairs) => {
                let body: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.repr(), v.repr()))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }
        }
    }
}

/// Parses one literal at the start of `text`; returns it and the first
/// character after it that is not white space, if any. `allow_long_suffix`
/// accepts Python 2's `3L` integers (`.npy` versions 1 and 2).
pub(crate) fn parse_prefix(
    text: &str,
    allow_long_suffix: bool,
) -> Result<(Literal, Option<(usize, char)>)> {
    let mut parser = Parser {
        chars: text.char_indices().peekable(),
        text,
        allow_long_suffix,
    };
    let value = parser.value(0)?;
    parser.skip_space();
    Ok((value, parser.chars.next()))
}

/// Parses one Python literal (a descr's text, say), and nothing after it.
pub(crate) fn parse(text: &str) -> Result<Literal> {
    let (value, trailing) = parse_prefix(text, false)?;
    match trailing {
        Some((at, c)) => Err(literal_error(format!(
            "cannot parse {text:?}: unexpected {c:?} at character {at}"
        ))),
        None => Ok(value),
    }
}

/// A recursive-descent parser for the Python literals `ast.literal_eval`
/// accepts in headers: dicts, tuples, lists, strings, integers, booleans, None.
struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
    allow_long_suffix: bool,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self
            .chars
            .next_if(|(_, c)| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'))
            .is_some()
        {}
    }

    fn unexpected(&mut self, wanted: &str) -> Error {
        match self.chars.peek() {
            Some(&(at, c)) => literal_error(format!(
                "cannot parse header: expected {wanted}, found {c:?} at character {at}"
            )),
            None => literal_error(format!(
                "cannot parse header: expected {wanted}, found the end of the header"
            )),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Literal> {
        if depth > MAX_DEPTH {
            return Err(literal_error(format!(
                "cannot parse header: nested deeper than {MAX_DEPTH} levels"
            )));
        }
        self.skip_space();
        match self.chars.peek().map(|&(_, c)| c) {
            Some('{') => self.dict(depth),
            Some('(') => {
                let (items, trailing_comma) = self.sequence('(', ')', depth)?;
                // `(x)` is just x in Python; `(x,)` is a tuple.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.into_iter().next().unwrap_or(Literal::None))
                } else {
                    Ok(Literal::Tuple(items))
                }
            }
            Some('[') => Ok(Literal::List(self.sequence('[', ']', depth)?.0)),
            Some('\'' | '"') => self.string(),
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => self.int(),
            Some(c) if c.is_alphabetic() => self.word(),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn expect(&mut self, want: char) -> Result<()> {
        self.skip_space();
        if self.chars.next_if(|&(_, c)| c == want).is_some() {
            Ok(())
        } else {
            Err(self.unexpected(&format!("{want:?}")))
        }
    }

    /// Items between `open` and `close`, and whether a comma followed the last.
    fn sequence(&mut self, open: char, close: char, depth: usize) -> Result<(Vec<Literal>, bool)> {
        self.expect(open)?;
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_space();
            if self.chars.next_if(|&(_, c)| c == close).is_some() {
                return Ok((items, trailing_comma));
            }
            items.push(self.value(depth + 1)?);
            self.skip_space();
            trailing_comma = self.chars.next_if(|&(_, c)| c == ',').is_some();
            if !trailing_comma {
                self.expect(close)?;
                return Ok((items, false));
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Literal> {
        self.expect('{')?;
        let mut pairs = Vec::new();
        loop {
            self.skip_space();
            if self.chars.next_if(|&(_, c)| c == '}').is_some() {
                return Ok(Literal::Dict(pairs));
            }
            let key = self.value(depth + 1)?;
            self.expect(':')?;
            let value = self.value(depth + 1)?;
            pairs.push((key, value));
            self.skip_space();
            if self.chars.next_if(|&(_, c)| c == ',').is_none() {
                self.expect('}')?;
                return Ok(Literal::Dict(pairs));
            }
        }
    }

    fn string(&mut self) -> Result<Literal> {
        let Some((_, quote)) = self.chars.next() else {
            return Err(self.unexpected("a string"));
        };
        let mut out = String::new();
        loop {
            match self.chars.next() {
                None => return Err(literal_error("cannot parse header: unterminated string")),
                Some((_, c)) if c == quote => return Ok(Literal::Str(out)),
                Some((_, '\\')) => match self.chars.next() {
                    Some((_, c @ ('\\' | '\'' | '"'))) => out.push(c),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((at, c)) => {
                        return Err(literal_error(format!(
                            "cannot parse header: unsupported escape \\{c} at character {at}"
                        )))
                    }
                    None => return Err(literal_error("cannot parse header: unterminated string")),
                },
                Some((_, '\n')) => {
                    return Err(literal_error(
                        "cannot parse header: newline inside a string",
                    ))
                }
                Some((_, c)) => out.push(c),
            }
        }
    }

    fn int(&mut self) -> Result<Literal> {
        let start = self.chars.peek().map_or(self.text.len(), |&(i, _)| i);
        let negative = matches!(
            self.chars.next_if(|&(_, c)| c == '-' || c == '+'),
            Some((_, '-'))
        );
        let mut value: i128 = 0;
        let mut digits = 0;
        while let Some((_, c)) = self.chars.next_if(|(_, c)| c.is_ascii_digit()) {
            let digit = i128::from(c as u8 - b'0');
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(digit))
                .ok_or_else(|| {
                    literal_error(format!(
                        "cannot parse header: integer at character {start} is too large"
                    ))
                })?;
            digits += 1;
        }
        if digits == 0 {
            return Err(self.unexpected("a digit"));
        }
        // Python 2 wrote longs as `3L`; numpy still accepts them in v1/v2 headers.
        if self.allow_long_suffix {
            self.chars.next_if(|&(_, c)| c == 'L' || c == 'l');
        }
        if self
            .chars
            .peek()
            .is_some_and(|&(_, c)| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return Err(self.unexpected("the end of an integer"));
        }
        Ok(Literal::Int(if negative { -value } else { value }))
    }

    fn word(&mut self) -> Result<Literal> {
        let start = self.chars.peek().map_or(self.text.len(), |&(i, _)| i);
        let mut end = start;
        while let Some((i, c)) = self
            .chars
            .next_if(|(_, c)| c.is_alphanumeric() || *c == '_')
        {
            end = i + c.len_utf8();
        }
        match &self.text[start..end] {
            "True" => Ok(Literal::Bool(true)),
            "False" => Ok(Literal::Bool(false)),
            "None" => Ok(Literal::None),
            word => Err(literal_error(format!(
                "cannot parse header: {word:?} at character {start} is not a literal"
            ))),
        }
    }
}

/// Python's `repr` of a string: single quotes unless the text holds one and no double quote.
pub(crate) fn python_str_repr(s: &str) -> String {
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
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr` of a tuple of ints: `()`, `(3,)`, `(2, 3)`.
pub(crate) fn python_tuple_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_owned(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
