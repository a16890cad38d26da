//! Recursive-descent parser with precedence climbing for binary operators.
//!
//! Syntax errors are reported and the parser resynchronises at the next `;` or `}` so that one
//! compilation can report several errors.

use crate::ast::*;
use crate::diag::{Reporter, Span};
use crate::lexer::{Kw, Punct, Tok, Token};

/// Deepest recursion (nested statements, parentheses, unary operators) the parser accepts.
const MAX_NESTING: u32 = 256;
/// Tallest expression tree accepted (bounds the recursion of every later pass).
pub(crate) const MAX_EXPR_DEPTH: u32 = 200;

/// Marker: an error has been reported; the caller resynchronises.
pub(crate) struct Failed;

type PResult<T> = Result<T, Failed>;

pub(crate) struct Parser<'r, 's> {
    toks: Vec<Token>,
    pos: usize,
    rep: &'r mut Reporter<'s>,
    nesting: u32,
}

/// Binding power of a binary operator token (higher binds tighter), or `None`.
fn binary_op(p: Punct) -> Option<(u8, BinOp)> {
    use Punct::*;
    Some(match p {
        OrOr => (1, BinOp::LogOr),
        AndAnd => (2, BinOp::LogAnd),
        Pipe => (3, BinOp::BitOr),
        Caret => (4, BinOp::BitXor),
        Amp => (5, BinOp::BitAnd),
        EqEq => (6, BinOp::Eq),
        NotEq => (6, BinOp::Ne),
        Lt => (7, BinOp::Lt),
        Le => (7, BinOp::Le),
        Gt => (7, BinOp::Gt),
        Ge => (7, BinOp::Ge),
        Shl => (8, BinOp::Shl),
        Shr => (8, BinOp::Shr),
        Plus => (9, BinOp::Add),
        Minus => (9, BinOp::Sub),
        Star => (10, BinOp::Mul),
        Slash => (10, BinOp::Div),
        Percent => (10, BinOp::Mod),
        _ => return None,
    })
}

fn assign_op(p: Punct) -> Option<Option<BinOp>> {
    use Punct::*;
    Some(match p {
        Assign => None,
        PlusEq => Some(BinOp::Add),
        MinusEq => Some(BinOp::Sub),
        StarEq => Some(BinOp::Mul),
        SlashEq => Some(BinOp::Div),
        PercentEq => Some(BinOp::Mod),
        AmpEq => Some(BinOp::BitAnd),
        PipeEq => Some(BinOp::BitOr),
        CaretEq => Some(BinOp::BitXor),
        ShlEq => Some(BinOp::Shl),
        ShrEq => Some(BinOp::Shr),
        _ => return None,
    })
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(name) => format!("identifier '{name}'"),
        Tok::Int { .. } => "a number".into(),
        Tok::Str(_) => "a string literal".into(),
        Tok::Kw(kw) => format!("keyword '{}'", format!("{kw:?}").to_ascii_lowercase()),
        Tok::P(p) => format!("'{}'", p.text()),
        Tok::Invalid => "an invalid character".into(),
        Tok::Eof => "end of file".into(),
    }
}

impl<'r, 's> Parser<'r, 's> {
    pub fn new(toks: Vec<Token>, rep: &'r mut Reporter<'s>) -> Self {
        Parser {
            toks,
            pos: 0,
            rep,
            nesting: 0,
        }
    }

