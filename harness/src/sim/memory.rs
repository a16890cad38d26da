//! The simulated STM32G474 memory map (RM0440 §2.2) for `read_u32`: flash, SRAM1/SRAM2/CCM SRAM
//! and the modelled peripheral registers; plus the flash and RAM stores themselves.
//!
//! | Region | Address | Size | Contents |
//! |---|---|---|---|
//! | Flash | `0x0800_0000` | 512 KiB | erased (`0xFF`); A/B program banks at `0x0801_0000` / `0x0804_0000`, boot metadata at `0x0807_F000` (see `cockpit_hypervisor::boot`) |
//! | SRAM1 | `0x2000_0000` | 80 KiB | zero; telemetry record at `TELEMETRY_ADDR` `0x2000_0000` |
//! | SRAM2 | `0x2001_4000` | 16 KiB | zero |
//! | CCM SRAM | `0x1000_0000` (alias `0x2001_8000`) | 32 KiB | zero |
//! | GPIOA…GPIOG | `0x4800_0000` + n × `0x400` | 11 registers each | see [`super::gpio`] |
//! | RCC | `0x4002_1000` | modelled registers | see [`super::rcc`] |
//! | FLASH_ACR | `0x4002_2000` | 1 register | |
//! | USART1/2/3 | `0x4001_3800` / `0x4000_4400` / `0x4000_4800` | 12 registers each | see [`super::usart`] |
//! | DWT_CTRL, DWT_CYCCNT | `0xE000_1000`, `0xE000_1004` | | CYCCNT = virtual cycles mod 2^32 |
//! | DHCSR, DEMCR | `0xE000_EDF0`, `0xE000_EDFC` | | debugger attached (C_DEBUGEN), TRCENA |
//!
//! Everything else, including unmodelled registers inside a peripheral block, is `Unmapped`.

use std::ops::Range;

use cockpit_hypervisor::flash::{double_word_range, page_range};
use cockpit_hypervisor::{
    FLASH_BASE, FLASH_SIZE, Flash, FlashError, FlashProgrammer, ProgramError, byte_range,
};

use super::board::SimBoard;
use crate::regmap::{
    DEMCR, DHCSR, DWT_CTRL, DWT_CYCCNT, FLASH_R_BASE, GPIO_PORTS, GPIO_STRIDE, GPIOA_BASE,
    RCC_BASE, USART1_BASE, USART2_BASE, USART3_BASE,
};
use crate::target::TargetError;

/// SRAM1 base (RM0440 §2.2): `0x2000_0000`.
pub const SRAM1_BASE: u32 = 0x2000_0000;
/// SRAM1 size: 80 KiB.
pub const SRAM1_SIZE: usize = 80 * 1024;
/// SRAM2 base: `0x2001_4000`.
pub const SRAM2_BASE: u32 = 0x2001_4000;
/// SRAM2 size: 16 KiB.
pub const SRAM2_SIZE: usize = 16 * 1024;
/// CCM SRAM base (code/ICode alias): `0x1000_0000`.
pub const CCM_BASE: u32 = 0x1000_0000;
/// CCM SRAM alias in the SRAM region, after SRAM2: `0x2001_8000`.
pub const CCM_ALIAS: u32 = 0x2001_8000;
/// CCM SRAM size: 32 KiB.
pub const CCM_SIZE: usize = 32 * 1024;
/// DWT_CTRL value: NUMCOMP = 4 (bits 31:28), CYCCNTENA = 1.
pub const DWT_CTRL_VALUE: u32 = 0x4000_0001;
/// DHCSR value: C_DEBUGEN = 1 (a debugger is attached: the harness).
pub const DHCSR_VALUE: u32 = 0x0000_0001;
/// DEMCR value: TRCENA = 1 (bit 24; enables DWT).
pub const DEMCR_VALUE: u32 = 0x0100_0000;

