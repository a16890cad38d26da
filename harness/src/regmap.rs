//! RM0440 register names → addresses, and back: one table used by plans, reports and every board
//! kind (`sim`, later `emu` and `probe`).
//!
//! Names are `PERIPH.REG` (case-insensitive; `PERIPH_REG` as written in RM0440 is accepted too):
//! - `GPIOA`…`GPIOG` × `MODER OTYPER OSPEEDR PUPDR IDR ODR BSRR LCKR AFRL AFRH BRR` (RM0440 §9.4);
//! - `RCC.CR ICSCR CFGR PLLCFGR CIER CIFR CICR AHB1RSTR AHB2RSTR AHB3RSTR APB1RSTR1 APB1RSTR2
//!   APB2RSTR AHB1ENR AHB2ENR AHB3ENR APB1ENR1 APB1ENR2 APB2ENR CCIPR BDCR CSR CRRCR CCIPR2`
//!   (RM0440 §7.4);
//! - `USART1`, `USART2`, `USART3` × `CR1 CR2 CR3 BRR GTPR RTOR RQR ISR ICR RDR TDR PRESC`
//!   (RM0440 "USART registers");
//! - `FLASH.ACR` (RM0440 §3.7.1);
//! - `DWT.CTRL`, `DWT.CYCCNT`, `DHCSR` (= `COREDEBUG.DHCSR`), `DEMCR` (= `COREDEBUG.DEMCR`)
//!   (ARMv7-M architecture reference, Cortex-M4 debug);
//! - `TELEMETRY.<field>` for the hypervisor's telemetry words (`cockpit_hypervisor::telemetry`).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use cockpit_hypervisor::pins::Port;
use cockpit_hypervisor::telemetry;

/// Base of GPIO port A (RM0440 §2.2, AHB2): `0x4800_0000`.
pub const GPIOA_BASE: u32 = 0x4800_0000;
/// Distance between consecutive GPIO ports: `0x400`.
pub const GPIO_STRIDE: u32 = 0x400;
/// Number of GPIO ports on the STM32G474 (A–G).
pub const GPIO_PORTS: usize = 7;
/// Base of RCC (RM0440 §2.2, AHB1): `0x4002_1000`.
pub const RCC_BASE: u32 = 0x4002_1000;
/// Base of the flash interface registers (RM0440 §2.2, AHB1): `0x4002_2000`.
pub const FLASH_R_BASE: u32 = 0x4002_2000;
/// Base of USART1 (RM0440 §2.2, APB2): `0x4001_3800`.
pub const USART1_BASE: u32 = 0x4001_3800;
/// Base of USART2 (RM0440 §2.2, APB1): `0x4000_4400`.
pub const USART2_BASE: u32 = 0x4000_4400;
/// Base of USART3 (RM0440 §2.2, APB1): `0x4000_4800`.
pub const USART3_BASE: u32 = 0x4000_4800;
/// Base of LPUART1 (RM0440 §2.2, APB1): `0x4000_8000`.
pub const LPUART1_BASE: u32 = 0x4000_8000;
/// DWT control register (ARMv7-M C1.8): `0xE000_1000`.
pub const DWT_CTRL: u32 = 0xE000_1000;
/// DWT cycle counter (ARMv7-M C1.8): `0xE000_1004`.
pub const DWT_CYCCNT: u32 = 0xE000_1004;
/// Debug Halting Control and Status Register (ARMv7-M C1.6.2): `0xE000_EDF0`; bit 0 C_DEBUGEN.
pub const DHCSR: u32 = 0xE000_EDF0;
/// Debug Exception and Monitor Control Register (ARMv7-M C1.6.5): `0xE000_EDFC`; bit 24 TRCENA.
pub const DEMCR: u32 = 0xE000_EDFC;

