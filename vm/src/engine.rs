//! The execution engine: a fixed-size VM state and a `match`-dispatched run loop.
//!
//! Semantics are the Cockpit ones documented in `vm/README.md` (they fix the original's bugs,
//! reference §4.2–§4.4, §4.8). No heap, no panics: every stack, global, local and array access
//! is checked and turns into a [`Fault`].

use crate::error::{Fault, VmError};
use crate::host::Host;
use crate::isa::{CYCLE_COST, Opcode, PUSH_HIGH, PUSH_SIGNED, RET_VALUE};
use crate::program::{Dialect, Program};
use crate::{ARRAY_LEN, ARRAYS, CALL_DEPTH, GLOBALS, STACK_SIZE};

/// Divisor applied to `DELAY` arguments of [`Dialect::Original`] images (reference §4.8).
pub const ORIGINAL_DELAY_DIVISOR: i32 = 17000;
/// Maximum `printf` argument count.
pub const PRINTF_MAX_ARGS: usize = 16;

/// Why [`Vm::run`] returned without a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The program ended normally (`HALT`, or `RET` with an empty call stack).
    Halted,
    /// `max_instructions` were executed in this call; call `run` again to continue.
    Yielded,
}

/// One call frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Frame {
    /// Instruction index to return to.
    ret_pc: u32,
    /// Operand-stack index of the frame's slot 0 (the first argument).
    base: u32,
}

/// The VM state: operand stack, call stack, globals, arrays, counters. Fixed size (no heap).
#[derive(Clone, Debug)]
pub struct Vm {
    stack: [i32; STACK_SIZE],
    sp: usize,
    frames: [Frame; CALL_DEPTH],
    depth: usize,
    globals: [i32; GLOBALS],
    arrays: [[i32; ARRAY_LEN]; ARRAYS],
    /// Length of each array; 0 = not created.
    array_len: [u8; ARRAYS],
    pc: u32,
    /// Opcode at `pc` when the last run returned (0 outside the program); used by `stop_with`.
    next_op: u8,
    instructions: u64,
    cycles: u64,
    halted: bool,
    fault: Option<Fault>,
}

impl Default for Vm {
    fn default() -> Self {
        Self::new()
    }
}

// Opcode bytes as constants for `match`.
const HALT: u8 = Opcode::Halt as u8;
const PUSH: u8 = Opcode::Push as u8;
const POP: u8 = Opcode::Pop as u8;
const ADD: u8 = Opcode::Add as u8;
const SUB: u8 = Opcode::Sub as u8;
const MUL: u8 = Opcode::Mul as u8;
const DIV: u8 = Opcode::Div as u8;
const MOD: u8 = Opcode::Mod as u8;
const CALL: u8 = Opcode::Call as u8;
const RET: u8 = Opcode::Ret as u8;
const DIV_U: u8 = Opcode::DivU as u8;
const MOD_U: u8 = Opcode::ModU as u8;
const DIGITAL_WRITE: u8 = Opcode::DigitalWrite as u8;
const DIGITAL_READ: u8 = Opcode::DigitalRead as u8;
const ANALOG_WRITE: u8 = Opcode::AnalogWrite as u8;
const ANALOG_READ: u8 = Opcode::AnalogRead as u8;
const DELAY: u8 = Opcode::Delay as u8;
const PIN_MODE: u8 = Opcode::PinMode as u8;
const PRINTF: u8 = Opcode::Printf as u8;
const MILLIS: u8 = Opcode::Millis as u8;
const MICROS: u8 = Opcode::Micros as u8;
const EQ: u8 = Opcode::Eq as u8;
const NE: u8 = Opcode::Ne as u8;
const LT: u8 = Opcode::Lt as u8;
const GT: u8 = Opcode::Gt as u8;
const LE: u8 = Opcode::Le as u8;
const GE: u8 = Opcode::Ge as u8;
const EQ_S: u8 = Opcode::EqS as u8;
const NE_S: u8 = Opcode::NeS as u8;
const LT_S: u8 = Opcode::LtS as u8;
const GT_S: u8 = Opcode::GtS as u8;
const LE_S: u8 = Opcode::LeS as u8;
const GE_S: u8 = Opcode::GeS as u8;
const JMP: u8 = Opcode::Jmp as u8;
const JMP_TRUE: u8 = Opcode::JmpTrue as u8;
const JMP_FALSE: u8 = Opcode::JmpFalse as u8;
const AND: u8 = Opcode::And as u8;
const OR: u8 = Opcode::Or as u8;
const NOT: u8 = Opcode::Not as u8;
const LOAD_GLOBAL: u8 = Opcode::LoadGlobal as u8;
const STORE_GLOBAL: u8 = Opcode::StoreGlobal as u8;
const LOAD_LOCAL: u8 = Opcode::LoadLocal as u8;
const STORE_LOCAL: u8 = Opcode::StoreLocal as u8;
const LOAD_ARRAY: u8 = Opcode::LoadArray as u8;
const STORE_ARRAY: u8 = Opcode::StoreArray as u8;
const CREATE_ARRAY: u8 = Opcode::CreateArray as u8;
const BIT_AND: u8 = Opcode::BitAnd as u8;
const BIT_OR: u8 = Opcode::BitOr as u8;
const BIT_XOR: u8 = Opcode::BitXor as u8;
const BIT_NOT: u8 = Opcode::BitNot as u8;
const SHL: u8 = Opcode::Shl as u8;
const SHR: u8 = Opcode::Shr as u8;
const SHR_U: u8 = Opcode::ShrU as u8;

