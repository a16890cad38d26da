//! The CockpitVM instruction set: opcode numbers, the 4-byte encoding, flag bits and the
//! per-opcode cycle-cost model.
//!
//! Encoding (unchanged from the original CockpitVM, reference §4.1): every instruction is 4 bytes,
//! byte 0 = opcode, byte 1 = flags, bytes 2–3 = 16-bit immediate, little-endian.
//!
//! Opcode numbers are the original's (reference §4.4). Extensions use slots the original left
//! reserved (`DIV_U` 0x0A, `MOD_U` 0x0B, `SHR_U` 0x66); images for the original VM never contain them.

/// Size of one encoded instruction in bytes.
pub const INSTRUCTION_SIZE: usize = 4;

/// `PUSH` flags bit 0: sign-extend the 16-bit immediate (otherwise zero-extend).
pub const PUSH_SIGNED: u8 = 0x01;
/// `PUSH` flags bit 1: pop `v`, push `(imm << 16) | (v & 0xFFFF)`. A full 32-bit constant `c` is
/// therefore `PUSH c & 0xFFFF` followed by `PUSH c >> 16` with this flag.
pub const PUSH_HIGH: u8 = 0x02;
/// `RET` flags bit 0: the function returns a value (pop it, drop the frame, push it back).
pub const RET_VALUE: u8 = 0x01;

/// One decoded instruction. `opcode` is kept as a raw byte so that undefined opcodes can be
/// represented (they fail at run time with `INVALID_OPCODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Instruction {
    /// Byte 0: the opcode (see [`Opcode`]).
    pub opcode: u8,
    /// Byte 1: opcode-specific flags (`PUSH_SIGNED`, `PUSH_HIGH`, `RET_VALUE`, `CALL` argc).
    pub flags: u8,
    /// Bytes 2–3: the 16-bit immediate, little-endian.
    pub imm: u16,
}

impl Instruction {
    /// Builds an instruction from a known opcode.
    pub const fn new(op: Opcode, flags: u8, imm: u16) -> Self {
        Self {
            opcode: op as u8,
            flags,
            imm,
        }
    }

    /// Encodes as the 4 bytes stored in an image: `[opcode, flags, imm_lo, imm_hi]`.
    pub const fn encode(self) -> [u8; INSTRUCTION_SIZE] {
        let imm = self.imm.to_le_bytes();
        [self.opcode, self.flags, imm[0], imm[1]]
    }

    /// Decodes the 4 bytes of one instruction (any bytes are accepted).
    pub const fn decode(bytes: [u8; INSTRUCTION_SIZE]) -> Self {
        Self {
            opcode: bytes[0],
            flags: bytes[1],
            imm: u16::from_le_bytes([bytes[2], bytes[3]]),
        }
    }

    /// The opcode, if it is defined.
    pub const fn op(self) -> Option<Opcode> {
        Opcode::from_u8(self.opcode)
    }
}

