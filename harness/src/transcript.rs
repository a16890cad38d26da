//! The firmware's USART1 transcript: boot banner, `guest:` status lines, fault reports, and
//! the guest program's own output between them (`firmware/stm32g474/src/main.rs` writes the
//! lines). Boards that run the firmware (`emu`, `probe`) report the guest's part as their
//! console, which is what `sim` reports.

/// The firmware's line before the guest runs.
const GUEST_START: &[u8] = b"guest: running\r\n";
/// The firmware's lines after the guest stops (each preceded by `\r\n`), and its boot banner
/// (the chip reset while the guest ran).
const GUEST_ENDS: [&[u8]; 3] = [
    b"\r\nguest: halted after ",
    b"\r\nguest: VM error ",
    b"\r\ncockpit-fw ",
];

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Where the guest's output lies in a USART1 transcript: (start, end) byte offsets and
/// whether the firmware's closing line after it is complete (ends in `\r\n`); `None` if the
/// guest never started.
fn guest_span(transcript: &[u8]) -> Option<(usize, usize, bool)> {
    let start = find(transcript, GUEST_START)? + GUEST_START.len();
    let rest = &transcript[start..];
    let Some(end) = GUEST_ENDS.iter().filter_map(|m| find(rest, m)).min() else {
        return Some((start, transcript.len(), false));
    };
    // The closing line starts with "\r\n"; complete when a second "\r\n" follows.
    let closed = find(&rest[end + 2..], b"\r\n").is_some();
    Some((start, start + end, closed))
}

/// The guest's console output inside a USART1 transcript: the bytes after the firmware's
/// `guest: running` line up to its closing `guest: halted …`/`guest: VM error …` line, or its
/// next boot banner (a reset), or the end; empty if the guest never started. This is what
/// `sim` reports as the console.
pub fn guest_console(transcript: &[u8]) -> &[u8] {
    guest_span(transcript).map_or(&[], |(start, end, _)| &transcript[start..end])
}

/// Whether the firmware has finished its closing `guest: …` line after the guest's output.
pub fn closing_line_sent(transcript: &[u8]) -> bool {
    guest_span(transcript).is_some_and(|(_, _, closed)| closed)
}

#[cfg(test)]
mod tests {
    use super::guest_console;

    #[test]
    fn guest_console_is_between_the_firmware_lines() {
        let t = b"\r\ncockpit-fw 0.1.0\r\nguest: running\r\nhi\nno newline\r\nguest: halted after 3 instructions\r\n";
        assert_eq!(guest_console(t), b"hi\nno newline");
        let t = b"guest: running\r\nx\r\nguest: VM error DIV_BY_ZERO (3) at pc 1 opcode 0x10; state DEGRADED\r\n";
        assert_eq!(guest_console(t), b"x");
        assert_eq!(
            guest_console(b"guest: running\r\nstill going"),
            b"still going"
        );
        assert_eq!(guest_console(b"boot: no valid image\r\n"), b"");
        // A reset while the guest runs: its output ends at the next boot banner.
        let t =
            b"guest: running\r\nhanging\n\r\ncockpit-fw 0.1.0 state=SAFESTOP reason=watchdog\r\n";
        assert_eq!(guest_console(t), b"hanging\n");
    }
}