impl Vm {
    /// A fresh VM (same state as after [`Vm::reset`]).
    pub const fn new() -> Self {
        Vm {
            stack: [0; STACK_SIZE],
            sp: 0,
            frames: [Frame { ret_pc: 0, base: 0 }; CALL_DEPTH],
            depth: 0,
            globals: [0; GLOBALS],
            arrays: [[0; ARRAY_LEN]; ARRAYS],
            array_len: [0; ARRAYS],
            pc: 0,
            next_op: 0,
            instructions: 0,
            cycles: 0,
            halted: false,
            fault: None,
        }
    }

    /// Fresh state: pc 0, empty stacks, globals 0, arrays destroyed, counters 0, no fault.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Runs `program` for at most `max_instructions` instructions.
    ///
    /// Returns `Ok(Exit::Halted)` when the program ends, `Ok(Exit::Yielded)` when the budget of
    /// this call is used up (call again to continue), `Err(fault)` on an error. After a halt or
    /// a fault, further calls return the same result without executing. `host.sync_cycles` is
    /// called before every HAL call and before returning. The instruction that faults is counted
    /// in [`Vm::instructions`] and [`Vm::cycles`]; running past the end is not an instruction.
    pub fn run<H: Host>(
        &mut self,
        program: &Program<'_>,
        host: &mut H,
        max_instructions: u64,
    ) -> Result<Exit, Fault> {
        if let Some(f) = self.fault {
            return Err(f);
        }
        if self.halted {
            return Ok(Exit::Halted);
        }
        let code = program.code_words();
        let original = program.dialect() == Dialect::Original;
        let mut pc = self.pc as usize;
        let mut sp = self.sp;
        let mut base = match self.depth.checked_sub(1).and_then(|d| self.frames.get(d)) {
            Some(f) => f.base as usize,
            None => 0,
        };
        let mut cycles = self.cycles;
        let mut fuel = max_instructions;
        let mut op = 0u8;

        let result: Result<Exit, VmError> = 'run: loop {
            macro_rules! fail {
                ($e:expr) => {
                    break 'run Err($e)
                };
            }
            // Pops the top value (not below the frame base).
            macro_rules! pop {
                () => {
                    match self.stack.get(base..sp) {
                        Some([.., v]) => {
                            sp -= 1;
                            *v
                        }
                        _ => fail!(VmError::StackUnderflow),
                    }
                };
            }
            // Pops b (top) then a; evaluates to (a, b).
            macro_rules! pop2 {
                () => {
                    match self.stack.get(base..sp) {
                        Some([.., a, b]) => {
                            sp -= 2;
                            (*a, *b)
                        }
                        _ => fail!(VmError::StackUnderflow),
                    }
                };
            }
            macro_rules! push {
                ($v:expr) => {{
                    let v: i32 = $v;
                    match self.stack.get_mut(sp) {
                        Some(slot) => {
                            *slot = v;
                            sp += 1;
                        }
                        None => fail!(VmError::StackOverflow),
                    }
                }};
            }
            // Replaces a, b (top two) with f(a, b).
            macro_rules! binop {
                (|$a:ident, $b:ident| $e:expr) => {
                    match self.stack.get_mut(base..sp) {
                        Some([.., a, b]) => {
                            let $a = *a;
                            let $b = *b;
                            *a = $e;
                            sp -= 1;
                        }
                        _ => fail!(VmError::StackUnderflow),
                    }
                };
            }
            // Replaces the top with f(a).
            macro_rules! unop {
                (|$a:ident| $e:expr) => {
                    match self.stack.get_mut(base..sp) {
                        Some([.., a]) => {
                            let $a = *a;
                            *a = $e;
                        }
                        _ => fail!(VmError::StackUnderflow),
                    }
                };
            }
            macro_rules! jump {
                ($target:expr) => {{
                    let t = $target as usize;
                    if t >= code.len() {
                        fail!(VmError::InvalidJump);
                    }
                    pc = t;
                    continue 'run;
                }};
            }
            macro_rules! host_call {
                ($e:expr) => {{
                    host.sync_cycles(cycles);
                    match $e {
                        Ok(v) => v,
                        Err(e) => fail!(VmError::from(e)),
                    }
                }};
            }

            if fuel == 0 {
                break 'run Ok(Exit::Yielded);
            }
            let Some(&[opcode, flags, lo, hi]) = code.get(pc) else {
                op = 0;
                fail!(VmError::ExecutionFailed);
            };
            op = opcode;
            fuel -= 1;
            cycles = cycles.wrapping_add(u64::from(CYCLE_COST[opcode as usize]));
            let imm = u16::from_le_bytes([lo, hi]);

            match opcode {
                HALT => break 'run Ok(Exit::Halted),
                PUSH => {
                    if flags & PUSH_HIGH != 0 {
                        unop!(|v| ((u32::from(imm) << 16) | (v as u32 & 0xFFFF)) as i32);
                    } else if flags & PUSH_SIGNED != 0 {
                        push!(i32::from(imm as i16));
                    } else {
                        push!(i32::from(imm));
                    }
                }
                POP => {
                    let _ = pop!();
                }
                ADD => binop!(|a, b| a.wrapping_add(b)),
                SUB => binop!(|a, b| a.wrapping_sub(b)),
                MUL => binop!(|a, b| a.wrapping_mul(b)),
                DIV | MOD | DIV_U | MOD_U => {
                    let (a, b) = pop2!();
                    if b == 0 {
                        fail!(VmError::DivisionByZero);
                    }
                    let r = match opcode {
                        DIV => a.wrapping_div(b),
                        MOD => a.wrapping_rem(b),
                        DIV_U => (a as u32).wrapping_div(b as u32) as i32,
                        _ => (a as u32).wrapping_rem(b as u32) as i32,
                    };
                    push!(r);
                }
                CALL => {
                    let argc = flags as usize;
                    if sp.saturating_sub(base) < argc {
                        fail!(VmError::StackUnderflow);
                    }
                    let target = imm as usize;
                    if target >= code.len() {
                        fail!(VmError::InvalidJump);
                    }
                    let Some(frame) = self.frames.get_mut(self.depth) else {
                        fail!(VmError::StackOverflow);
                    };
                    base = sp - argc;
                    *frame = Frame {
                        ret_pc: (pc + 1) as u32,
                        base: base as u32,
                    };
                    self.depth += 1;
                    pc = target;
                    continue 'run;
                }
                RET => {
                    let Some(d) = self.depth.checked_sub(1) else {
                        break 'run Ok(Exit::Halted);
                    };
                    let value = if flags & RET_VALUE != 0 {
                        match self.stack.get(base..sp) {
                            Some([.., v]) => Some(*v),
                            _ => fail!(VmError::StackUnderflow),
                        }
                    } else {
                        None
                    };
                    let frame = self.frames.get(d).copied().unwrap_or_default();
                    self.depth = d;
                    sp = base;
                    base = match d.checked_sub(1).and_then(|d| self.frames.get(d)) {
                        Some(f) => f.base as usize,
                        None => 0,
                    };
                    if let Some(v) = value {
                        push!(v);
                    }
                    pc = frame.ret_pc as usize;
                    continue 'run;
                }
                DIGITAL_WRITE => {
                    let (pin, value) = pop2!();
                    host_call!(host.digital_write(pin, value));
                }
                DIGITAL_READ => {
                    let pin = pop!();
                    let v = host_call!(host.digital_read(pin));
                    push!(v);
                }
                ANALOG_WRITE => {
                    let (pin, value) = pop2!();
                    host_call!(host.analog_write(pin, value));
                }
                ANALOG_READ => {
                    let pin = pop!();
                    let v = host_call!(host.analog_read(pin));
                    push!(v);
                }
                DELAY => {
                    let mut ms = pop!();
                    if ms < 0 {
                        fail!(VmError::InvalidArgument);
                    }
                    if original {
                        ms /= ORIGINAL_DELAY_DIVISOR;
                    }
                    host_call!(host.delay_ms(ms as u32));
                }
                PIN_MODE => {
                    let (pin, mode) = pop2!();
                    host_call!(host.pin_mode(pin, mode));
                }
                PRINTF => {
                    let argc = pop!();
                    if !(0..=PRINTF_MAX_ARGS as i32).contains(&argc) {
                        fail!(VmError::PrintfError);
                    }
                    let argc = argc as usize;
                    let Some(args) = sp
                        .checked_sub(argc)
                        .filter(|&start| start >= base)
                        .and_then(|start| self.stack.get(start..sp))
                    else {
                        fail!(VmError::StackUnderflow);
                    };
                    let Some(fmt) = program.string(imm) else {
                        fail!(VmError::UnknownString);
                    };
                    if let Err(e) = check_format(program, fmt, args) {
                        fail!(e);
                    }
                    host.sync_cycles(cycles);
                    if let Err(e) = write_format(program, fmt, args, host) {
                        fail!(e);
                    }
                    sp -= argc;
                }
                MILLIS => {
                    let v = host_call!(Ok::<u32, crate::HostError>(host.millis()));
                    push!(v as i32);
                }
                MICROS => {
                    let v = host_call!(Ok::<u32, crate::HostError>(host.micros()));
                    push!(v as i32);
                }
                EQ | EQ_S => binop!(|a, b| i32::from(a == b)),
                NE | NE_S => binop!(|a, b| i32::from(a != b)),
                LT => binop!(|a, b| i32::from((a as u32) < (b as u32))),
                GT => binop!(|a, b| i32::from((a as u32) > (b as u32))),
                LE => binop!(|a, b| i32::from((a as u32) <= (b as u32))),
                GE => binop!(|a, b| i32::from((a as u32) >= (b as u32))),
                LT_S => binop!(|a, b| i32::from(a < b)),
                GT_S => binop!(|a, b| i32::from(a > b)),
                LE_S => binop!(|a, b| i32::from(a <= b)),
                GE_S => binop!(|a, b| i32::from(a >= b)),
                JMP => jump!(imm),
                JMP_TRUE => {
                    if pop!() != 0 {
                        jump!(imm);
                    }
                }
                JMP_FALSE => {
                    if pop!() == 0 {
                        jump!(imm);
                    }
                }
                AND => binop!(|a, b| i32::from(a != 0 && b != 0)),
                OR => binop!(|a, b| i32::from(a != 0 || b != 0)),
                NOT => unop!(|a| i32::from(a == 0)),
                LOAD_GLOBAL => match self.globals.get(imm as usize) {
                    Some(&v) => push!(v),
                    None => fail!(VmError::MemoryBounds),
                },
                STORE_GLOBAL => {
                    let v = pop!();
                    match self.globals.get_mut(imm as usize) {
                        Some(g) => *g = v,
                        None => fail!(VmError::MemoryBounds),
                    }
                }
                LOAD_LOCAL => {
                    let slot = base + imm as usize;
                    if slot >= sp {
                        fail!(VmError::MemoryBounds);
                    }
                    match self.stack.get(slot) {
                        Some(&v) => push!(v),
                        None => fail!(VmError::MemoryBounds),
                    }
                }
                STORE_LOCAL => {
                    let v = pop!();
                    let slot = base + imm as usize;
                    if slot >= sp {
                        fail!(VmError::MemoryBounds);
                    }
                    match self.stack.get_mut(slot) {
                        Some(s) => *s = v,
                        None => fail!(VmError::MemoryBounds),
                    }
                }
                LOAD_ARRAY => {
                    let index = pop!();
                    match self.array_slot(imm, index) {
                        Some((id, i)) => {
                            let v = self
                                .arrays
                                .get(id)
                                .and_then(|a| a.get(i))
                                .copied()
                                .unwrap_or(0);
                            push!(v);
                        }
                        None => fail!(VmError::MemoryBounds),
                    }
                }
                STORE_ARRAY => {
                    let (value, index) = pop2!();
                    match self.array_slot(imm, index) {
                        Some((id, i)) => {
                            if let Some(s) = self.arrays.get_mut(id).and_then(|a| a.get_mut(i)) {
                                *s = value;
                            }
                        }
                        None => fail!(VmError::MemoryBounds),
                    }
                }
                CREATE_ARRAY => {
                    let size = pop!();
                    let id = imm as usize;
                    if !(1..=ARRAY_LEN as i32).contains(&size) {
                        fail!(VmError::MemoryBounds);
                    }
                    match (self.array_len.get_mut(id), self.arrays.get_mut(id)) {
                        (Some(len), Some(array)) if *len == 0 => {
                            *len = size as u8;
                            *array = [0; ARRAY_LEN];
                        }
                        _ => fail!(VmError::MemoryBounds),
                    }
                }
                BIT_AND => binop!(|a, b| a & b),
                BIT_OR => binop!(|a, b| a | b),
                BIT_XOR => binop!(|a, b| a ^ b),
                BIT_NOT => unop!(|a| !a),
                SHL => binop!(|a, b| a.wrapping_shl(b as u32 & 31)),
                SHR => binop!(|a, b| a.wrapping_shr(b as u32 & 31)),
                SHR_U => binop!(|a, b| (a as u32).wrapping_shr(b as u32 & 31) as i32),
                _ => fail!(VmError::InvalidOpcode),
            }
            pc += 1;
        };