/// 512 KiB of flash at `0x0800_0000`, erased to `0xFF`, with the STM32G474's programming
/// rules ([`FlashProgrammer`]: 2 KiB page erase, 64-bit double-word programming only into
/// erased double words, RM0440 §3.3.6–3.3.7) and **power-loss injection**.
///
/// Power-loss model ([`SimFlash::arm_power_cut`]): after `n` more erase/program operations
/// complete, power fails *during* the next one, which is left as a real device leaves it:
/// - an interrupted **page erase** (the erase drives cells towards `1`) leaves the page either
///   untouched, fully erased, or partially erased: every byte becomes `old | random`, i.e. only
///   bits set to `1` — never a new `0` bit (chosen per cut from [`SimFlash::set_cut_seed`]);
/// - an interrupted **double-word program** is either fully done or not done at all (each
///   double word carries its own ECC, so a half-written one is not a state the model produces);
/// - the interrupted operation and every later one fail with [`ProgramError::PowerLost`] until
///   [`SimFlash::restore_power`] (the reboot). Reads keep working (they model inspecting the
///   flash, e.g. by a probe, while the device is down).
///
/// The raw [`SimFlash::erase`] / [`SimFlash::program`] (the harness's direct `load` path) ignore
/// the rules and the power model and are not counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFlash {
    bytes: Vec<u8>,
    /// Erase/program operations attempted through [`FlashProgrammer`] (including failed ones).
    ops: u64,
    /// Operations that complete before power fails during the next one.
    cut_after: Option<u64>,
    powered: bool,
    cut_seed: u64,
}

impl Default for SimFlash {
    fn default() -> Self {
        Self::new()
    }
}

/// SplitMix64: a small deterministic generator for the interrupted operations' outcomes.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SimFlash {
    /// Fully erased flash, powered, no cut armed.
    pub fn new() -> Self {
        SimFlash {
            bytes: vec![0xFF; FLASH_SIZE],
            ops: 0,
            cut_after: None,
            powered: true,
            cut_seed: 0,
        }
    }

    /// Erases `len` bytes at `addr` to `0xFF` (raw: any range, no page rule, no power model).
    /// Errors: [`FlashError::OutOfRange`] unless the whole range is inside the flash (then
    /// nothing is erased).
    pub fn erase(&mut self, addr: u32, len: usize) -> Result<(), FlashError> {
        self.slice_mut(addr, len)?.fill(0xFF);
        Ok(())
    }

    /// Writes `data` at `addr` (raw: no erase-before-write rule, no power model). Errors:
    /// [`FlashError::OutOfRange`] unless the whole range is inside the flash (then nothing is
    /// written).
    pub fn program(&mut self, addr: u32, data: &[u8]) -> Result<(), FlashError> {
        self.slice_mut(addr, data.len())?.copy_from_slice(data);
        Ok(())
    }

    /// Arms a power cut: `after_ops` more erase/program operations complete, then power fails
    /// during the next one (see the type docs for what it leaves behind). `0` = the very next
    /// operation is interrupted. Replaces any armed cut.
    pub fn arm_power_cut(&mut self, after_ops: u64) {
        self.cut_after = Some(self.ops.saturating_add(after_ops));
    }

    /// Disarms a pending cut (power stays on).
    pub fn disarm_power_cut(&mut self) {
        self.cut_after = None;
    }

    /// Power back on (the reboot after a cut): operations work again; no cut is armed.
    pub fn restore_power(&mut self) {
        self.powered = true;
        self.cut_after = None;
    }

    /// False between a cut and [`restore_power`](Self::restore_power).
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Erase/program operations attempted so far through [`FlashProgrammer`].
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// Seed of the interrupted operations' outcomes (default 0): with the operation count it
    /// decides whether a cut erase leaves the page untouched, erased or half-erased (and with
    /// which bits), and whether a cut program completed.
    pub fn set_cut_seed(&mut self, seed: u64) {
        self.cut_seed = seed;
    }

    /// Counts an operation and applies the power state: `Ok(None)` = proceed normally,
    /// `Ok(Some(r))` = this operation is the interrupted one (`r` random bits),
    /// `Err(PowerLost)` = no power.
    fn begin_op(&mut self) -> Result<Option<u64>, ProgramError> {
        if !self.powered {
            return Err(ProgramError::PowerLost);
        }
        let index = self.ops;
        self.ops += 1;
        match self.cut_after {
            Some(n) if index >= n => {
                self.powered = false;
                self.cut_after = None;
                Ok(Some(splitmix64(self.cut_seed ^ splitmix64(index))))
            }
            _ => Ok(None),
        }
    }

    fn slice_mut(&mut self, addr: u32, len: usize) -> Result<&mut [u8], FlashError> {
        byte_range(FLASH_BASE, addr, len)
            .and_then(|r| self.bytes.get_mut(r))
            .ok_or(FlashError::OutOfRange { addr, len })
    }
}

