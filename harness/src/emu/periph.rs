//! The emulated STM32G474's peripherals and core system registers, as plain Rust state that the
//! MMIO hooks of [`super::mcu`] read and write (no unicorn types here, so the models are
//! unit-testable without the emulator).
//!
//! GPIO reuses the `sim` board's [`GpioPort`] register model; RCC starts from the shared
//! [`crate::regmap::rcc::REGISTERS`] reset table. USART, FLASH, PWR, IWDG, SysTick, NVIC/SCB and
//! DWT are modelled here (the `sim` models have no general register-write API).

use std::collections::BTreeMap;

use cockpit_hypervisor::pins::{PIN_COUNT, Pin};
use cockpit_hypervisor::{FLASH_BASE, FLASH_SIZE};

use super::mpu::Mpu;
use crate::pty::Line;
use crate::regmap::{
    FLASH_R_BASE, GPIO_PORTS, GPIO_STRIDE, GPIOA_BASE, LPUART1_BASE, RCC_BASE, USART1_BASE,
    USART2_BASE, USART3_BASE, rcc, usart,
};
use crate::sim::clock::cycles_to_ns;
use crate::sim::gpio::{GpioPort, InputSchedule, mode};
use crate::target::PinEdge;

/// Core clock: 170 MHz.
pub const CPU_HZ: u64 = cockpit_hypervisor::CPU_HZ as u64;
/// PWR base (RM0440 §2.2): `0x4000_7000`.
pub const PWR_BASE: u32 = 0x4000_7000;
/// IWDG base: `0x4000_3000`.
pub const IWDG_BASE: u32 = 0x4000_3000;
/// SysTick CSR: `0xE000_E010`.
pub const SYST_BASE: u32 = 0xE000_E010;
/// NVIC ISER0: `0xE000_E100`.
pub const NVIC_BASE: u32 = 0xE000_E100;
/// SCB CPUID: `0xE000_ED00`.
pub const SCB_BASE: u32 = 0xE000_ED00;
/// DBGMCU IDCODE: `0xE004_2000`.
pub const DBGMCU_IDCODE: u32 = 0xE004_2000;
/// 96-bit unique device ID (RM0440 §48.1): `0x1FFF_7590`.
pub const UID_BASE: u32 = 0x1FFF_7590;
/// Flash size register (KiB, 16 bit): `0x1FFF_75E0`.
pub const FLASHSIZE_ADDR: u32 = 0x1FFF_75E0;
/// The unique ID the emulated device reports (three words).
pub const UID: [u32; 3] = [0x0045_0042, 0x4D55_4520, 0x0000_0474];
/// Flash page size (2 KiB, dual-bank mode).
pub const PAGE: usize = 2048;

/// Exception numbers.
pub mod exc {
    /// NMI.
    pub const NMI: u32 = 2;
    /// HardFault.
    pub const HARDFAULT: u32 = 3;
    /// MemManage (MPU violation).
    pub const MEMMANAGE: u32 = 4;
    /// PendSV.
    pub const PENDSV: u32 = 14;
    /// SysTick.
    pub const SYSTICK: u32 = 15;
    /// First external interrupt (IRQ0).
    pub const IRQ0: u32 = 16;
    /// USART1 global interrupt (IRQ 37).
    pub const USART1: u32 = IRQ0 + 37;
    /// USART2 global interrupt (IRQ 38).
    pub const USART2: u32 = IRQ0 + 38;
    /// USART3 global interrupt (IRQ 39).
    pub const USART3: u32 = IRQ0 + 39;
    /// LPUART1 global interrupt (IRQ 91).
    pub const LPUART1: u32 = IRQ0 + 91;
}

/// FLASH register offsets and bits (RM0440 §3.7).
mod fl {
    pub const ACR: u32 = 0x00;
    pub const KEYR: u32 = 0x08;
    pub const OPTKEYR: u32 = 0x0C;
    pub const SR: u32 = 0x10;
    pub const CR: u32 = 0x14;
    pub const OPTR: u32 = 0x20;
    pub const KEY1: u32 = 0x4567_0123;
    pub const KEY2: u32 = 0xCDEF_89AB;
    pub const CR_PG: u32 = 1 << 0;
    pub const CR_PER: u32 = 1 << 1;
    pub const CR_MER1: u32 = 1 << 2;
    pub const CR_BKER: u32 = 1 << 11;
    pub const CR_MER2: u32 = 1 << 15;
    pub const CR_STRT: u32 = 1 << 16;
    pub const CR_EOPIE: u32 = 1 << 24;
    pub const CR_OPTLOCK: u32 = 1 << 30;
    pub const CR_LOCK: u32 = 1 << 31;
    pub const SR_EOP: u32 = 1 << 0;
    pub const SR_PROGERR: u32 = 1 << 3;
    pub const SR_WRPERR: u32 = 1 << 4;
    pub const SR_PGAERR: u32 = 1 << 5;
    pub const SR_SIZERR: u32 = 1 << 6;
    pub const SR_PGSERR: u32 = 1 << 7;
    /// OPTR as shipped for a 512 KiB part, DBANK = 1 (bit 22).
    pub const OPTR_RESET: u32 = 0xFFEF_F8AA;
}

/// One USART (RM0440 §37, FIFO disabled): a paced transmitter (TDR + shift register at the
/// line rate of [`usart::frame_cycles`]) and a receiver fed from a modelled line.
///
/// Transmit timing, in core cycles (the kernel clock is taken as the 170 MHz core clock, as
/// the firmware configures PCLK): a TDR write on an idle line goes straight into the shift
/// register (TXE stays set, TC clears until the frame has left); a write while a frame is
/// shifting waits in TDR (TXE clear) until that frame ends; a write while TDR is full
/// overwrites the waiting byte (it is lost, as on the chip). BRR below 16 (not configured)
/// sends at once. TE/UE are not checked.
///
/// Receive ([`EmuUsart::receive`]): each byte reaches RDR when its stop bit ends (frames one
/// [`usart::frame_cycles`] apart), setting RXNE; a byte that ends while RXNE is still set is
/// lost and sets ORE (RDR keeps the older byte), or, with CR3.OVRDIS, overwrites RDR without
/// ORE (RM0440 §37.5.8 "Overrun error"); ICR.ORECF clears ORE. Bytes that end while the
/// receiver is disabled (CR1.UE or CR1.RE clear) are lost.
///
/// An LPUART ([`EmuUsart::lpuart`], RM0440 §38) is the same model with its own baud rate rule:
/// one bit lasts BRR / 256 kernel cycles (BRR = 256 × f_ck / baud, 20 bits); the registers this
/// model uses have the same offsets and bits.
#[derive(Clone, Debug, Default)]
pub struct EmuUsart {
    /// Registers by offset / 4 (CR1 … PRESC); ISR and RDR are computed.
    pub regs: [u32; 12],
    /// This is LPUART1 (BRR = 256 × f_ck / baud).
    pub lpuart: bool,
    /// Bytes written to TDR (and not overwritten before they reached the shift register).
    pub tx: Vec<u8>,
    /// For each byte of `tx`: the core cycle at which its stop bit ends (it has left the pin).
    pub tx_done: Vec<u64>,
    /// Core cycle at which TDR empties (TXE sets): now or earlier when TDR is empty.
    txe_at: u64,
    /// Core cycle at which the last frame ends (TC sets).
    tc_at: u64,
    /// TC was cleared through ICR.TCCF after the line went idle.
    tc_cleared: bool,
    /// Bytes on the RX line, each with the core cycle at which its stop bit ends.
    pub rx_line: Line<u64>,
    /// RDR while ISR.RXNE is set.
    rdr: Option<u8>,
    /// ISR.ORE.
    ore: bool,
    /// Consecutive ISR reads that found the receiver empty (idle polling detection).
    pub empty_polls: u32,
}

impl EmuUsart {
    const CR1: usize = 0;
    const CR3: usize = 2;
    const ISR: u32 = 0x1C;
    const ICR: u32 = 0x20;
    const RDR: u32 = 0x24;
    const TDR: u32 = 0x28;
    /// ISR/ICR bit of TC (and TCCF).
    const TC: u32 = 1 << 6;
    /// ISR bit of TXE.
    const TXE: u32 = 1 << 7;
    /// CR1.RXNEIE.
    const RXNEIE: u32 = 1 << 5;
    /// CR1.TCIE.
    const TCIE: u32 = 1 << 6;
    /// CR1.TXEIE (TXFNFIE).
    const TXEIE: u32 = 1 << 7;
    /// CR1.UE | CR1.RE.
    const UE_RE: u32 = 1 << 0 | 1 << 2;
    /// CR3.OVRDIS.
    const OVRDIS: u32 = 1 << 12;
    /// ISR.ORE / ICR.ORECF.
    const ORE: u32 = 1 << 3;
    /// ISR.RXNE.
    const RXNE: u32 = 1 << 5;

