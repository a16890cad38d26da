//! The console UART of the board profile ([`crate::profile::CONSOLE`]), 115200 8N1, polled:
//! USART1 on PA9 (TX) / PA10 (RX), AF7 (RM0440 §37) on the WeAct board, LPUART1 on PA2 (TX) /
//! PA3 (RX), AF12, the ST-LINK virtual COM port, on the NUCLEO-G474RE (RM0440 §38).
//!
//! Init order: RCC_AHB2ENR.GPIOAEN; the peripheral clock (USART1: RCC_APB2ENR.USART1EN, bit 14;
//! LPUART1: RCC_CCIPR.LPUART1SEL = 00 (PCLK1), RCC_APB1ENR2.LPUART1EN, bit 0); GPIOA_AFRL/AFRH
//! the AF for both pins, GPIOA_PUPDR pull-up on RX, GPIOA_MODER = 10 (AF) for both pins;
//! CR1 = 0 (disabled), BRR (USART1 1476 = 170 MHz / 115200, error −0.02 %; LPUART1 377 778 =
//! 256 × 170 MHz / 115200; computed and `const`-checked in `cockpit_hypervisor::clocks`),
//! CR2 = CR3 = 0 (1 stop bit, no flow control, FIFO off), CR1 = UE | RE | TE.
//! Transmit: poll ISR.TXE (bit 7), write TDR; [`flush`] polls ISR.TC (bit 6). Receive: poll
//! ISR.RXNE (bit 5), read RDR. Overrun, framing and noise errors (ISR bits 3, 1, 2) are cleared
//! through ICR and counted. LPUART1 has the same offsets and bits for every register used here
//! (CR1–CR3, BRR, ISR, ICR, RDR, TDR; RM0440 §37.8.15 and §38.7.11 register maps), so one
//! driver serves both.
//!
//! With the FIFO off RDR holds one byte, and a byte that completes while RXNE is still set is
//! lost (ORE, RM0440 §37.5.8). A blocking transmit takes 86.8 µs per byte, so every TX wait loop
//! also moves received bytes into a [`RX_RING`]-byte software buffer, which [`read_byte`]
//! drains first: a host that sends while the firmware answers loses nothing.

use core::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};

use crate::pac;
use crate::profile::{CONSOLE, ConsolePeripheral};

/// The console's register block, through the USART1 layout (module docs: same offsets).
const UART: *const pac::usart1::RegisterBlock = CONSOLE.base as *const _;

const ISR_PE: u32 = 1 << 0;
const ISR_FE: u32 = 1 << 1;
const ISR_NE: u32 = 1 << 2;
const ISR_ORE: u32 = 1 << 3;
const ISR_RXNE: u32 = 1 << 5;
const ISR_TC: u32 = 1 << 6;
const ISR_TXE: u32 = 1 << 7;
const CR1_UE: u32 = 1 << 0;
const CR1_RE: u32 = 1 << 2;
const CR1_TE: u32 = 1 << 3;

/// Receive errors (overrun, framing, noise, parity) seen since reset.
pub static RX_ERRORS: AtomicU32 = AtomicU32::new(0);

fn regs() -> &'static pac::usart1::RegisterBlock {
    // SAFETY: the console's register block is always mapped and has the USART1 layout for the
    // registers used (module docs); only the main thread (and the fault handler, which never
    // returns) touch it.
    unsafe { &*UART }
}

