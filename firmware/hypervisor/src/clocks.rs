//! Clock-tree arithmetic of the STM32G474 firmware (RM0440 §7 and the datasheet limits), as
//! `const fn`s checked at compile time (`const` asserts) and by host tests: PLL settings,
//! RCC_PLLCFGR encoding, flash wait states, USART BRR and the IWDG timeout.
//!
//! HSE / PLLM = 4 MHz → PLLN ×85 = 340 MHz VCO → PLLR /2 = **170 MHz** SYSCLK, for both board
//! profiles: the WeAct Studio G474 core board's 8 MHz HSE with PLLM /2 and the NUCLEO-G474RE's
//! 24 MHz HSE (X3) with PLLM /6 ([`pll_hse`]); the HSI16 fallback uses PLLM /4 for the same 4 MHz
//! PLL input. Console BRR at 115200 Bd: USART1 1476 ([`usart_brr`]), LPUART1 377 778
//! ([`lpuart_brr`]).

/// HSE crystal of the WeAct Studio STM32G474 core board: 8 MHz.
pub const HSE_WEACT_HZ: u32 = 8_000_000;
/// HSE crystal of the NUCLEO-G474RE (MB1367, X3): 24 MHz.
pub const HSE_NUCLEO_HZ: u32 = 24_000_000;
/// PLL input after PLLM that every configuration uses: 4 MHz.
pub const PLL_REF_HZ: u32 = 4_000_000;
/// HSI16 internal RC: 16 MHz.
pub const HSI16_HZ: u32 = 16_000_000;
/// Target SYSCLK = HCLK = PCLK1 = PCLK2.
pub const SYSCLK_HZ: u32 = 170_000_000;
/// Console and Oracle baud rate.
pub const CONSOLE_BAUD: u32 = 115_200;

/// RCC_PLLCFGR.PLLSRC values.
pub const PLLSRC_HSI16: u32 = 0b10;
/// RCC_PLLCFGR.PLLSRC = HSE.
pub const PLLSRC_HSE: u32 = 0b11;

/// Main PLL settings (R output only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pll {
    /// Input clock, Hz.
    pub input_hz: u32,
    /// RCC_PLLCFGR.PLLSRC encoding of the input.
    pub src: u32,
    /// Input divider M (1–16).
    pub m: u32,
    /// VCO multiplier N (8–127).
    pub n: u32,
    /// R output divider (2, 4, 6 or 8).
    pub r: u32,
}

impl Pll {
    /// PLL input after M, Hz (must be 2.66–16 MHz).
    pub const fn ref_hz(&self) -> u32 {
        self.input_hz / self.m
    }
    /// VCO frequency, Hz (must be 96–344 MHz).
    pub const fn vco_hz(&self) -> u32 {
        self.ref_hz() * self.n
    }
    /// PLLR output = SYSCLK, Hz.
    pub const fn r_hz(&self) -> u32 {
        self.vco_hz() / self.r
    }
    /// Every datasheet / RM0440 limit holds (exact division included).
    pub const fn is_valid(&self) -> bool {
        self.m >= 1
            && self.m <= 16
            && self.input_hz.is_multiple_of(self.m)
            && self.n >= 8
            && self.n <= 127
            && (self.r == 2 || self.r == 4 || self.r == 6 || self.r == 8)
            && self.ref_hz() >= 2_660_000
            && self.ref_hz() <= 16_000_000
            && self.vco_hz() >= 96_000_000
            && self.vco_hz() <= 344_000_000
            && self.vco_hz().is_multiple_of(self.r)
            && self.r_hz() <= 170_000_000
    }
    /// RCC_PLLCFGR value: PLLSRC, PLLM (M-1 at bit 4), PLLN (bit 8), PLLREN (bit 24), PLLR
    /// (R/2-1 at bit 25).
    pub const fn pllcfgr(&self) -> u32 {
        self.src | ((self.m - 1) << 4) | (self.n << 8) | (1 << 24) | ((self.r / 2 - 1) << 25)
    }
}