        self.pc = pc as u32;
        self.sp = sp;
        self.cycles = cycles;
        self.instructions = self
            .instructions
            .wrapping_add(max_instructions.wrapping_sub(fuel));
        self.next_op = code.get(pc).map_or(0, |w| w[0]);
        host.sync_cycles(cycles);
        match result {
            Ok(exit) => {
                if exit == Exit::Halted {
                    self.halted = true;
                }
                Ok(exit)
            }
            Err(error) => {
                let fault = Fault {
                    error,
                    pc: pc as u32,
                    opcode: op,
                };
                self.fault = Some(fault);
                Err(fault)
            }
        }
    }

    /// `(array id, element index)` if array `id` exists and `index` is inside it.
    fn array_slot(&self, id: u16, index: i32) -> Option<(usize, usize)> {
        let len = *self.array_len.get(id as usize)?;
        let i = usize::try_from(index).ok()?;
        (i < len as usize).then_some((id as usize, i))
    }

    /// Stops the VM with `error` recorded at the current pc and the opcode there (e.g. the
    /// caller's instruction or time budget ran out between runs). Later `run` calls return this
    /// fault. If the VM already has a fault, that fault is kept and returned.
    pub fn stop_with(&mut self, error: VmError) -> Fault {
        if let Some(f) = self.fault {
            return f;
        }
        let fault = Fault {
            error,
            pc: self.pc,
            opcode: self.next_op,
        };
        self.fault = Some(fault);
        fault
    }

    /// Current instruction index (of the next instruction, or of the faulting/halting one).
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// Instructions executed since the last reset.
    pub fn instructions(&self) -> u64 {
        self.instructions
    }

    /// Modelled CPU cycles since the last reset (sum of [`CYCLE_COST`] per instruction).
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// The operand stack, bottom first.
    pub fn stack(&self) -> &[i32] {
        self.stack.get(..self.sp).unwrap_or(&[])
    }

    /// The global variables.
    pub fn globals(&self) -> &[i32; GLOBALS] {
        &self.globals
    }

    /// Array `id`'s elements if it has been created, else `None`.
    pub fn array(&self, id: usize) -> Option<&[i32]> {
        let len = *self.array_len.get(id)? as usize;
        if len == 0 {
            return None;
        }
        self.arrays.get(id)?.get(..len)
    }

    /// The fault that stopped the VM, if any.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// Number of active call frames (0 at top level).
    pub fn call_depth(&self) -> usize {
        self.depth
    }

    /// True after a halt or a fault.
    pub fn is_stopped(&self) -> bool {
        self.halted || self.fault.is_some()
    }
}