/// GPIO register offsets (RM0440 §9.4).
pub mod gpio {
    /// Port mode register; 2 bits per pin: 00 input, 01 output, 10 alternate, 11 analog.
    pub const MODER: u32 = 0x00;
    /// Output type register; 1 bit per pin: 0 push-pull, 1 open-drain.
    pub const OTYPER: u32 = 0x04;
    /// Output speed register; 2 bits per pin.
    pub const OSPEEDR: u32 = 0x08;
    /// Pull-up/pull-down register; 2 bits per pin: 00 none, 01 pull-up, 10 pull-down.
    pub const PUPDR: u32 = 0x0C;
    /// Input data register (read-only).
    pub const IDR: u32 = 0x10;
    /// Output data register.
    pub const ODR: u32 = 0x14;
    /// Bit set/reset register (write-only): bits 0–15 set, 16–31 reset; set wins.
    pub const BSRR: u32 = 0x18;
    /// Configuration lock register.
    pub const LCKR: u32 = 0x1C;
    /// Alternate function low register (pins 0–7, 4 bits each).
    pub const AFRL: u32 = 0x20;
    /// Alternate function high register (pins 8–15, 4 bits each).
    pub const AFRH: u32 = 0x24;
    /// Bit reset register (write-only): bits 0–15 reset.
    pub const BRR: u32 = 0x28;
    /// The write-only registers (read as 0 on hardware, RM0440 §9.4.7, §9.4.11).
    pub const WRITE_ONLY: [u32; 2] = [BSRR, BRR];
    /// All registers: (name, offset).
    pub const REGISTERS: [(&str, u32); 11] = [
        ("MODER", MODER),
        ("OTYPER", OTYPER),
        ("OSPEEDR", OSPEEDR),
        ("PUPDR", PUPDR),
        ("IDR", IDR),
        ("ODR", ODR),
        ("BSRR", BSRR),
        ("LCKR", LCKR),
        ("AFRL", AFRL),
        ("AFRH", AFRH),
        ("BRR", BRR),
    ];
}

/// RCC register offsets and reset values (RM0440 §7.4).
pub mod rcc {
    /// Clock control register.
    pub const CR: u32 = 0x00;
    /// Internal clock sources calibration register.
    pub const ICSCR: u32 = 0x04;
    /// Clock configuration register.
    pub const CFGR: u32 = 0x08;
    /// PLL configuration register.
    pub const PLLCFGR: u32 = 0x0C;
    /// AHB1 peripheral clock enable register (FLASHEN bit 8).
    pub const AHB1ENR: u32 = 0x48;
    /// AHB2 peripheral clock enable register (GPIOAEN bit 0 … GPIOGEN bit 6).
    pub const AHB2ENR: u32 = 0x4C;
    /// APB1 peripheral clock enable register 1 (USART2EN bit 17).
    pub const APB1ENR1: u32 = 0x58;
    /// APB2 peripheral clock enable register (USART1EN bit 14).
    pub const APB2ENR: u32 = 0x60;
    /// All modelled registers: (name, offset, RM0440 reset value). Factory-programmed fields
    /// (ICSCR HSICAL, CRRCR HSI48CAL) are given as 0; CSR's reset flags as 0; BDCR as after an
    /// RTC-domain reset.
    pub const REGISTERS: [(&str, u32, u32); 24] = [
        ("CR", CR, 0x0000_0500),           // HSION | HSIRDY
        ("ICSCR", ICSCR, 0x4000_0000),     // HSITRIM = 64
        ("CFGR", CFGR, 0x0000_0005),       // SW = SWS = HSI16
        ("PLLCFGR", PLLCFGR, 0x0000_1000), // PLLN = 16
        ("CIER", 0x18, 0),
        ("CIFR", 0x1C, 0),
        ("CICR", 0x20, 0),
        ("AHB1RSTR", 0x28, 0),
        ("AHB2RSTR", 0x2C, 0),
        ("AHB3RSTR", 0x30, 0),
        ("APB1RSTR1", 0x38, 0),
        ("APB1RSTR2", 0x3C, 0),
        ("APB2RSTR", 0x40, 0),
        ("AHB1ENR", AHB1ENR, 0x0000_0100), // FLASHEN
        ("AHB2ENR", AHB2ENR, 0),
        ("AHB3ENR", 0x50, 0),
        ("APB1ENR1", APB1ENR1, 0x0000_0400), // RTCAPBEN
        ("APB1ENR2", 0x5C, 0),
        ("APB2ENR", APB2ENR, 0),
        ("CCIPR", 0x88, 0),
        ("BDCR", 0x90, 0),
        ("CSR", 0x94, 0),
        ("CRRCR", 0x98, 0),
        ("CCIPR2", 0x9C, 0),
    ];
}

