//! Text formatting shared by the CLI's tables (`history`, `regressions`).

/// The first 10 characters of a commit id (whatever text was stored), or `-` when unknown.
pub fn short_commit(commit: Option<&str>) -> String {
    commit.map_or_else(|| "-".to_string(), |c| c.chars().take(10).collect())
}

/// Whole numbers as integers, others to three decimals.
pub fn value_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_commit_cuts_characters_not_bytes() {
        assert_eq!(short_commit(None), "-");
        assert_eq!(short_commit(Some("0123456789abcdef")), "0123456789");
        assert_eq!(short_commit(Some("abc")), "abc");
        // Multi-byte text (a hand-edited database, an odd VCS): byte 10 is inside "é".
        assert_eq!(short_commit(Some("ééééééééééé")), "éééééééééé");
        assert_eq!(short_commit(Some("123456789é0")), "123456789é");
    }

    #[test]
    fn value_text_keeps_integers_whole() {
        assert_eq!(value_text(3.0), "3");
        assert_eq!(value_text(2.5), "2.500");
        assert_eq!(value_text(-0.0004), "-0.000");
    }
}
