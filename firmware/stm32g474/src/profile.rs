//! The board profile: every fact that differs between the two supported STM32G474 boards, in one
//! place, chosen by exactly one cargo feature (`board-weact`, the default, or `board-nucleo`).
//!
//! | | `board-weact` | `board-nucleo` |
//! |---|---|---|
//! | board | WeAct Studio STM32G474 core board | NUCLEO-G474RE (MB1367) |
//! | HSE → PLLM | 8 MHz → /2 | 24 MHz (X3) → /6 |
//! | console + Oracle | USART1, PA9 TX / PA10 RX, AF7 | LPUART1, PA2 TX / PA3 RX, AF12 (ST-LINK VCP) |
//! | user key PC13 | pressed = low, internal pull-up | B1, pressed = high, pull-down |
//!
//! Both profiles run the PLL from a 4 MHz input to a 340 MHz VCO and 170 MHz SYSCLK
//! (`cockpit_hypervisor::clocks::is_sysclk_pll`, asserted below); the HSI16 fallback is shared.
//! Sources: README.md ("Board profiles").

use cockpit_hypervisor::clocks as hv;

#[cfg(all(feature = "board-weact", feature = "board-nucleo"))]
compile_error!("features `board-weact` and `board-nucleo` are mutually exclusive");
#[cfg(not(any(feature = "board-weact", feature = "board-nucleo")))]
compile_error!("select a board profile: feature `board-weact` (default) or `board-nucleo`");

/// The UART that carries the console text and the Oracle bootloader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsolePeripheral {
    #[cfg_attr(not(feature = "board-weact"), allow(dead_code))] // each profile builds one
    /// USART1 on APB2 (RCC_APB2ENR.USART1EN, bit 14), BRR = f_ck / baud (RM0440 §37).
    Usart1,
    #[cfg_attr(not(feature = "board-nucleo"), allow(dead_code))]
    /// LPUART1 on APB1 (RCC_APB1ENR2.LPUART1EN, bit 0), kernel clock PCLK1
    /// (RCC_CCIPR.LPUART1SEL = 00), BRR = 256 × f_ck / baud (RM0440 §38).
    Lpuart1,
}

/// The console port of a profile: peripheral, register block, BRR and its GPIOA pins.
#[derive(Clone, Copy, Debug)]
pub struct ConsolePort {
    /// Which peripheral.
    pub peripheral: ConsolePeripheral,
    /// Name in console messages (`bootloader on USART1`).
    pub name: &'static str,
    /// Register block base address (USART1 `0x4001_3800`, LPUART1 `0x4000_8000`).
    pub base: usize,
    /// BRR at 115200 Bd from 170 MHz.
    pub brr: u32,
    /// GPIOA pin numbers of TX and RX.
    pub tx_pin: u32,
    /// See `tx_pin`.
    pub rx_pin: u32,
    /// Alternate function number of both pins (GPIOA_AFRL/AFRH).
    pub af: u32,
}

#[cfg(feature = "board-weact")]
mod selected {
    use super::*;
    pub const NAME: &str = "weact";
    pub const HSE_HZ: u32 = hv::HSE_WEACT_HZ;
    pub const USER_KEY_ACTIVE_HIGH: bool = false;
    pub const CONSOLE: ConsolePort = ConsolePort {
        peripheral: ConsolePeripheral::Usart1,
        name: "USART1",
        base: 0x4001_3800,
        brr: hv::BRR_CONSOLE,
        tx_pin: 9,
        rx_pin: 10,
        af: 7,
    };
}

#[cfg(all(feature = "board-nucleo", not(feature = "board-weact")))]
mod selected {
    use super::*;
    pub const NAME: &str = "nucleo";
    pub const HSE_HZ: u32 = hv::HSE_NUCLEO_HZ;
    pub const USER_KEY_ACTIVE_HIGH: bool = true;
    pub const CONSOLE: ConsolePort = ConsolePort {
        peripheral: ConsolePeripheral::Lpuart1,
        name: "LPUART1",
        base: 0x4000_8000,
        brr: hv::LPUART_BRR_CONSOLE,
        tx_pin: 2,
        rx_pin: 3,
        af: 12,
    };
}

/// Console and Oracle port.
pub use selected::CONSOLE;
/// HSE crystal frequency, Hz.
pub use selected::HSE_HZ;
/// Profile name (`weact` / `nucleo`), as in the harness's `clock_profile`.
pub use selected::NAME;
/// User key (PC13) level when pressed; the pull is the opposite level (pull-down when active
/// high, pull-up when active low).
pub use selected::USER_KEY_ACTIVE_HIGH;

/// The HSE PLL settings: HSE / (HSE / 4 MHz) × 85 / 2 = 170 MHz.
pub const PLL_HSE: hv::Pll = hv::pll_hse(HSE_HZ);
const _: () = assert!(hv::is_sysclk_pll(&PLL_HSE));
