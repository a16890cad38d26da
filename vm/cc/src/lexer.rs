//! Hand-written lexer: source text to tokens with byte spans.

use crate::diag::{Reporter, Span};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Ident(String),
    /// An integer or character literal: its value and whether its type is unsigned.
    Int {
        value: u32,
        unsigned: bool,
    },
    /// A string literal, escapes already processed (adjacent literals are concatenated by the parser).
    Str(Vec<u8>),
    Kw(Kw),
    P(Punct),
    /// Characters the lexer rejected (already reported; the parser stays silent about it).
    Invalid,
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kw {
    Int,
    Long,
    Short,
    Char,
    Unsigned,
    Signed,
    Void,
    Bool,
    Byte,
    Const,
    Volatile,
    If,
    Else,
    While,
    For,
    Do,
    Break,
    Continue,
    Return,
}

impl Kw {
    fn from_ident(s: &str) -> Option<Kw> {
        Some(match s {
            "int" => Kw::Int,
            "long" => Kw::Long,
            "short" => Kw::Short,
            "char" => Kw::Char,
            "unsigned" => Kw::Unsigned,
            "signed" => Kw::Signed,
            "void" => Kw::Void,
            "bool" | "boolean" => Kw::Bool,
            "byte" => Kw::Byte,
            "const" => Kw::Const,
            "volatile" => Kw::Volatile,
            "if" => Kw::If,
            "else" => Kw::Else,
            "while" => Kw::While,
            "for" => Kw::For,
            "do" => Kw::Do,
            "break" => Kw::Break,
            "continue" => Kw::Continue,
            "return" => Kw::Return,
            _ => return None,
        })
    }