/// USART register offsets (RM0440 "USART registers").
pub mod usart {
    /// Control register 1 (UE bit 0, RE bit 2, TE bit 3).
    pub const CR1: u32 = 0x00;
    /// Baud rate register.
    pub const BRR: u32 = 0x0C;
    /// Request register (write-only: ABRRQ, SBKRQ, MMRQ, RXFRQ, TXFRQ).
    pub const RQR: u32 = 0x18;
    /// Interrupt and status register (TC bit 6, TXE bit 7, TEACK bit 21, REACK bit 22).
    pub const ISR: u32 = 0x1C;
    /// Interrupt flag clear register (write-only: write 1 to clear an ISR flag).
    pub const ICR: u32 = 0x20;
    /// Transmit data register (read/write: reads the last value written).
    pub const TDR: u32 = 0x28;
    /// The write-only registers (RM0440 USART register map: RQR bits are `w`, ICR bits `rc_w1`).
    pub const WRITE_ONLY: [u32; 2] = [RQR, ICR];
    /// All registers: (name, offset).
    pub const REGISTERS: [(&str, u32); 12] = [
        ("CR1", CR1),
        ("CR2", 0x04),
        ("CR3", 0x08),
        ("BRR", BRR),
        ("GTPR", 0x10),
        ("RTOR", 0x14),
        ("RQR", RQR),
        ("ISR", ISR),
        ("ICR", ICR),
        ("RDR", 0x24),
        ("TDR", TDR),
        ("PRESC", 0x2C),
    ];

    /// Kernel-clock cycles one character frame occupies the line, from the register file
    /// `regs` (by offset / 4, as [`REGISTERS`]): start bit + data bits (CR1.M1:M0 = 00 → 8,
    /// 01 → 9, 10 → 7; parity included) + stop bits (CR2.STOP = 00 → 1, 01 → 0.5, 10 → 2,
    /// 11 → 1.5); one bit lasts BRR cycles with oversampling by 16 (OVER8 = 0) and
    /// USARTDIV / 2 = (BRR[15:4]·16 + 2·BRR[2:0]) / 2 cycles with OVER8 = 1, times the PRESC
    /// divider (1, 2, 4, 6, 8, 10, 12, 16, 32, 64, 128, 256). 8N1 at BRR = 1476:
    /// 14 760 cycles (86.8 µs at 170 MHz). Source: RM0440 §37.5.7 (baud rate), §37.8.
    pub fn frame_cycles(regs: &[u32; 12]) -> u64 {
        let (cr1, cr2) = (regs[(CR1 / 4) as usize], regs[1]);
        let brr = u64::from(regs[(BRR / 4) as usize] & 0xFFFF);
        let data_bits = match (cr1 >> 28 & 1, cr1 >> 12 & 1) {
            (0, 0) => 8,
            (0, 1) => 9,
            _ => 7,
        };
        let stop_half_bits = [2, 1, 4, 3][(cr2 >> 12 & 3) as usize];
        let half_bits = 2 * (1 + data_bits) + stop_half_bits;
        let presc =
            [1, 2, 4, 6, 8, 10, 12, 16, 32, 64, 128, 256][(regs[11] & 0xF).min(11) as usize];
        // Bit time in half kernel cycles: 2·BRR (OVER8 = 0) or USARTDIV (OVER8 = 1).
        let bit_half_cycles = if cr1 >> 15 & 1 == 0 {
            2 * brr
        } else {
            brr & 0xFFF0 | (brr & 7) << 1
        };
        half_bits * bit_half_cycles * presc / 4
    }
}