    /// Core cycles one frame occupies the line ([`usart::frame_cycles`]); the console's
    /// 115200 Bd 8N1 while BRR is not programmed yet (a host may send before the firmware has
    /// configured the USART).
    pub fn frame_cycles(&self) -> u64 {
        let regs = self.usart_regs();
        if regs[(usart::BRR / 4) as usize] & 0xFFFF < 16 {
            let mut regs = [0; 12];
            regs[(usart::BRR / 4) as usize] = crate::sim::usart::BRR_115200_AT_170MHZ;
            return usart::frame_cycles(&regs);
        }
        usart::frame_cycles(&regs)
    }

    /// The registers with BRR in a USART's terms (cycles per bit with oversampling by 16): an
    /// LPUART's 256 × f_ck / baud divided by 256, rounded.
    fn usart_regs(&self) -> [u32; 12] {
        let mut regs = self.regs;
        if self.lpuart {
            let brr = &mut regs[(usart::BRR / 4) as usize];
            *brr = ((*brr & 0xF_FFFF) + 128) / 256;
        }
        regs
    }

    /// Puts `bytes` on the RX line at core cycle `now`, one frame after another (after the
    /// bytes already in flight).
    pub fn receive(&mut self, bytes: &[u8], now: u64) {
        let frame = self.frame_cycles();
        self.rx_line.push(bytes, now, frame);
    }

    /// Moves the bytes whose stop bit has ended by core cycle `now` into RDR (RXNE, ORE).
    pub fn deliver(&mut self, now: u64) {
        while let Some((b, _)) = self.rx_line.pop_due(now) {
            let (cr1, cr3) = (self.regs[Self::CR1], self.regs[Self::CR3]);
            if cr1 & Self::UE_RE != Self::UE_RE {
                continue;
            }
            if self.rdr.is_none() || cr3 & Self::OVRDIS != 0 {
                self.rdr = Some(b);
            } else {
                self.ore = true;
            }
        }
    }

    /// ISR at core cycle `now`: TXE/TXFNF once TDR is empty, TC once the last frame has left
    /// (unless cleared by ICR.TCCF), RXNE while RDR holds a byte, ORE, TEACK/REACK follow
    /// TE/RE.
    pub fn isr(&self, now: u64) -> u32 {
        let cr1 = self.regs[Self::CR1];
        let mut isr = 0;
        if now >= self.txe_at {
            isr |= Self::TXE;
        }
        if now >= self.tc_at && !self.tc_cleared {
            isr |= Self::TC;
        }
        if self.rdr.is_some() {
            isr |= Self::RXNE;
        }
        if self.ore {
            isr |= Self::ORE;
        }
        if cr1 & 1 << 3 != 0 {
            isr |= 1 << 21;
        }
        if cr1 & 1 << 2 != 0 {
            isr |= 1 << 22;
        }
        isr
    }

    /// Whether the USART requests its interrupt at cycle `now` (TXEIE with TXE, TCIE with TC,
    /// RXNEIE with RXNE or ORE).
    pub fn irq(&self, now: u64) -> bool {
        let (cr1, isr) = (self.regs[Self::CR1], self.isr(now));
        (cr1 & Self::TXEIE != 0 && isr & Self::TXE != 0)
            || (cr1 & Self::TCIE != 0 && isr & Self::TC != 0)
            || (cr1 & Self::RXNEIE != 0 && (self.rdr.is_some() || self.ore))
    }

    /// The next cycle after `now` at which TXE or TC sets, if the transmitter is busy.
    pub fn next_tx_change(&self, now: u64) -> Option<u64> {
        [self.txe_at, self.tc_at].into_iter().find(|&t| t > now)
    }

    /// The next cycle after `now` at which this USART's interrupt request rises because of
    /// the transmitter (TXE with TXEIE, TC with TCIE), if any.
    pub fn next_tx_irq(&self, now: u64) -> Option<u64> {
        let cr1 = self.regs[Self::CR1];
        [(self.txe_at, Self::TXEIE), (self.tc_at, Self::TCIE)]
            .into_iter()
            .filter(|&(t, ie)| t > now && cr1 & ie != 0)
            .map(|(t, _)| t)
            .min()
    }

    fn read(&mut self, off: u32, now: u64) -> u32 {
        match off {
            Self::ISR => {
                if self.rdr.is_none() {
                    self.empty_polls = self.empty_polls.saturating_add(1);
                } else {
                    self.empty_polls = 0;
                }
                self.isr(now)
            }
            Self::RDR => self.rdr.take().map_or(0, u32::from),
            0x18 | Self::ICR | Self::TDR => 0,
            o if o < 0x30 => self.regs[(o / 4) as usize],
            _ => 0,
        }
    }

    /// A TDR write at cycle `now` (see the type's docs for the timing).
    fn transmit(&mut self, byte: u8, now: u64) {
        let regs = self.usart_regs();
        let frame = if regs[(usart::BRR / 4) as usize] & 0xFFFF < 16 {
            0
        } else {
            usart::frame_cycles(&regs)
        };
        self.empty_polls = 0;
        self.tc_cleared = false;
        if now < self.txe_at {
            // TDR full: the waiting byte is overwritten (same frame slot).
            self.tx.pop();
            self.tx_done.pop();
        } else if now >= self.tc_at {
            // Idle line: straight into the shift register.
            self.txe_at = now;
            self.tc_at = now + frame;
        } else {
            // Shifting: wait in TDR until the current frame ends.
            self.txe_at = self.tc_at;
            self.tc_at += frame;
        }
        self.tx.push(byte);
        self.tx_done.push(self.tc_at);
    }

    fn write(&mut self, off: u32, v: u32, now: u64) {
        match off {
            Self::TDR => self.transmit(v as u8, now),
            Self::ICR => {
                if v & Self::TC != 0 && now >= self.tc_at {
                    self.tc_cleared = true;
                }
                if v & Self::ORE != 0 {
                    self.ore = false;
                }
            }
            Self::ISR | Self::RDR | 0x18 => {}
            o if o < 0x30 => self.regs[(o / 4) as usize] = v,
            _ => {}
        }
    }
}

/// The independent watchdog (RM0440 §42): LSI 32 kHz, prescaler 4·2^PR, reload RLR.
#[derive(Clone, Debug, Default)]
pub struct Iwdg {
    /// Started by KR = 0xCCCC.
    pub running: bool,
    /// PR and RLR writable (KR = 0x5555).
    unlocked: bool,
    pr: u32,
    rlr: u32,
    /// Core cycle at which the counter reaches 0 (when running).
    pub deadline: u64,
}

impl Iwdg {
    fn timeout_cycles(&self) -> u64 {
        let div = 4u64 << self.pr.min(6);
        (u64::from(self.rlr) + 1) * div * CPU_HZ / 32_000
    }
}

/// SysTick (ARMv7-M B3.3), counting core cycles (CLKSOURCE = 1) or HCLK/8.
#[derive(Clone, Debug, Default)]
pub struct SysTick {
    /// SYST_CSR (ENABLE, TICKINT, CLKSOURCE; COUNTFLAG computed).
    pub csr: u32,
    /// SYST_RVR.
    pub rvr: u32,
    /// Cycle at which the counter was last (re)loaded.
    base: u64,
    /// COUNTFLAG.
    countflag: bool,
    /// Next wrap (cycle) when enabled.
    pub next_wrap: u64,
}

impl SysTick {
    fn div(&self) -> u64 {
        if self.csr & 4 != 0 { 1 } else { 8 }
    }
    fn period(&self) -> u64 {
        (u64::from(self.rvr & 0x00FF_FFFF) + 1) * self.div()
    }
    fn cvr(&self, now: u64) -> u32 {
        if self.csr & 1 == 0 {
            return 0;
        }
        let into = (now.saturating_sub(self.base)) % self.period();
        let ticks = into / self.div();
        (u64::from(self.rvr & 0x00FF_FFFF) - ticks.min(u64::from(self.rvr & 0x00FF_FFFF))) as u32
    }
    fn restart(&mut self, now: u64) {
        self.base = now;
        self.next_wrap = now + self.period();
    }
}

/// Why the emulation should stop at the next block boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopRequest {
    /// Semihosting SYS_EXIT / SYS_EXIT_EXTENDED with this reason/exit code.
    Exit(u32),
    /// A reset (AIRCR.SYSRESETREQ or IWDG expiry): the caller reboots the core.
    Reset(ResetCause),
    /// The firmware is polling an empty USART receiver (nothing more will happen).
    Idle,
    /// A breakpoint other than semihosting (`bkpt #imm`).
    Breakpoint(u8),
}

/// Why the core was reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetCause {
    /// AIRCR.SYSRESETREQ.
    Software,
    /// The independent watchdog expired.
    Watchdog,
    /// The NRST pin (a reset from outside: the harness rebooting the board).
    Pin,
}