/// The normal configuration for an HSE of `hse_hz`: PLLM = `hse_hz` / 4 MHz, ×85, /2 = 170 MHz
/// (8 MHz → /2, 24 MHz → /6). An HSE that is not a multiple of 4 MHz gives an invalid `Pll`
/// ([`Pll::is_valid`] is false), which the `const` asserts of the callers turn into a compile
/// error.
pub const fn pll_hse(hse_hz: u32) -> Pll {
    Pll {
        input_hz: hse_hz,
        src: PLLSRC_HSE,
        m: hse_hz / PLL_REF_HZ,
        n: 85,
        r: 2,
    }
}

/// WeAct core board: 8 MHz HSE /2 ×85 /2 = 170 MHz.
pub const PLL_HSE_WEACT: Pll = pll_hse(HSE_WEACT_HZ);
/// NUCLEO-G474RE: 24 MHz HSE /6 ×85 /2 = 170 MHz.
pub const PLL_HSE_NUCLEO: Pll = pll_hse(HSE_NUCLEO_HZ);
/// The fallback when the HSE does not start: HSI16 /4 ×85 /2 = 170 MHz.
pub const PLL_HSI16: Pll = Pll {
    input_hz: HSI16_HZ,
    src: PLLSRC_HSI16,
    m: 4,
    n: 85,
    r: 2,
};

/// The PLL settings are valid, give [`SYSCLK_HZ`] from a [`PLL_REF_HZ`] input and a 340 MHz VCO.
pub const fn is_sysclk_pll(pll: &Pll) -> bool {
    pll.is_valid()
        && pll.r_hz() == SYSCLK_HZ
        && pll.ref_hz() == PLL_REF_HZ
        && pll.vco_hz() == 340_000_000
}
const _: () = assert!(is_sysclk_pll(&PLL_HSE_WEACT) && is_sysclk_pll(&PLL_HSE_NUCLEO));
const _: () = assert!(is_sysclk_pll(&PLL_HSI16));

/// FLASH_ACR.LATENCY for HCLK in voltage range 1 boost mode (RM0440 §3.3.3 Table 9: one wait
/// state per started 34 MHz, 0–4 WS up to 170 MHz).
pub const fn flash_latency_boost(hclk_hz: u32) -> u32 {
    hclk_hz.div_ceil(34_000_000).saturating_sub(1)
}
/// Range 1 boost (PWR_CR5.R1MODE = 0) is required above 150 MHz (RM0440 §6.1.5).
pub const fn needs_boost(hclk_hz: u32) -> bool {
    hclk_hz > 150_000_000
}
/// FLASH_ACR.LATENCY at [`SYSCLK_HZ`].
pub const FLASH_LATENCY: u32 = flash_latency_boost(SYSCLK_HZ);
const _: () = assert!(FLASH_LATENCY == 4 && needs_boost(SYSCLK_HZ));

/// USART BRR with oversampling by 16, rounded to nearest (RM0440 §37.5.7).
pub const fn usart_brr(pclk_hz: u32, baud: u32) -> u32 {
    (pclk_hz + baud / 2) / baud
}
/// Baud-rate error of a BRR value, in parts per million (signed).
pub const fn baud_error_ppm(pclk_hz: u32, baud: u32, brr: u32) -> i32 {
    let actual = pclk_hz as i64 * 1_000_000 / brr as i64; // µBd
    ((actual - baud as i64 * 1_000_000) / baud as i64) as i32
}
/// USART1 BRR at 115200 Bd from PCLK2 = 170 MHz: 1476.
pub const BRR_CONSOLE: u32 = usart_brr(SYSCLK_HZ, CONSOLE_BAUD);
const _: () = assert!(BRR_CONSOLE == 1476);
const _: () = {
    let e = baud_error_ppm(SYSCLK_HZ, CONSOLE_BAUD, BRR_CONSOLE);
    assert!(e > -1_000 && e < 1_000); // well inside the ±2 % a UART tolerates
};

