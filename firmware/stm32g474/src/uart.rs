//! USART1 on PA9 (TX) / PA10 (RX), AF7, 115200 8N1, polled (RM0440 §37).
//!
//! Init order: RCC_AHB2ENR.GPIOAEN, RCC_APB2ENR.USART1EN (bit 14); GPIOA_AFRH AF7 for pins 9/10,
//! GPIOA_PUPDR pull-up on PA10, GPIOA_MODER = 10 (AF) for pins 9/10; USART1_CR1 = 0 (disabled),
//! BRR = 1476 (170 MHz / 115200 = 1475.7, oversampling 16, error −0.02 %; computed and `const`-checked in `cockpit_hypervisor::clocks`), CR2 = CR3 = 0 (1 stop
//! bit, no flow control, FIFO off), CR1 = UE | RE | TE.
//! Transmit: poll ISR.TXE (bit 7), write TDR; [`flush`] polls ISR.TC (bit 6). Receive: poll
//! ISR.RXNE (bit 5), read RDR. Overrun, framing and noise errors (ISR bits 3, 1, 2) are cleared
//! through ICR and counted.
//!
//! With the FIFO off RDR holds one byte, and a byte that completes while RXNE is still set is
//! lost (ORE, RM0440 §37.5.8). A blocking transmit takes 86.8 µs per byte, so every TX wait loop
//! also moves received bytes into a [`RX_RING`]-byte software buffer, which [`read_byte`]
//! drains first: a host that sends while the firmware answers loses nothing.

use core::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};

use crate::pac;

const USART1: *const pac::usart1::RegisterBlock = pac::USART1::PTR;
/// BRR for 115200 Bd at PCLK2 = 170 MHz.
pub const BRR_115200: u32 = cockpit_hypervisor::clocks::BRR_CONSOLE;

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
    // SAFETY: the USART1 register block is always mapped; only the main thread (and the fault
    // handler, which never returns) touch it.
    unsafe { &*USART1 }
}

/// Configures PA9/PA10 and USART1 (module docs).
pub fn init(rcc: &pac::RCC, gpioa: &pac::GPIOA) {
    // SAFETY (bits writes): documented field encodings, RM0440 §9.4 and §37.8.
    rcc.ahb2enr().modify(|r, w| unsafe { w.bits(r.bits() | 1) });
    rcc.apb2enr()
        .modify(|r, w| unsafe { w.bits(r.bits() | (1 << 14)) });
    let _ = rcc.apb2enr().read().bits();
    gpioa.afrh().modify(|r, w| unsafe {
        w.bits((r.bits() & !(0xF << 4 | 0xF << 8)) | (7 << 4) | (7 << 8))
    });
    gpioa
        .pupdr()
        .modify(|r, w| unsafe { w.bits((r.bits() & !(0b11 << 20)) | (0b01 << 20)) });
    gpioa.moder().modify(|r, w| unsafe {
        w.bits((r.bits() & !(0b11 << 18 | 0b11 << 20)) | (0b10 << 18) | (0b10 << 20))
    });
    let u = regs();
    u.cr1().write(|w| unsafe { w.bits(0) });
    u.brr().write(|w| unsafe { w.bits(BRR_115200) });
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

/// `core::fmt::Write` onto USART1.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write(s.as_bytes());
        Ok(())
    }
}