/// Configures the console's pins and peripheral (module docs).
pub fn init(rcc: &pac::RCC, gpioa: &pac::GPIOA) {
    // SAFETY (bits writes): documented field encodings, RM0440 §7.4, §9.4, §37.8 and §38.7.
    rcc.ahb2enr().modify(|r, w| unsafe { w.bits(r.bits() | 1) });
    match CONSOLE.peripheral {
        ConsolePeripheral::Usart1 => {
            rcc.apb2enr()
                .modify(|r, w| unsafe { w.bits(r.bits() | (1 << 14)) });
            let _ = rcc.apb2enr().read().bits();
        }
        ConsolePeripheral::Lpuart1 => {
            rcc.ccipr()
                .modify(|r, w| unsafe { w.bits(r.bits() & !(0b11 << 10)) });
            rcc.apb1enr2()
                .modify(|r, w| unsafe { w.bits(r.bits() | 1) });
            let _ = rcc.apb1enr2().read().bits();
        }
    }
    let (tx, rx) = (CONSOLE.tx_pin, CONSOLE.rx_pin);
    for pin in [tx, rx] {
        let shift = (pin % 8) * 4;
        let set_af = |bits: u32| (bits & !(0xF << shift)) | (CONSOLE.af << shift);
        if pin < 8 {
            gpioa
                .afrl()
                .modify(|r, w| unsafe { w.bits(set_af(r.bits())) });
        } else {
            gpioa
                .afrh()
                .modify(|r, w| unsafe { w.bits(set_af(r.bits())) });
        }
    }
    gpioa
        .pupdr()
        .modify(|r, w| unsafe { w.bits((r.bits() & !(0b11 << (2 * rx))) | (0b01 << (2 * rx))) });
    gpioa.moder().modify(|r, w| unsafe {
        w.bits(
            (r.bits() & !(0b11 << (2 * tx) | 0b11 << (2 * rx)))
                | (0b10 << (2 * tx))
                | (0b10 << (2 * rx)),
        )
    });
    let u = regs();
    u.cr1().write(|w| unsafe { w.bits(0) });
    u.brr().write(|w| unsafe { w.bits(CONSOLE.brr) });
    u.cr2().write(|w| unsafe { w.bits(0) });
    u.cr3().write(|w| unsafe { w.bits(0) });
    u.cr1()
        .write(|w| unsafe { w.bits(CR1_UE | CR1_RE | CR1_TE) });
}

/// Software receive buffer size, bytes (a power of two).
pub const RX_RING: usize = 256;

/// Received bytes not yet read: a single-producer single-consumer ring, both on the main
/// thread (atomics only to avoid `static mut`).
struct Ring {
    buf: [AtomicU8; RX_RING],
    /// Next write position (wrapping count).
    head: AtomicUsize,
    /// Next read position (wrapping count).
    tail: AtomicUsize,
}

static RX: Ring = Ring {
    buf: [const { AtomicU8::new(0) }; RX_RING],
    head: AtomicUsize::new(0),
    tail: AtomicUsize::new(0),
};

impl Ring {
    /// Appends `b`; a full ring drops it (counted as a receive error).
    fn push(&self, b: u8) {
        let (head, tail) = (
            self.head.load(Ordering::Relaxed),
            self.tail.load(Ordering::Relaxed),
        );
        if head.wrapping_sub(tail) >= RX_RING {
            RX_ERRORS.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.buf[head % RX_RING].store(b, Ordering::Relaxed);
        self.head.store(head.wrapping_add(1), Ordering::Relaxed);
    }

    fn pop(&self) -> Option<u8> {
        let (head, tail) = (
            self.head.load(Ordering::Relaxed),
            self.tail.load(Ordering::Relaxed),
        );
        if head == tail {
            return None;
        }
        let b = self.buf[tail % RX_RING].load(Ordering::Relaxed);
        self.tail.store(tail.wrapping_add(1), Ordering::Relaxed);
        Some(b)
    }
}

/// Moves a received byte from RDR into the ring, if one is waiting; clears and counts receive
/// errors. Returns ISR as read.
fn poll_rx(u: &pac::usart1::RegisterBlock) -> u32 {
    let isr = u.isr().read().bits();
    let errs = isr & (ISR_ORE | ISR_FE | ISR_NE | ISR_PE);
    if errs != 0 {
        u.icr().write(|w| unsafe { w.bits(errs) });
        RX_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
    if isr & ISR_RXNE != 0 {
        RX.push(u.rdr().read().bits() as u8);
    }
    isr
}

/// Sends one byte; gives up after ~1 ms if TXE never comes (a dead UART must not hang the
/// firmware: the watchdog and the fail-safe logic keep running).
pub fn write_byte(b: u8) {
    let u = regs();
    let mut polls = 200_000u32;
    while poll_rx(u) & ISR_TXE == 0 {
        polls -= 1;
        if polls == 0 {
            return;
        }
    }
    u.tdr().write(|w| unsafe { w.bits(u32::from(b)) });
}

/// Waits until the last byte has left the shift register (ISR.TC); gives up after as many
/// polls as [`write_byte`] (a dead UART must not hang the firmware).
pub fn flush() {
    let u = regs();
    let mut polls = 200_000u32;
    while poll_rx(u) & ISR_TC == 0 && polls > 0 {
        polls -= 1;
    }
}

/// Sends bytes (blocking).
pub fn write(bytes: &[u8]) {
    for &b in bytes {
        write_byte(b);
    }
}

/// The next received byte, if any (buffered during transmits first); clears receive errors.
pub fn read_byte() -> Option<u8> {
    poll_rx(regs());
    RX.pop()
}

/// `core::fmt::Write` onto the console UART.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write(s.as_bytes());
        Ok(())
    }
}