/// A `%` conversion in a format string.
#[derive(Clone, Copy)]
enum Piece<'f> {
    Literal(&'f [u8]),
    Conv(u8),
}

/// Splits a format into literal runs and conversions; `None` on a bad conversion.
struct Pieces<'f> {
    rest: &'f [u8],
}

impl<'f> Iterator for Pieces<'f> {
    type Item = Option<Piece<'f>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.rest {
            [] => None,
            [b'%', conv, rest @ ..] => {
                self.rest = rest;
                Some(match conv {
                    b'd' | b'i' | b'u' | b'x' | b'X' | b'c' | b's' | b'%' => {
                        Some(Piece::Conv(*conv))
                    }
                    _ => None,
                })
            }
            [b'%'] => {
                self.rest = &[];
                Some(None)
            }
            _ => {
                let n = self
                    .rest
                    .iter()
                    .position(|&b| b == b'%')
                    .unwrap_or(self.rest.len());
                let (lit, rest) = self.rest.split_at_checked(n).unwrap_or((self.rest, &[]));
                self.rest = rest;
                Some(Some(Piece::Literal(lit)))
            }
        }
    }
}

/// Validates a printf format against its arguments (reference §4.7, fixed): every conversion
/// known, argument count exact, `%s` ids known.
fn check_format(program: &Program<'_>, fmt: &[u8], args: &[i32]) -> Result<(), VmError> {
    let mut used = 0usize;
    for piece in (Pieces { rest: fmt }) {
        match piece.ok_or(VmError::PrintfError)? {
            Piece::Literal(_) | Piece::Conv(b'%') => {}
            Piece::Conv(c) => {
                let arg = *args.get(used).ok_or(VmError::PrintfError)?;
                used += 1;
                if c == b's' {
                    u16::try_from(arg)
                        .ok()
                        .and_then(|id| program.string(id))
                        .ok_or(VmError::UnknownString)?;
                }
            }
        }
    }
    if used != args.len() {
        return Err(VmError::PrintfError);
    }
    Ok(())
}

