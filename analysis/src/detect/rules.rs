//! Detection rules as data: thresholds, windows, signatures and
//! severities live in `assets/rules/default.toml` (compiled in) and can be
//! overridden, table by table and key by key, by a user file
//! (`osprey analyze --rules FILE`). Values are checked once at load
//! (Suricata's "parse keywords once"): a missing parameter, an unknown
//! category or key, or a severity outside 1–3 is an error naming the rule.

use super::alert::Category;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The default rule file, compiled in.
pub const DEFAULT_RULES: &str = include_str!("../../../assets/rules/default.toml");

/// Why a rule file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML, or a value of the wrong type.
    #[error("{origin}: {message}")]
    Syntax {
        /// The file (or `default rules`).
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A semantic problem with one rule.
    #[error("rule {rule}: {message}")]
    Invalid {
        /// The rule (category) name.
        rule: String,
        /// What is wrong.
        message: String,
    },
}

/// One category's rule. Parameters a category does not use must be absent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Off switch.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// EVE `alert.signature_id`.
    pub signature_id: u32,
    /// 1 high, 2 medium, 3 low.
    pub severity: u8,
    /// EVE `alert.signature`.
    pub signature: String,
    /// Events in one window that raise the alert.
    pub threshold: Option<u64>,
    /// Window length in seconds.
    pub window_s: Option<f64>,
    /// A ratio bound (meaning per category, see the rule file).
    pub ratio: Option<f64>,
    /// Largest MSS that counts as tiny.
    pub max_mss: Option<u16>,
    /// Shortest duration that counts (seconds).
    pub min_duration_s: Option<f64>,
    /// Lowest Shannon entropy (bits per character) that counts.
    pub min_entropy: Option<f64>,
    /// Shortest length that counts (bytes).
    pub min_len: Option<u64>,
    /// Bytes inspected per flow direction.
    pub scan_bytes: Option<u64>,
    /// Sessions in one window that count (brute force over SSH, whose
    /// login outcomes are encrypted).
    pub sessions: Option<u64>,
}

fn enabled_by_default() -> bool {
    true
}

/// Engine-wide bounds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most keys (sources, destinations, pairs, domains) one detector
    /// tracks at once; beyond it, expired and single-event keys go first.
    pub max_tracked_keys: usize,
    /// Repeats of an alert with the same category and endpoints within
    /// this many seconds fold into it instead of raising another.
    pub suppress_s: f64,
    /// Most alerts held open (still folding repeats) at once.
    pub max_open_alerts: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    limits: Limits,
    rules: BTreeMap<String, toml::Table>,
}

/// Parameters each category needs.
fn required(c: Category) -> &'static [&'static str] {
    use Category::*;
    match c {
        SynFlood | UdpFlood => &["threshold", "window_s", "ratio"],
        IcmpFlood | SessionLimit | PortScan | HostSweep => &["threshold", "window_s"],
        BruteForce => &["threshold", "window_s", "sessions"],
        Slowloris => &["threshold", "window_s"],
        SmallMss => &["max_mss"],
        DnsTunnel => &["threshold", "window_s", "min_len", "min_entropy", "ratio"],
        DlpCreditCard | DlpSsn => &["scan_bytes"],
        _ => &[],
    }
}

impl Rule {
    fn present(&self, key: &str) -> bool {
        match key {
            "threshold" => self.threshold.is_some(),
            "window_s" => self.window_s.is_some(),
            "ratio" => self.ratio.is_some(),
            "max_mss" => self.max_mss.is_some(),
            "min_duration_s" => self.min_duration_s.is_some(),
            "min_entropy" => self.min_entropy.is_some(),
            "min_len" => self.min_len.is_some(),
            "scan_bytes" => self.scan_bytes.is_some(),
            "sessions" => self.sessions.is_some(),
            _ => false,
        }
    }

    /// The window in nanoseconds (0 when the rule has none).
    pub fn window_ns(&self) -> i64 {
        (self.window_s.unwrap_or(0.0) * 1e9) as i64
    }
}

/// A loaded, checked rule set.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Engine-wide bounds.
    pub limits: Limits,
    rules: BTreeMap<Category, Rule>,
}