/// All peripheral state of one emulated MCU.
#[derive(Debug)]
pub struct Periph {
    /// Core cycles so far (estimated from executed code, see [`super::mcu`]).
    pub cycles: u64,
    /// RCC registers, in [`rcc::REGISTERS`] order.
    rcc: Vec<u32>,
    /// PWR registers by offset.
    pwr: BTreeMap<u32, u32>,
    /// FLASH registers by offset (ACR, SR, CR, OPTR, …).
    flash_regs: BTreeMap<u32, u32>,
    /// KEYR sequence position (0, 1 after KEY1); `None` once a wrong key locked it until reset.
    key_state: Option<u8>,
    /// First word of a double word being programmed: (address, value).
    pending_word: Option<(u32, u32)>,
    /// The flash contents (shared with the emulator's mapping of 0x0800_0000 and 0).
    flash: *mut u8,
    /// GPIO ports A–G (the `sim` model).
    pub gpio: [GpioPort; GPIO_PORTS],
    /// Last logged level of each logical pin (`None` until it is an output).
    last_level: [Option<bool>; PIN_COUNT],
    /// Output edges of logical pins.
    pub edges: Vec<PinEdge>,
    /// Input levels driven from outside over board time ([`Periph::set_inputs`]); survives
    /// resets.
    inputs: InputSchedule,
    /// The core cycle at which the guest program started (the firmware's run-control
    /// `START_CYCLES` on this run's cycle clock, [`Periph::set_guest_start`]): the origin of
    /// the input schedule's times. `None` until known; the schedule is at time 0 until then.
    guest_start: Option<u64>,
    /// USART1, USART2, USART3, LPUART1 ([`Periph::LPUART1`]).
    pub usart: [EmuUsart; 4],
    /// SysTick.
    pub systick: SysTick,
    /// IWDG.
    pub iwdg: Iwdg,
    /// NVIC ISER bits (8 words).
    pub nvic_enabled: [u32; 8],
    /// NVIC pending bits set by software (ISPR) or peripherals (latched).
    pub nvic_pending: [u32; 8],
    /// NVIC IPR bytes.
    pub nvic_prio: Vec<u8>,
    /// System exceptions pending (bit = exception number < 16).
    pub sys_pending: u32,
    /// SCB registers by offset from `SCB_BASE` (VTOR, AIRCR, SHPR1–3, CFSR, HFSR, …).
    pub scb: BTreeMap<u32, u32>,
    /// DWT: CYCCNT = cycles - offset; CTRL.
    dwt_offset: u64,
    dwt_ctrl: u32,
    /// The MPU registers.
    pub mpu: Mpu,
    /// Other system-space words written (CPACR, DHCSR, DEMCR, ITM, …).
    pub sys_other: BTreeMap<u32, u32>,
    /// Word address of the last peripheral read or write (busy-poll detection).
    last_access: u32,
    /// Exceptions in progress, innermost last: (exception number, priority).
    pub active: Vec<(u32, i32)>,
    /// Accesses to unmodelled peripheral addresses: (address, is_write).
    pub unmodelled: Vec<(u32, bool)>,
    /// A pending stop request.
    pub stop: Option<StopRequest>,
    /// Stop when the firmware polls an empty USART1/2 or LPUART1 receiver this many times in a row (0 =
    /// never).
    pub idle_polls: u32,
    /// Semihosting output (SYS_WRITEC/WRITE0/WRITE).
    pub semihosting: Vec<u8>,
    /// ITM stimulus port 0 output.
    pub itm: Vec<u8>,
}

// SAFETY: `flash` points into the owning `EmuTarget`'s flash buffer, which outlives every
// `Periph` (both live inside one `run`); the pointer is only dereferenced on that thread.
unsafe impl Send for Periph {}

/// RCC_CSR after a power-on reset: BORRSTF (bit 27) and PINRSTF (bit 26) set (RM0440 §7.4.29,
/// reset value `0x0C00_0000`); a system reset keeps the flags and adds its own until RMVF.
const CSR_POWER_ON: u32 = (1 << 27) | (1 << 26);

impl Periph {
    /// Reset state (power-on), programming into the 512 KiB flash at `flash` (must stay valid while this
    /// `Periph` is used).
    pub fn new(flash: *mut u8) -> Self {
        let mut p = Periph {
            cycles: 0,
            rcc: rcc::REGISTERS.iter().map(|r| r.2).collect(),
            pwr: BTreeMap::from([(0x00, 0x0200), (0x08, 0x8000), (0x80, 0x0100)]),
            flash_regs: BTreeMap::from([
                (fl::ACR, crate::sim::rcc::FLASH_ACR_RESET),
                (fl::CR, fl::CR_LOCK | fl::CR_OPTLOCK),
                (fl::OPTR, fl::OPTR_RESET),
            ]),
            key_state: Some(0),
            pending_word: None,
            flash,
            gpio: std::array::from_fn(GpioPort::reset),
            last_level: [None; PIN_COUNT],
            edges: Vec::new(),
            inputs: InputSchedule::default(),
            guest_start: None,
            usart: std::array::from_fn(|n| EmuUsart {
                lpuart: n == Self::LPUART1,
                ..EmuUsart::default()
            }),
            systick: SysTick::default(),
            iwdg: Iwdg::default(),
            nvic_enabled: [0; 8],
            nvic_pending: [0; 8],
            nvic_prio: vec![0; 240],
            sys_pending: 0,
            scb: BTreeMap::from([(0x00, 0x410F_C241), (0x0C, 0xFA05_0000), (0x14, 0x200)]),
            dwt_offset: 0,
            dwt_ctrl: 0x4000_0000,
            mpu: Mpu::default(),
            sys_other: BTreeMap::from([(0xE000_EDF0, 1)]),
            active: Vec::new(),
            last_access: 0,
            unmodelled: Vec::new(),
            stop: None,
            idle_polls: 0,
            semihosting: Vec::new(),
            itm: Vec::new(),
        };
        p.rcc_set(0x94, CSR_POWER_ON);
        p
    }

    /// Drives logical pins from outside (a button, a jumper) on `inputs`' schedule: a pin's
    /// GPIO input reads its scheduled level instead of its pull. Times count from the guest's
    /// start ([`Periph::set_guest_start`]); until it is known the levels of time 0 apply (the
    /// firmware's boot reads them). Every GPIO read applies the schedule at the current cycle
    /// ([`Periph::sync_inputs`]), so a read sees exactly the level of its time whatever the
    /// clock skipped before it (a `wfi` or a TX wait): nothing in the model reacts to an input
    /// change by itself (no EXTI), so no timed event is needed.
    pub fn set_inputs(&mut self, inputs: InputSchedule) {
        self.inputs = inputs;
        self.sync_inputs();
    }

    /// Whether the input schedule needs the guest's start time and it is not known yet (levels
    /// change after time 0): before a GPIO read the MCU then looks for it in the firmware's
    /// run-control record and calls [`Periph::set_guest_start`].
    pub fn needs_guest_start(&self) -> bool {
        self.guest_start.is_none() && self.inputs.is_timed()
    }

    /// Sets the core cycle at which the guest program started (the input schedule's origin).
    pub fn set_guest_start(&mut self, cycle: u64) {
        self.guest_start = Some(cycle);
    }

    /// Applies the input schedule at the current cycle (board time from the guest's start, 0
    /// before it is known).
    pub fn sync_inputs(&mut self) {
        let elapsed = self
            .guest_start
            .map_or(0, |s| cycles_to_ns(self.cycles.saturating_sub(s)));
        self.inputs.apply(&mut self.gpio, elapsed);
    }

    /// Whether `addr` is in the GPIO ports' register space (GPIOA–GPIOG).
    pub fn is_gpio(addr: u32) -> bool {
        let gpio_end = GPIOA_BASE + GPIO_STRIDE * GPIO_PORTS as u32;
        (GPIOA_BASE..gpio_end).contains(&addr)
    }

    /// Resets peripherals as a system reset does, keeping the flash, the edge/console logs,
    /// external pin levels and the reset cause in RCC_CSR.
    pub fn system_reset(&mut self, cause: ResetCause) {
        let mut fresh = Periph::new(self.flash);
        for (i, p) in fresh.gpio.iter_mut().enumerate() {
            p.ext_mask = self.gpio[i].ext_mask;
            p.ext_level = self.gpio[i].ext_level;
        }
        fresh.cycles = self.cycles;
        fresh.dwt_offset = self.cycles;
        fresh.edges = std::mem::take(&mut self.edges);
        fresh.inputs = std::mem::take(&mut self.inputs);
        fresh.guest_start = self.guest_start;
        fresh.semihosting = std::mem::take(&mut self.semihosting);
        fresh.itm = std::mem::take(&mut self.itm);
        fresh.unmodelled = std::mem::take(&mut self.unmodelled);
        fresh.idle_polls = self.idle_polls;
        for (n, u) in self.usart.iter_mut().enumerate() {
            fresh.usart[n].tx = std::mem::take(&mut u.tx);
            fresh.usart[n].tx_done = std::mem::take(&mut u.tx_done);
            // The host keeps sending: bytes in flight arrive after the reset.
            fresh.usart[n].rx_line = std::mem::take(&mut u.rx_line);
        }
        // RCC_CSR reset flags: IWDGRSTF (bit 29), SFTRSTF (bit 28) or PINRSTF (bit 26).
        let flag = match cause {
            ResetCause::Watchdog => 1 << 29,
            ResetCause::Software => 1 << 28,
            ResetCause::Pin => 1 << 26,
        };
        let csr = self.rcc_get(0x94);
        fresh.rcc_set(0x94, csr | flag);
        *self = fresh;
    }