/// LPUART BRR (RM0440 §38.4.7: baud = 256 × f_ck / LPUARTDIV), rounded to nearest.
pub const fn lpuart_brr(f_ck_hz: u32, baud: u32) -> u32 {
    ((256 * f_ck_hz as u64 + baud as u64 / 2) / baud as u64) as u32
}
/// The LPUART rules of RM0440 §38.4.7: BRR ≥ 0x300 and < 2^20 (20-bit field), and
/// 3 × baud ≤ f_ck ≤ 4096 × baud.
pub const fn lpuart_brr_valid(f_ck_hz: u32, baud: u32, brr: u32) -> bool {
    brr >= 0x300
        && brr < 1 << 20
        && f_ck_hz as u64 >= 3 * baud as u64
        && f_ck_hz as u64 <= 4096 * baud as u64
}
/// LPUART1 BRR at 115200 Bd from PCLK1 = 170 MHz (RCC_CCIPR.LPUART1SEL = PCLK): 377 778.
pub const LPUART_BRR_CONSOLE: u32 = lpuart_brr(SYSCLK_HZ, CONSOLE_BAUD);
const _: () = assert!(LPUART_BRR_CONSOLE == 377_778);
const _: () = assert!(lpuart_brr_valid(
    SYSCLK_HZ,
    CONSOLE_BAUD,
    LPUART_BRR_CONSOLE
));

