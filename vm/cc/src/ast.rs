//! Syntax tree produced by the parser.

use crate::diag::Span;

/// A declared storage type. Narrow types are stored truncated and promote to `int` in expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeclTy {
    Void,
    /// `int`, `long`, `signed` (32-bit signed).
    I32,
    /// `unsigned`, `unsigned int`, `unsigned long` (32-bit unsigned).
    U32,
    /// `bool`/`boolean`: stored as 0 or 1.
    Bool,
    /// `char`/`signed char`.
    I8,
    /// `byte`/`unsigned char`.
    U8,
    /// `short`.
    I16,
    /// `unsigned short`.
    U16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TypeSpec {
    pub ty: DeclTy,
    pub is_const: bool,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Plus,
    Not,
    BitNot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitXor,
    BitOr,
    LogAnd,
    LogOr,
    Comma,
}

#[derive(Clone, Debug)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// Height of this tree (leaf = 1); the parser bounds it so later passes cannot overflow the stack.
    pub depth: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum ExprKind {
    Int {
        value: u32,
        unsigned: bool,
    },
    Str(Vec<u8>),
    Ident(String),
    Index {
        name: String,
        name_span: Span,
        index: Box<Expr>,
    },
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    /// `++x`, `x--`, …
    IncDec {
        prefix: bool,
        inc: bool,
        target: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `target = value` (op `None`) or `target op= value`.
    Assign {
        op: Option<BinOp>,
        target: Box<Expr>,
        value: Box<Expr>,
    },
    Cond {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `(type) expr`.
    Cast {
        ty: DeclTy,
        expr: Box<Expr>,
    },
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        let depth = 1 + match &kind {
            ExprKind::Int { .. } | ExprKind::Str(_) | ExprKind::Ident(_) => 0,
            ExprKind::Index { index, .. } => index.depth,
            ExprKind::Call { args, .. } => args.iter().map(|a| a.depth).max().unwrap_or(0),
            ExprKind::Unary { expr, .. } | ExprKind::Cast { expr, .. } => expr.depth,
            ExprKind::IncDec { target, .. } => target.depth,
            ExprKind::Binary { lhs, rhs, .. } => lhs.depth.max(rhs.depth),
            ExprKind::Assign { target, value, .. } => target.depth.max(value.depth),
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => cond.depth.max(then.depth).max(otherwise.depth),
        };
        Expr { kind, span, depth }
    }
}

/// `int a[N] = {…}` parts of a declarator.
#[derive(Clone, Debug)]
pub(crate) struct ArrayDecl {
    /// `None` for `a[]` (length taken from the initializer list).
    pub len: Option<Expr>,
    pub init: Option<Vec<Expr>>,
}

#[derive(Clone, Debug)]
pub(crate) struct VarDecl {
    pub ty: TypeSpec,
    pub name: String,
    pub span: Span,
    pub array: Option<ArrayDecl>,
    pub init: Option<Expr>,
}

#[derive(Clone, Debug)]
pub(crate) enum Stmt {
    Empty,
    Expr(Expr),
    Block(Vec<Stmt>),
    Decl(Vec<VarDecl>),
    If {
        cond: Expr,
        then: Box<Stmt>,
        otherwise: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Box<Stmt>,
    },
    DoWhile {
        body: Box<Stmt>,
        cond: Expr,
    },
    For {
        init: Option<Box<Stmt>>,
        cond: Option<Expr>,
        step: Option<Expr>,
        body: Box<Stmt>,
    },
    Break(Span),
    Continue(Span),
    Return(Option<Expr>, Span),
}

#[derive(Clone, Debug)]
pub(crate) struct Param {
    pub ty: TypeSpec,
    pub name: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Function {
    pub ret: TypeSpec,
    pub name: String,
    pub span: Span,
    pub params: Vec<Param>,
    /// `None` for a prototype.
    pub body: Option<Vec<Stmt>>,
    /// Span of the closing brace (where "falls off the end" is reported).
    pub end: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum Item {
    Globals(Vec<VarDecl>),
    Function(Function),
}