    /// True for the keywords that can start a type.
    pub fn is_type(self) -> bool {
        matches!(
            self,
            Kw::Int
                | Kw::Long
                | Kw::Short
                | Kw::Char
                | Kw::Unsigned
                | Kw::Signed
                | Kw::Void
                | Kw::Bool
                | Kw::Byte
                | Kw::Const
                | Kw::Volatile
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Punct {
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Semi,
    Comma,
    Question,
    Colon,
    Assign,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Shl,
    Shr,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Amp,
    Pipe,
    Caret,
    Tilde,
    Bang,
    AndAnd,
    OrOr,
    PlusEq,
    MinusEq,
    StarEq,
    SlashEq,
    PercentEq,
    AmpEq,
    PipeEq,
    CaretEq,
    ShlEq,
    ShrEq,
    PlusPlus,
    MinusMinus,
}

impl Punct {
    pub fn text(self) -> &'static str {
        use Punct::*;
        match self {
            LParen => "(",
            RParen => ")",
            LBrace => "{",
            RBrace => "}",
            LBracket => "[",
            RBracket => "]",
            Semi => ";",
            Comma => ",",
            Question => "?",
            Colon => ":",
            Assign => "=",
            EqEq => "==",
            NotEq => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Shl => "<<",
            Shr => ">>",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            Amp => "&",
            Pipe => "|",
            Caret => "^",
            Tilde => "~",
            Bang => "!",
            AndAnd => "&&",
            OrOr => "||",
            PlusEq => "+=",
            MinusEq => "-=",
            StarEq => "*=",
            SlashEq => "/=",
            PercentEq => "%=",
            AmpEq => "&=",
            PipeEq => "|=",
            CaretEq => "^=",
            ShlEq => "<<=",
            ShrEq => ">>=",
            PlusPlus => "++",
            MinusMinus => "--",
        }
    }
}

/// Longest-match punctuator table (three-character ones first).
const PUNCTS: &[(&str, Punct)] = &[
    ("<<=", Punct::ShlEq),
    (">>=", Punct::ShrEq),
    ("==", Punct::EqEq),
    ("!=", Punct::NotEq),
    ("<=", Punct::Le),
    (">=", Punct::Ge),
    ("<<", Punct::Shl),
    (">>", Punct::Shr),
    ("&&", Punct::AndAnd),
    ("||", Punct::OrOr),
    ("+=", Punct::PlusEq),
    ("-=", Punct::MinusEq),
    ("*=", Punct::StarEq),
    ("/=", Punct::SlashEq),
    ("%=", Punct::PercentEq),
    ("&=", Punct::AmpEq),
    ("|=", Punct::PipeEq),
    ("^=", Punct::CaretEq),
    ("++", Punct::PlusPlus),
    ("--", Punct::MinusMinus),
    ("(", Punct::LParen),
    (")", Punct::RParen),
    ("{", Punct::LBrace),
    ("}", Punct::RBrace),
    ("[", Punct::LBracket),
    ("]", Punct::RBracket),
    (";", Punct::Semi),
    (",", Punct::Comma),
    ("?", Punct::Question),
    (":", Punct::Colon),
    ("=", Punct::Assign),
    ("<", Punct::Lt),
    (">", Punct::Gt),
    ("+", Punct::Plus),
    ("-", Punct::Minus),
    ("*", Punct::Star),
    ("/", Punct::Slash),
    ("%", Punct::Percent),
    ("&", Punct::Amp),
    ("|", Punct::Pipe),
    ("^", Punct::Caret),
    ("~", Punct::Tilde),
    ("!", Punct::Bang),
];

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Splits `src` into tokens (always ending with [`Tok::Eof`]). Lexical errors are reported and
/// the offending characters skipped. `#include` lines are ignored; other preprocessor
/// directives are errors.
pub(crate) fn lex(src: &str, rep: &mut Reporter) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // True while only whitespace has been seen on the current line.
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let start = i;
            i += 2;
            loop {
                if i + 1 >= b.len() {
                    rep.error(Span::new(start, start + 2), "unterminated comment");
                    i = b.len();
                    break;
                }
                if b[i] == b'*' && b[i + 1] == b'/' {
                    i += 2;
                    break;
                }
                i += 1;
            }
            continue;
        }
        let was_line_start = line_start;
        line_start = false;
        let start = i;
        if c == b'#' && was_line_start {
            let end = b[i..]
                .iter()
                .position(|&x| x == b'\n')
                .map_or(b.len(), |p| i + p);
            let line = &src[i..end];
            let directive = line[1..].trim_start();
            if !directive.starts_with("include") {
                rep.error(
                    Span::new(i, end),
                    "preprocessor directives other than #include are not supported",
                );
            }
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let text = &src[start..i];
            let tok = match Kw::from_ident(text) {
                Some(kw) => Tok::Kw(kw),
                None => Tok::Ident(text.to_string()),
            };
            out.push(Token {
                tok,
                span: Span::new(start, i),
            });
            continue;
        }
        if c.is_ascii_digit() {
            i = lex_number(src, i, rep, &mut out);
            continue;
        }
        if c == b'"' {
            i = lex_string(b, i, rep, &mut out);
            continue;
        }
        if c == b'\'' {
            i = lex_char(b, i, rep, &mut out);
            continue;
        }
        if let Some((text, p)) = PUNCTS
            .iter()
            .find(|(t, _)| b[i..].starts_with(t.as_bytes()))
        {
            i += text.len();
            out.push(Token {
                tok: Tok::P(*p),
                span: Span::new(start, i),
            });
            continue;
        }
        // Unknown character: skip the whole UTF-8 sequence.
        let ch = src[i..].chars().next().unwrap_or('?');
        i += ch.len_utf8().max(1);
        rep.error(
            Span::new(start, i),
            format!("unexpected character '{}'", ch.escape_default()),
        );
        out.push(Token {
            tok: Tok::Invalid,
            span: Span::new(start, i),
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(b.len(), b.len()),
    });
    out
}

fn lex_number(src: &str, start: usize, rep: &mut Reporter, out: &mut Vec<Token>) -> usize {
    let b = src.as_bytes();
    let mut i = start;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    let text = &src[start..i];
    let span = Span::new(start, i);
    let lower = text.to_ascii_lowercase();
    // Split off an integer suffix (u, l, ul, lu, ll not supported).
    let digits_end = lower.trim_end_matches(['u', 'l']).len();
    let (digits, suffix) = lower.split_at(digits_end);
    let suffix_ok = matches!(suffix, "" | "u" | "l" | "ul" | "lu");
    let (radix, body) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        (2, bin)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    let value = if body.is_empty() || !suffix_ok {
        None
    } else {
        u64::from_str_radix(body, radix).ok()
    };
    let value = match value {
        Some(v) => v,
        None => {
            rep.error(span, format!("invalid integer literal '{text}'"));
            0
        }
    };
    let value = if value > u32::MAX as u64 {
        rep.error(
            span,
            format!("integer literal '{text}' does not fit in 32 bits"),
        );
        0
    } else {
        value as u32
    };
    // C rules with 32-bit int and long: a decimal literal that does not fit int becomes
    // unsigned long; hex/octal/binary ones become unsigned; a `u` suffix always makes it unsigned.
    let unsigned = suffix.contains('u') || value > i32::MAX as u32;
    out.push(Token {
        tok: Tok::Int { value, unsigned },
        span,
    });
    i
}

