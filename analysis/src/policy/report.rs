//! CI reports of `osprey check`: JUnit XML (Jenkins, GitLab) and SARIF
//! 2.1.0 (GitHub code scanning), from the findings of each capture.
//!
//! JUnit: one `testsuite` per capture with two `testcase`s, `policy`
//! (fails on policy violations) and `alerts` (fails on alerts at or above
//! the chosen severity); an unreadable capture is an `error`. SARIF: one
//! run, a rule per alert category, a result per finding located at the
//! capture file; failing findings are `error`, others `warning` (severity
//! 1–2) or `note` (3).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One alert or violation of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Alert category (`policy_violation`, `port_scan`, …).
    pub category: String,
    /// Rule signature (the rule's description).
    pub signature: String,
    /// 1 high … 3 low.
    pub severity: u8,
    /// One line: what, between whom.
    pub message: String,
    /// For policy violations: the edge (`from -> to proto/port app`).
    pub edge: Option<String>,
    /// Fails the check.
    pub failing: bool,
}

/// What checking one capture gave.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureResult {
    /// The capture's path as given.
    pub capture: String,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Why the capture could not be checked.
    pub error: Option<String>,
}

impl CaptureResult {
    fn failing(&self, violations: bool) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.failing && (f.category == "policy_violation") == violations)
            .collect()
    }
}

/// XML text/attribute escaping; characters XML 1.0 forbids are dropped.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML report.
pub fn junit(results: &[CaptureResult]) -> String {
    let mut body = String::new();
    let (mut tests, mut failures, mut errors, mut time) = (0, 0, 0, 0.0);
    for r in results {
        let e = xml_escape;
        let mut cases = String::new();
        let (mut t, mut f, mut er) = (0, 0, 0);
        if let Some(err) = &r.error {
            t += 1;
            er += 1;
            let _ = writeln!(
                cases,
                "    <testcase name=\"read\" classname=\"{}\"><error type=\"capture\" message=\"{}\"/></testcase>",
                e(&r.capture),
                e(err)
            );
        } else {
            for (name, violations) in [("policy", true), ("alerts", false)] {
                t += 1;
                let bad = r.failing(violations);
                let _ = write!(
                    cases,
                    "    <testcase name=\"{name}\" classname=\"{}\" time=\"{:.3}\">",
                    e(&r.capture),
                    r.seconds / 2.0
                );
                if !bad.is_empty() {
                    f += 1;
                    let text: Vec<String> = bad.iter().map(|b| e(&b.message)).collect();
                    let _ = write!(
                        cases,
                        "<failure type=\"{}\" message=\"{} finding(s)\">{}</failure>",
                        if violations {
                            "policy_violation"
                        } else {
                            "alert"
                        },
                        bad.len(),
                        text.join("\n")
                    );
                }
                cases.push_str("</testcase>\n");
            }
        }
        let _ = write!(
            body,
            "  <testsuite name=\"{}\" tests=\"{t}\" failures=\"{f}\" errors=\"{er}\" time=\"{:.3}\">\n{cases}  </testsuite>\n",
            e(&r.capture),
            r.seconds
        );
        tests += t;
        failures += f;
        errors += er;
        time += r.seconds;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"osprey check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">\n{body}</testsuites>\n"
    )
}

/// The SARIF 2.1.0 log.
pub fn sarif(results: &[CaptureResult], tool_version: &str) -> Value {
    let mut rules: BTreeMap<&str, (&str, u8)> = BTreeMap::new();
    for f in results.iter().flat_map(|r| &r.findings) {
        rules
            .entry(f.category.as_str())
            .or_insert((f.signature.as_str(), f.severity));
    }
    let level = |sev: u8| if sev <= 2 { "warning" } else { "note" };
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let rule_objs: Vec<Value> = rules
        .iter()
        .map(|(id, (sig, sev))| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": sig },
                "defaultConfiguration": { "level": level(*sev) },
            })
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        let location = json!([{
            "physicalLocation": { "artifactLocation": { "uri": r.capture } }
        }]);
        if let Some(err) = &r.error {
            out.push(json!({
                "ruleId": "capture_unreadable",
                "level": "error",
                "message": { "text": format!("{}: {err}", r.capture) },
                "locations": location,
            }));
        }
        for f in &r.findings {
            out.push(json!({
                "ruleId": f.category,
                "ruleIndex": index.get(f.category.as_str()).copied().unwrap_or(0),
                "level": if f.failing { "error" } else { level(f.severity) },
                "message": { "text": f.message },
                "locations": location,
                "properties": match &f.edge {
                    Some(e) => json!({ "severity": f.severity, "edge": e }),
                    None => json!({ "severity": f.severity }),
                },
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "osprey",
                "version": tool_version,
                "rules": rule_objs,
            }},
            "results": out,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping_covers_markup_and_controls() {
        assert_eq!(xml_escape("a<b>&\"'\u{1}c"), "a&lt;b&gt;&amp;&quot;&apos;c");
    }

    #[test]
    fn junit_counts_failures_per_case() {
        let f = |cat: &str, failing| Finding {
            category: cat.into(),
            signature: "s".into(),
            severity: 2,
            message: "m".into(),
            edge: None,
            failing,
        };
        let r = CaptureResult {
            capture: "a.pcap".into(),
            findings: vec![f("policy_violation", true), f("port_scan", false)],
            seconds: 1.0,
            error: None,
        };
        let x = junit(&[r]);
        assert!(x.contains("tests=\"2\" failures=\"1\" errors=\"0\""), "{x}");
        assert!(x.contains("<failure type=\"policy_violation\""), "{x}");
    }
}