/// The address of GPIO port `port` (0 = A) register `offset`.
pub const fn gpio_addr(port: usize, offset: u32) -> u32 {
    GPIOA_BASE + port as u32 * GPIO_STRIDE + offset
}

struct Table {
    by_name: HashMap<String, u32>,
    by_addr: HashMap<u32, String>,
    write_only: HashSet<u32>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut entries: Vec<(String, u32)> = Vec::new();
    let mut write_only = HashSet::new();
    for port in 0..GPIO_PORTS {
        write_only.extend(gpio::WRITE_ONLY.map(|off| gpio_addr(port, off)));
        let letter = Port(port as u8).letter();
        for (reg, off) in gpio::REGISTERS {
            entries.push((format!("GPIO{letter}.{reg}"), gpio_addr(port, off)));
        }
    }
    for (reg, off, _) in rcc::REGISTERS {
        entries.push((format!("RCC.{reg}"), RCC_BASE + off));
    }
    for (periph, base) in [
        ("USART1", USART1_BASE),
        ("USART2", USART2_BASE),
        ("USART3", USART3_BASE),
    ] {
        for (reg, off) in usart::REGISTERS {
            entries.push((format!("{periph}.{reg}"), base + off));
        }
        write_only.extend(usart::WRITE_ONLY.map(|off| base + off));
    }
    entries.push(("FLASH.ACR".into(), FLASH_R_BASE));
    entries.push(("DWT.CTRL".into(), DWT_CTRL));
    entries.push(("DWT.CYCCNT".into(), DWT_CYCCNT));
    // Canonical names first; aliases after (name_of returns the first name of an address).
    entries.push(("DHCSR".into(), DHCSR));
    entries.push(("DEMCR".into(), DEMCR));
    entries.push(("COREDEBUG.DHCSR".into(), DHCSR));
    entries.push(("COREDEBUG.DEMCR".into(), DEMCR));
    for (field, off) in telemetry::FIELDS {
        entries.push((
            format!("TELEMETRY.{field}"),
            telemetry::TELEMETRY_ADDR + off,
        ));
    }
    let mut by_name = HashMap::new();
    let mut by_addr = HashMap::new();
    for (name, addr) in entries {
        by_addr.entry(addr).or_insert_with(|| name.clone());
        by_name.insert(name, addr);
    }
    Table {
        by_name,
        by_addr,
        write_only,
    }
});

/// The address of a register name such as `"GPIOC.ODR"`, `"rcc.ahb2enr"`, `"RCC_CR"`,
/// `"DWT.CYCCNT"` or `"TELEMETRY.PC"`; `None` if the name is not in the table.
pub fn resolve(name: &str) -> Option<u32> {
    let upper = name.trim().to_ascii_uppercase();
    if let Some(addr) = TABLE.by_name.get(&upper) {
        return Some(*addr);
    }
    // RM0440 spelling: PERIPH_REG (only the first underscore separates).
    if !upper.contains('.') {
        let dotted = upper.replacen('_', ".", 1);
        return TABLE.by_name.get(&dotted).copied();
    }
    None
}

/// The canonical name of the register at `addr` (upper case, `PERIPH.REG`), for reports.
pub fn name_of(addr: u32) -> Option<&'static str> {
    let table: &'static Table = &TABLE;
    table.by_addr.get(&addr).map(String::as_str)
}

