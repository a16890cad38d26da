//! Semantic analysis and code generation in one pass over the syntax tree.
//!
//! The emitted code follows the CockpitVM code-generation contract (see `vm/README.md` and the
//! crate docs): a prologue that initialises globals and arrays and then calls the entry point,
//! then one block per function. Functions use frames: parameters are frame slots `0..argc`,
//! locals and hidden temporaries are further slots pushed as zeros on entry.

use std::collections::HashMap;

use cockpit_vm::isa::{Instruction, Opcode, PUSH_HIGH, PUSH_SIGNED, RET_VALUE};

use crate::ast::*;
use crate::diag::{Reporter, Span};

/// Most global scalar variables (VM global slots).
pub(crate) const MAX_GLOBALS: usize = cockpit_vm::GLOBALS;
/// Most global arrays.
pub(crate) const MAX_ARRAYS: usize = cockpit_vm::ARRAYS;
/// Longest array.
pub(crate) const MAX_ARRAY_LEN: u32 = cockpit_vm::ARRAY_LEN as u32;
/// Most instructions in a program (jump targets are 16-bit).
pub(crate) const MAX_CODE: usize = 65536;
/// Most printf arguments the VM accepts.
const PRINTF_MAX_ARGS: usize = cockpit_vm::engine::PRINTF_MAX_ARGS;
/// Most frame slots (parameters + locals + temporaries) of one function; the operand stack
/// holds 256 words in all, so more could never run.
const MAX_SLOTS: u32 = 200;

/// Value type of an expression after integer promotion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Int,
    Uint,
    Void,
}

impl DeclTy {
    fn value_ty(self) -> Ty {
        match self {
            DeclTy::Void => Ty::Void,
            DeclTy::U32 => Ty::Uint,
            _ => Ty::Int,
        }
    }
}

/// The usual arithmetic conversions: unsigned if either operand is unsigned.
fn common(a: Ty, b: Ty) -> Ty {
    if a == Ty::Uint || b == Ty::Uint {
        Ty::Uint
    } else {
        Ty::Int
    }
}

/// Converts a 32-bit value to a declared storage type, exactly as the emitted code does.
fn convert_const(v: u32, ty: DeclTy) -> u32 {
    match ty {
        DeclTy::Bool => u32::from(v != 0),
        DeclTy::U8 => v & 0xFF,
        DeclTy::U16 => v & 0xFFFF,
        DeclTy::I8 => v as u8 as i8 as i32 as u32,
        DeclTy::I16 => v as u16 as i16 as i32 as u32,
        DeclTy::I32 | DeclTy::U32 | DeclTy::Void => v,
    }
}

/// Built-in named constants.
fn builtin_constant(name: &str) -> Option<u32> {
    Some(match name {
        "HIGH" | "OUTPUT" | "true" => 1,
        "LOW" | "INPUT" | "false" => 0,
        "INPUT_PULLUP" => 2,
        "INPUT_PULLDOWN" => 3,
        "LED_BUILTIN" => 13,
        _ => return None,
    })
}

/// Built-in functions: (opcode, parameter count, result type). `printf` is handled separately.
fn builtin_function(name: &str) -> Option<(Opcode, usize, Ty)> {
    Some(match name {
        "pinMode" => (Opcode::PinMode, 2, Ty::Void),
        "digitalWrite" => (Opcode::DigitalWrite, 2, Ty::Void),
        "digitalRead" => (Opcode::DigitalRead, 1, Ty::Int),
        "analogWrite" => (Opcode::AnalogWrite, 2, Ty::Void),
        "analogRead" => (Opcode::AnalogRead, 1, Ty::Int),
        "delay" => (Opcode::Delay, 1, Ty::Void),
        "millis" => (Opcode::Millis, 0, Ty::Uint),
        "micros" => (Opcode::Micros, 0, Ty::Uint),
        _ => return None,
    })
}

fn is_builtin_name(name: &str) -> bool {
    builtin_constant(name).is_some() || builtin_function(name).is_some() || name == "printf"
}

/// One `%` conversion of a printf format, as the VM understands it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Conv {
    Number(u8),
    Str,
}

/// The part of a string literal that C's `printf` sees: the bytes before the first NUL
/// (`printf("ab\0cd")` prints `ab`). The VM prints strings by length, so the compiler cuts them.
fn c_string(s: &[u8]) -> &[u8] {
    s.split(|&b| b == 0).next().unwrap_or(s)
}

/// Parses a printf format the way the VM does (`%d %i %u %x %X %c %s %%`, no flags or width).
fn parse_format(fmt: &[u8]) -> Result<Vec<Conv>, String> {
    let mut convs = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            i += 1;
            continue;
        }
        match fmt.get(i + 1) {
            None => return Err("printf format ends with a lone '%'".into()),
            Some(b'%') => {}
            Some(b's') => convs.push(Conv::Str),
            Some(&c @ (b'd' | b'i' | b'u' | b'x' | b'X' | b'c')) => convs.push(Conv::Number(c)),
            Some(&c) => {
                let shown = if c.is_ascii_graphic() {
                    format!("'%{}'", c as char)
                } else {
                    format!("'%' followed by byte {c:#04x}")
                };
                return Err(format!(
                    "unsupported printf conversion {shown} (CockpitVM supports %d %i %u %x %X %c %s %% without flags or width)"
                ));
            }
        }
        i += 2;
    }
    Ok(convs)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    None,
    /// A label of the function being generated.
    Label(u32),
    /// An absolute instruction index.
    Abs(usize),
    /// The entry of function `id`.
    Func(usize),
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    ins: Instruction,
    target: Target,
}

#[derive(Clone, Debug)]
struct GlobalVar {
    index: u8,
    ty: DeclTy,
    is_const: bool,
    /// The value of a `const` global, usable in constant expressions.
    value: Option<u32>,
}

#[derive(Clone, Debug)]
struct GlobalArray {
    id: u8,
    elem: DeclTy,
    len: u32,
    is_const: bool,
}

/// What [`Gen::array_update`] leaves on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keep {
    /// The element's value before the update.
    Old,
    /// The element's value after the update.
    New,
    /// Nothing.
    Nothing,
}

#[derive(Clone, Debug)]
struct FuncSym {
    ret: DeclTy,
    params: Vec<DeclTy>,
    span: Span,
    defined: bool,
    /// Where it was first called (reported if it is never defined).
    first_call: Option<Span>,
}

#[derive(Clone, Debug)]
enum GlobalSym {
    Var(GlobalVar),
    Array(GlobalArray),
    Func(usize),
}

#[derive(Clone, Copy, Debug)]
struct Local {
    slot: u16,
    ty: DeclTy,
    is_const: bool,
}

/// Where an assignment stores.
enum Place<'e> {
    Local(u16, DeclTy),
    Global(u8, DeclTy),
    Array(u8, DeclTy, &'e Expr),
}

/// State of the function being generated.
struct FnState {
    code: Vec<Pending>,
    labels: Vec<Option<u32>>,
    scopes: Vec<Vec<(String, Local)>>,
    next_slot: u32,
    max_slot: u32,
    argc: u32,
    /// (break label, continue label) of the enclosing loops.
    loops: Vec<(u32, u32)>,
    ret: DeclTy,
    name: String,
}

/// Result of code generation.
pub(crate) struct Output {
    pub code: Vec<Instruction>,
    pub strings: Vec<Vec<u8>>,
    pub globals: Vec<(u8, String)>,
    pub arduino_loop: bool,
}