impl Flash for SimFlash {
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], FlashError> {
        byte_range(FLASH_BASE, addr, len)
            .and_then(|r| self.bytes.get(r))
            .ok_or(FlashError::OutOfRange { addr, len })
    }
}

impl FlashProgrammer for SimFlash {
    fn erase_page(&mut self, addr: u32) -> Result<(), ProgramError> {
        let cut = self.begin_op()?;
        let r = page_range(FLASH_BASE, self.bytes.len(), addr);
        let page = match r.map(|r| self.bytes.get_mut(r)) {
            Ok(Some(page)) => page,
            Ok(None) => return Err(ProgramError::OutOfRange { addr }),
            Err(e) => {
                return Err(if cut.is_some() {
                    ProgramError::PowerLost
                } else {
                    e
                });
            }
        };
        let Some(random) = cut else {
            page.fill(0xFF);
            return Ok(());
        };
        match random % 3 {
            0 => {}
            1 => page.fill(0xFF),
            _ => {
                // Partially erased: only 0 -> 1 transitions, different per byte.
                let mut x = random;
                for b in page.iter_mut() {
                    x = splitmix64(x);
                    *b |= x as u8;
                }
            }
        }
        Err(ProgramError::PowerLost)
    }

    fn program_double_word(&mut self, addr: u32, data: [u8; 8]) -> Result<(), ProgramError> {
        let cut = self.begin_op()?;
        let r = double_word_range(FLASH_BASE, &self.bytes, addr);
        let dw = match r.map(|r| self.bytes.get_mut(r)) {
            Ok(Some(dw)) => dw,
            Ok(None) => return Err(ProgramError::OutOfRange { addr }),
            Err(e) => {
                return Err(if cut.is_some() {
                    ProgramError::PowerLost
                } else {
                    e
                });
            }
        };
        match cut {
            None => {
                dw.copy_from_slice(&data);
                Ok(())
            }
            Some(random) => {
                if random & 1 == 1 {
                    dw.copy_from_slice(&data);
                }
                Err(ProgramError::PowerLost)
            }
        }
    }
}

/// The RAM regions: (base address, offset in [`Ram`]'s store, size in bytes). The store holds
/// SRAM1, SRAM2 and CCM SRAM back to back, as they appear from `0x2000_0000`; CCM SRAM is
/// reachable at both of its addresses.
const REGIONS: [(u32, usize, usize); 4] = [
    (SRAM1_BASE, 0, SRAM1_SIZE),
    (SRAM2_BASE, SRAM1_SIZE, SRAM2_SIZE),
    (CCM_BASE, SRAM1_SIZE + SRAM2_SIZE, CCM_SIZE),
    (CCM_ALIAS, SRAM1_SIZE + SRAM2_SIZE, CCM_SIZE),
];

/// SRAM1, SRAM2 and CCM SRAM contents (see [`REGIONS`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ram {
    store: Vec<u8>,
}

impl Default for Ram {
    fn default() -> Self {
        Self::new()
    }
}

impl Ram {
    /// Zeroed RAM.
    pub fn new() -> Self {
        Ram {
            store: vec![0; SRAM1_SIZE + SRAM2_SIZE + CCM_SIZE],
        }
    }

    /// Zeroes all RAM.
    pub fn clear(&mut self) {
        self.store.fill(0);
    }

    /// Indices into the store of the `len` bytes at `addr`, if they lie inside one region.
    fn locate(addr: u32, len: usize) -> Option<Range<usize>> {
        REGIONS.iter().find_map(|&(base, at, size)| {
            let r = byte_range(base, addr, len)?;
            (r.end <= size).then(|| at + r.start..at + r.end)
        })
    }

