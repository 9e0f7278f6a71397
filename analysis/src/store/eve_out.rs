//! The EVE writer thread: formats and writes `eve.jsonl` beside the SQLite
//! writer, so JSON formatting and SQL inserts use both cores.

use crate::eve;
use crate::flow::table::AppEvent;
use crate::flow::Flow;
use crate::model::AnomalyRow;
use crossbeam_channel::{bounded, Sender};
use serde_json::value::RawValue;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::thread::JoinHandle;

/// Events for the EVE file, in the order they are to be written.
pub(crate) enum EveMsg {
    /// Ended flows with their Community IDs.
    Flows(Vec<(Flow, String)>),
    /// Anomalies.
    Anomalies(Vec<AnomalyRow>),
    /// Application-layer records, each with its JSON form.
    AppEvents(Vec<(AppEvent, Box<RawValue>)>),
    /// Alerts with their ids.
    Alerts(Vec<(u64, crate::detect::Alert)>),
}

/// Handle on the EVE thread.
pub(crate) struct EveOut {
    tx: Sender<EveMsg>,
    /// Taken when a send finds the thread gone, to report its error.
    handle: Option<JoinHandle<io::Result<()>>>,
}

impl EveOut {
    /// Creates `path` and starts the thread.
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let (tx, rx) = bounded::<EveMsg>(4);
        let handle = std::thread::Builder::new()
            .name("osprey-eve".into())
            .spawn(move || {
                let mut line = Vec::with_capacity(1024);
                for msg in rx.iter() {
                    match msg {
                        EveMsg::Flows(flows) => {
                            for (f, cid) in &flows {
                                line.clear();
                                eve::flow_event(f, cid).write_json(&mut line);
                                line.push(b'\n');
                                out.write_all(&line)?;
                            }
                        }
                        EveMsg::AppEvents(events) => {
                            for (e, record) in &events {
                                line.clear();
                                eve::AppEventLine(e, record).write_json(&mut line);
                                line.push(b'\n');
                                out.write_all(&line)?;
                            }
                        }
                        EveMsg::Alerts(alerts) => {
                            for (id, a) in &alerts {
                                serde_json::to_writer(&mut out, &eve::alert_event(*id, a))?;
                                out.write_all(b"\n")?;
                            }
                        }
                        EveMsg::Anomalies(rows) => {
                            for a in &rows {
                                serde_json::to_writer(&mut out, &eve::anomaly_event(a))?;
                                out.write_all(b"\n")?;
                            }
                        }
                    }
                }
                out.flush()
            })?;
        Ok(EveOut {
            tx,
            handle: Some(handle),
        })
    }

    /// Queues events; fails with the thread's own error (a full disk, say)
    /// if it stopped.
    pub(crate) fn send(&mut self, msg: EveMsg) -> io::Result<()> {
        if self.tx.send(msg).is_ok() {
            return Ok(());
        }
        let stopped = || io::Error::new(io::ErrorKind::BrokenPipe, "EVE writer stopped");
        match self.handle.take().map(join) {
            Some(Err(e)) => Err(io::Error::new(e.kind(), format!("writing eve.jsonl: {e}"))),
            _ => Err(stopped()),
        }
    }

    /// Flushes and stops the thread, returning its first error.
    pub(crate) fn finish(self) -> io::Result<()> {
        drop(self.tx);
        self.handle.map_or(Ok(()), join)
    }
}

fn join(handle: JoinHandle<io::Result<()>>) -> io::Result<()> {
    handle
        .join()
        .map_err(|_| io::Error::other("EVE writer thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AnomalyKind, AnomalyRow};

    #[test]
    fn a_failed_write_is_reported_with_its_cause() {
        let mut out = EveOut::create(Path::new("/dev/full")).unwrap();
        let rows = || {
            vec![
                AnomalyRow {
                    ts_ns: 0,
                    pkt_no: 1,
                    flow_id: None,
                    kind: AnomalyKind::Decode,
                    event: "truncated",
                    tuple: None,
                };
                4096
            ]
        };
        // The thread fails once its 1 MiB buffer spills; sends then report
        // that failure, not a bare "stopped".
        let err = (0..10_000)
            .find_map(|_| out.send(EveMsg::Anomalies(rows())).err())
            .expect("writes to /dev/full fail");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
        assert!(err.to_string().starts_with("writing eve.jsonl:"), "{err}");
    }
}