pub(crate) struct Gen<'r, 's> {
    rep: &'r mut Reporter<'s>,
    globals: HashMap<String, GlobalSym>,
    global_names: Vec<(u8, String)>,
    funcs: Vec<FuncSym>,
    func_names: Vec<String>,
    next_array: u8,
    strings: Vec<Vec<u8>>,
    string_ids: HashMap<Vec<u8>, u16>,
    /// The prologue, then each finished function.
    prog: Vec<Pending>,
    func_addr: Vec<Option<usize>>,
    f: Option<FnState>,
}

impl<'r, 's> Gen<'r, 's> {
    pub fn new(rep: &'r mut Reporter<'s>) -> Self {
        Gen {
            rep,
            globals: HashMap::new(),
            global_names: Vec::new(),
            funcs: Vec::new(),
            func_names: Vec::new(),
            next_array: 0,
            strings: Vec::new(),
            string_ids: HashMap::new(),
            prog: Vec::new(),
            func_addr: Vec::new(),
            f: None,
        }
    }

    // ===== driver =====

    pub fn program(mut self, items: &[Item]) -> Option<Output> {
        // Pass 1: globals (emitting their initialisation into the prologue) and function
        // signatures, in source order.
        let mut bodies: Vec<(usize, &Function)> = Vec::new();
        for item in items {
            match item {
                Item::Globals(decls) => {
                    for d in decls {
                        self.declare_global(d);
                    }
                }
                Item::Function(f) => {
                    if let Some(id) = self.declare_function(f)
                        && f.body.is_some()
                    {
                        bodies.push((id, f));
                    }
                }
            }
        }

        // Entry sequence.
        let lookup = |g: &Self, name: &str| match g.globals.get(name) {
            Some(GlobalSym::Func(id)) if g.funcs[*id].defined => Some(*id),
            _ => None,
        };
        let main = lookup(&self, "main");
        let setup = lookup(&self, "setup");
        let loop_ = lookup(&self, "loop");
        let mut arduino_loop = false;
        let mut entry_span = Span::default();
        if let Some(id) = main {
            self.check_entry(id, "main");
            if setup.is_some() || loop_.is_some() {
                let span = self.funcs[id].span;
                self.rep.warning(
                    span,
                    "'main' is the entry point; 'setup' and 'loop' are not called",
                );
            }
            self.emit_call_entry(id);
            self.prog.push(Pending {
                ins: Instruction::new(Opcode::Halt, 0, 0),
                target: Target::None,
            });
        } else if setup.is_some() || loop_.is_some() {
            if let Some(id) = setup {
                self.check_entry(id, "setup");
                self.emit_call_entry(id);
            }
            if let Some(id) = loop_ {
                self.check_entry(id, "loop");
                let top = self.prog.len();
                self.emit_call_entry(id);
                self.prog.push(Pending {
                    ins: Instruction::new(Opcode::Jmp, 0, 0),
                    target: Target::Abs(top),
                });
                arduino_loop = true;
            } else {
                self.prog.push(Pending {
                    ins: Instruction::new(Opcode::Halt, 0, 0),
                    target: Target::None,
                });
            }
        } else if !self.rep.has_errors() {
            if let Some(Item::Function(f)) = items.last() {
                entry_span = f.end;
            }
            self.rep.error(
                entry_span,
                "program has no entry point: define 'main()', or 'setup()' and 'loop()'",
            );
        }

        // Pass 2: function bodies.
        self.func_addr = vec![None; self.funcs.len()];
        for (id, f) in bodies {
            self.function(id, f);
        }

        for (id, f) in self.funcs.iter().enumerate() {
            if !f.defined
                && let Some(span) = f.first_call
            {
                self.rep.error(
                    span,
                    format!(
                        "function '{}' is declared but never defined",
                        self.func_names[id]
                    ),
                );
            }
        }
        if self.prog.len() > MAX_CODE {
            self.rep.error(
                Span::default(),
                format!(
                    "program too large: {} instructions (at most {MAX_CODE})",
                    self.prog.len()
                ),
            );
        }
        if self.rep.has_errors() {
            return None;
        }
        let mut code = Vec::with_capacity(self.prog.len());
        for p in &self.prog {
            let mut ins = p.ins;
            let resolved = match p.target {
                Target::None => Some(ins.imm as usize),
                Target::Abs(a) => Some(a),
                Target::Func(id) => self.func_addr.get(id).copied().flatten(),
                Target::Label(_) => None,
            };
            let Some(imm) = resolved.and_then(|a| u16::try_from(a).ok()) else {
                self.rep.error(
                    Span::default(),
                    "internal compiler error: unresolved jump target",
                );
                return None;
            };
            ins.imm = imm;
            code.push(ins);
        }
        Some(Output {
            code,
            strings: self.strings,
            globals: self.global_names,
            arduino_loop,
        })
    }

    fn check_entry(&mut self, id: usize, name: &str) {
        if !self.funcs[id].params.is_empty() {
            let span = self.funcs[id].span;
            self.rep
                .error(span, format!("'{name}' must not take parameters"));
        }
    }

    fn emit_call_entry(&mut self, id: usize) {
        self.prog.push(Pending {
            ins: Instruction::new(Opcode::Call, 0, 0),
            target: Target::Func(id),
        });
        // main's return value stays on the stack as the program's result; the values of
        // setup() and loop() are dropped so that loop() can run forever.
        if self.funcs[id].ret != DeclTy::Void && self.func_names[id] != "main" {
            self.prog.push(Pending {
                ins: Instruction::new(Opcode::Pop, 0, 0),
                target: Target::None,
            });
        }
    }

    // ===== globals =====

    fn check_new_global_name(&mut self, name: &str, span: Span) -> bool {
        if is_builtin_name(name) {
            self.rep.error(
                span,
                format!("'{name}' is a built-in name and cannot be redeclared"),
            );
            return false;
        }
        if self.globals.contains_key(name) {
            self.rep.error(span, format!("redefinition of '{name}'"));
            return false;
        }
        true
    }

    fn prologue_push(&mut self, v: u32) {
        for ins in const_instructions(v) {
            self.prog.push(Pending {
                ins,
                target: Target::None,
            });
        }
    }

    fn prologue_emit(&mut self, op: Opcode, imm: u16) {
        self.prog.push(Pending {
            ins: Instruction::new(op, 0, imm),
            target: Target::None,
        });
    }

    fn declare_global(&mut self, d: &VarDecl) {
        if d.ty.ty == DeclTy::Void {
            self.rep
                .error(d.span, format!("variable '{}' declared void", d.name));
            return;
        }
        if let Some(arr) = &d.array {
            self.declare_global_array(d, arr);
            return;
        }
        if !self.check_new_global_name(&d.name, d.span) {
            return;
        }
        let mut value = None;
        if let Some(init) = &d.init {
            match self.const_eval(init) {
                Some((v, _)) => value = Some(convert_const(v, d.ty.ty)),
                None => {
                    self.check_expr_only(init);
                    self.rep.error(
                        init.span,
                        format!(
                            "initializer of global '{}' is not a constant expression",
                            d.name
                        ),
                    );
                }
            }
        } else if d.ty.is_const {
            self.rep.error(
                d.span,
                format!("const variable '{}' must be initialized", d.name),
            );
        }
        if self.global_names.len() >= MAX_GLOBALS {
            self.rep.error(
                d.span,
                format!("too many global variables (at most {MAX_GLOBALS})"),
            );
            return;
        }
        let index = self.global_names.len() as u8;
        self.global_names.push((index, d.name.clone()));
        if let Some(v) = value {
            self.prologue_push(v);
            self.prologue_emit(Opcode::StoreGlobal, index as u16);
        }
        self.globals.insert(
            d.name.clone(),
            GlobalSym::Var(GlobalVar {
                index,
                ty: d.ty.ty,
                is_const: d.ty.is_const,
                value: if d.ty.is_const { value } else { None },
            }),
        );
    }

