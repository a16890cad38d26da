//! A board's UART as a pseudo-terminal, and the UART line model both the `sim` and the `emu`
//! board use for it.
//!
//! [`open`] creates a pty pair (`serialport::TTYPort::pair()`): clients open the slave side by
//! its path (`/dev/pts/N`) exactly as they would open `/dev/ttyUSB0`; the board's device thread
//! owns the [`Master`] side. A [`Line`] holds the bytes in flight on one direction of the UART,
//! each with the time at which its stop bit ends: at 8N1 every byte occupies the line for 10
//! bit-times, so a byte offered while the line is busy starts when the previous one ends.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::ops::Add;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use crate::target::TargetError;

/// Bytes on one direction of a UART line, each with the time its stop bit ends. `T` is the
/// board's time unit (`Duration` of device time on `sim`, core cycles on `emu`).
#[derive(Clone, Debug, Default)]
pub struct Line<T> {
    queue: VecDeque<(u8, T)>,
    /// When the line is free for the next byte.
    free_at: T,
}

impl<T: Copy + Ord + Add<Output = T>> Line<T> {
    /// Queues `bytes` offered at `now`, one `byte_time` after another (each starts when the line
    /// is free, at `now` at the earliest).
    pub fn push(&mut self, bytes: &[u8], now: T, byte_time: T) {
        for &b in bytes {
            self.free_at = self.free_at.max(now) + byte_time;
            self.queue.push_back((b, self.free_at));
        }
    }

    /// Removes and returns the next byte whose stop bit has ended by `now`, with that time.
    pub fn pop_due(&mut self, now: T) -> Option<(u8, T)> {
        match self.queue.front() {
            Some(&(_, due)) if due <= now => self.queue.pop_front(),
            _ => None,
        }
    }

    /// When the next byte's stop bit ends, if a byte is in flight.
    pub fn next_due(&self) -> Option<T> {
        self.queue.front().map(|&(_, due)| due)
    }

    /// When the line is free for the next byte (the last byte's end, or earlier).
    pub fn free_at(&self) -> T {
        self.free_at
    }

    /// Bytes in flight.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no byte is in flight.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Drops the bytes in flight (a reset or power loss of the receiving device).
    pub fn clear(&mut self) {
        self.queue.clear();
    }
}

/// The device side of a pseudo-terminal.
#[derive(Debug)]
pub struct Master(TTYPort);

impl Master {
    /// Reads what the client wrote into `buf`, waiting at most `wait` for the first byte;
    /// returns the count (0 when nothing came). When no client has the slave open (EIO, hang-up)
    /// nothing can arrive: it sleeps for `wait` instead of spinning.
    pub fn read(&mut self, buf: &mut [u8], wait: Duration) -> usize {
        // A zero timeout makes ppoll return at once.
        if self.0.set_timeout(wait).is_err() {
            return 0;
        }
        match self.0.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => 0,
            Err(_) => {
                std::thread::sleep(wait);
                0
            }
        }
    }

    /// Sends `bytes` to the client; a client that went away loses them, as on a real UART.
    pub fn write(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            let _ = self.0.write_all(bytes);
        }
    }
}

/// A new pseudo-terminal: its device side, the slave (keep it open so the `/dev/pts/N` node and
/// the master stay usable between clients) and the slave's path. Errors: `Board` if the pty
/// cannot be created.
pub fn open() -> Result<(Master, TTYPort, String), TargetError> {
    let (master, slave) =
        TTYPort::pair().map_err(|e| TargetError::Board(format!("pseudo-terminal: {e}")))?;
    let path = slave
        .name()
        .ok_or_else(|| TargetError::Board("pseudo-terminal has no path".into()))?;
    Ok((Master(master), slave, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_paces_bytes_one_byte_time_apart() {
        let mut l = Line::<u64>::default();
        l.push(b"ab", 100, 10);
        l.push(b"c", 105, 10); // line busy until 120
        assert_eq!(l.len(), 3);
        assert_eq!(l.next_due(), Some(110));
        assert_eq!(l.pop_due(109), None);
        assert_eq!(l.pop_due(125), Some((b'a', 110)));
        assert_eq!(l.pop_due(125), Some((b'b', 120)));
        assert_eq!(l.pop_due(125), None, "c ends at 130");
        assert_eq!(l.free_at(), 130);
        l.push(b"d", 200, 10); // idle line: starts at once
        l.clear();
        assert!(l.is_empty());
        assert_eq!(l.free_at(), 210);
    }

    #[test]
    fn pty_carries_bytes_both_ways() {
        let (mut master, _slave, path) = open().expect("pty");
        let mut client = serialport::new(&path, 115_200)
            .timeout(Duration::from_secs(2))
            .open()
            .expect("open slave");
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 16];
        let mut got = Vec::new();
        for _ in 0..50 {
            let n = master.read(&mut buf, Duration::from_millis(20));
            got.extend_from_slice(&buf[..n]);
            if got.len() >= 4 {
                break;
            }
        }
        assert_eq!(got, b"ping");
        master.write(b"pong");
        let mut back = [0u8; 4];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"pong");
        assert_eq!(master.read(&mut buf, Duration::ZERO), 0, "nothing more");
    }
}