/// Streams a validated format to the host console.
fn write_format<H: Host>(
    program: &Program<'_>,
    fmt: &[u8],
    args: &[i32],
    host: &mut H,
) -> Result<(), VmError> {
    let mut args = args.iter().copied();
    let mut buf = [0u8; 12];
    for piece in (Pieces { rest: fmt }).flatten() {
        let out: &[u8] = match piece {
            Piece::Literal(lit) => lit,
            Piece::Conv(b'%') => b"%",
            Piece::Conv(c) => {
                let arg = args.next().unwrap_or(0);
                match c {
                    b'd' | b'i' => format_int(&mut buf, arg.unsigned_abs(), 10, arg < 0, false),
                    b'u' => format_int(&mut buf, arg as u32, 10, false, false),
                    b'x' => format_int(&mut buf, arg as u32, 16, false, false),
                    b'X' => format_int(&mut buf, arg as u32, 16, false, true),
                    b'c' => {
                        buf[0] = arg as u8;
                        &buf[..1]
                    }
                    _ => u16::try_from(arg)
                        .ok()
                        .and_then(|id| program.string(id))
                        .unwrap_or(&[]),
                }
            }
        };
        if !out.is_empty() {
            host.console_write(out)?;
        }
    }
    Ok(())
}

/// Formats `v` in `radix` (10 or 16) right-aligned into `buf`, returns the used tail.
fn format_int(buf: &mut [u8; 12], mut v: u32, radix: u32, negative: bool, upper: bool) -> &[u8] {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = digits.get((v % radix) as usize).copied().unwrap_or(b'?');
        }
        v /= radix;
        if v == 0 || i == 1 {
            break;
        }
    }
    if negative {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'-';
        }
    }
    buf.get(i..).unwrap_or(&[])
}