    fn declare_global_array(&mut self, d: &VarDecl, arr: &ArrayDecl) {
        let mut ok = self.check_new_global_name(&d.name, d.span);
        let len = match &arr.len {
            Some(e) => match self.const_eval(e) {
                Some((v, ty)) => {
                    let signed_neg = ty == Ty::Int && (v as i32) < 0;
                    if signed_neg || v == 0 || v > MAX_ARRAY_LEN {
                        self.rep.error(
                            e.span,
                            format!("array size must be between 1 and {MAX_ARRAY_LEN}"),
                        );
                        ok = false;
                    }
                    v
                }
                None => {
                    self.rep
                        .error(e.span, "array size must be a constant expression");
                    ok = false;
                    0
                }
            },
            None => match &arr.init {
                Some(list) if !list.is_empty() && list.len() <= MAX_ARRAY_LEN as usize => {
                    list.len() as u32
                }
                Some(list) if !list.is_empty() => {
                    self.rep.error(
                        d.span,
                        format!("array size must be between 1 and {MAX_ARRAY_LEN}"),
                    );
                    ok = false;
                    0
                }
                _ => {
                    self.rep
                        .error(d.span, format!("array '{}' needs a size", d.name));
                    ok = false;
                    0
                }
            },
        };
        let mut values = Vec::new();
        if let Some(list) = &arr.init {
            if ok && list.len() > len as usize {
                self.rep.error(
                    list[len as usize].span,
                    format!("too many initializers for array '{}' of size {len}", d.name),
                );
                ok = false;
            }
            for e in list {
                match self.const_eval(e) {
                    Some((v, _)) => values.push(convert_const(v, d.ty.ty)),
                    None => {
                        self.check_expr_only(e);
                        self.rep
                            .error(e.span, "array initializer must be a constant expression");
                        ok = false;
                    }
                }
            }
        } else if d.ty.is_const {
            self.rep.error(
                d.span,
                format!("const array '{}' must be initialized", d.name),
            );
        }
        if !ok {
            return;
        }
        if self.next_array as usize >= MAX_ARRAYS {
            self.rep
                .error(d.span, format!("too many arrays (at most {MAX_ARRAYS})"));
            return;
        }
        let id = self.next_array;
        self.next_array += 1;
        self.prologue_push(len);
        self.prologue_emit(Opcode::CreateArray, id as u16);
        for (i, v) in values.iter().enumerate() {
            if *v != 0 {
                self.prologue_push(*v);
                self.prologue_push(i as u32);
                self.prologue_emit(Opcode::StoreArray, id as u16);
            }
        }
        self.globals.insert(
            d.name.clone(),
            GlobalSym::Array(GlobalArray {
                id,
                elem: d.ty.ty,
                len,
                is_const: d.ty.is_const,
            }),
        );
    }

    /// Registers a function's signature; returns its id unless it is rejected.
    fn declare_function(&mut self, f: &Function) -> Option<usize> {
        let mut params = Vec::new();
        let mut ok = true;
        for p in &f.params {
            if p.ty.ty == DeclTy::Void {
                self.rep.error(p.span, "parameter declared void");
                ok = false;
            }
            params.push(p.ty.ty);
        }
        if params.len() > 255 {
            self.rep.error(f.span, "too many parameters (at most 255)");
            ok = false;
        }
        if is_builtin_name(&f.name) {
            self.rep.error(
                f.span,
                format!("'{}' is a built-in name and cannot be redeclared", f.name),
            );
            return None;
        }
        match self.globals.get(&f.name) {
            Some(GlobalSym::Func(id)) => {
                let id = *id;
                let existing = &self.funcs[id];
                if existing.ret != f.ret.ty || existing.params != params {
                    self.rep.error(
                        f.span,
                        format!(
                            "conflicting types for '{}' (see its earlier declaration)",
                            f.name
                        ),
                    );
                    return None;
                }
                if f.body.is_some() {
                    if existing.defined {
                        self.rep
                            .error(f.span, format!("redefinition of function '{}'", f.name));
                        return None;
                    }
                    self.funcs[id].defined = true;
                    self.funcs[id].span = f.span;
                }
                ok.then_some(id)
            }
            Some(_) => {
                self.rep.error(
                    f.span,
                    format!("'{}' redeclared as a function (it is a variable)", f.name),
                );
                None
            }
            None => {
                let id = self.funcs.len();
                self.funcs.push(FuncSym {
                    ret: f.ret.ty,
                    params,
                    span: f.span,
                    defined: f.body.is_some(),
                    first_call: None,
                });
                self.func_names.push(f.name.clone());
                self.globals.insert(f.name.clone(), GlobalSym::Func(id));
                ok.then_some(id)
            }
        }
    }

    // ===== functions =====

    fn function(&mut self, id: usize, f: &Function) {
        let Some(body) = &f.body else { return };
        let argc = f.params.len() as u32;
        let mut st = FnState {
            code: Vec::new(),
            labels: Vec::new(),
            scopes: vec![Vec::new()],
            next_slot: 0,
            max_slot: argc,
            argc,
            loops: Vec::new(),
            ret: f.ret.ty,
            name: f.name.clone(),
        };
        for (i, p) in f.params.iter().enumerate() {
            if let Some(name) = &p.name {
                if st.scopes[0].iter().any(|(n, _)| n == name) {
                    self.rep
                        .error(p.span, format!("redefinition of parameter '{name}'"));
                }
                if is_builtin_name(name) {
                    self.rep.error(
                        p.span,
                        format!("'{name}' is a built-in name and cannot be redeclared"),
                    );
                }
                st.scopes[0].push((
                    name.clone(),
                    Local {
                        slot: i as u16,
                        ty: p.ty.ty,
                        is_const: p.ty.is_const,
                    },
                ));
            }
        }
        st.next_slot = argc;
        self.f = Some(st);
        // Parameters and the outermost block share one scope, as in C.
        for s in body {
            self.stmt(s);
        }
        // Falling off the end.
        if f.ret.ty == DeclTy::Void {
            self.emit(Opcode::Ret, 0, 0);
        } else {
            self.push_const(0);
            self.emit(Opcode::Ret, RET_VALUE, 0);
        }
        let Some(st) = self.f.take() else { return };
        if st.max_slot > MAX_SLOTS {
            self.rep.error(
                f.span,
                format!(
                    "function '{}' needs {} frame slots (at most {MAX_SLOTS})",
                    f.name, st.max_slot
                ),
            );
        }
        let base = self.prog.len();
        self.func_addr[id] = Some(base);
        let zeros = st.max_slot.saturating_sub(st.argc).min(MAX_SLOTS) as usize;
        for _ in 0..zeros {
            self.prog.push(Pending {
                ins: Instruction::new(Opcode::Push, 0, 0),
                target: Target::None,
            });
        }
        let body_base = self.prog.len();
        for p in st.code {
            let target = match p.target {
                Target::Label(l) => match st.labels.get(l as usize).copied().flatten() {
                    Some(pos) => Target::Abs(body_base + pos as usize),
                    None => Target::Label(l),
                },
                t => t,
            };
            self.prog.push(Pending { ins: p.ins, target });
        }
    }