    /// The core cycle at which DWT CYCCNT was 0 (the last reset, or a CYCCNT write): the origin
    /// of the firmware's cycle clock.
    pub fn cyccnt_origin(&self) -> u64 {
        self.dwt_offset
    }

    /// Nanoseconds of board time at the current cycle count.
    pub fn now_ns(&self) -> u64 {
        (u128::from(self.cycles) * 1_000_000_000 / u128::from(CPU_HZ)) as u64
    }

    fn rcc_pos(off: u32) -> Option<usize> {
        rcc::REGISTERS.iter().position(|r| r.1 == off)
    }
    fn rcc_get(&self, off: u32) -> u32 {
        Self::rcc_pos(off).map_or(0, |i| self.rcc[i])
    }
    fn rcc_set(&mut self, off: u32, v: u32) {
        if let Some(i) = Self::rcc_pos(off) {
            self.rcc[i] = v;
        }
    }

    fn rcc_write(&mut self, off: u32, v: u32) {
        let v = match off {
            // CR: HSIRDY/HSERDY/PLLRDY follow HSION/HSEON/PLLON.
            0x00 => {
                let mut v = v & !(1 << 10 | 1 << 17 | 1 << 25);
                for (on, rdy) in [(8, 10), (16, 17), (24, 25)] {
                    if v >> on & 1 == 1 {
                        v |= 1 << rdy;
                    }
                }
                v
            }
            // CFGR: SWS = SW.
            0x08 => v & !0b1100 | (v & 0b11) << 2,
            // BDCR: LSERDY follows LSEON; CSR: LSIRDY follows LSION, RMVF clears reset flags.
            0x90 => v & !2 | (v & 1) << 1,
            0x94 => {
                let flags = if v & 1 << 23 != 0 {
                    0
                } else {
                    self.rcc_get(0x94) & 0xFE00_0000
                };
                v & 1 | (v & 1) << 1 | flags
            }
            // CRRCR: HSI48RDY follows HSI48ON.
            0x98 => v & 1 | (v & 1) << 1,
            _ => v,
        };
        if Self::rcc_pos(off).is_some() {
            self.rcc_set(off, v);
        } else {
            self.unmodelled.push((RCC_BASE + off, true));
        }
    }

    fn flash_byte_ptr(&self, addr: u32) -> Option<*mut u8> {
        let off = addr.checked_sub(FLASH_BASE)? as usize;
        // SAFETY: bounds-checked against the 512 KiB buffer behind `self.flash`.
        (off < FLASH_SIZE).then(|| unsafe { self.flash.add(off) })
    }

    /// Erases the 2 KiB page at `addr` (bounds-checked).
    fn erase(&mut self, addr: u32, len: usize) {
        for a in (addr..addr + len as u32).step_by(PAGE) {
            if let Some(p) = self.flash_byte_ptr(a) {
                // SAFETY: whole page lies inside the buffer (page-aligned, buffer is pages).
                unsafe { std::ptr::write_bytes(p, 0xFF, PAGE) };
            }
        }
    }

    fn flash_ctl_write(&mut self, off: u32, v: u32) {
        let cr = self.flash_regs[&fl::CR];
        match off {
            fl::KEYR => {
                self.key_state = match (self.key_state, v) {
                    (Some(0), fl::KEY1) => Some(1),
                    (Some(1), fl::KEY2) => {
                        self.flash_regs.insert(fl::CR, cr & !fl::CR_LOCK);
                        Some(0)
                    }
                    _ => None,
                };
            }
            fl::OPTKEYR => {}
            fl::SR => {
                let sr = self.flash_regs.get(&fl::SR).copied().unwrap_or(0);
                self.flash_regs.insert(fl::SR, sr & !(v & 0xC3FB));
            }
            fl::CR => {
                if cr & fl::CR_LOCK != 0 {
                    return; // locked: writes ignored
                }
                self.flash_regs.insert(fl::CR, v & !fl::CR_STRT);
                if v & fl::CR_STRT != 0 {
                    if v & fl::CR_PER != 0 {
                        let bank = if v & fl::CR_BKER != 0 { 256 * 1024 } else { 0 };
                        let pnb = (v >> 3) & 0x7F;
                        self.erase(FLASH_BASE + bank + pnb * PAGE as u32, PAGE);
                    }
                    if v & fl::CR_MER1 != 0 {
                        self.erase(FLASH_BASE, FLASH_SIZE / 2);
                    }
                    if v & fl::CR_MER2 != 0 {
                        self.erase(FLASH_BASE + (FLASH_SIZE / 2) as u32, FLASH_SIZE / 2);
                    }
                    if v & fl::CR_EOPIE != 0 {
                        self.flash_sr_set(fl::SR_EOP);
                    }
                }
            }
            o => {
                self.flash_regs.insert(o, v);
            }
        }
    }

    fn flash_sr_set(&mut self, bits: u32) {
        *self.flash_regs.entry(fl::SR).or_insert(0) |= bits;
    }

    /// A store into flash (`addr` in 0x0800_0000..) of `size` bytes: double-word programming
    /// with FLASH_CR.PG (two word writes, 8-aligned, into an erased double word; else
    /// PROGERR/PGAERR/SIZERR/PGSERR as RM0440 §3.3.7 describes).
    pub fn flash_store(&mut self, addr: u32, size: usize, value: u32) {
        let cr = self.flash_regs[&fl::CR];
        if cr & fl::CR_LOCK != 0 || cr & fl::CR_PG == 0 {
            self.flash_sr_set(fl::SR_PGSERR | fl::SR_WRPERR);
            return;
        }
        if size != 4 {
            self.flash_sr_set(fl::SR_SIZERR);
            self.pending_word = None;
            return;
        }
        match self.pending_word.take() {
            None if addr.is_multiple_of(8) => self.pending_word = Some((addr, value)),
            Some((first, w0)) if addr == first + 4 => {
                let Some(p) = self.flash_byte_ptr(first) else {
                    self.flash_sr_set(fl::SR_PGAERR);
                    return;
                };
                let mut cur = [0u8; 8];
                // SAFETY: `first` is 8-aligned inside the buffer, so 8 bytes fit.
                unsafe { std::ptr::copy_nonoverlapping(p, cur.as_mut_ptr(), 8) };
                if cur != [0xFF; 8] {
                    self.flash_sr_set(fl::SR_PROGERR);
                    return;
                }
                let mut dw = [0u8; 8];
                dw[..4].copy_from_slice(&w0.to_le_bytes());
                dw[4..].copy_from_slice(&value.to_le_bytes());
                // SAFETY: as above.
                unsafe { std::ptr::copy_nonoverlapping(dw.as_ptr(), p, 8) };
                if cr & fl::CR_EOPIE != 0 {
                    self.flash_sr_set(fl::SR_EOP);
                }
            }
            _ => self.flash_sr_set(fl::SR_PGAERR),
        }
    }

