//! An in-memory serial line between the Oracle host client (`cockpit_oracle::client::Client`)
//! and the device engine ([`Bootloader`]), for host tests of the whole protocol without a pty
//! (feature `std`).
//!
//! Bytes the client sends go straight into the device, each `send` advancing the device's clock
//! by 1 ms; the response frames queue up for `recv`, which never blocks (an empty queue reads
//! 0 bytes, which the client treats as "nothing yet" until its timeout).

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use cockpit_oracle::client::Transport;

use crate::Bootloader;
use crate::flash::FlashProgrammer;

/// The device end of the line: the bootloader and the bytes it sent that the client has not
/// read yet.
pub struct Loopback<F: FlashProgrammer> {
    /// The device engine (public so tests can inspect its flash and banks).
    pub device: Bootloader<F>,
    /// The device's clock in ms: 1 ms per `send`.
    pub now_ms: u64,
    rx: VecDeque<u8>,
}

impl<F: FlashProgrammer> Loopback<F> {
    /// A line to `device`, at device time 0.
    pub fn new(device: Bootloader<F>) -> Self {
        Loopback {
            device,
            now_ms: 0,
            rx: VecDeque::new(),
        }
    }
}

impl<F: FlashProgrammer> Transport for Loopback<F> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.now_ms += 1;
        let rx = &mut self.rx;
        self.device
            .receive(bytes, self.now_ms, &mut |f: &[u8]| rx.extend(f));
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], _timeout: Duration) -> io::Result<usize> {
        let n = buf.len().min(self.rx.len());
        for (dst, b) in buf.iter_mut().zip(self.rx.drain(..n)) {
            *dst = b;
        }
        Ok(n)
    }

    fn discard_input(&mut self) -> io::Result<()> {
        self.rx.clear();
        Ok(())
    }
}