    fn fs(&mut self) -> &mut FnState {
        self.f.as_mut().expect("code generation outside a function")
    }

    fn emit(&mut self, op: Opcode, flags: u8, imm: u16) {
        if let Some(f) = self.f.as_mut() {
            f.code.push(Pending {
                ins: Instruction::new(op, flags, imm),
                target: Target::None,
            });
        }
    }

    fn emit_to(&mut self, op: Opcode, flags: u8, target: Target) {
        if let Some(f) = self.f.as_mut() {
            f.code.push(Pending {
                ins: Instruction::new(op, flags, 0),
                target,
            });
        }
    }

    fn new_label(&mut self) -> u32 {
        let f = self.fs();
        f.labels.push(None);
        (f.labels.len() - 1) as u32
    }

    fn bind(&mut self, label: u32) {
        let f = self.fs();
        let pos = f.code.len() as u32;
        if let Some(slot) = f.labels.get_mut(label as usize) {
            *slot = Some(pos);
        }
    }

    fn jump(&mut self, op: Opcode, label: u32) {
        self.emit_to(op, 0, Target::Label(label));
    }

    fn push_const(&mut self, v: u32) {
        for ins in const_instructions(v) {
            self.emit(ins.op().unwrap_or(Opcode::Push), ins.flags, ins.imm);
        }
    }

    fn alloc_slot(&mut self) -> u16 {
        let f = self.fs();
        let slot = f.next_slot;
        f.next_slot += 1;
        f.max_slot = f.max_slot.max(f.next_slot);
        slot.min(u16::MAX as u32) as u16
    }

    fn push_scope(&mut self) -> u32 {
        let f = self.fs();
        f.scopes.push(Vec::new());
        f.next_slot
    }

    fn pop_scope(&mut self, mark: u32) {
        let f = self.fs();
        f.scopes.pop();
        f.next_slot = mark;
    }

    fn find_local(&self, name: &str) -> Option<Local> {
        let f = self.f.as_ref()?;
        f.scopes
            .iter()
            .rev()
            .find_map(|s| s.iter().rev().find(|(n, _)| n == name).map(|(_, l)| *l))
    }