    /// The 8 flash bytes at `dw` (8-aligned flash address); erased if out of range.
    pub fn flash_snapshot(&self, dw: u32) -> [u8; 8] {
        let mut b = [0xFF; 8];
        if let Some(p) = self
            .flash_byte_ptr(dw)
            .filter(|_| dw + 8 <= FLASH_BASE + FLASH_SIZE as u32)
        {
            // SAFETY: 8 bytes inside the buffer (checked above).
            unsafe { std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), 8) };
        }
        b
    }

    /// Overwrites flash bytes at `addr` (a fix-up after a trapped raw store).
    pub fn flash_restore(&mut self, addr: u32, bytes: &[u8]) {
        if let Some(p) = self
            .flash_byte_ptr(addr)
            .filter(|_| addr as usize + bytes.len() <= FLASH_BASE as usize + FLASH_SIZE)
        {
            // SAFETY: range checked above.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
        }
    }

    /// Logs an edge for each logical pin on port `port` whose level changed (as the `sim`
    /// board does: nothing until a pin is first an output, no edge for going output-low).
    fn log_edges(&mut self, port: usize) {
        let now = self.now_ns();
        for n in 0..PIN_COUNT as u8 {
            let Ok(pin) = Pin::new(i32::from(n)) else {
                continue;
            };
            if usize::from(pin.port().0) != port {
                continue;
            }
            let p = &self.gpio[port];
            let level = p.idr() >> pin.bit() & 1 == 1;
            let last = self.last_level[pin.index()];
            if last.is_none() && p.mode(pin.bit()) != mode::OUTPUT {
                continue;
            }
            if last != Some(level) {
                if last.is_some() || level {
                    self.edges.push(PinEdge {
                        pin: n,
                        high: level,
                        at_ns: now,
                    });
                }
                self.last_level[pin.index()] = Some(level);
            }
        }
    }

    fn usart_index(addr: u32) -> Option<usize> {
        [USART1_BASE, USART2_BASE, USART3_BASE, LPUART1_BASE]
            .iter()
            .position(|&b| (b..b + 0x400).contains(&addr))
    }

    /// Exception number of USART `n`'s interrupt.
    const USART_EXC: [u32; 4] = [exc::USART1, exc::USART2, exc::USART3, exc::LPUART1];
    /// Index of LPUART1 in [`Periph::usart`].
    pub const LPUART1: usize = 3;

    /// Index in [`Periph::usart`] of the firmware's console UART: LPUART1 once the firmware
    /// has enabled it (CR1.UE) or sent on it (its NUCLEO-G474RE profile), else USART1 (the
    /// WeAct profile, the emu board's model).
    pub fn console_index(&self) -> usize {
        let lp = &self.usart[Self::LPUART1];
        if lp.regs[0] & 1 != 0 || !lp.tx.is_empty() {
            Self::LPUART1
        } else {
            0
        }
    }

    /// The firmware's console UART ([`Periph::console_index`]).
    pub fn console(&self) -> &EmuUsart {
        &self.usart[self.console_index()]
    }

    /// See [`Periph::console`].
    pub fn console_mut(&mut self) -> &mut EmuUsart {
        let n = self.console_index();
        &mut self.usart[n]
    }

    /// Reads a peripheral or system register at absolute `addr` (the MMIO hooks' entry point).
    pub fn read(&mut self, addr: u32, size: usize) -> u32 {
        let word = addr & !3;
        let v = self.read_word(word);
        self.last_access = word;
        let shift = (addr & 3) * 8;
        let v = v >> shift;
        match size {
            1 => v & 0xFF,
            2 => v & 0xFFFF,
            _ => v,
        }
    }

    fn read_word(&mut self, addr: u32) -> u32 {
        if let Some(n) = Self::usart_index(addr) {
            let u = &mut self.usart[n];
            u.deliver(self.cycles);
            let v = u.read(addr & 0x3FF, self.cycles);
            if self.idle_polls > 0 && n != 2 && u.empty_polls >= self.idle_polls {
                u.empty_polls = 0;
                self.stop.get_or_insert(StopRequest::Idle);
            }
            return v;
        }
        // Side effects of reading, then the register's value.
        if Self::is_gpio(addr) {
            self.sync_inputs();
        }
        let nvic_pending = (0xE000_E200..0xE000_E220).contains(&addr)
            || (0xE000_E280..0xE000_E2A0).contains(&addr);
        if nvic_pending {
            self.refresh_irqs();
        }
        let Some(v) = self.register(addr) else {
            self.unmodelled.push((addr, false));
            return 0;
        };
        if addr == SYST_BASE {
            self.systick.countflag = false; // COUNTFLAG clears on read
        }
        v
    }

    /// The value of the modelled register (or system word) at `addr` (4-aligned), without side
    /// effects; `None` for an address no model covers. USART registers are read through
    /// [`EmuUsart`] by [`Self::read_word`] and [`Self::peek`].
    fn register(&self, addr: u32) -> Option<u32> {
        if Self::is_gpio(addr) {
            let port = ((addr - GPIOA_BASE) / GPIO_STRIDE) as usize;
            return Some(self.gpio[port].read(addr % GPIO_STRIDE).unwrap_or(0));
        }
        Some(match addr {
            a if (RCC_BASE..RCC_BASE + 0x400).contains(&a) => {
                return Self::rcc_pos(a - RCC_BASE).map(|i| self.rcc[i]);
            }
            a if (FLASH_R_BASE..FLASH_R_BASE + 0x400).contains(&a) => self
                .flash_regs
                .get(&(a - FLASH_R_BASE))
                .copied()
                .unwrap_or(0),
            // PWR: SR2 (VOSF, REGLPF) reads 0: the regulator is always ready.
            a if (PWR_BASE..PWR_BASE + 0x400).contains(&a) => match a - PWR_BASE {
                0x14 => 0,
                o => self.pwr.get(&o).copied().unwrap_or(0),
            },
            a if (IWDG_BASE..IWDG_BASE + 0x400).contains(&a) => match a - IWDG_BASE {
                0x04 => self.iwdg.pr,
                0x08 => self.iwdg.rlr,
                0x10 => 0xFFF,
                _ => 0,
            },
            // DWT.
            0xE000_1000 => self.dwt_ctrl,
            0xE000_1004 => self.cycles.wrapping_sub(self.dwt_offset) as u32,
            // SysTick.
            SYST_BASE => self.systick.csr & 7 | u32::from(self.systick.countflag) << 16,
            0xE000_E014 => self.systick.rvr,
            0xE000_E018 => self.systick.cvr(self.cycles),
            0xE000_E01C => 0x4000_0000 | (CPU_HZ / 8 / 100) as u32,
            // NVIC.
            a if (0xE000_E100..0xE000_E120).contains(&a)
                || (0xE000_E180..0xE000_E1A0).contains(&a) =>
            {
                self.nvic_enabled[((a & 0x1F) / 4) as usize]
            }
            a if (0xE000_E200..0xE000_E220).contains(&a)
                || (0xE000_E280..0xE000_E2A0).contains(&a) =>
            {
                self.nvic_pending[((a & 0x1F) / 4) as usize]
            }
            a if (0xE000_E300..0xE000_E320).contains(&a) => {
                let i = ((a & 0x1F) / 4) as usize;
                let mut v = 0;
                for &(e, _) in &self.active {
                    if e >= exc::IRQ0 && ((e - exc::IRQ0) / 32) as usize == i {
                        v |= 1 << ((e - exc::IRQ0) % 32);
                    }
                }
                v
            }
            a if (0xE000_E400..0xE000_E4F0).contains(&a) => {
                let i = (a - 0xE000_E400) as usize;
                u32::from_le_bytes([
                    self.nvic_prio[i],
                    self.nvic_prio[i + 1],
                    self.nvic_prio[i + 2],
                    self.nvic_prio[i + 3],
                ])
            }
            a if Mpu::is_register(a) => self.mpu.read(a),
            // SCB.
            a if (SCB_BASE..SCB_BASE + 0x40).contains(&a) => match a - SCB_BASE {
                0x04 => self.icsr(),
                o => self.scb.get(&o).copied().unwrap_or(0),
            },
            DBGMCU_IDCODE => 0x1000_6469,
            a if (UID_BASE..UID_BASE + 12).contains(&a) => UID[((a - UID_BASE) / 4) as usize],
            FLASHSIZE_ADDR => 512,
            // ITM stimulus ports read as ready.
            a if (0xE000_0000..0xE000_0080).contains(&a) => 1,
            a if a >= 0xE000_0000 => self.sys_other.get(&a).copied().unwrap_or(0),
            _ => return None,
        })
    }

    /// ICSR: VECTACTIVE, PENDSTSET, PENDSVSET, ISRPENDING (approximate).
    fn icsr(&self) -> u32 {
        let active = self.active.last().map_or(0, |a| a.0);
        let mut v = active & 0x1FF;
        if self.sys_pending >> exc::SYSTICK & 1 != 0 {
            v |= 1 << 26;
        }
        if self.sys_pending >> exc::PENDSV & 1 != 0 {
            v |= 1 << 28;
        }
        v
    }

    /// Writes a peripheral or system register at absolute `addr`. Sub-word writes are merged
    /// into the word (GPIO BSRR halfword writes included).
    pub fn write(&mut self, addr: u32, size: usize, value: u32) {
        let word = addr & !3;
        let value = match size {
            4 => value,
            _ => {
                let shift = (addr & 3) * 8;
                let mask = if size == 1 { 0xFF } else { 0xFFFF } << shift;
                // Write-only/set-style registers must not see the old value merged in.
                let old = if self.is_action_register(word) {
                    0
                } else {
                    self.peek(word)
                };
                old & !mask | (value << shift) & mask
            }
        };
        self.write_word(word, value);
        self.last_access = word;
    }

    /// Whether a write of `v` to `addr` can neither pend an exception nor change a timer
    /// deadline or request a stop, so the run loop need not check soon (the hot writes: IWDG
    /// refresh, GPIO, USART TDR while its TX interrupts are disabled).
    pub fn write_is_inert(&self, addr: u32, v: u32) -> bool {
        let gpio_end = GPIOA_BASE + GPIO_STRIDE * GPIO_PORTS as u32;
        let tx_irqs = EmuUsart::TXEIE | EmuUsart::TCIE;
        (addr == IWDG_BASE && v & 0xFFFF == 0xAAAA)
            || (GPIOA_BASE..gpio_end).contains(&addr)
            || Self::usart_index(addr).is_some_and(|n| {
                addr & 0x3FF == EmuUsart::TDR && self.usart[n].regs[EmuUsart::CR1] & tx_irqs == 0
            })
    }

    /// Busy-poll fast-forward: if a read of `addr` would be a USART ISR read repeating the
    /// previous peripheral access (a tight polling loop, nothing else touched in between) while
    /// that USART's transmitter is busy, the cycle at which its next TX flag (TXE, then TC)
    /// sets, or its next received byte completes (RXNE) if that comes first. The caller may advance the clock there (bounded by [`Periph::next_event`]) before
    /// the read: the loop would only spin until then. Deterministic: depends on board state
    /// only.
    pub fn tx_poll_wake(&self, addr: u32) -> Option<u64> {
        let n = Self::usart_index(addr)?;
        if addr & !3 != self.last_access || addr & 0x3FF != EmuUsart::ISR {
            return None;
        }
        let u = &self.usart[n];
        let wake = u.next_tx_change(self.cycles)?;
        // The loop would also see RXNE rise when the next received byte completes.
        Some(u.rx_line.next_due().map_or(wake, |rx| wake.min(rx)))
    }

    /// The next cycle after now at which a timer or transmitter event can pend an exception or
    /// reset the MCU: SysTick wrap (TICKINT and ENABLE), IWDG expiry, a USART TXE/TC with its
    /// interrupt enabled. `u64::MAX` if none.
    pub fn next_event(&self) -> u64 {
        let mut t = u64::MAX;
        if self.systick.csr & 3 == 3 {
            t = t.min(self.systick.next_wrap);
        }
        if self.iwdg.running {
            t = t.min(self.iwdg.deadline);
        }
        for u in &self.usart {
            if let Some(w) = u.next_tx_irq(self.cycles) {
                t = t.min(w);
            }
        }
        t
    }

    /// Registers whose writes act (rather than store): merging old contents would repeat the
    /// action.
    fn is_action_register(&self, word: u32) -> bool {
        let gpio_end = GPIOA_BASE + GPIO_STRIDE * GPIO_PORTS as u32;
        ((GPIOA_BASE..gpio_end).contains(&word) && matches!(word % GPIO_STRIDE, 0x18 | 0x28))
            || Self::usart_index(word).is_some_and(|_| matches!(word & 0x3FF, 0x18 | 0x20 | 0x28))
            || (0xE000_E100..0xE000_E300).contains(&word)
            || (0xE000_0000..0xE000_0080).contains(&word)
    }

    /// A read without side effects (for merging sub-word writes and for probes): what
    /// [`Self::read`] would return, without clearing flags or counting polls; 0 where no model
    /// covers the address.
    pub fn peek(&self, addr: u32) -> u32 {
        if let Some(n) = Self::usart_index(addr) {
            let u = &self.usart[n];
            return match addr & 0x3FF {
                0x1C => u.isr(self.cycles),
                0x24 => u.rdr.map_or(0, u32::from),
                o if o < 0x30 => u.regs[(o / 4) as usize],
                _ => 0,
            };
        }
        self.register(addr).unwrap_or(0)
    }

    fn write_word(&mut self, addr: u32, v: u32) {
        if let Some(n) = Self::usart_index(addr) {
            self.usart[n].write(addr & 0x3FF, v, self.cycles);
            return;
        }
        let gpio_end = GPIOA_BASE + GPIO_STRIDE * GPIO_PORTS as u32;
        if (GPIOA_BASE..gpio_end).contains(&addr) {
            let port = ((addr - GPIOA_BASE) / GPIO_STRIDE) as usize;
            self.gpio[port].write(addr % GPIO_STRIDE, v);
            self.log_edges(port);
            return;
        }
        match addr {
            a if (RCC_BASE..RCC_BASE + 0x400).contains(&a) => self.rcc_write(a - RCC_BASE, v),
            a if (FLASH_R_BASE..FLASH_R_BASE + 0x400).contains(&a) => {
                self.flash_ctl_write(a - FLASH_R_BASE, v);
            }
            a if (PWR_BASE..PWR_BASE + 0x400).contains(&a) => {
                self.pwr.insert(a - PWR_BASE, v);
            }
            a if (IWDG_BASE..IWDG_BASE + 0x400).contains(&a) => match (a - IWDG_BASE, v & 0xFFFF) {
                (0x00, 0xCCCC) if !self.iwdg.running => {
                    self.iwdg.running = true;
                    self.iwdg.deadline = self.cycles + self.iwdg.timeout_cycles();
                }
                (0x00, 0xCCCC) => {}
                (0x00, 0xAAAA) => self.iwdg.deadline = self.cycles + self.iwdg.timeout_cycles(),
                (0x00, 0x5555) => self.iwdg.unlocked = true,
                (0x00, _) => self.iwdg.unlocked = false,
                (0x04, pr) if self.iwdg.unlocked => self.iwdg.pr = pr & 7,
                (0x08, rlr) if self.iwdg.unlocked => self.iwdg.rlr = rlr & 0xFFF,
                _ => {}
            },
            0xE000_1000 => self.dwt_ctrl = v,
            0xE000_1004 => self.dwt_offset = self.cycles.wrapping_sub(u64::from(v)),
            SYST_BASE => {
                let was = self.systick.csr & 1;
                self.systick.csr = v & 7;
                if was == 0 && v & 1 != 0 {
                    self.systick.restart(self.cycles);
                }
            }
            0xE000_E014 => self.systick.rvr = v & 0x00FF_FFFF,
            0xE000_E018 => {
                self.systick.countflag = false;
                self.systick.restart(self.cycles);
            }
            a if (0xE000_E100..0xE000_E120).contains(&a) => {
                self.nvic_enabled[((a & 0x1F) / 4) as usize] |= v;
            }
            a if (0xE000_E180..0xE000_E1A0).contains(&a) => {
                self.nvic_enabled[((a & 0x1F) / 4) as usize] &= !v;
            }
            a if (0xE000_E200..0xE000_E220).contains(&a) => {
                self.nvic_pending[((a & 0x1F) / 4) as usize] |= v;
            }
            a if (0xE000_E280..0xE000_E2A0).contains(&a) => {
                self.nvic_pending[((a & 0x1F) / 4) as usize] &= !v;
            }
            a if (0xE000_E400..0xE000_E4F0).contains(&a) => {
                let i = (a - 0xE000_E400) as usize;
                self.nvic_prio[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            a if (SCB_BASE..SCB_BASE + 0x40).contains(&a) => match a - SCB_BASE {
                0x00 => {}
                0x04 => {
                    if v & 1 << 26 != 0 {
                        self.sys_pending |= 1 << exc::SYSTICK;
                    }
                    if v & 1 << 25 != 0 {
                        self.sys_pending &= !(1 << exc::SYSTICK);
                    }
                    if v & 1 << 28 != 0 {
                        self.sys_pending |= 1 << exc::PENDSV;
                    }
                    if v & 1 << 27 != 0 {
                        self.sys_pending &= !(1 << exc::PENDSV);
                    }
                }
                0x0C => {
                    if v >> 16 == 0x05FA {
                        self.scb.insert(0x0C, 0xFA05_0000 | v & 0x700);
                        if v & 4 != 0 {
                            self.stop = Some(StopRequest::Reset(ResetCause::Software));
                        }
                    }
                }
                // CFSR, HFSR: write-one-to-clear.
                o @ (0x28 | 0x2C) => {
                    let old = self.scb.get(&o).copied().unwrap_or(0);
                    self.scb.insert(o, old & !v);
                }
                o => {
                    self.scb.insert(o, v);
                }
            },
            a if Mpu::is_register(a) => self.mpu.write(a, v),
            // STIR: software-triggered interrupt.
            0xE000_EF00 => {
                let n = v & 0x1FF;
                self.nvic_pending[(n / 32) as usize % 8] |= 1 << (n % 32);
            }
            // ITM stimulus port 0.
            0xE000_0000 => self.itm.push(v as u8),
            a if a >= 0xE000_0000 => {
                self.sys_other.insert(a, v);
            }
            a => self.unmodelled.push((a, true)),
        }
    }

    /// Latches peripheral interrupt requests into the NVIC pending bits.
    pub fn refresh_irqs(&mut self) {
        for (n, &e) in Self::USART_EXC.iter().enumerate() {
            if self.usart[n].irq(self.cycles) {
                let irq = e - exc::IRQ0;
                self.nvic_pending[(irq / 32) as usize] |= 1 << (irq % 32);
            }
        }
    }

    /// Advances timers and lines to `self.cycles`: received bytes into RDR, SysTick wraps
    /// (COUNTFLAG, pending SysTick with TICKINT) and the watchdog deadline.
    pub fn tick(&mut self) {
        let now = self.cycles;
        for u in &mut self.usart {
            u.deliver(now);
        }
        let st = &mut self.systick;
        if st.csr & 1 != 0 && now >= st.next_wrap {
            let period = st.period();
            let wraps = (now - st.next_wrap) / period + 1;
            st.next_wrap += wraps * period;
            st.base = st.next_wrap - period;
            st.countflag = true;
            if st.csr & 2 != 0 {
                self.sys_pending |= 1 << exc::SYSTICK;
            }
        }
        if self.iwdg.running && now >= self.iwdg.deadline {
            self.stop
                .get_or_insert(StopRequest::Reset(ResetCause::Watchdog));
        }
    }

    /// Priority of exception `e` (lower = more urgent; the Cortex-M4 implements the top 4
    /// bits).
    pub fn priority(&self, e: u32) -> i32 {
        match e {
            1 => -3,
            2 => -2,
            3 => -1,
            4..=15 => {
                let shpr = self
                    .scb
                    .get(&(0x18 + (e - 4) / 4 * 4))
                    .copied()
                    .unwrap_or(0);
                i32::from((shpr >> ((e % 4) * 8)) as u8 & 0xF0)
            }
            _ => i32::from(self.nvic_prio[(e - exc::IRQ0) as usize] & 0xF0),
        }
    }

    /// The most urgent pending, enabled exception whose priority beats `current` (the
    /// execution priority), if any.
    pub fn next_exception(&mut self, current: i32) -> Option<u32> {
        self.refresh_irqs();
        let mut best: Option<(i32, u32)> = None;
        let mut consider = |e: u32, p: i32| {
            if p < current && best.is_none_or(|(bp, _)| p < bp) {
                best = Some((p, e));
            }
        };
        for e in [exc::PENDSV, exc::SYSTICK] {
            if self.sys_pending >> e & 1 != 0 {
                consider(e, self.priority(e));
            }
        }
        for i in 0..8 {
            let mut bits = self.nvic_pending[i] & self.nvic_enabled[i];
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                let e = exc::IRQ0 + i as u32 * 32 + b;
                if (e as usize) < exc::IRQ0 as usize + self.nvic_prio.len() {
                    consider(e, self.priority(e));
                }
            }
        }
        best.map(|(_, e)| e)
    }

    /// Clears the pending state of exception `e` (taken).
    pub fn clear_pending(&mut self, e: u32) {
        if e < exc::IRQ0 {
            self.sys_pending &= !(1 << e);
        } else {
            let irq = e - exc::IRQ0;
            self.nvic_pending[(irq / 32) as usize] &= !(1 << (irq % 32));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn periph(buf: &mut [u8]) -> Periph {
        Periph::new(buf.as_mut_ptr())
    }

    #[test]
    fn rcc_ready_bits_follow() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        p.write(RCC_BASE, 4, 1 << 16 | 1 << 24 | 1 << 8);
        assert_eq!(p.read(RCC_BASE, 4) & (1 << 17 | 1 << 25), 1 << 17 | 1 << 25);
        p.write(RCC_BASE + 8, 4, 3);
        assert_eq!(p.read(RCC_BASE + 8, 4) & 0xF, 0xF);
    }

    #[test]
    fn peek_reads_what_read_reads_without_its_side_effects() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        p.write(0xE000_E100, 4, 1 << 5); // NVIC ISER0
        for addr in [
            0xE000_E100,
            IWDG_BASE + 0x04,
            IWDG_BASE + 0x08,
            IWDG_BASE + 0x0C,
            DBGMCU_IDCODE,
            UID_BASE,
            FLASHSIZE_ADDR,
            0xE000_E01C,
            RCC_BASE + 0x94,
            PWR_BASE + 0x14,
        ] {
            assert_eq!(p.peek(addr), p.read(addr, 4), "{addr:#010x}");
        }
        assert_eq!(p.peek(DBGMCU_IDCODE) & 0xFFF, 0x469);
        assert_eq!(p.peek(0xE000_E100), 1 << 5);
        // COUNTFLAG: a read clears it, a peek does not.
        p.systick.countflag = true;
        assert_eq!(p.peek(SYST_BASE) >> 16 & 1, 1);
        assert_eq!(p.peek(SYST_BASE) >> 16 & 1, 1);
        assert_eq!(p.read(SYST_BASE, 4) >> 16 & 1, 1);
        assert_eq!(p.peek(SYST_BASE) >> 16 & 1, 0);
        // Unmodelled addresses read 0 either way; only a read records them.
        assert_eq!(p.peek(0x5000_0000), 0);
        assert!(p.unmodelled.is_empty());
        assert_eq!(p.read(0x5000_0000, 4), 0);
        assert_eq!(p.unmodelled, vec![(0x5000_0000, false)]);
    }

    #[test]
    fn rcc_csr_reset_flags_power_on_then_accumulate_until_rmvf() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        let csr = RCC_BASE + 0x94;
        assert_eq!(p.read(csr, 4) & 0xFE00_0000, 0x0C00_0000, "BORRSTF|PINRSTF");
        p.system_reset(ResetCause::Watchdog);
        assert_eq!(
            p.read(csr, 4) & 0xFE00_0000,
            0x2C00_0000,
            "flags kept, IWDGRSTF added"
        );
        p.write(csr, 4, 1 << 23); // RMVF
        assert_eq!(p.read(csr, 4) & 0xFE00_0000, 0);
        p.system_reset(ResetCause::Software);
        assert_eq!(p.read(csr, 4) & 0xFE00_0000, 1 << 28);
    }

    #[test]
    fn flash_unlock_erase_program() {
        let mut buf = vec![0u8; FLASH_SIZE];
        let mut p = periph(&mut buf);
        // Locked: CR writes ignored.
        p.write(FLASH_R_BASE + 0x14, 4, fl::CR_PER | fl::CR_STRT);
        p.write(FLASH_R_BASE + 0x08, 4, fl::KEY1);
        p.write(FLASH_R_BASE + 0x08, 4, fl::KEY2);
        assert_eq!(p.read(FLASH_R_BASE + 0x14, 4) & fl::CR_LOCK, 0);
        // Erase page 3 of bank 2.
        p.write(
            FLASH_R_BASE + 0x14,
            4,
            fl::CR_PER | fl::CR_BKER | 3 << 3 | fl::CR_STRT,
        );
        p.write(FLASH_R_BASE + 0x14, 4, fl::CR_PG);
        let a = FLASH_BASE + 256 * 1024 + 3 * 2048;
        p.flash_store(a + 8, 4, 0x1122_3344);
        p.flash_store(a + 12, 4, 0x5566_7788);
        drop(p);
        let off = (a - FLASH_BASE) as usize;
        assert_eq!(&buf[off..off + 8], &[0xFF; 8]);
        assert_eq!(
            &buf[off + 8..off + 16],
            &[0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55]
        );
        assert_eq!(buf[off - 1], 0, "page before untouched");
        assert_eq!(buf[off + 2048], 0, "page after untouched");
        let mut p = periph(&mut buf);
        p.write(FLASH_R_BASE + 0x08, 4, fl::KEY1);
        p.write(FLASH_R_BASE + 0x08, 4, fl::KEY2);
        p.write(FLASH_R_BASE + 0x14, 4, fl::CR_PG);
        p.flash_store(a + 8, 4, 0);
        p.flash_store(a + 12, 4, 0);
        assert_ne!(
            p.read(FLASH_R_BASE + 0x10, 4) & fl::SR_PROGERR,
            0,
            "not erased"
        );
    }

    #[test]
    fn gpio_edges_and_usart() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        let gpioc = GPIOA_BASE + 2 * GPIO_STRIDE;
        p.write(gpioc, 4, 0xFFFF_DFFF); // PC6 output
        p.cycles = 170;
        p.write(gpioc + 0x18, 4, 1 << 6);
        p.cycles = 340;
        p.write(gpioc + 0x18, 2, 0); // halfword write to BSRR low: no action
        p.write(gpioc + 0x1A, 2, 1 << 6); // BSRR high halfword: reset PC6
        assert_eq!(
            p.edges,
            vec![
                PinEdge {
                    pin: 13,
                    high: true,
                    at_ns: 1000
                },
                PinEdge {
                    pin: 13,
                    high: false,
                    at_ns: 2000
                }
            ]
        );
        p.write(USART1_BASE, 4, 0xD);
        p.write(USART1_BASE + 0x28, 4, u32::from(b'A'));
        assert_eq!(p.usart[0].tx, b"A");
        assert_eq!(p.read(USART1_BASE + 0x1C, 4) & 0x6000E0, 0x6000C0);
        p.usart[0].receive(b"x", p.cycles);
        assert_eq!(
            p.read(USART1_BASE + 0x1C, 4) & 0x20,
            0,
            "not yet: one frame time"
        );
        p.cycles += p.usart[0].frame_cycles();
        assert_eq!(p.read(USART1_BASE + 0x1C, 4) & 0x20, 0x20);
        assert_eq!(p.read(USART1_BASE + 0x24, 4), u32::from(b'x'));
    }

    #[test]
    fn lpuart1_paces_by_brr_over_256_and_becomes_the_console() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        assert_eq!(p.console_index(), 0, "USART1 until LPUART1 is enabled");
        p.write(LPUART1_BASE + 0x0C, 4, 377_778); // BRR: 256 × 170 MHz / 115200
        p.write(LPUART1_BASE, 4, 0xD); // UE | RE | TE
        assert_eq!(p.console_index(), Periph::LPUART1);
        assert_eq!(p.usart[Periph::LPUART1].frame_cycles(), 14_760);
        p.write(LPUART1_BASE + 0x28, 4, u32::from(b'L'));
        assert_eq!(p.console().tx, b"L");
        assert!(p.usart[0].tx.is_empty());
        // TC once the frame has left, 14 760 cycles later.
        assert_eq!(p.read(LPUART1_BASE + 0x1C, 4) & 0x40, 0);
        p.cycles += 14_760;
        assert_eq!(p.read(LPUART1_BASE + 0x1C, 4) & 0x40, 0x40);
        // The same BRR on a USART would be a 16-bit field: only LPUART1 divides by 256.
        p.write(USART1_BASE + 0x0C, 4, 1476);
        assert_eq!(p.usart[0].frame_cycles(), 14_760);
    }

    #[test]
    fn usart_rx_line_rate_overrun_and_ovrdis() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        let (isr, icr, rdr, cr3) = (
            USART1_BASE + 0x1C,
            USART1_BASE + 0x20,
            USART1_BASE + 0x24,
            USART1_BASE + 0x08,
        );
        p.write(USART1_BASE + 0x0C, 4, 1476);
        p.write(USART1_BASE, 4, 0xD); // UE | RE | TE
        let frame = p.usart[0].frame_cycles();
        assert_eq!(frame, 14_760, "8N1 at BRR 1476");
        p.usart[0].receive(b"abc", 1000);
        p.cycles = 1000 + frame;
        assert_eq!(p.read(isr, 4) & 0x28, 0x20, "a: RXNE, no ORE");
        assert_eq!(p.read(rdr, 4), u32::from(b'a'));
        assert_eq!(p.read(isr, 4) & 0x20, 0, "RDR read clears RXNE");
        // b and c end while nobody reads: c overruns, RDR keeps b.
        p.cycles = 1000 + 3 * frame;
        assert_eq!(p.read(isr, 4) & 0x28, 0x28, "RXNE | ORE");
        assert_eq!(p.read(rdr, 4), u32::from(b'b'));
        assert_eq!(p.read(isr, 4) & 0x28, 0x08, "ORE stays until ICR.ORECF");
        p.write(icr, 4, 1 << 3);
        assert_eq!(p.read(isr, 4) & 0x08, 0);
        // OVRDIS: the newer byte overwrites RDR, no ORE.
        p.write(cr3, 4, 1 << 12);
        p.usart[0].receive(b"xy", p.cycles);
        p.cycles += 2 * frame;
        assert_eq!(p.read(isr, 4) & 0x28, 0x20);
        assert_eq!(p.read(rdr, 4), u32::from(b'y'));
        // A disabled receiver loses what arrives.
        p.write(USART1_BASE, 4, 0x9); // UE | TE
        p.usart[0].receive(b"z", p.cycles);
        p.cycles += frame;
        p.tick();
        assert_eq!(p.read(isr, 4) & 0x20, 0);
        assert!(p.usart[0].rx_line.is_empty());
    }

    #[test]
    fn usart_tdr_and_shift_register_timing() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        let (isr, tdr, icr) = (USART2_BASE + 0x1C, USART2_BASE + 0x28, USART2_BASE + 0x20);
        // 8N1 at BRR = 1000: 10 000 cycles a frame.
        p.write(USART2_BASE + 0x0C, 4, 1000);
        p.write(USART2_BASE, 4, 0xD);
        assert_eq!(p.read(isr, 4) & 0xC0, 0xC0, "reset: TXE | TC");
        p.cycles = 100;
        p.write(tdr, 4, u32::from(b'a'));
        assert_eq!(
            p.read(isr, 4) & 0xC0,
            0x80,
            "in the shift register: TXE, not TC"
        );
        p.write(tdr, 4, u32::from(b'b'));
        assert_eq!(p.read(isr, 4) & 0xC0, 0, "TDR full");
        assert_eq!(p.usart[1].next_tx_change(p.cycles), Some(10_100));
        p.write(tdr, 4, u32::from(b'c')); // overwrites 'b'
        p.cycles = 10_100;
        assert_eq!(
            p.read(isr, 4) & 0xC0,
            0x80,
            "'c' moved into the shift register"
        );
        assert_eq!(p.usart[1].next_tx_change(p.cycles), Some(20_100));
        p.cycles = 20_100;
        assert_eq!(p.read(isr, 4) & 0xC0, 0xC0);
        assert_eq!(p.usart[1].tx, b"ac");
        assert_eq!(p.usart[1].tx_done, [10_100, 20_100]);
        p.write(icr, 4, 0x40); // TCCF
        assert_eq!(p.read(isr, 4) & 0xC0, 0x80, "TC cleared");
        // Parity/9-bit and 2 stop bits: 1 + 9 + 2 = 12 bits.
        p.write(USART2_BASE + 0x04, 4, 0b10 << 12);
        p.write(USART2_BASE, 4, 0xD | 1 << 12);
        p.write(tdr, 4, 0x1FF);
        assert_eq!(p.usart[1].tx_done[2], 20_100 + 12_000);
        assert_eq!(p.read(isr, 4) & 0x40, 0, "TC clears again on a TDR write");
    }

    #[test]
    fn tx_poll_wake_only_for_repeated_isr_reads_while_busy() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        let isr = USART1_BASE + 0x1C;
        p.write(USART1_BASE + 0x0C, 4, 1476);
        p.write(USART1_BASE + 0x28, 4, 1);
        assert_eq!(p.tx_poll_wake(isr), None, "last access was TDR");
        p.read(isr, 4);
        assert_eq!(
            p.tx_poll_wake(isr),
            Some(14_760),
            "repeated ISR read: wait for TC"
        );
        assert_eq!(p.tx_poll_wake(USART1_BASE + 0x24), None, "not ISR");
        p.read(0xE000_1004, 4);
        assert_eq!(p.tx_poll_wake(isr), None, "another access in between");
        p.cycles = 14_760;
        p.read(isr, 4);
        assert_eq!(p.tx_poll_wake(isr), None, "idle transmitter");
        // A byte being received completes before TC: the poll wakes for its RXNE.
        p.write(USART1_BASE + 0x28, 4, 3);
        p.usart[0].receive(b"x", 14_760 - 10_000);
        p.read(isr, 4);
        assert_eq!(p.tx_poll_wake(isr), Some(14_760 + 4_760), "RX ends first");
        p.cycles = 2 * 14_760;
        p.read(isr, 4);
        p.read(USART1_BASE + 0x24, 4);
        // With TCIE the frame end is a timed event that bounds skipping and sleeping.
        assert_eq!(p.next_event(), u64::MAX);
        p.write(USART1_BASE, 4, 0xD | 1 << 6);
        p.write(USART1_BASE + 0x28, 4, 2);
        assert_eq!(p.next_event(), 3 * 14_760);
        assert!(!p.usart[0].irq(p.cycles));
        assert!(p.usart[0].irq(3 * 14_760));
    }

    #[test]
    fn frame_cycles_follow_the_frame_format() {
        let mut regs = [0u32; 12];
        regs[3] = 1476;
        assert_eq!(usart::frame_cycles(&regs), 14_760, "8N1");
        regs[0] = 1 << 28; // M1: 7 data bits
        regs[1] = 0b01 << 12; // 0.5 stop bits
        assert_eq!(usart::frame_cycles(&regs), 1476 * 17 / 2);
        regs[0] = 1 << 15; // OVER8, 8 data bits
        regs[1] = 0;
        regs[3] = 0x5C2; // USARTDIV = 0x5C4: 170 MHz · 2 / 0x5C4 = 230 352 Bd
        regs[11] = 2; // PRESC /4
        assert_eq!(usart::frame_cycles(&regs), 10 * 0x5C4 / 2 * 4);
    }

    #[test]
    fn systick_pends() {
        let mut buf = vec![0xFF; FLASH_SIZE];
        let mut p = periph(&mut buf);
        p.write(0xE000_E014, 4, 999);
        p.write(SYST_BASE, 4, 7);
        p.cycles = 500;
        p.tick();
        assert_eq!(p.next_exception(256), None);
        assert_eq!(p.read(0xE000_E018, 4), 499);
        p.cycles = 1000;
        p.tick();
        assert_eq!(p.next_exception(256), Some(exc::SYSTICK));
        assert_eq!(p.read(SYST_BASE, 4) >> 16, 1);
        assert_eq!(p.read(SYST_BASE, 4) >> 16, 0, "COUNTFLAG clears on read");
    }
}