/// LSI for the IWDG: 32 kHz (RM0440 §7.2.7).
pub const LSI_HZ: u32 = 32_000;
/// IWDG timeout in ms for a prescaler divider (4…256) and a reload value (≤ 0xFFF).
pub const fn iwdg_timeout_ms(prescaler: u32, reload: u32) -> u32 {
    (reload as u64 * prescaler as u64 * 1000 / LSI_HZ as u64) as u32
}
/// IWDG_PR encoding of a prescaler divider (4 → 0, 8 → 1, …, 256 → 6).
pub const fn iwdg_pr(prescaler: u32) -> u32 {
    prescaler.trailing_zeros() - 2
}
const _: () = assert!(iwdg_timeout_ms(64, 1000) == 2000 && iwdg_pr(64) == 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pll_configurations() {
        for (pll, m) in [(PLL_HSE_WEACT, 2), (PLL_HSE_NUCLEO, 6)] {
            assert_eq!(pll.m, m);
            assert_eq!(pll.ref_hz(), 4_000_000);
            assert_eq!(pll.vco_hz(), 340_000_000);
            assert_eq!(pll.r_hz(), 170_000_000);
        }
        assert_eq!(PLL_HSI16.r_hz(), 170_000_000);
        // The register values the firmware writes (PLLR = 00 for /2, PLLREN).
        assert_eq!(PLL_HSE_WEACT.pllcfgr(), 0x0100_5513);
        assert_eq!(
            PLL_HSE_NUCLEO.pllcfgr(),
            0b11 | (5 << 4) | (85 << 8) | (1 << 24)
        );
        assert_eq!(PLL_HSI16.pllcfgr(), 0b10 | (3 << 4) | (85 << 8) | (1 << 24));
    }

    #[test]
    fn wrong_hse_for_the_pll_is_rejected() {
        // The Nucleo's 24 MHz crystal with the WeAct's PLLM /2: 12 MHz in, 1020 MHz VCO.
        let nucleo_with_weact_m = Pll {
            input_hz: HSE_NUCLEO_HZ,
            ..PLL_HSE_WEACT
        };
        assert_eq!(nucleo_with_weact_m.vco_hz(), 1_020_000_000);
        assert!(!nucleo_with_weact_m.is_valid());
        // The WeAct's 8 MHz crystal with the Nucleo's PLLM /6: 1.33 MHz in (< 2.66).
        let weact_with_nucleo_m = Pll {
            input_hz: HSE_WEACT_HZ,
            ..PLL_HSE_NUCLEO
        };
        assert!(!weact_with_nucleo_m.is_valid());
        // A crystal that is not a multiple of 4 MHz has no PLLM for a 4 MHz input.
        assert!(!is_sysclk_pll(&pll_hse(25_000_000)));
        assert!(is_sysclk_pll(&pll_hse(16_000_000)));
    }

    #[test]
    fn pll_limits_are_checked() {
        let bad_vco = Pll {
            n: 90,
            ..PLL_HSE_WEACT
        }; // 360 MHz VCO
        assert!(!bad_vco.is_valid());
        let bad_ref = Pll {
            m: 4,
            ..PLL_HSE_WEACT
        }; // 2 MHz reference
        assert!(!bad_ref.is_valid());
        let too_fast = Pll {
            r: 2,
            n: 86,
            ..PLL_HSE_WEACT
        }; // 172 MHz
        assert!(!too_fast.is_valid());
        let bad_r = Pll {
            r: 3,
            ..PLL_HSE_WEACT
        };
        assert!(!bad_r.is_valid());
        let slow = Pll {
            r: 4,
            ..PLL_HSE_WEACT
        };
        assert!(slow.is_valid());
        assert_eq!(slow.r_hz(), 85_000_000);
        assert_eq!(slow.pllcfgr() >> 25 & 0b11, 0b01);
    }

    #[test]
    fn flash_wait_states_table_9() {
        for (hz, ws) in [
            (16_000_000, 0),
            (34_000_000, 0),
            (34_000_001, 1),
            (68_000_000, 1),
            (102_000_000, 2),
            (136_000_000, 3),
            (150_000_000, 4),
            (170_000_000, 4),
        ] {
            assert_eq!(flash_latency_boost(hz), ws, "{hz}");
        }
        assert!(!needs_boost(150_000_000));
        assert!(needs_boost(150_000_001));
    }

    #[test]
    fn usart_brr_and_error() {
        assert_eq!(BRR_CONSOLE, 1476);
        assert_eq!(usart_brr(16_000_000, 115_200), 139);
        let e = baud_error_ppm(SYSCLK_HZ, CONSOLE_BAUD, 1476);
        assert!((-300..=0).contains(&e), "{e}"); // 115 176 Bd: −0.02 %
        assert!(baud_error_ppm(SYSCLK_HZ, CONSOLE_BAUD, 1400) > 50_000);
    }

    #[test]
    fn lpuart_brr_and_range() {
        // 256 × 170 MHz / 115200 = 377 777.8 → 377 778 (error −0.6 ppm).
        assert_eq!(LPUART_BRR_CONSOLE, 377_778);
        assert!(lpuart_brr_valid(
            SYSCLK_HZ,
            CONSOLE_BAUD,
            LPUART_BRR_CONSOLE
        ));
        // 9600 Bd from 170 MHz: f_ck > 4096 × baud and BRR ≥ 2^20.
        let slow = lpuart_brr(SYSCLK_HZ, 9_600);
        assert_eq!(slow, 4_533_333);
        assert!(!lpuart_brr_valid(SYSCLK_HZ, 9_600, slow));
        // 32.768 kHz LSE at 115200 Bd: f_ck < 3 × baud, BRR < 0x300.
        let lse = lpuart_brr(32_768, CONSOLE_BAUD);
        assert!(!lpuart_brr_valid(32_768, CONSOLE_BAUD, lse));
    }

    #[test]
    fn iwdg() {
        assert_eq!(iwdg_timeout_ms(64, 1000), 2000);
        assert_eq!(iwdg_timeout_ms(4, 0xFFF), 511);
        assert_eq!(iwdg_pr(4), 0);
        assert_eq!(iwdg_pr(256), 6);
    }
}