    fn intern(&mut self, s: &[u8], span: Span) -> u16 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        if self.strings.len() >= u16::MAX as usize {
            self.rep.error(span, "too many distinct strings");
            return 0;
        }
        let id = self.strings.len() as u16;
        self.strings.push(s.to_vec());
        self.string_ids.insert(s.to_vec(), id);
        id
    }

    // ===== statements =====

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Empty => {}
            Stmt::Expr(e) => {
                if !has_side_effects(e) {
                    self.rep.warning(e.span, "statement has no effect");
                }
                self.discard(e);
            }
            Stmt::Block(stmts) => {
                let mark = self.push_scope();
                for s in stmts {
                    self.stmt(s);
                }
                self.pop_scope(mark);
            }
            Stmt::Decl(decls) => {
                for d in decls {
                    self.local_decl(d);
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                let else_l = self.new_label();
                self.cond_value(cond);
                self.jump(Opcode::JmpFalse, else_l);
                self.sub_stmt(then);
                if let Some(o) = otherwise {
                    let end = self.new_label();
                    self.jump(Opcode::Jmp, end);
                    self.bind(else_l);
                    self.sub_stmt(o);
                    self.bind(end);
                } else {
                    self.bind(else_l);
                }
            }
            Stmt::While { cond, body } => {
                let (brk, cont) = (self.new_label(), self.new_label());
                self.bind(cont);
                self.loop_cond(cond, brk);
                self.loop_body(body, brk, cont);
                self.jump(Opcode::Jmp, cont);
                self.bind(brk);
            }
            Stmt::DoWhile { body, cond } => {
                let (top, brk, cont) = (self.new_label(), self.new_label(), self.new_label());
                self.bind(top);
                self.loop_body(body, brk, cont);
                self.bind(cont);
                self.cond_value(cond);
                self.jump(Opcode::JmpTrue, top);
                self.bind(brk);
            }
            Stmt::For {
                init,
                cond,
                step,
                body,
            } => {
                let mark = self.push_scope();
                if let Some(init) = init {
                    self.stmt(init);
                }
                let (top, brk, cont) = (self.new_label(), self.new_label(), self.new_label());
                self.bind(top);
                if let Some(c) = cond {
                    self.loop_cond(c, brk);
                }
                self.loop_body(body, brk, cont);
                self.bind(cont);
                if let Some(s) = step {
                    self.discard(s);
                }
                self.jump(Opcode::Jmp, top);
                self.bind(brk);
                self.pop_scope(mark);
            }
            Stmt::Break(span) => match self.fs().loops.last().copied() {
                Some((brk, _)) => self.jump(Opcode::Jmp, brk),
                None => self.rep.error(*span, "'break' outside of a loop"),
            },
            Stmt::Continue(span) => match self.fs().loops.last().copied() {
                Some((_, cont)) => self.jump(Opcode::Jmp, cont),
                None => self.rep.error(*span, "'continue' outside of a loop"),
            },
            Stmt::Return(value, span) => {
                let (ret, name) = {
                    let f = self.fs();
                    (f.ret, f.name.clone())
                };
                match (ret, value) {
                    (DeclTy::Void, None) => self.emit(Opcode::Ret, 0, 0),
                    (DeclTy::Void, Some(e)) => {
                        self.rep.error(
                            e.span,
                            format!("void function '{name}' should not return a value"),
                        );
                    }
                    (_, None) => {
                        self.rep.error(
                            *span,
                            format!("non-void function '{name}' must return a value"),
                        );
                    }
                    (ty, Some(e)) => {
                        self.converted(e, ty);
                        self.emit(Opcode::Ret, RET_VALUE, 0);
                    }
                }
            }
        }
    }

    /// A statement that is the body of `if`/`else`/a loop: a declaration there gets its own scope.
    fn sub_stmt(&mut self, s: &Stmt) {
        let mark = self.push_scope();
        self.stmt(s);
        self.pop_scope(mark);
    }

    fn loop_body(&mut self, body: &Stmt, brk: u32, cont: u32) {
        self.fs().loops.push((brk, cont));
        self.sub_stmt(body);
        self.fs().loops.pop();
    }

    /// Emits the test of a `while`/`for` loop (nothing if it is a non-zero constant).
    fn loop_cond(&mut self, cond: &Expr, brk: u32) {
        if let Some((v, _)) = self.const_eval(cond)
            && v != 0
        {
            return;
        }
        self.cond_value(cond);
        self.jump(Opcode::JmpFalse, brk);
    }

    fn cond_value(&mut self, cond: &Expr) {
        self.value(cond);
    }

    fn local_decl(&mut self, d: &VarDecl) {
        if d.array.is_some() {
            self.rep.error(
                d.span,
                format!(
                    "local array '{}': arrays must be declared at global scope",
                    d.name
                ),
            );
            return;
        }
        if d.ty.ty == DeclTy::Void {
            self.rep
                .error(d.span, format!("variable '{}' declared void", d.name));
            return;
        }
        if is_builtin_name(&d.name) {
            self.rep.error(
                d.span,
                format!("'{}' is a built-in name and cannot be redeclared", d.name),
            );
            return;
        }
        let redeclared = self
            .f
            .as_ref()
            .and_then(|f| f.scopes.last())
            .is_some_and(|s| s.iter().any(|(n, _)| *n == d.name));
        if redeclared {
            self.rep
                .error(d.span, format!("redeclaration of '{}'", d.name));
        }
        // The initializer is generated before the name is in scope.
        match &d.init {
            Some(e) => self.converted(e, d.ty.ty),
            None => {
                if d.ty.is_const {
                    self.rep.error(
                        d.span,
                        format!("const variable '{}' must be initialized", d.name),
                    );
                }
                self.push_const(0);
            }
        }
        let slot = self.alloc_slot();
        self.emit(Opcode::StoreLocal, 0, slot);
        let local = Local {
            slot,
            ty: d.ty.ty,
            is_const: d.ty.is_const,
        };
        if let Some(scope) = self.fs().scopes.last_mut() {
            scope.push((d.name.clone(), local));
        }
    }

    // ===== expressions =====

    /// Evaluates a constant expression (literals, built-in constants, `const` globals) the way
    /// the VM would; `None` if it is not constant (or divides by zero).
    fn const_eval(&self, e: &Expr) -> Option<(u32, Ty)> {
        Some(match &e.kind {
            ExprKind::Int { value, unsigned } => {
                (*value, if *unsigned { Ty::Uint } else { Ty::Int })
            }
            ExprKind::Ident(name) => {
                if self.find_local(name).is_some() {
                    return None;
                }
                match self.globals.get(name) {
                    Some(GlobalSym::Var(g)) => (g.value?, g.ty.value_ty()),
                    Some(_) => return None,
                    None => (builtin_constant(name)?, Ty::Int),
                }
            }
            ExprKind::Unary { op, expr } => {
                let (v, ty) = self.const_eval(expr)?;
                match op {
                    UnOp::Neg => (v.wrapping_neg(), ty),
                    UnOp::Plus => (v, ty),
                    UnOp::Not => (u32::from(v == 0), Ty::Int),
                    UnOp::BitNot => (!v, ty),
                }
            }
            ExprKind::Cast { ty, expr } => {
                if *ty == DeclTy::Void {
                    return None;
                }
                let (v, _) = self.const_eval(expr)?;
                (convert_const(v, *ty), ty.value_ty())
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, at) = self.const_eval(lhs)?;
                let (b, bt) = self.const_eval(rhs)?;
                binary_const(*op, a, at, b, bt)?
            }
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                let (c, _) = self.const_eval(cond)?;
                let (t, tt) = self.const_eval(then)?;
                let (o, ot) = self.const_eval(otherwise)?;
                (if c != 0 { t } else { o }, common(tt, ot))
            }
            _ => return None,
        })
    }

    /// Generates `e` (for its diagnostics) in a context where no code may be emitted.
    fn check_expr_only(&mut self, e: &Expr) {
        if self.f.is_none() {
            // Outside functions: only resolve names so that typos are reported too.
            self.check_names(e);
        }
    }

    fn check_names(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Ident(name)
                if !self.globals.contains_key(name) && builtin_constant(name).is_none() =>
            {
                self.rep
                    .error(e.span, format!("undefined variable '{name}'"));
            }
            ExprKind::Unary { expr, .. } | ExprKind::Cast { expr, .. } => self.check_names(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.check_names(lhs);
                self.check_names(rhs);
            }
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                self.check_names(cond);
                self.check_names(then);
                self.check_names(otherwise);
            }
            _ => {}
        }
    }

    /// Generates `e` for its value, converted to the storage type `ty` (constants folded).
    fn converted(&mut self, e: &Expr, ty: DeclTy) {
        if let Some((v, _)) = self.const_eval(e) {
            self.push_const(convert_const(v, ty));
            return;
        }
        self.value(e);
        self.convert(ty);
    }

    /// Emits the conversion of the value on top of the stack to storage type `ty`.
    fn convert(&mut self, ty: DeclTy) {
        match ty {
            DeclTy::Bool => {
                self.push_const(0);
                self.emit(Opcode::Ne, 0, 0);
            }
            DeclTy::U8 | DeclTy::U16 => {
                self.push_const(if ty == DeclTy::U8 { 0xFF } else { 0xFFFF });
                self.emit(Opcode::BitAnd, 0, 0);
            }
            DeclTy::I8 | DeclTy::I16 => {
                let shift = if ty == DeclTy::I8 { 24 } else { 16 };
                self.push_const(shift);
                self.emit(Opcode::Shl, 0, 0);
                self.push_const(shift);
                self.emit(Opcode::Shr, 0, 0);
            }
            DeclTy::I32 | DeclTy::U32 | DeclTy::Void => {}
        }
    }

    /// Generates `e` for its value: pushes exactly one word. A void expression is an error.
    fn value(&mut self, e: &Expr) -> Ty {
        let ty = self.expr(e);
        if ty == Ty::Void {
            let what = match &e.kind {
                ExprKind::Call { name, .. } => {
                    format!("'{name}' returns void; its result cannot be used as a value")
                }
                _ => "void value used in an expression".to_string(),
            };
            self.rep.error(e.span, what);
            self.push_const(0);
            return Ty::Int;
        }
        ty
    }

    /// Generates `e` for its side effects only: pushes nothing.
    fn discard(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Assign { op, target, value } => {
                self.assign(*op, target, value, false, e.span);
            }
            ExprKind::IncDec { inc, target, .. } => {
                self.incdec(true, *inc, target, false, e.span);
            }
            ExprKind::Binary {
                op: BinOp::Comma,
                lhs,
                rhs,
            } => {
                self.discard(lhs);
                self.discard(rhs);
            }
            ExprKind::Binary {
                op: op @ (BinOp::LogAnd | BinOp::LogOr),
                lhs,
                rhs,
            } if self.const_eval(e).is_none() => {
                let end = self.new_label();
                self.value(lhs);
                let jump = if *op == BinOp::LogAnd {
                    Opcode::JmpFalse
                } else {
                    Opcode::JmpTrue
                };
                self.jump(jump, end);
                self.discard(rhs);
                self.bind(end);
            }
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } if self.const_eval(e).is_none() => {
                let (else_l, end) = (self.new_label(), self.new_label());
                self.value(cond);
                self.jump(Opcode::JmpFalse, else_l);
                self.discard(then);
                self.jump(Opcode::Jmp, end);
                self.bind(else_l);
                self.discard(otherwise);
                self.bind(end);
            }
            ExprKind::Cast {
                ty: DeclTy::Void,
                expr,
            } => self.discard(expr),
            _ => {
                if self.expr(e) != Ty::Void {
                    self.emit(Opcode::Pop, 0, 0);
                }
            }
        }
    }

    /// Generates `e`; pushes one word unless the result is `Ty::Void`.
    fn expr(&mut self, e: &Expr) -> Ty {
        if !matches!(e.kind, ExprKind::Int { .. })
            && let Some((v, ty)) = self.const_eval(e)
        {
            self.push_const(v);
            return ty;
        }
        match &e.kind {
            ExprKind::Int { value, unsigned } => {
                self.push_const(*value);
                if *unsigned { Ty::Uint } else { Ty::Int }
            }
            ExprKind::Str(_) => {
                self.rep.error(
                    e.span,
                    "string literals can only be used as printf arguments",
                );
                self.push_const(0);
                Ty::Int
            }
            ExprKind::Ident(name) => self.load_ident(name, e.span),
            ExprKind::Index {
                name,
                name_span,
                index,
            } => match self.array(name, *name_span) {
                Some(a) => {
                    self.index(&a, index);
                    self.emit(Opcode::LoadArray, 0, a.id as u16);
                    a.elem.value_ty()
                }
                None => {
                    self.value(index);
                    Ty::Int
                }
            },
            ExprKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, *name_span, args, e.span),
            ExprKind::Unary { op, expr } => match op {
                UnOp::Neg => {
                    self.push_const(0);
                    let ty = self.value(expr);
                    self.emit(Opcode::Sub, 0, 0);
                    ty
                }
                UnOp::Plus => self.value(expr),
                UnOp::Not => {
                    self.value(expr);
                    self.emit(Opcode::Not, 0, 0);
                    Ty::Int
                }
                UnOp::BitNot => {
                    let ty = self.value(expr);
                    self.emit(Opcode::BitNot, 0, 0);
                    ty
                }
            },
            ExprKind::Cast { ty, expr } => {
                if *ty == DeclTy::Void {
                    self.discard(expr);
                    return Ty::Void;
                }
                self.value(expr);
                self.convert(*ty);
                ty.value_ty()
            }
            ExprKind::IncDec {
                prefix,
                inc,
                target,
            } => self.incdec(*prefix, *inc, target, true, e.span),
            ExprKind::Assign { op, target, value } => self.assign(*op, target, value, true, e.span),
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                let (else_l, end) = (self.new_label(), self.new_label());
                self.value(cond);
                self.jump(Opcode::JmpFalse, else_l);
                let tt = self.expr(then);
                self.jump(Opcode::Jmp, end);
                self.bind(else_l);
                let ot = self.expr(otherwise);
                self.bind(end);
                match (tt, ot) {
                    (Ty::Void, Ty::Void) => Ty::Void,
                    (Ty::Void, _) | (_, Ty::Void) => {
                        self.rep.error(
                            e.span,
                            "both branches of '?:' must be void, or both must have a value",
                        );
                        Ty::Int
                    }
                    (a, b) => common(a, b),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
        }
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> Ty {
        match op {
            BinOp::Comma => {
                self.discard(lhs);
                self.expr(rhs)
            }
            BinOp::LogAnd | BinOp::LogOr => {
                let (short, end) = (self.new_label(), self.new_label());
                let jump = if op == BinOp::LogAnd {
                    Opcode::JmpFalse
                } else {
                    Opcode::JmpTrue
                };
                self.value(lhs);
                self.jump(jump, short);
                self.value(rhs);
                self.jump(jump, short);
                self.push_const(u32::from(op == BinOp::LogAnd));
                self.jump(Opcode::Jmp, end);
                self.bind(short);
                self.push_const(u32::from(op == BinOp::LogOr));
                self.bind(end);
                Ty::Int
            }
            _ => {
                let lt = self.value(lhs);
                let rt = self.value(rhs);
                if matches!(op, BinOp::Div | BinOp::Mod)
                    && let Some((0, _)) = self.const_eval(rhs)
                {
                    self.rep.warning(rhs.span, "division by zero");
                }
                self.arith(op, lt, rt)
            }
        }
    }

    /// Emits the opcode of an arithmetic/bitwise/comparison operator whose operands (of types
    /// `lt`, `rt`) are on the stack; returns the result type.
    fn arith(&mut self, op: BinOp, lt: Ty, rt: Ty) -> Ty {
        let ty = common(lt, rt);
        let unsigned = ty == Ty::Uint;
        let (opcode, result) = match op {
            BinOp::Add => (Opcode::Add, ty),
            BinOp::Sub => (Opcode::Sub, ty),
            BinOp::Mul => (Opcode::Mul, ty),
            BinOp::Div => (if unsigned { Opcode::DivU } else { Opcode::Div }, ty),
            BinOp::Mod => (if unsigned { Opcode::ModU } else { Opcode::Mod }, ty),
            BinOp::BitAnd => (Opcode::BitAnd, ty),
            BinOp::BitOr => (Opcode::BitOr, ty),
            BinOp::BitXor => (Opcode::BitXor, ty),
            // The type of a shift is the (promoted) left operand's.
            BinOp::Shl => (Opcode::Shl, lt),
            BinOp::Shr => (
                if lt == Ty::Uint {
                    Opcode::ShrU
                } else {
                    Opcode::Shr
                },
                lt,
            ),
            BinOp::Lt => (if unsigned { Opcode::Lt } else { Opcode::LtS }, Ty::Int),
            BinOp::Le => (if unsigned { Opcode::Le } else { Opcode::LeS }, Ty::Int),
            BinOp::Gt => (if unsigned { Opcode::Gt } else { Opcode::GtS }, Ty::Int),
            BinOp::Ge => (if unsigned { Opcode::Ge } else { Opcode::GeS }, Ty::Int),
            BinOp::Eq => (Opcode::Eq, Ty::Int),
            BinOp::Ne => (Opcode::Ne, Ty::Int),
            BinOp::LogAnd | BinOp::LogOr | BinOp::Comma => (Opcode::Pop, Ty::Int),
        };
        self.emit(opcode, 0, 0);
        result
    }

    fn load_ident(&mut self, name: &str, span: Span) -> Ty {
        if let Some(l) = self.find_local(name) {
            self.emit(Opcode::LoadLocal, 0, l.slot);
            return l.ty.value_ty();
        }
        match self.globals.get(name).cloned() {
            Some(GlobalSym::Var(g)) => {
                self.emit(Opcode::LoadGlobal, 0, g.index as u16);
                g.ty.value_ty()
            }
            Some(GlobalSym::Array(_)) => {
                self.rep.error(
                    span,
                    format!("array '{name}' used without an index (arrays are not values)"),
                );
                self.push_const(0);
                Ty::Int
            }
            Some(GlobalSym::Func(_)) => {
                self.rep.error(
                    span,
                    format!("function '{name}' used as a value (missing '()')"),
                );
                self.push_const(0);
                Ty::Int
            }
            None => {
                if let Some(v) = builtin_constant(name) {
                    self.push_const(v);
                    return Ty::Int;
                }
                let msg = if builtin_function(name).is_some() || name == "printf" {
                    format!("built-in function '{name}' used as a value (missing '()')")
                } else {
                    format!("undefined variable '{name}'")
                };
                self.rep.error(span, msg);
                self.push_const(0);
                Ty::Int
            }
        }
    }

    /// Resolves `name` as a global array (error otherwise).
    fn array(&mut self, name: &str, span: Span) -> Option<GlobalArray> {
        if self.find_local(name).is_some() {
            self.rep.error(
                span,
                format!("'{name}' is not an array (it is a local variable)"),
            );
            return None;
        }
        match self.globals.get(name) {
            Some(GlobalSym::Array(a)) => Some(a.clone()),
            Some(_) => {
                self.rep.error(span, format!("'{name}' is not an array"));
                None
            }
            None => {
                self.rep.error(span, format!("undefined array '{name}'"));
                None
            }
        }
    }

    /// Pushes an array index (warns about constant indices out of bounds).
    fn index(&mut self, a: &GlobalArray, index: &Expr) {
        if let Some((v, ty)) = self.const_eval(index)
            && ((ty == Ty::Int && (v as i32) < 0) || v >= a.len)
        {
            let shown = if ty == Ty::Int {
                (v as i32).to_string()
            } else {
                v.to_string()
            };
            self.rep.warning(
                index.span,
                format!(
                    "index {shown} is out of bounds for an array of {} elements",
                    a.len
                ),
            );
        }
        self.value(index);
    }

    /// Resolves an assignment target.
    fn place<'e>(&mut self, target: &'e Expr) -> Option<Place<'e>> {
        match &target.kind {
            ExprKind::Ident(name) => {
                if let Some(l) = self.find_local(name) {
                    if l.is_const {
                        self.rep.error(
                            target.span,
                            format!("cannot assign to const variable '{name}'"),
                        );
                    }
                    return Some(Place::Local(l.slot, l.ty));
                }
                match self.globals.get(name) {
                    Some(GlobalSym::Var(g)) => {
                        if g.is_const {
                            self.rep.error(
                                target.span,
                                format!("cannot assign to const variable '{name}'"),
                            );
                        }
                        Some(Place::Global(g.index, g.ty))
                    }
                    Some(GlobalSym::Array(_)) => {
                        self.rep.error(
                            target.span,
                            format!("cannot assign to array '{name}' (assign its elements)"),
                        );
                        None
                    }
                    Some(GlobalSym::Func(_)) => {
                        self.rep
                            .error(target.span, format!("cannot assign to function '{name}'"));
                        None
                    }
                    None => {
                        let msg = if is_builtin_name(name) {
                            format!("cannot assign to built-in '{name}'")
                        } else {
                            format!("undefined variable '{name}'")
                        };
                        self.rep.error(target.span, msg);
                        None
                    }
                }
            }
            ExprKind::Index {
                name,
                name_span,
                index,
            } => {
                let a = self.array(name, *name_span)?;
                if a.is_const {
                    self.rep.error(
                        target.span,
                        format!("cannot assign to const array '{name}'"),
                    );
                }
                Some(Place::Array(a.id, a.elem, index))
            }
            _ => {
                self.rep.error(target.span, "expression is not assignable");
                None
            }
        }
    }

    fn load_place(&mut self, p: &Place) {
        match p {
            Place::Local(slot, _) => self.emit(Opcode::LoadLocal, 0, *slot),
            Place::Global(index, _) => self.emit(Opcode::LoadGlobal, 0, *index as u16),
            Place::Array(..) => {}
        }
    }

    fn store_place(&mut self, p: &Place) {
        match p {
            Place::Local(slot, _) => self.emit(Opcode::StoreLocal, 0, *slot),
            Place::Global(index, _) => self.emit(Opcode::StoreGlobal, 0, *index as u16),
            Place::Array(..) => {}
        }
    }

    /// The array `id` with elements of type `elem`, as the target of a store.
    fn writable_array(&self, id: u8, elem: DeclTy) -> GlobalArray {
        GlobalArray {
            id,
            elem,
            len: self
                .globals
                .values()
                .find_map(|g| match g {
                    GlobalSym::Array(a) if a.id == id => Some(a.len),
                    _ => None,
                })
                .unwrap_or(MAX_ARRAY_LEN),
            is_const: false,
        }
    }

    /// `target = value` / `target op= value`. Pushes the assigned value if `needed`.
    fn assign(
        &mut self,
        op: Option<BinOp>,
        target: &Expr,
        value: &Expr,
        needed: bool,
        span: Span,
    ) -> Ty {
        let Some(place) = self.place(target) else {
            // Still check the value expression.
            self.discard(value);
            if needed {
                self.push_const(0);
            }
            return Ty::Int;
        };
        let _ = span;
        match place {
            Place::Local(_, ty) | Place::Global(_, ty) => {
                match op {
                    None => self.converted(value, ty),
                    Some(op) => {
                        self.load_place(&place);
                        let rt = self.value(value);
                        self.arith(op, ty.value_ty(), rt);
                        self.convert(ty);
                    }
                }
                self.store_place(&place);
                if needed {
                    self.load_place(&place);
                }
                ty.value_ty()
            }
            Place::Array(id, elem, index) => {
                let a = self.writable_array(id, elem);
                match op {
                    None if !needed => {
                        self.converted(value, elem);
                        self.index(&a, index);
                        self.emit(Opcode::StoreArray, 0, id as u16);
                    }
                    None => {
                        let mark = self.fs().next_slot;
                        let tv = self.alloc_slot();
                        self.converted(value, elem);
                        self.emit(Opcode::StoreLocal, 0, tv);
                        self.emit(Opcode::LoadLocal, 0, tv);
                        self.index(&a, index);
                        self.emit(Opcode::StoreArray, 0, id as u16);
                        self.emit(Opcode::LoadLocal, 0, tv);
                        self.fs().next_slot = mark;
                    }
                    Some(op) => {
                        let keep = if needed { Keep::New } else { Keep::Nothing };
                        self.array_update(&a, index, keep, |g| {
                            let rt = g.value(value);
                            g.arith(op, elem.value_ty(), rt);
                            g.convert(elem);
                        });
                    }
                }
                elem.value_ty()
            }
        }
    }

    /// `a[index] = modify(a[index])` with `index` evaluated once (kept in a hidden frame slot,
    /// since it may have side effects). `modify` finds the element's value on the stack and
    /// leaves the new value. Afterwards the stack holds the element's old value
    /// ([`Keep::Old`], postfix `++`/`--`), its new value ([`Keep::New`], an assignment whose
    /// value is used) or nothing.
    fn array_update(
        &mut self,
        a: &GlobalArray,
        index: &Expr,
        keep: Keep,
        modify: impl FnOnce(&mut Self),
    ) {
        let id = u16::from(a.id);
        let mark = self.fs().next_slot;
        let ti = self.alloc_slot();
        self.index(a, index);
        self.emit(Opcode::StoreLocal, 0, ti);
        self.emit(Opcode::LoadLocal, 0, ti);
        self.emit(Opcode::LoadArray, 0, id);
        let keep_top = |g: &mut Self| {
            let tv = g.alloc_slot();
            g.emit(Opcode::StoreLocal, 0, tv);
            g.emit(Opcode::LoadLocal, 0, tv);
            tv
        };
        let old = (keep == Keep::Old).then(|| keep_top(self));
        modify(self);
        let new = (keep == Keep::New).then(|| keep_top(self));
        self.emit(Opcode::LoadLocal, 0, ti);
        self.emit(Opcode::StoreArray, 0, id);
        if let Some(tv) = old.or(new) {
            self.emit(Opcode::LoadLocal, 0, tv);
        }
        self.fs().next_slot = mark;
    }

    /// `++x`, `x++`, `--x`, `x--`. Pushes the expression's value if `needed`.
    fn incdec(&mut self, prefix: bool, inc: bool, target: &Expr, needed: bool, span: Span) -> Ty {
        let op = if inc { BinOp::Add } else { BinOp::Sub };
        let one = Expr::new(
            ExprKind::Int {
                value: 1,
                unsigned: false,
            },
            span,
        );
        if prefix || !needed {
            return self.assign(Some(op), target, &one, needed, span);
        }
        let Some(place) = self.place(target) else {
            self.push_const(0);
            return Ty::Int;
        };
        match place {
            Place::Local(_, ty) | Place::Global(_, ty) => {
                // old value stays below: load, load, ±1, store.
                self.load_place(&place);
                self.load_place(&place);
                self.push_const(1);
                self.arith(op, ty.value_ty(), Ty::Int);
                self.convert(ty);
                self.store_place(&place);
                ty.value_ty()
            }
            Place::Array(id, elem, index) => {
                let a = self.writable_array(id, elem);
                self.array_update(&a, index, Keep::Old, |g| {
                    g.push_const(1);
                    g.arith(op, elem.value_ty(), Ty::Int);
                    g.convert(elem);
                });
                elem.value_ty()
            }
        }
    }

    fn call(&mut self, name: &str, name_span: Span, args: &[Expr], span: Span) -> Ty {
        if name == "printf" {
            self.printf(args, span);
            return Ty::Void;
        }
        if self.find_local(name).is_some() {
            self.rep
                .error(name_span, format!("'{name}' is a variable, not a function"));
            for a in args {
                self.discard(a);
            }
            self.push_const(0);
            return Ty::Int;
        }
        if let Some((op, argc, ret)) = builtin_function(name) {
            if args.len() != argc {
                self.arg_count_error(name, argc, args.len(), span);
            }
            for a in args {
                self.value(a);
            }
            if args.len() == argc {
                self.emit(op, 0, 0);
            } else {
                for _ in args {
                    self.emit(Opcode::Pop, 0, 0);
                }
                if ret != Ty::Void {
                    self.push_const(0);
                }
            }
            return ret;
        }
        let id = match self.globals.get(name) {
            Some(GlobalSym::Func(id)) => *id,
            Some(_) => {
                self.rep
                    .error(name_span, format!("'{name}' is not a function"));
                for a in args {
                    self.discard(a);
                }
                self.push_const(0);
                return Ty::Int;
            }
            None => {
                self.rep
                    .error(name_span, format!("undefined function '{name}'"));
                for a in args {
                    self.discard(a);
                }
                self.push_const(0);
                return Ty::Int;
            }
        };
        let params = self.funcs[id].params.clone();
        let ret = self.funcs[id].ret;
        if self.funcs[id].first_call.is_none() {
            self.funcs[id].first_call = Some(name_span);
        }
        if args.len() != params.len() {
            self.arg_count_error(name, params.len(), args.len(), span);
            for a in args {
                self.discard(a);
            }
            return if ret == DeclTy::Void {
                Ty::Void
            } else {
                self.push_const(0);
                ret.value_ty()
            };
        }
        for (a, p) in args.iter().zip(&params) {
            self.converted(a, *p);
        }
        self.emit_to(Opcode::Call, args.len() as u8, Target::Func(id));
        ret.value_ty()
    }

    fn arg_count_error(&mut self, name: &str, expected: usize, got: usize, span: Span) {
        self.rep.error(
            span,
            format!(
                "function '{name}' expects {expected} argument{}, but {got} {} given",
                if expected == 1 { "" } else { "s" },
                if got == 1 { "was" } else { "were" }
            ),
        );
    }

    fn printf(&mut self, args: &[Expr], span: Span) {
        let Some(first) = args.first() else {
            self.rep.error(
                span,
                "printf needs a format string literal as its first argument",
            );
            return;
        };
        let ExprKind::Str(fmt) = &first.kind else {
            self.rep.error(
                first.span,
                "the first argument of printf must be a string literal",
            );
            for a in args {
                self.discard(a);
            }
            return;
        };
        let fmt = c_string(fmt);
        let rest = &args[1..];
        let convs = match parse_format(fmt) {
            Ok(c) => c,
            Err(msg) => {
                self.rep.error(first.span, msg);
                return;
            }
        };
        if convs.len() != rest.len() {
            self.rep.error(
                span,
                format!(
                    "printf format has {} conversion{} but {} argument{} given",
                    convs.len(),
                    if convs.len() == 1 { "" } else { "s" },
                    rest.len(),
                    if rest.len() == 1 { " was" } else { "s were" }
                ),
            );
            return;
        }
        if rest.len() > PRINTF_MAX_ARGS {
            self.rep.error(
                span,
                format!("printf takes at most {PRINTF_MAX_ARGS} arguments after the format"),
            );
            return;
        }
        let fmt_id = self.intern(fmt, first.span);
        for (a, c) in rest.iter().zip(&convs) {
            match (c, &a.kind) {
                (Conv::Str, ExprKind::Str(s)) => {
                    let id = self.intern(c_string(s), a.span);
                    self.push_const(id as u32);
                }
                (Conv::Str, _) => {
                    self.rep
                        .error(a.span, "the argument for %s must be a string literal");
                }
                (Conv::Number(c), ExprKind::Str(_)) => {
                    self.rep.error(
                        a.span,
                        format!("string literal given for '%{}' (use %s)", *c as char),
                    );
                }
                (Conv::Number(_), _) => {
                    self.value(a);
                }
            }
        }
        self.push_const(rest.len() as u32);
        self.emit(Opcode::Printf, 0, fmt_id);
    }
}

