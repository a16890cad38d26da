//! Finding the probe: [`list_probes`] (what is plugged in), [`ProbeSelector`]
//! (`VID:PID[:serial]`, as `probe-rs --probe` and teleprobe take it) and [`select`].

use std::fmt;
use std::str::FromStr;

/// A probe as listed: probe-rs's `DebugProbeInfo` without the driver handle.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProbeListing {
    /// probe-rs's name for it, e.g. `STLink V3`.
    pub identifier: String,
    /// USB vendor id.
    pub vid: u16,
    /// USB product id.
    pub pid: u16,
    /// USB serial number, if the probe reports one.
    pub serial: Option<String>,
}

impl fmt::Display for ProbeListing {
    /// `STLink V3 0483:374e:003A00…` (the selector that picks exactly this probe).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:04x}:{:04x}", self.identifier, self.vid, self.pid)?;
        if let Some(s) = &self.serial {
            write!(f, ":{s}")?;
        }
        Ok(())
    }
}

/// The probes probe-rs finds on USB now (ST-Link, CMSIS-DAP v2, J-Link, …). Empty when there
/// are none or USB cannot be enumerated (e.g. in a container without `/sys/bus/usb`).
pub fn list_probes() -> Vec<ProbeListing> {
    probe_rs::probe::list::Lister::new()
        .list_all()
        .into_iter()
        .map(|p| ProbeListing {
            identifier: p.identifier,
            vid: p.vendor_id,
            pid: p.product_id,
            serial: p.serial_number,
        })
        .collect()
}

/// `VID:PID[:serial]`: USB ids in hex (`0483:374b` = ST-Link V2-1, `0483:374e`/`374f` = V3)
/// and, to tell several identical probes apart, the serial number.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProbeSelector {
    /// USB vendor id.
    pub vid: u16,
    /// USB product id.
    pub pid: u16,
    /// USB serial number (exact match).
    pub serial: Option<String>,
}

impl ProbeSelector {
    /// Whether `p` is a probe this selector names.
    pub fn matches(&self, p: &ProbeListing) -> bool {
        p.vid == self.vid
            && p.pid == self.pid
            && self
                .serial
                .as_ref()
                .is_none_or(|s| p.serial.as_ref() == Some(s))
    }
}

impl fmt::Display for ProbeSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vid, self.pid)?;
        if let Some(s) = &self.serial {
            write!(f, ":{s}")?;
        }
        Ok(())
    }
}

/// Why a selector or a selection failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The text is not `VID:PID[:serial]`.
    #[error("probe selector `{text}`: {why} (expected VID:PID[:serial], hex ids, e.g. 0483:374b)")]
    Syntax {
        /// The text given.
        text: String,
        /// What is wrong.
        why: String,
    },
    /// No probe present matches.
    #[error("no probe matches {wanted}; present: {}", listing(.present))]
    NoMatch {
        /// The selector, or `any` without one.
        wanted: String,
        /// The probes present.
        present: Vec<ProbeListing>,
    },
    /// Several probes match: the selector needs a serial number.
    #[error("{wanted} matches {} probes, add the serial number to pick one: {}", .matches.len(), listing(.matches))]
    Ambiguous {
        /// The selector, or `any` without one.
        wanted: String,
        /// The matching probes.
        matches: Vec<ProbeListing>,
    },
}

fn listing(probes: &[ProbeListing]) -> String {
    if probes.is_empty() {
        return "none".into();
    }
    probes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for ProbeSelector {
    type Err = SelectError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| SelectError::Syntax {
            text: text.into(),
            why: why.into(),
        };
        let mut parts = text.splitn(3, ':');
        let mut id = |what: &str| {
            let part = parts.next().unwrap_or("");
            if part.is_empty() || part.len() > 4 {
                return Err(err(&format!("{what} must be 1–4 hex digits")));
            }
            u16::from_str_radix(part, 16).map_err(|_| err(&format!("{what} `{part}` is not hex")))
        };
        let vid = id("VID")?;
        let pid = id("PID")?;
        let serial = match parts.next() {
            None => None,
            Some("") => return Err(err("empty serial number")),
            Some(s) => Some(s.to_string()),
        };
        Ok(ProbeSelector { vid, pid, serial })
    }
}

/// The one probe in `present` that `selector` names (without a selector: the only probe
/// present). Errors: [`SelectError::NoMatch`], [`SelectError::Ambiguous`], both listing the
/// probes concerned.
pub fn select<'a>(
    present: &'a [ProbeListing],
    selector: Option<&ProbeSelector>,
) -> Result<&'a ProbeListing, SelectError> {
    let wanted = selector.map_or_else(|| "any probe".to_string(), ToString::to_string);
    let matches: Vec<&ProbeListing> = present
        .iter()
        .filter(|p| selector.is_none_or(|s| s.matches(p)))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(SelectError::NoMatch {
            wanted,
            present: present.to_vec(),
        }),
        many => Err(SelectError::Ambiguous {
            wanted,
            matches: many.iter().map(|p| (*p).clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(pid: u16, serial: Option<&str>) -> ProbeListing {
        ProbeListing {
            identifier: "STLink V3".into(),
            vid: 0x0483,
            pid,
            serial: serial.map(Into::into),
        }
    }

    #[test]
    fn selector_syntax() {
        let s: ProbeSelector = "0483:374b".parse().unwrap();
        assert_eq!((s.vid, s.pid, s.serial), (0x0483, 0x374b, None));
        let s: ProbeSelector = "0483:374E:066DFF:x".parse().unwrap();
        assert_eq!(s.serial.as_deref(), Some("066DFF:x"));
        assert_eq!(s.to_string(), "0483:374e:066DFF:x");
        for (bad, why) in [
            ("", "VID must be"),
            ("0483", "PID must be"),
            ("0483:", "PID must be"),
            ("zz83:374b", "VID `zz83` is not hex"),
            ("0483:12345", "PID must be 1–4 hex digits"),
            ("0483:374b:", "empty serial"),
        ] {
            let e = bad.parse::<ProbeSelector>().unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains(&format!("`{bad}`")),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn selection_names_the_probes_present() {
        let present = [
            probe(0x374b, Some("AAA")),
            probe(0x374e, Some("BBB")),
            probe(0x374e, Some("CCC")),
        ];
        let pick = |s: &str| select(&present, Some(&s.parse().unwrap()));
        assert_eq!(pick("0483:374b").unwrap().serial.as_deref(), Some("AAA"));
        assert_eq!(pick("483:374e:CCC").unwrap().serial.as_deref(), Some("CCC"));
        let e = pick("0483:374e").unwrap_err();
        assert!(matches!(&e, SelectError::Ambiguous { matches, .. } if matches.len() == 2));
        assert_eq!(
            e.to_string(),
            "0483:374e matches 2 probes, add the serial number to pick one: \
             STLink V3 0483:374e:BBB, STLink V3 0483:374e:CCC"
        );
        let e = pick("0483:374e:DDD").unwrap_err().to_string();
        assert!(e.starts_with("no probe matches 0483:374e:DDD; present: STLink V3 0483:374b:AAA"));
        assert!(matches!(
            select(&present, None),
            Err(SelectError::Ambiguous { .. })
        ));
        assert_eq!(select(&present[..1], None), Ok(&present[0]));
        assert_eq!(
            select(&[], None).unwrap_err().to_string(),
            "no probe matches any probe; present: none"
        );
    }
}