/// Whether the register at `addr` is write-only: it reads as 0 on hardware whatever was
/// written (GPIOx.BSRR, GPIOx.BRR, USARTx.RQR, USARTx.ICR), so a check of its value says
/// nothing about the program. `false` for every other address, named or not.
pub fn is_write_only(addr: u32) -> bool {
    TABLE.write_only.contains(&addr)
}

/// Every canonical `(name, address)` pair, sorted by address (tests iterate the whole table).
#[cfg(test)]
pub(crate) fn all() -> Vec<(&'static str, u32)> {
    let table: &'static Table = &TABLE;
    let mut v: Vec<(&'static str, u32)> = table
        .by_addr
        .iter()
        .map(|(a, n)| (n.as_str(), *a))
        .collect();
    v.sort_by_key(|(_, a)| *a);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rm0440_addresses() {
        assert_eq!(resolve("GPIOA.MODER"), Some(0x4800_0000));
        assert_eq!(resolve("gpioc.odr"), Some(0x4800_0814));
        assert_eq!(resolve("GPIOC_BSRR"), Some(0x4800_0818));
        assert_eq!(resolve("GPIOG.BRR"), Some(0x4800_1828));
        assert_eq!(resolve("RCC.CR"), Some(0x4002_1000));
        assert_eq!(resolve("RCC.CFGR"), Some(0x4002_1008));
        assert_eq!(resolve("RCC.PLLCFGR"), Some(0x4002_100C));
        assert_eq!(resolve("RCC.AHB2ENR"), Some(0x4002_104C));
        assert_eq!(resolve("RCC_APB1ENR1"), Some(0x4002_1058));
        assert_eq!(resolve("RCC.APB2ENR"), Some(0x4002_1060));
        assert_eq!(resolve("USART1.ISR"), Some(0x4001_381C));
        assert_eq!(resolve("USART1.PRESC"), Some(0x4001_382C));
        assert_eq!(resolve("USART2.TDR"), Some(0x4000_4428));
        assert_eq!(resolve("DWT.CYCCNT"), Some(0xE000_1004));
        assert_eq!(resolve("dhcsr"), Some(0xE000_EDF0));
        assert_eq!(resolve("CoreDebug.DHCSR"), Some(0xE000_EDF0));
        assert_eq!(resolve("TELEMETRY.MAGIC"), Some(0x2000_0000));
        assert_eq!(resolve("telemetry.checksum"), Some(0x2000_002C));
        assert_eq!(resolve("TELEMETRY.ERROR_PC"), Some(0x2000_0028));
        assert_eq!(resolve("GPIOH.MODER"), None);
        assert_eq!(resolve("RCC.NOPE"), None);
    }

    #[test]
    fn write_only_registers() {
        let write_only: Vec<&str> = all()
            .into_iter()
            .filter(|(_, addr)| is_write_only(*addr))
            .map(|(name, _)| name)
            .collect();
        let mut want: Vec<String> = (b'A'..=b'G')
            .flat_map(|p| {
                let p = p as char;
                [format!("GPIO{p}.BSRR"), format!("GPIO{p}.BRR")]
            })
            .collect();
        for n in 1..=3 {
            want.extend([format!("USART{n}.RQR"), format!("USART{n}.ICR")]);
        }
        let mut got: Vec<String> = write_only.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert!(!is_write_only(0x4800_0814), "GPIOA.ODR");
        assert!(!is_write_only(0x4001_3828), "USART1.TDR reads back");
        assert!(!is_write_only(0x1234_5678));
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(name_of(0x4800_0814), Some("GPIOC.ODR"));
        assert_eq!(name_of(0xE000_EDF0), Some("DHCSR"));
        assert_eq!(name_of(0x1234_5678), None);
        let all = all();
        assert!(all.len() > 150);
        for (name, addr) in all {
            assert_eq!(resolve(name), Some(addr), "{name}");
            assert_eq!(addr % 4, 0, "{name}");
        }
    }
}