/// Folds a binary operator exactly as the VM computes it; `None` for `,` and division by zero.
fn binary_const(op: BinOp, a: u32, at: Ty, b: u32, bt: Ty) -> Option<(u32, Ty)> {
    let ty = common(at, bt);
    let uns = ty == Ty::Uint;
    let (sa, sb) = (a as i32, b as i32);
    let bool_ = |c: bool| (u32::from(c), Ty::Int);
    Some(match op {
        BinOp::Add => (a.wrapping_add(b), ty),
        BinOp::Sub => (a.wrapping_sub(b), ty),
        BinOp::Mul => (a.wrapping_mul(b), ty),
        BinOp::Div | BinOp::Mod if b == 0 => return None,
        BinOp::Div if uns => (a / b, ty),
        BinOp::Div => (sa.wrapping_div(sb) as u32, ty),
        BinOp::Mod if uns => (a % b, ty),
        BinOp::Mod => (sa.wrapping_rem(sb) as u32, ty),
        BinOp::BitAnd => (a & b, ty),
        BinOp::BitOr => (a | b, ty),
        BinOp::BitXor => (a ^ b, ty),
        BinOp::Shl => (a.wrapping_shl(b & 31), at),
        BinOp::Shr if at == Ty::Uint => (a >> (b & 31), at),
        BinOp::Shr => ((sa >> (b & 31)) as u32, at),
        BinOp::Lt => bool_(if uns { a < b } else { sa < sb }),
        BinOp::Le => bool_(if uns { a <= b } else { sa <= sb }),
        BinOp::Gt => bool_(if uns { a > b } else { sa > sb }),
        BinOp::Ge => bool_(if uns { a >= b } else { sa >= sb }),
        BinOp::Eq => bool_(a == b),
        BinOp::Ne => bool_(a != b),
        BinOp::LogAnd => bool_(a != 0 && b != 0),
        BinOp::LogOr => bool_(a != 0 || b != 0),
        BinOp::Comma => return None,
    })
}

