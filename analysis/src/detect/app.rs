//! Detections over application records: protocol abuse, DNS misuse,
//! authentication failures and credentials in cleartext. The parsers
//! report facts (a login failed, a password was sent, a query asked for
//! AXFR); the rules here decide what is an alert.

use super::alert::{Category, Side};
use super::content::{self, http::Finding, sqli};
use super::engine::{side, Detector};
use crate::dpi::parse::{ftp::LoginOutcome, mysql::MysqlKind, smtp::AuthOutcome, tds::TdsKind};
use crate::dpi::parser::AppRecord;
use crate::dpi::records::{DnsMessage, HttpTx, SshSession, TlsHandshake};
use crate::flow::table::AppEvent;

/// SSL/TLS versions that count as obsolete (RFC 7568, RFC 8996), by
/// Suricata's names.
const OLD_TLS: &[&str] = &["SSLv2", "SSLv3", "TLS 1.0", "TLS 1.1"];

impl Detector {
    /// One application record of a flow.
    pub fn app_event(&mut self, e: &AppEvent) {
        match &e.record {
            AppRecord::Http(tx) => self.http(e, tx),
            AppRecord::Dns(m) => self.dns(e, m),
            AppRecord::Tls(h) => self.tls(e, h),
            AppRecord::Ssh(s) => self.ssh(e, s),
            AppRecord::Ftp(tx) => {
                self.credentials(e, "ftp", tx.password_seen);
                if tx.login == Some(LoginOutcome::Failure) {
                    self.auth_failure(e, "ftp");
                }
            }
            AppRecord::Smtp(tx) => {
                if let Some(a) = &tx.auth {
                    self.credentials(e, "smtp", a.password_seen);
                    if a.outcome == Some(AuthOutcome::Failure) {
                        self.auth_failure(e, "smtp");
                    }
                }
            }
            AppRecord::Mysql(r) => {
                if r.kind == MysqlKind::Login && r.success == Some(false) {
                    self.auth_failure(e, "mysql");
                }
                self.query(e, "mysql", r.query.as_deref());
            }
            AppRecord::Pgsql(r) => {
                if r.login_success == Some(false) {
                    self.auth_failure(e, "pgsql");
                }
                if let Some(req) = &r.request {
                    self.query(e, "pgsql", req.simple_query.as_deref());
                    for q in &req.parse {
                        self.query(e, "pgsql", Some(q));
                    }
                }
            }
            AppRecord::Redis(r) => {
                let auth = r.command.as_deref() == Some("AUTH");
                self.credentials(e, "redis", auth && r.password_seen);
                if auth && r.success == Some(false) {
                    self.auth_failure(e, "redis");
                }
            }
            AppRecord::Tds(r) => {
                if r.kind == TdsKind::Login && r.success == Some(false) {
                    self.auth_failure(e, "tds");
                }
                self.query(e, "tds", r.query.as_deref());
            }
            AppRecord::Snmp(m) => self.credentials(e, "snmp", m.community_seen),
            AppRecord::Mqtt(r) => {
                self.credentials(e, "mqtt", r.password_seen);
                self.auth_outcome(e, "mqtt", r.auth_success);
            }
            AppRecord::Amqp(r) => {
                let plain = r.mechanism.as_deref().is_some_and(|m| m.contains("PLAIN"));
                self.credentials(e, "amqp", plain && r.password_seen);
                self.auth_outcome(e, "amqp", r.auth_success);
            }
            AppRecord::Mongodb(r) => {
                let plain = r.mechanism.as_deref() == Some("PLAIN");
                self.credentials(e, "mongodb", plain && r.password_seen);
                self.auth_outcome(e, "mongodb", r.auth_success);
            }
            AppRecord::Kafka(r) => {
                let plain = r.mechanism.as_deref() == Some("PLAIN");
                self.credentials(e, "kafka", plain && r.password_seen);
                self.auth_outcome(e, "kafka", r.auth_success);
            }
            AppRecord::Cassandra(r) => {
                self.credentials(e, "cassandra", r.password_seen);
                self.auth_outcome(e, "cassandra", r.auth_success);
            }
            AppRecord::Memcached(r) => {
                self.credentials(e, "memcached", r.password_seen);
                self.auth_outcome(e, "memcached", r.auth_success);
            }
            AppRecord::Zookeeper(r) => {
                self.credentials(e, "zookeeper", r.password_seen);
                self.auth_outcome(e, "zookeeper", r.auth_success);
            }
            AppRecord::Anomaly(a) => self.app_anomaly(e, a.event),
            AppRecord::Http2(tx) => {
                self.credentials(e, "http2", tx.credentials_seen);
                let url = tx.url.clone().unwrap_or_default();
                let view = content::http::RequestView {
                    uri: url.as_bytes(),
                    headers: &[],
                    body: &[],
                };
                self.request_findings(e, &view);
            }
            _ => {}
        }
    }

    /// A parser's protocol anomaly.
    fn app_anomaly(&mut self, e: &AppEvent, event: &'static str) {
        match event {
            "dns_forward_pointer" | "dns_too_many_pointers" => {
                self.flow_alert(
                    e,
                    Category::DnsLoopPointer,
                    0,
                    &[("event", event.to_string())],
                );
            }
            "tls_heartbeat_overflow" | "tls_heartbeat_response_oversized" => {
                self.flow_alert(e, Category::Heartbleed, 0, &[("event", event.to_string())]);
            }
            "request_head_incomplete" => self.slow_request(e),
            _ => {}
        }
    }