    /// The little-endian word at RAM address `addr` (any alignment), or `None` unless its four
    /// bytes lie inside one region.
    pub fn read_u32(&self, addr: u32) -> Option<u32> {
        let b = self.store.get(Self::locate(addr, 4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    /// Writes `data` at RAM address `addr`; returns `false` (writing nothing) unless all of it
    /// lies inside one region.
    pub fn write(&mut self, addr: u32, data: &[u8]) -> bool {
        match Self::locate(addr, data.len()).and_then(|r| self.store.get_mut(r)) {
            Some(dst) => {
                dst.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

/// Reads the 32-bit word at `addr` from the board's memory map (see the module table).
/// Errors: `Unaligned` unless 4-aligned, `Unmapped` outside every modelled region/register.
pub fn read_u32(board: &SimBoard, flash: &SimFlash, addr: u32) -> Result<u32, TargetError> {
    if !addr.is_multiple_of(4) {
        return Err(TargetError::Unaligned { addr });
    }
    read_mapped(board, flash, addr).ok_or(TargetError::Unmapped { addr })
}

fn read_mapped(board: &SimBoard, flash: &SimFlash, addr: u32) -> Option<u32> {
    if let Ok(b) = flash.read(addr, 4) {
        return b.try_into().ok().map(u32::from_le_bytes);
    }
    if let Some(w) = board.ram().read_u32(addr) {
        return Some(w);
    }
    let gpio_end = GPIOA_BASE + GPIO_PORTS as u32 * GPIO_STRIDE;
    match addr {
        a if (GPIOA_BASE..gpio_end).contains(&a) => {
            let port = ((a - GPIOA_BASE) / GPIO_STRIDE) as usize;
            board
                .gpio()
                .ports
                .get(port)?
                .read((a - GPIOA_BASE) % GPIO_STRIDE)
        }
        a if (RCC_BASE..RCC_BASE + 0x400).contains(&a) => board.rcc().read(a - RCC_BASE),
        FLASH_R_BASE => Some(board.rcc().flash_acr),
        a if (USART1_BASE..USART1_BASE + 0x400).contains(&a) => {
            board.usart(1)?.read(a - USART1_BASE)
        }
        a if (USART2_BASE..USART2_BASE + 0x400).contains(&a) => {
            board.usart(2)?.read(a - USART2_BASE)
        }
        a if (USART3_BASE..USART3_BASE + 0x400).contains(&a) => {
            board.usart(3)?.read(a - USART3_BASE)
        }
        DWT_CTRL => Some(DWT_CTRL_VALUE),
        DWT_CYCCNT => Some(board.clock().cycles() as u32),
        DHCSR => Some(DHCSR_VALUE),
        DEMCR => Some(DEMCR_VALUE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cockpit_hypervisor::PAGE_SIZE;

    #[test]
    fn ccm_reads_and_writes_agree_at_both_addresses() {
        let mut ram = Ram::new();
        assert!(ram.write(CCM_ALIAS + 8, &0xDEAD_BEEF_u32.to_le_bytes()));
        assert_eq!(ram.read_u32(CCM_BASE + 8), Some(0xDEAD_BEEF));
        assert_eq!(ram.read_u32(CCM_ALIAS + 8), Some(0xDEAD_BEEF));
        assert!(ram.write(CCM_BASE + 12, &[1, 2, 3, 4]));
        assert_eq!(ram.read_u32(CCM_ALIAS + 12), Some(0x0403_0201));
        let last = CCM_ALIAS + CCM_SIZE as u32 - 4;
        assert!(ram.write(last, &[7; 4]));
        assert_eq!(
            ram.read_u32(CCM_BASE + CCM_SIZE as u32 - 4),
            Some(0x0707_0707)
        );
    }

    #[test]
    fn ram_accesses_stay_inside_one_region() {
        let mut ram = Ram::new();
        assert!(ram.write(SRAM2_BASE, &[9; 4]));
        assert_eq!(ram.read_u32(SRAM2_BASE), Some(0x0909_0909));
        assert_eq!(ram.read_u32(SRAM1_BASE + SRAM1_SIZE as u32 - 4), Some(0));
        assert!(!ram.write(SRAM2_BASE - 2, &[1; 4]), "straddles SRAM1/SRAM2");
        assert!(
            !ram.write(CCM_BASE + CCM_SIZE as u32 - 2, &[1; 4]),
            "past CCM"
        );
        assert_eq!(ram.read_u32(CCM_ALIAS + CCM_SIZE as u32), None);
        assert_eq!(ram.read_u32(CCM_BASE - 4), None);
        assert!(!ram.write(u32::MAX, &[1; 4]));
        assert_eq!(ram.read_u32(u32::MAX - 1), None);
        ram.clear();
        assert_eq!(ram.read_u32(SRAM2_BASE), Some(0));
    }

    #[test]
    fn flash_programmer_follows_rm0440() {
        let mut f = SimFlash::new();
        let a = 0x0804_0000;
        f.program_double_word(a, [1; 8]).unwrap();
        assert_eq!(
            f.program_double_word(a, [0; 8]),
            Err(ProgramError::NotErased { addr: a })
        );
        assert_eq!(
            f.program_double_word(a + 4, [0; 8]),
            Err(ProgramError::Unaligned { addr: a + 4 })
        );
        assert_eq!(
            f.erase_page(a + 8),
            Err(ProgramError::Unaligned { addr: a + 8 })
        );
        let end = FLASH_BASE + FLASH_SIZE as u32;
        assert_eq!(
            f.erase_page(end),
            Err(ProgramError::OutOfRange { addr: end })
        );
        f.erase_page(a).unwrap();
        assert_eq!(f.read(a, 8), Ok(&[0xFF; 8][..]));
        assert_eq!(f.ops(), 6, "failed operations count too");
    }

    #[test]
    fn power_cut_interrupts_the_next_operation_and_everything_after() {
        let mut f = SimFlash::new();
        let a = 0x0804_0000;
        f.arm_power_cut(2);
        f.program_double_word(a, [1; 8]).unwrap();
        f.program_double_word(a + 8, [2; 8]).unwrap();
        assert_eq!(
            f.program_double_word(a + 16, [3; 8]),
            Err(ProgramError::PowerLost)
        );
        assert!(!f.is_powered());
        assert_eq!(f.erase_page(a), Err(ProgramError::PowerLost));
        assert_eq!(f.read(a, 8), Ok(&[1; 8][..]), "reads still work");
        f.restore_power();
        f.erase_page(a).unwrap();
        f.program_double_word(a, [4; 8]).unwrap();
    }

    #[test]
    fn a_cut_program_is_all_or_nothing_and_a_cut_erase_only_sets_bits() {
        let a = 0x0804_0800;
        let mut outcomes = [false; 2];
        let mut erase_kinds = [false; 3];
        for seed in 0..64 {
            let mut f = SimFlash::new();
            f.set_cut_seed(seed);
            f.arm_power_cut(0);
            let dw = [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0x00];
            assert_eq!(f.program_double_word(a, dw), Err(ProgramError::PowerLost));
            let got = f.read(a, 8).unwrap();
            assert!(got == dw || got == [0xFF; 8], "{got:02x?}");
            outcomes[usize::from(got == dw)] = true;

            // A page full of a pattern, then a cut erase.
            f.restore_power();
            f.erase_page(a).unwrap();
            let pattern: Vec<u8> = (0..PAGE_SIZE).map(|i| (i * 37) as u8 & 0x5A).collect();
            for (i, c) in pattern.chunks(8).enumerate() {
                f.program_double_word(a + 8 * i as u32, c.try_into().unwrap())
                    .unwrap();
            }
            f.arm_power_cut(0);
            assert_eq!(f.erase_page(a), Err(ProgramError::PowerLost));
            let page = f.read(a, PAGE_SIZE).unwrap();
            for (&now, &old) in page.iter().zip(&pattern) {
                assert_eq!(now | old, now, "an erase never clears a bit");
            }
            let kind = if page == &pattern[..] {
                0
            } else if page.iter().all(|&b| b == 0xFF) {
                1
            } else {
                2
            };
            erase_kinds[kind] = true;
        }
        assert_eq!(outcomes, [true, true], "both program outcomes occur");
        assert_eq!(
            erase_kinds, [true; 3],
            "untouched, erased and partial all occur"
        );
    }

    #[test]
    fn flash_reads_and_writes_share_one_range_check() {
        let mut f = SimFlash::new();
        f.program(FLASH_BASE + 4, &[1, 2]).unwrap();
        assert_eq!(f.read(FLASH_BASE + 4, 2), Ok(&[1u8, 2][..]));
        let end = FLASH_BASE + FLASH_SIZE as u32;
        let out = |addr, len| FlashError::OutOfRange { addr, len };
        assert_eq!(f.program(end - 1, &[0; 2]), Err(out(end - 1, 2)));
        assert_eq!(f.read(end - 1, 2), Err(out(end - 1, 2)));
        assert_eq!(f.erase(FLASH_BASE - 1, 1), Err(out(FLASH_BASE - 1, 1)));
        f.erase(FLASH_BASE, 8).unwrap();
        assert_eq!(f.read(FLASH_BASE + 4, 2), Ok(&[0xFFu8, 0xFF][..]));
    }
}
