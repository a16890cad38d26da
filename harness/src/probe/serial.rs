//! The board's USART1 as seen from the host during a run: a thread that reads the serial port
//! (the ST-Link's virtual COM port, or a USB-serial adapter) into a transcript until stopped.

use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Opens the board's serial port for reading; called at the start of each run (so that between
/// runs the port is free for the Oracle client). Reads should time out (`TimedOut` /
/// `WouldBlock`) within a few tens of milliseconds so the capture can stop promptly.
pub type SerialOpener = Box<dyn FnMut() -> std::io::Result<Box<dyn Read + Send>> + Send>;

/// A [`SerialOpener`] for a serial device at `baud`, 8N1, with a 20 ms read timeout.
pub fn open_port(path: String, baud: u32) -> SerialOpener {
    Box::new(move || {
        let port = serialport::new(&path, baud)
            .timeout(Duration::from_millis(20))
            .open()
            .map_err(|e| std::io::Error::other(format!("serial port {path}: {e}")))?;
        Ok(Box::new(port) as Box<dyn Read + Send>)
    })
}

/// A running capture; dropping it stops the thread.
pub struct Capture {
    stop: Arc<AtomicBool>,
    bytes: Arc<Mutex<Vec<u8>>>,
    thread: Option<JoinHandle<Option<String>>>,
}

impl Capture {
    /// Starts reading `port` on a new thread.
    pub fn start(mut port: Box<dyn Read + Send>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (stop2, bytes2) = (stop.clone(), bytes.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while !stop2.load(Ordering::Relaxed) {
                match port.read(&mut buf) {
                    Ok(0) => std::thread::sleep(Duration::from_millis(5)),
                    Ok(n) => bytes2
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&buf[..n]),
                    Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Some(e.to_string()),
                }
            }
            None
        });
        Capture {
            stop,
            bytes,
            thread: Some(thread),
        }
    }

    /// The bytes read so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops the capture; returns the bytes read and the read error that ended it early, if any.
    pub fn finish(mut self) -> (Vec<u8>, Option<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let error = self.thread.take().and_then(|t| {
            t.join()
                .unwrap_or_else(|_| Some("serial capture thread panicked".into()))
        });
        let bytes = std::mem::take(&mut *self.bytes.lock().unwrap_or_else(|e| e.into_inner()));
        (bytes, error)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