    // ----- token helpers -----

    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.toks[self.pos.min(self.toks.len() - 1)].span
    }

    fn prev_span(&self) -> Span {
        if self.pos == 0 {
            self.span()
        } else {
            self.toks[(self.pos - 1).min(self.toks.len() - 1)].span
        }
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn at_eof(&self) -> bool {
        matches!(self.peek(), Tok::Eof)
    }

    fn is_p(&self, p: Punct) -> bool {
        *self.peek() == Tok::P(p)
    }

    fn eat_p(&mut self, p: Punct) -> bool {
        if self.is_p(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn is_kw(&self, kw: Kw) -> bool {
        *self.peek() == Tok::Kw(kw)
    }

    fn eat_kw(&mut self, kw: Kw) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn error_here(&mut self, what: &str) -> Failed {
        if *self.peek() == Tok::Invalid || (self.at_eof() && self.rep.has_errors()) {
            // The lexer already reported it, or this is the end of a file whose earlier error
            // has already been reported (the missing tokens are almost always its consequence).
            return Failed;
        }
        let found = describe(self.peek());
        let span = self.span();
        self.rep
            .error(span, format!("expected {what}, found {found}"));
        Failed
    }

    fn expect_p(&mut self, p: Punct) -> PResult<Span> {
        if self.is_p(p) {
            Ok(self.bump().span)
        } else if p == Punct::Semi
            && *self.peek() != Tok::Invalid
            && !(self.at_eof() && self.rep.has_errors())
        {
            // Point just after the previous token, like C compilers do for a missing ';'.
            let prev = self.prev_span();
            let found = describe(self.peek());
            self.rep.error(
                Span::new(prev.end, prev.end),
                format!("expected ';', found {found}"),
            );
            Err(Failed)
        } else {
            Err(self.error_here(&format!("'{}'", p.text())))
        }
    }

    fn expect_ident(&mut self) -> PResult<(String, Span)> {
        if let Tok::Ident(name) = self.peek().clone() {
            let span = self.bump().span;
            Ok((name, span))
        } else {
            Err(self.error_here("an identifier"))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            let span = self.span();
            self.rep.error(span, "nesting too deep");
            self.nesting -= 1;
            return Err(Failed);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    fn mk(&mut self, kind: ExprKind, span: Span) -> PResult<Expr> {
        let e = Expr::new(kind, span);
        if e.depth > MAX_EXPR_DEPTH {
            self.rep.error(span, "expression too deeply nested");
            return Err(Failed);
        }
        Ok(e)
    }

    /// Skips tokens after a syntax error: up to and including the next `;` or the `}` that closes
    /// a block opened while skipping; stops before a `}` that closes an enclosing block.
    fn sync(&mut self, top_level: bool) {
        let mut depth = 0u32;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::P(Punct::Semi) if depth == 0 => {
                    self.bump();
                    return;
                }
                Tok::P(Punct::LBrace) => {
                    depth += 1;
                    self.bump();
                }
                Tok::P(Punct::RBrace) => {
                    if depth == 0 {
                        // At top level a stray '}' is consumed so that parsing makes progress.
                        if top_level {
                            self.bump();
                        }
                        return;
                    }
                    depth -= 1;
                    self.bump();
                    if depth == 0 {
                        return;
                    }
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    // ----- top level -----

    pub fn parse_program(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while !self.at_eof() {
            let before = self.pos;
            match self.parse_item() {
                Ok(item) => items.push(item),
                Err(Failed) => {
                    self.sync(true);
                    if self.pos == before {
                        self.bump();
                    }
                }
            }
        }
        items
    }

    fn parse_item(&mut self) -> PResult<Item> {
        if self.eat_p(Punct::Semi) {
            return Ok(Item::Globals(Vec::new()));
        }
        let ty = self.parse_type()?;
        let (name, span) = self.expect_ident()?;
        if self.is_p(Punct::LParen) {
            return self.parse_function(ty, name, span).map(Item::Function);
        }
        let decls = self.parse_declarators(ty, name, span)?;
        Ok(Item::Globals(decls))
    }

    /// Parses a type made of keywords (`unsigned long`, `const int`, `byte`, …).
    fn parse_type(&mut self) -> PResult<TypeSpec> {
        let start = self.span();
        let (mut unsigned, mut signed, mut int, mut long, mut short, mut char_) =
            (0, 0, 0, 0, 0, 0);
        let (mut void, mut bool_, mut byte) = (0, 0, 0);
        let mut is_const = false;
        let mut any = false;
        while let Tok::Kw(kw) = self.peek().clone() {
            match kw {
                Kw::Unsigned => unsigned += 1,
                Kw::Signed => signed += 1,
                Kw::Int => int += 1,
                Kw::Long => long += 1,
                Kw::Short => short += 1,
                Kw::Char => char_ += 1,
                Kw::Void => void += 1,
                Kw::Bool => bool_ += 1,
                Kw::Byte => byte += 1,
                Kw::Const => is_const = true,
                Kw::Volatile => {}
                _ => break,
            }
            any = true;
            self.bump();
        }
        let span = start.to(self.prev_span());
        if !any {
            return Err(self.error_here("a type"));
        }
        let sign = unsigned + signed;
        let size = long + short + char_;
        let plain = void + bool_ + byte;
        let bad = |msg: &str, p: &mut Self| -> PResult<TypeSpec> {
            p.rep.error(span, msg.to_string());
            Err(Failed)
        };
        if long >= 2 {
            return bad(
                "'long long' is not supported (all integers are 32-bit)",
                self,
            );
        }
        if sign > 1 || int > 1 || size > 1 || plain > 1 || (plain == 1 && sign + int + size > 0) {
            return bad("invalid combination of type specifiers", self);
        }
        if char_ == 1 && int == 1 {
            return bad("invalid combination of type specifiers", self);
        }
        let ty = if void == 1 {
            DeclTy::Void
        } else if bool_ == 1 {
            DeclTy::Bool
        } else if byte == 1 {
            DeclTy::U8
        } else if char_ == 1 {
            if unsigned == 1 {
                DeclTy::U8
            } else {
                DeclTy::I8
            }
        } else if short == 1 {
            if unsigned == 1 {
                DeclTy::U16
            } else {
                DeclTy::I16
            }
        } else if sign + int + long > 0 {
            if unsigned == 1 {
                DeclTy::U32
            } else {
                DeclTy::I32
            }
        } else {
            // Only qualifiers: `const x = 1;` (implicit int is not C99).
            return bad("type specifier missing (implicit int is not allowed)", self);
        };
        Ok(TypeSpec { ty, is_const, span })
    }

    fn parse_function(&mut self, ret: TypeSpec, name: String, span: Span) -> PResult<Function> {
        self.expect_p(Punct::LParen)?;
        let mut params = Vec::new();
        if self.is_kw(Kw::Void) && *self.peek_at(1) == Tok::P(Punct::RParen) {
            self.bump();
        }
        if !self.is_p(Punct::RParen) {
            loop {
                let ty = self.parse_type()?;
                let (pname, pspan) = if let Tok::Ident(n) = self.peek().clone() {
                    let s = self.bump().span;
                    (Some(n), s)
                } else {
                    (None, ty.span)
                };
                if self.is_p(Punct::LBracket) {
                    let s = self.span();
                    self.rep.error(
                        s,
                        "array parameters are not supported (arrays are global only)",
                    );
                    return Err(Failed);
                }
                params.push(Param {
                    ty,
                    name: pname,
                    span: pspan,
                });
                if !self.eat_p(Punct::Comma) {
                    break;
                }
            }
        }
        self.expect_p(Punct::RParen)?;
        if self.eat_p(Punct::Semi) {
            return Ok(Function {
                ret,
                name,
                span,
                params,
                body: None,
                end: self.prev_span(),
            });
        }
        if !self.is_p(Punct::LBrace) {
            return Err(self.error_here("'{' or ';'"));
        }
        let (body, end) = self.parse_block_body()?;
        Ok(Function {
            ret,
            name,
            span,
            params,
            body: Some(body),
            end,
        })
    }

    /// Parses `{ stmt* }`; returns the statements and the span of the closing brace.
    fn parse_block_body(&mut self) -> PResult<(Vec<Stmt>, Span)> {
        self.expect_p(Punct::LBrace)?;
        let mut stmts = Vec::new();
        loop {
            if self.is_p(Punct::RBrace) {
                let end = self.bump().span;
                return Ok((stmts, end));
            }
            if self.at_eof() {
                if !self.rep.has_errors() {
                    let s = self.span();
                    self.rep.error(s, "expected '}' before end of file");
                }
                return Err(Failed);
            }
            let before = self.pos;
            match self.parse_statement() {
                Ok(s) => stmts.push(s),
                Err(Failed) => {
                    self.sync(false);
                    if self.pos == before && !self.is_p(Punct::RBrace) {
                        self.bump();
                    }
                }
            }
        }
    }

    /// Declarators after the type and first name: `a = 1, b[3] = {1,2,3}, c;`.
    fn parse_declarators(
        &mut self,
        ty: TypeSpec,
        name: String,
        span: Span,
    ) -> PResult<Vec<VarDecl>> {
        let mut decls = Vec::new();
        let (mut name, mut span) = (name, span);
        loop {
            let mut array = None;
            let mut init = None;
            if self.eat_p(Punct::LBracket) {
                let len = if self.is_p(Punct::RBracket) {
                    None
                } else {
                    Some(self.parse_expr()?)
                };
                self.expect_p(Punct::RBracket)?;
                let mut list = None;
                if self.eat_p(Punct::Assign) {
                    self.expect_p(Punct::LBrace)?;
                    let mut items = Vec::new();
                    while !self.is_p(Punct::RBrace) {
                        items.push(self.parse_assign()?);
                        if !self.eat_p(Punct::Comma) {
                            break;
                        }
                    }
                    self.expect_p(Punct::RBrace)?;
                    list = Some(items);
                }
                array = Some(ArrayDecl { len, init: list });
            } else if self.eat_p(Punct::Assign) {
                if self.is_p(Punct::LBrace) {
                    let s = self.span();
                    self.rep
                        .error(s, "brace initializer for a variable that is not an array");
                    return Err(Failed);
                }
                init = Some(self.parse_assign()?);
            }
            decls.push(VarDecl {
                ty,
                name,
                span,
                array,
                init,
            });
            if !self.eat_p(Punct::Comma) {
                break;
            }
            let (n, s) = self.expect_ident()?;
            name = n;
            span = s;
        }
        self.expect_p(Punct::Semi)?;
        Ok(decls)
    }

    // ----- statements -----

    fn starts_type(&self) -> bool {
        matches!(self.peek(), Tok::Kw(kw) if kw.is_type())
    }

    fn parse_statement(&mut self) -> PResult<Stmt> {
        self.enter()?;
        let r = self.parse_statement_inner();
        self.leave();
        r
    }

    fn parse_statement_inner(&mut self) -> PResult<Stmt> {
        if self.starts_type() {
            let ty = self.parse_type()?;
            let (name, span) = self.expect_ident()?;
            if self.is_p(Punct::LParen) {
                let s = self.span();
                self.rep
                    .error(s, "functions cannot be declared inside a function");
                return Err(Failed);
            }
            return Ok(Stmt::Decl(self.parse_declarators(ty, name, span)?));
        }
        let span = self.span();
        match self.peek().clone() {
            Tok::P(Punct::Semi) => {
                self.bump();
                Ok(Stmt::Empty)
            }
            Tok::P(Punct::LBrace) => Ok(Stmt::Block(self.parse_block_body()?.0)),
            Tok::Kw(Kw::If) => {
                self.bump();
                let cond = self.parse_paren_cond()?;
                let then = Box::new(self.parse_statement()?);
                let otherwise = if self.eat_kw(Kw::Else) {
                    Some(Box::new(self.parse_statement()?))
                } else {
                    None
                };
                Ok(Stmt::If {
                    cond,
                    then,
                    otherwise,
                })
            }
            Tok::Kw(Kw::While) => {
                self.bump();
                let cond = self.parse_paren_cond()?;
                let body = Box::new(self.parse_statement()?);
                Ok(Stmt::While { cond, body })
            }
            Tok::Kw(Kw::Do) => {
                self.bump();
                let body = Box::new(self.parse_statement()?);
                if !self.eat_kw(Kw::While) {
                    return Err(self.error_here("'while' after the body of 'do'"));
                }
                let cond = self.parse_paren_cond()?;
                self.expect_p(Punct::Semi)?;
                Ok(Stmt::DoWhile { body, cond })
            }
            Tok::Kw(Kw::For) => {
                self.bump();
                self.expect_p(Punct::LParen)?;
                let init = if self.eat_p(Punct::Semi) {
                    None
                } else if self.starts_type() {
                    let ty = self.parse_type()?;
                    let (name, span) = self.expect_ident()?;
                    Some(Box::new(Stmt::Decl(
                        self.parse_declarators(ty, name, span)?,
                    )))
                } else {
                    let e = self.parse_expr()?;
                    self.expect_p(Punct::Semi)?;
                    Some(Box::new(Stmt::Expr(e)))
                };
                let cond = if self.is_p(Punct::Semi) {
                    None
                } else {
                    Some(self.parse_expr()?)
                };
                self.expect_p(Punct::Semi)?;
                let step = if self.is_p(Punct::RParen) {
                    None
                } else {
                    Some(self.parse_expr()?)
                };
                self.expect_p(Punct::RParen)?;
                let body = Box::new(self.parse_statement()?);
                Ok(Stmt::For {
                    init,
                    cond,
                    step,
                    body,
                })
            }
            Tok::Kw(Kw::Break) => {
                self.bump();
                self.expect_p(Punct::Semi)?;
                Ok(Stmt::Break(span))
            }
            Tok::Kw(Kw::Continue) => {
                self.bump();
                self.expect_p(Punct::Semi)?;
                Ok(Stmt::Continue(span))
            }
            Tok::Kw(Kw::Return) => {
                self.bump();
                let value = if self.is_p(Punct::Semi) {
                    None
                } else {
                    Some(self.parse_expr()?)
                };
                self.expect_p(Punct::Semi)?;
                Ok(Stmt::Return(value, span))
            }
            Tok::Kw(Kw::Else) => {
                self.rep.error(span, "'else' without a matching 'if'");
                self.bump();
                Err(Failed)
            }
            _ => {
                let e = self.parse_expr()?;
                self.expect_p(Punct::Semi)?;
                Ok(Stmt::Expr(e))
            }
        }
    }

    fn parse_paren_cond(&mut self) -> PResult<Expr> {
        self.expect_p(Punct::LParen)?;
        let e = self.parse_expr()?;
        self.expect_p(Punct::RParen)?;
        Ok(e)
    }

    // ----- expressions -----

    /// expression: assignment (',' assignment)*
    pub fn parse_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.parse_assign()?;
        while self.eat_p(Punct::Comma) {
            let rhs = self.parse_assign()?;
            let span = lhs.span.to(rhs.span);
            lhs = self.mk(
                ExprKind::Binary {
                    op: BinOp::Comma,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            )?;
        }
        Ok(lhs)
    }

    /// assignment: conditional (assign-op assignment)?   (right-associative)
    fn parse_assign(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_assign_inner();
        self.leave();
        r
    }

    fn parse_assign_inner(&mut self) -> PResult<Expr> {
        let lhs = self.parse_cond()?;
        if let Tok::P(p) = *self.peek()
            && let Some(op) = assign_op(p)
        {
            self.bump();
            let value = self.parse_assign()?;
            let span = lhs.span.to(value.span);
            return self.mk(
                ExprKind::Assign {
                    op,
                    target: Box::new(lhs),
                    value: Box::new(value),
                },
                span,
            );
        }
        Ok(lhs)
    }

    /// conditional: binary ('?' expression ':' conditional)?
    fn parse_cond(&mut self) -> PResult<Expr> {
        let cond = self.parse_binary(1)?;
        if !self.eat_p(Punct::Question) {
            return Ok(cond);
        }
        let then = self.parse_expr()?;
        self.expect_p(Punct::Colon)?;
        self.enter()?;
        let otherwise = self.parse_cond();
        self.leave();
        let otherwise = otherwise?;
        let span = cond.span.to(otherwise.span);
        self.mk(
            ExprKind::Cond {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            },
            span,
        )
    }

    /// Precedence climbing over the left-associative binary operators.
    fn parse_binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let mut lhs = self.parse_unary()?;
        while let Tok::P(p) = *self.peek()
            && let Some((prec, op)) = binary_op(p)
            && prec >= min_prec
        {
            self.bump();
            let rhs = self.parse_binary(prec + 1)?;
            let span = lhs.span.to(rhs.span);
            lhs = self.mk(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            )?;
        }
        Ok(lhs)
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_unary_inner();
        self.leave();
        r
    }

    fn parse_unary_inner(&mut self) -> PResult<Expr> {
        let start = self.span();
        let op = match self.peek() {
            Tok::P(Punct::Minus) => Some(UnOp::Neg),
            Tok::P(Punct::Plus) => Some(UnOp::Plus),
            Tok::P(Punct::Bang) => Some(UnOp::Not),
            Tok::P(Punct::Tilde) => Some(UnOp::BitNot),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let expr = self.parse_unary()?;
            let span = start.to(expr.span);
            return self.mk(
                ExprKind::Unary {
                    op,
                    expr: Box::new(expr),
                },
                span,
            );
        }
        if self.is_p(Punct::LParen) && matches!(self.peek_at(1), Tok::Kw(kw) if kw.is_type()) {
            self.bump();
            let ty = self.parse_type()?;
            self.expect_p(Punct::RParen)?;
            let expr = self.parse_unary()?;
            let span = start.to(expr.span);
            return self.mk(
                ExprKind::Cast {
                    ty: ty.ty,
                    expr: Box::new(expr),
                },
                span,
            );
        }
        if self.is_p(Punct::PlusPlus) || self.is_p(Punct::MinusMinus) {
            let inc = self.is_p(Punct::PlusPlus);
            self.bump();
            let target = self.parse_unary()?;
            let span = start.to(target.span);
            return self.mk(
                ExprKind::IncDec {
                    prefix: true,
                    inc,
                    target: Box::new(target),
                },
                span,
            );
        }
        let mut e = self.parse_primary()?;
        while self.is_p(Punct::PlusPlus) || self.is_p(Punct::MinusMinus) {
            let inc = self.is_p(Punct::PlusPlus);
            let end = self.bump().span;
            let span = e.span.to(end);
            e = self.mk(
                ExprKind::IncDec {
                    prefix: false,
                    inc,
                    target: Box::new(e),
                },
                span,
            )?;
        }
        Ok(e)
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.peek().clone() {
            Tok::Int { value, unsigned } => {
                self.bump();
                self.mk(ExprKind::Int { value, unsigned }, start)
            }
            Tok::Str(mut bytes) => {
                self.bump();
                let mut span = start;
                // Adjacent string literals are concatenated.
                while let Tok::Str(more) = self.peek().clone() {
                    span = span.to(self.bump().span);
                    bytes.extend_from_slice(&more);
                }
                self.mk(ExprKind::Str(bytes), span)
            }
            Tok::Ident(name) => {
                self.bump();
                if self.eat_p(Punct::LParen) {
                    let mut args = Vec::new();
                    if !self.is_p(Punct::RParen) {
                        loop {
                            args.push(self.parse_assign()?);
                            if !self.eat_p(Punct::Comma) {
                                break;
                            }
                        }
                    }
                    let end = self.expect_p(Punct::RParen)?;
                    return self.mk(
                        ExprKind::Call {
                            name,
                            name_span: start,
                            args,
                        },
                        start.to(end),
                    );
                }
                if self.eat_p(Punct::LBracket) {
                    let index = self.parse_expr()?;
                    let end = self.expect_p(Punct::RBracket)?;
                    return self.mk(
                        ExprKind::Index {
                            name,
                            name_span: start,
                            index: Box::new(index),
                        },
                        start.to(end),
                    );
                }
                self.mk(ExprKind::Ident(name), start)
            }
            Tok::P(Punct::LParen) => {
                self.bump();
                let mut e = self.parse_expr()?;
                let end = self.expect_p(Punct::RParen)?;
                e.span = start.to(end);
                Ok(e)
            }
            Tok::Kw(kw) if kw.is_type() => {
                self.rep
                    .error(start, "unexpected type name in an expression");
                Err(Failed)
            }
            _ => Err(self.error_here("an expression")),
        }
    }
}