/// The instructions that push the 32-bit constant `v` (1 or 2 instructions).
pub(crate) fn const_instructions(v: u32) -> Vec<Instruction> {
    let s = v as i32;
    if v <= 0xFFFF {
        vec![Instruction::new(Opcode::Push, 0, v as u16)]
    } else if (-32768..0).contains(&s) {
        vec![Instruction::new(Opcode::Push, PUSH_SIGNED, s as i16 as u16)]
    } else {
        vec![
            Instruction::new(Opcode::Push, 0, (v & 0xFFFF) as u16),
            Instruction::new(Opcode::Push, PUSH_HIGH, (v >> 16) as u16),
        ]
    }
}

/// True if evaluating `e` can change state (assignment, `++`/`--`, any call).
fn has_side_effects(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int { .. } | ExprKind::Str(_) | ExprKind::Ident(_) => false,
        ExprKind::Call { .. } | ExprKind::Assign { .. } | ExprKind::IncDec { .. } => true,
        ExprKind::Index { index, .. } => has_side_effects(index),
        ExprKind::Unary { expr, .. } => has_side_effects(expr),
        ExprKind::Cast { ty, expr } => *ty == DeclTy::Void || has_side_effects(expr),
        ExprKind::Binary { lhs, rhs, .. } => has_side_effects(lhs) || has_side_effects(rhs),
        ExprKind::Cond {
            cond,
            then,
            otherwise,
        } => has_side_effects(cond) || has_side_effects(then) || has_side_effects(otherwise),
    }
}