macro_rules! opcodes {
    ($( $(#[$doc:meta])* $name:ident = $value:literal, $mnemonic:literal, $cycles:literal; )*) => {
        /// Every defined opcode. Stack effects: "a" is second from top, "b" is top; binary
        /// operators pop b then a and push the result.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Opcode {
            $( $(#[$doc])* $name = $value, )*
        }

        impl Opcode {
            /// All defined opcodes, in numeric order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$name,)*];

            /// The opcode for a byte, or `None` for a reserved/undefined byte.
            pub const fn from_u8(byte: u8) -> Option<Self> {
                match byte {
                    $( $value => Some(Opcode::$name), )*
                    _ => None,
                }
            }

            /// The assembler mnemonic (`"PUSH"`, `"LOAD_GLOBAL"`, …), as used by the disassembler.
            pub const fn mnemonic(self) -> &'static str {
                match self {
                    $( Opcode::$name => $mnemonic, )*
                }
            }

            /// Modelled cost in CPU cycles at 170 MHz of executing this instruction in the
            /// hypervisor's interpreter (HAL work that takes real time, such as `DELAY` or UART
            /// output, is accounted separately by the board). This table is the documented
            /// cost model of the `sim` board's virtual clock.
            pub const fn cycles(self) -> u32 {
                match self {
                    $( Opcode::$name => $cycles, )*
                }
            }
        }

        /// Cycle cost per opcode byte (undefined opcodes cost 0); see [`Opcode::cycles`].
        pub const CYCLE_COST: [u32; 256] = {
            let mut table = [0u32; 256];
            $( table[$value] = $cycles; )*
            table
        };
    };
}

opcodes! {
    /// Stop normally.
    Halt = 0x00, "HALT", 4;
    /// Push `imm` (zero-extended; sign-extended with `PUSH_SIGNED`; see `PUSH_HIGH`).
    Push = 0x01, "PUSH", 6;
    /// Discard the top.
    Pop = 0x02, "POP", 4;
    /// a + b (wrapping).
    Add = 0x03, "ADD", 6;
    /// a − b (wrapping).
    Sub = 0x04, "SUB", 6;
    /// a × b (low 32 bits).
    Mul = 0x05, "MUL", 7;
    /// a ÷ b signed, truncating toward zero; `i32::MIN / -1` wraps. Error: `DIVISION_BY_ZERO`.
    Div = 0x06, "DIV", 14;
    /// C remainder (sign of a). Error: `DIVISION_BY_ZERO`.
    Mod = 0x07, "MOD", 14;
    /// Call instruction index `imm`; flags = argument count (the callee's frame base is sp − argc).
    Call = 0x08, "CALL", 16;
    /// Return; flags `RET_VALUE` = pop a return value, drop the frame, push it back.
    /// With an empty call stack the program ends normally.
    Ret = 0x09, "RET", 14;
    /// Extension: a ÷ b unsigned. Error: `DIVISION_BY_ZERO`.
    DivU = 0x0A, "DIV_U", 14;
    /// Extension: a mod b unsigned. Error: `DIVISION_BY_ZERO`.
    ModU = 0x0B, "MOD_U", 14;
    /// digitalWrite: pop value, pop pin.
    DigitalWrite = 0x10, "DIGITAL_WRITE", 40;
    /// digitalRead: pop pin, push 0/1.
    DigitalRead = 0x11, "DIGITAL_READ", 40;
    /// analogWrite: pop value, pop pin.
    AnalogWrite = 0x12, "ANALOG_WRITE", 40;
    /// analogRead: pop pin, push 0…4095.
    AnalogRead = 0x13, "ANALOG_READ", 60;
    /// delay: pop milliseconds (must be ≥ 0).
    Delay = 0x14, "DELAY", 20;
    /// pinMode: pop mode, pop pin.
    PinMode = 0x17, "PIN_MODE", 60;
    /// printf: `imm` = format string id; pop argc, then argc arguments (last popped = first).
    Printf = 0x18, "PRINTF", 120;
    /// millis: push milliseconds since start (u32, wraps).
    Millis = 0x19, "MILLIS", 20;
    /// micros: push microseconds since start (u32, wraps).
    Micros = 0x1A, "MICROS", 20;
    /// a == b (unsigned compare).
    Eq = 0x20, "EQ", 6;
    /// a != b (unsigned compare).
    Ne = 0x21, "NE", 6;
    /// a < b unsigned.
    Lt = 0x22, "LT", 6;
    /// a > b unsigned.
    Gt = 0x23, "GT", 6;
    /// a <= b unsigned.
    Le = 0x24, "LE", 6;
    /// a >= b unsigned.
    Ge = 0x25, "GE", 6;
    /// a == b signed.
    EqS = 0x26, "EQ_S", 6;
    /// a != b signed.
    NeS = 0x27, "NE_S", 6;
    /// a < b signed.
    LtS = 0x28, "LT_S", 6;
    /// a > b signed.
    GtS = 0x29, "GT_S", 6;
    /// a <= b signed.
    LeS = 0x2A, "LE_S", 6;
    /// a >= b signed.
    GeS = 0x2B, "GE_S", 6;
    /// Jump to absolute instruction index `imm`.
    Jmp = 0x30, "JMP", 5;
    /// Pop c; jump to `imm` if c != 0.
    JmpTrue = 0x31, "JMP_TRUE", 6;
    /// Pop c; jump to `imm` if c == 0.
    JmpFalse = 0x32, "JMP_FALSE", 6;
    /// Logical AND: (a != 0 && b != 0) → 1/0 (both operands already evaluated).
    And = 0x40, "AND", 6;
    /// Logical OR: (a != 0 || b != 0) → 1/0.
    Or = 0x41, "OR", 6;
    /// Logical NOT: a == 0 → 1, else 0.
    Not = 0x42, "NOT", 5;
    /// Push `globals[imm]`.
    LoadGlobal = 0x50, "LOAD_GLOBAL", 7;
    /// Pop into `globals[imm]`.
    StoreGlobal = 0x51, "STORE_GLOBAL", 7;
    /// Push frame slot `imm` (frame base + imm).
    LoadLocal = 0x52, "LOAD_LOCAL", 7;
    /// Pop into frame slot `imm`.
    StoreLocal = 0x53, "STORE_LOCAL", 7;
    /// Pop index; push `array[imm][index]`.
    LoadArray = 0x54, "LOAD_ARRAY", 9;
    /// Pop index (top), pop value; `array[imm][index] = value`.
    StoreArray = 0x55, "STORE_ARRAY", 9;
    /// Pop size (1…64); create zero-filled array `imm`.
    CreateArray = 0x56, "CREATE_ARRAY", 30;
    /// a & b.
    BitAnd = 0x60, "BIT_AND", 6;
    /// a | b.
    BitOr = 0x61, "BIT_OR", 6;
    /// a ^ b.
    BitXor = 0x62, "BIT_XOR", 6;
    /// ~a.
    BitNot = 0x63, "BIT_NOT", 5;
    /// a << (b & 31).
    Shl = 0x64, "SHL", 6;
    /// a >> (b & 31), arithmetic (sign-filling).
    Shr = 0x65, "SHR", 6;
    /// Extension: a >> (b & 31), logical (zero-filling).
    ShrU = 0x66, "SHR_U", 6;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_opcode_flags_then_little_endian_immediate() {
        let insn = Instruction::new(Opcode::Push, PUSH_SIGNED, 0xABCD);
        assert_eq!(insn.encode(), [0x01, 0x01, 0xCD, 0xAB]);
        assert_eq!(Instruction::decode(insn.encode()), insn);
    }

    #[test]
    fn opcode_numbers_round_trip_and_reserved_bytes_are_undefined() {
        for op in Opcode::ALL {
            assert_eq!(Opcode::from_u8(*op as u8), Some(*op));
            assert_eq!(CYCLE_COST[*op as usize], op.cycles());
            assert!(op.cycles() > 0);
        }
        for reserved in [
            0x0C, 0x0F, 0x15, 0x16, 0x1B, 0x2C, 0x33, 0x43, 0x57, 0x67, 0xFF,
        ] {
            assert_eq!(Opcode::from_u8(reserved), None, "{reserved:#04x}");
        }
        assert_eq!(Opcode::from_u8(0x65), Some(Opcode::Shr));
    }
}
