//! Virtual time: a 170 MHz CPU cycle counter. Guest interpreter cycles, delays and blocking UART
//! output advance it; `millis`/`micros`, pin-edge timestamps and `DWT.CYCCNT` derive from it.
//! Nothing here looks at the host's clock, so simulated seconds cost no wall time.

/// Core clock of the simulated STM32G474: 170 MHz (`cockpit_hypervisor::CPU_HZ`).
pub const CPU_HZ: u64 = cockpit_hypervisor::CPU_HZ as u64;
/// CPU cycles per microsecond (exact at 170 MHz).
pub const CYCLES_PER_US: u64 = CPU_HZ / 1_000_000;

/// The board's virtual clock, in CPU cycles since reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtualClock {
    cycles: u64,
}

impl VirtualClock {
    /// A clock at cycle 0.
    pub const fn new() -> Self {
        VirtualClock { cycles: 0 }
    }

    /// Back to cycle 0.
    pub fn reset(&mut self) {
        self.cycles = 0;
    }

    /// Cycles since reset.
    pub const fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Advances by `cycles` (saturating).
    pub fn advance(&mut self, cycles: u64) {
        self.cycles = self.cycles.saturating_add(cycles);
    }

    /// Advances by `us` microseconds.
    pub fn advance_us(&mut self, us: u64) {
        self.advance(us.saturating_mul(CYCLES_PER_US));
    }

    /// Microseconds since reset (truncated).
    pub const fn now_us(&self) -> u64 {
        self.cycles / CYCLES_PER_US
    }

    /// Nanoseconds since reset (truncated): `cycles × 100 / 17`.
    pub const fn now_ns(&self) -> u64 {
        cycles_to_ns(self.cycles)
    }
}

/// Nanoseconds for `cycles` at 170 MHz (truncated; exact arithmetic in u128), saturating at
/// `u64::MAX` (about 584 years).
pub const fn cycles_to_ns(cycles: u64) -> u64 {
    let ns = cycles as u128 * 1_000_000_000 / CPU_HZ as u128;
    if ns > u64::MAX as u128 {
        u64::MAX
    } else {
        ns as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_convert_to_time() {
        let mut c = VirtualClock::new();
        c.advance_us(500_000);
        assert_eq!(c.cycles(), 85_000_000);
        assert_eq!(c.now_us(), 500_000);
        assert_eq!(c.now_ns(), 500_000_000);
        c.advance(17);
        assert_eq!(c.now_ns(), 500_000_100);
        assert_eq!(cycles_to_ns(CPU_HZ), 1_000_000_000);
        c.reset();
        assert_eq!(c.now_ns(), 0);
        c.advance(u64::MAX);
        assert_eq!(c.now_ns(), u64::MAX, "saturates instead of wrapping");
    }
}