    fn http(&mut self, e: &AppEvent, tx: &HttpTx) {
        if tx.status == Some(401) {
            self.auth_failure(e, "http");
        }
        let Some(i) = tx.inspect.as_deref() else {
            return;
        };
        if i.auth_scheme.as_deref() == Some("basic") {
            self.credentials(e, "http", true);
        }
        if let Some(what) = i.length_conflict {
            self.flow_alert(
                e,
                Category::HttpSmuggling,
                0,
                &[("conflict", what.to_string())],
            );
        }
        let headers: Vec<(&[u8], &[u8])> = i
            .headers
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        let view = content::http::RequestView {
            uri: tx.url.as_bytes(),
            headers: &headers,
            body: &i.body,
        };
        self.request_findings(e, &view);
    }

    /// Injection findings over one request's inputs.
    fn request_findings(&mut self, e: &AppEvent, view: &content::http::RequestView<'_>) {
        let on = content::http::Inspectors {
            sqli: self.rules().get(Category::SqlInjection).is_some(),
            xss: self.rules().get(Category::Xss).is_some(),
            rce: self.rules().get(Category::RceInjection).is_some(),
        };
        for m in content::http::inspect_request(view, 4, on) {
            let (category, reason, fragment, extra) = match &m.finding {
                Finding::Sqli(s) => (
                    Category::SqlInjection,
                    s.reason,
                    &s.fragment,
                    Some(("fingerprint", s.fingerprint.clone())),
                ),
                Finding::Xss(x) => (Category::Xss, x.reason, &x.fragment, None),
                Finding::Rce(r) => (
                    Category::RceInjection,
                    r.reason,
                    &r.fragment,
                    Some(("kind", format!("{:?}", r.kind).to_lowercase())),
                ),
            };
            let mut meta = vec![
                ("location", m.input.location()),
                ("reason", reason.to_string()),
                ("matched", fragment.clone()),
            ];
            meta.extend(extra);
            self.flow_alert(e, category, 0, &meta);
        }
    }

    /// A database query: injection artefacts only (a query is normal).
    fn query(&mut self, e: &AppEvent, service: &'static str, q: Option<&str>) {
        let Some(q) = q else {
            return;
        };
        if let Some(s) = sqli::in_sql_query(q.as_bytes()) {
            let meta = [
                ("location", format!("{service}.query")),
                ("reason", s.reason.to_string()),
                ("matched", s.fragment.clone()),
                ("fingerprint", s.fingerprint.clone()),
            ];
            self.flow_alert(e, Category::SqlInjection, 0, &meta);
        }
    }

    fn dns(&mut self, e: &AppEvent, m: &DnsMessage) {
        if m.kind != "query" {
            return;
        }
        let name = m.rrname.clone().unwrap_or_default();
        let (client, server) = (
            side(e.client.ip, Some(e.client.port)),
            side(e.server.ip, Some(e.server.port)),
        );
        self.dns_query(
            &name,
            m.rrtype.as_deref(),
            client,
            server,
            e.ts_ns,
            e.flow_id,
        );
        match m.rrtype.as_deref() {
            Some(t @ ("AXFR" | "IXFR")) => {
                let meta = [("qtype", t.to_string()), ("zone", name)];
                self.flow_alert(e, Category::DnsZoneTransfer, 0, &meta);
            }
            Some("NULL") => {
                self.flow_alert(e, Category::DnsNullType, 0, &[("rrname", name)]);
            }
            _ => {}
        }
    }

    fn tls(&mut self, e: &AppEvent, h: &TlsHandshake) {
        if let Some(v) = h.version.as_deref().filter(|v| OLD_TLS.contains(v)) {
            self.flow_alert(e, Category::TlsOldVersion, 0, &[("version", v.to_string())]);
        }
    }

    fn ssh(&mut self, e: &AppEvent, s: &SshSession) {
        for side in [&s.client, &s.server].into_iter().flatten() {
            let v = side.proto_version.as_str();
            if v.starts_with("1.") && v != "1.99" {
                let meta = [("proto_version", v.to_string())];
                self.flow_alert(e, Category::SshV1, 0, &meta);
            }
        }
    }

    /// A login was refused.
    fn auth_failure(&mut self, e: &AppEvent, service: &'static str) {
        self.login_failure(e.client.ip, e.server.ip, service, e.ts_ns, e.flow_id);
    }

    fn auth_outcome(&mut self, e: &AppEvent, service: &'static str, ok: Option<bool>) {
        if ok == Some(false) {
            self.auth_failure(e, service);
        }
    }

    /// A secret crossed the wire in cleartext (when `seen`).
    fn credentials(&mut self, e: &AppEvent, service: &'static str, seen: bool) {
        if seen {
            let disc = u64::from(e.server.port);
            let meta = [("service", service.to_string())];
            self.flow_alert(e, Category::CleartextCredentials, disc, &meta);
        }
    }

    /// An alert about one flow, from client to server.
    pub(super) fn flow_alert(
        &mut self,
        e: &AppEvent,
        c: Category,
        disc: u64,
        meta: &[(&'static str, String)],
    ) {
        let key = (c, Some(e.client.ip), Some(e.server.ip), disc.max(e.flow_id));
        let src = Some(Side {
            ip: e.client.ip,
            port: Some(e.client.port),
        });
        let dst = Some(Side {
            ip: e.server.ip,
            port: Some(e.server.port),
        });
        self.open_alert(key, e.ts_ns, Some(e.flow_id), src, dst, meta, &[]);
        self.set_proto(&key, e.proto);
    }
}