/// Reads one escape sequence after a backslash at `b[i]`; returns the byte and the new index.
fn lex_escape(b: &[u8], i: usize, rep: &mut Reporter) -> (u8, usize) {
    let Some(&c) = b.get(i + 1) else {
        rep.error(Span::new(i, i + 1), "unterminated escape sequence");
        return (0, i + 1);
    };
    let v = match c {
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'\\' => b'\\',
        b'"' => b'"',
        b'\'' => b'\'',
        b'a' => 7,
        b'b' => 8,
        b'f' => 12,
        b'v' => 11,
        // C: an octal escape is one to three octal digits (`\0`, `\012`, `\101`).
        b'0'..=b'7' => {
            let mut j = i + 1;
            let mut v: u32 = 0;
            while j < b.len() && matches!(b[j], b'0'..=b'7') && j < i + 4 {
                v = v * 8 + u32::from(b[j] - b'0');
                j += 1;
            }
            if v > 0xFF {
                rep.error(Span::new(i, j), "octal escape sequence out of range");
            }
            return (v as u8, j);
        }
        // C: a hex escape takes every hex digit that follows (`"\x41BC"` is one escape).
        b'x' => {
            let mut j = i + 2;
            let mut v: u32 = 0;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                v = v
                    .saturating_mul(16)
                    .saturating_add((b[j] as char).to_digit(16).unwrap_or(0));
                j += 1;
            }
            if j == i + 2 {
                rep.error(Span::new(i, j), "\\x escape without hex digits");
            } else if v > 0xFF {
                rep.error(Span::new(i, j), "hex escape sequence out of range");
            }
            return (v as u8, j);
        }
        _ => {
            let len = std::str::from_utf8(&b[i + 1..(i + 5).min(b.len())])
                .ok()
                .or_else(|| std::str::from_utf8(&b[i + 1..]).ok())
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            rep.error(
                Span::new(i, i + 1 + len),
                "unknown escape sequence (supported: \\n \\t \\r \\\\ \\\" \\' \\a \\b \\f \\v, octal \\ooo, hex \\xHH)",
            );
            return (c, i + 1 + len);
        }
    };
    (v, i + 2)
}

fn lex_string(b: &[u8], start: usize, rep: &mut Reporter, out: &mut Vec<Token>) -> usize {
    let mut i = start + 1;
    let mut bytes = Vec::new();
    loop {
        match b.get(i) {
            None | Some(b'\n') => {
                rep.error(Span::new(start, start + 1), "unterminated string literal");
                break;
            }
            Some(b'"') => {
                i += 1;
                break;
            }
            Some(b'\\') => {
                let (v, next) = lex_escape(b, i, rep);
                bytes.push(v);
                i = next;
            }
            Some(&c) => {
                bytes.push(c);
                i += 1;
            }
        }
    }
    out.push(Token {
        tok: Tok::Str(bytes),
        span: Span::new(start, i),
    });
    i
}

fn lex_char(b: &[u8], start: usize, rep: &mut Reporter, out: &mut Vec<Token>) -> usize {
    let mut i = start + 1;
    let value = match b.get(i) {
        Some(b'\\') => {
            let (v, next) = lex_escape(b, i, rep);
            i = next;
            Some(v)
        }
        Some(b'\'') | Some(b'\n') | None => None,
        Some(&c) if c.is_ascii() => {
            i += 1;
            Some(c)
        }
        Some(_) => {
            rep.error(
                Span::new(start, start + 1),
                "character literals must be ASCII",
            );
            while i < b.len() && b[i] != b'\'' && b[i] != b'\n' {
                i += 1;
            }
            Some(0)
        }
    };
    if b.get(i) == Some(&b'\'') && value.is_some() {
        i += 1;
    } else {
        rep.error(Span::new(start, start + 1), "malformed character literal");
        // Skip to the closing quote on this line, if any.
        while i < b.len() && b[i] != b'\'' && b[i] != b'\n' {
            i += 1;
        }
        if b.get(i) == Some(&b'\'') {
            i += 1;
        }
    }
    // C: the value is that of a `char` object holding the byte, converted to int; `char` is
    // signed, so '\xFF' is -1 (as with gcc on x86).
    out.push(Token {
        tok: Tok::Int {
            value: value.unwrap_or(0) as i8 as i32 as u32,
            unsigned: false,
        },
        span: Span::new(start, i),
    });
    i
}