impl RuleSet {
    /// The compiled-in defaults.
    pub fn defaults() -> Result<RuleSet, RuleError> {
        Self::from_tables(parse(DEFAULT_RULES, "default rules")?)
    }

    /// The defaults overridden by the file at `path`.
    pub fn with_overrides(path: &Path) -> Result<RuleSet, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::with_override_text(&text, &path.display().to_string())
    }

    /// The defaults overridden by rule-file text (`origin` names it in
    /// errors).
    pub fn with_override_text(text: &str, origin: &str) -> Result<RuleSet, RuleError> {
        let mut base = parse(DEFAULT_RULES, "default rules")?;
        let user = parse(text, origin)?;
        merge(&mut base, user);
        Self::from_tables(base)
    }

    fn from_tables(t: toml::Table) -> Result<RuleSet, RuleError> {
        let file: File = toml::Value::Table(t)
            .try_into()
            .map_err(|e: toml::de::Error| RuleError::Syntax {
                origin: "rules".into(),
                message: e.message().to_string(),
            })?;
        let mut rules = BTreeMap::new();
        for (name, table) in file.rules {
            let invalid = |message: String| RuleError::Invalid {
                rule: name.clone(),
                message,
            };
            let Some(cat) = Category::from_name(&name) else {
                return Err(invalid("no such category".into()));
            };
            let rule: Rule = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| invalid(e.message().to_string()))?;
            if !(1..=3).contains(&rule.severity) {
                return Err(invalid(format!(
                    "severity {} is not 1, 2 or 3",
                    rule.severity
                )));
            }
            if let Some(missing) = required(cat).iter().find(|k| !rule.present(k)) {
                return Err(invalid(format!("needs `{missing}`")));
            }
            rules.insert(cat, rule);
        }
        if let Some(c) = Category::ALL.iter().find(|c| !rules.contains_key(c)) {
            return Err(RuleError::Invalid {
                rule: c.name().into(),
                message: "missing from the rule set".into(),
            });
        }
        Ok(RuleSet {
            limits: file.limits,
            rules,
        })
    }

    /// The enabled rule of a category.
    pub fn get(&self, c: Category) -> Option<&Rule> {
        self.rules.get(&c).filter(|r| r.enabled)
    }
}

fn parse(text: &str, origin: &str) -> Result<toml::Table, RuleError> {
    text.parse::<toml::Table>().map_err(|e| RuleError::Syntax {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Overlays `over` on `base`: tables merge key by key, other values
/// replace.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_cover_every_category() {
        let r = RuleSet::defaults().unwrap();
        for c in Category::ALL {
            assert!(r.get(*c).is_some(), "{}", c.name());
        }
    }

    #[test]
    fn overrides_merge_key_by_key() {
        let r = RuleSet::with_override_text(
            "[rules.port_scan]\nthreshold = 7\n[rules.xss]\nenabled = false\n",
            "test",
        )
        .unwrap();
        let d = RuleSet::defaults().unwrap();
        let ps = r.get(Category::PortScan).unwrap();
        assert_eq!(ps.threshold, Some(7));
        assert_eq!(ps.window_s, d.get(Category::PortScan).unwrap().window_s);
        assert!(r.get(Category::Xss).is_none());
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule_named() {
        for (text, needle) in [
            ("[rules.nope]\nseverity = 1\n", "nope"),
            ("[rules.xss]\nseverity = 7\n", "severity 7"),
            ("[rules.xss]\nbogus = 1\n", "bogus"),
            ("[rules.xss\n", "test"),
        ] {
            let e = RuleSet::with_override_text(text, "test")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        // A category's parameter removed by an override that empties it is
        // impossible in TOML; a defaults-only check covers `required`.
        let mut t = parse(DEFAULT_RULES, "d").unwrap();
        if let Some(toml::Value::Table(rules)) = t.get_mut("rules") {
            if let Some(toml::Value::Table(ps)) = rules.get_mut("port_scan") {
                ps.remove("threshold");
            }
        }
        let e = RuleSet::from_tables(t).unwrap_err().to_string();
        assert!(e.contains("port_scan") && e.contains("threshold"), "{e}");
    }
}
