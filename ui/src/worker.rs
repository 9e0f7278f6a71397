//! The worker thread: opens captures and cases, answers drill-down
//! queries, exports. It owns the `CaseReader` and every file handle; the
//! UI thread never blocks on it (see `WorkerHandle::poll`).

use crate::command::{CaseData, FlowDetail, PacketDetail, PacketRow, UiCommand, WorkerEvent};
use crate::live::{LiveBackend, LiveRun, SystemBackend};
use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};
use osprey_analysis::case_export::{self, FrameReader};
use osprey_analysis::dissect::{self, StreamFrame};
use osprey_analysis::filter::FlowAlerts;
use osprey_analysis::pipeline::{self, AnalyzeConfig, AnalyzeError};
use osprey_analysis::preview::preview_flows;
use osprey_analysis::store::CaseReader;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Most frames listed (and followed) per flow in the drill-down.
pub const MAX_DETAIL_PACKETS: usize = 20_000;
/// Most payload bytes shown by "follow stream".
const MAX_STREAM_BYTES: usize = 4 << 20;
/// Captures at least this large get a preview graph while they load.
const PREVIEW_MIN_BYTES: u64 = 32 << 20;
/// Bytes of the capture's start the preview reads.
const PREVIEW_BYTES: u64 = 32 << 20;

type Wake = Arc<dyn Fn() + Send + Sync>;

/// The UI side of the worker.
pub struct WorkerHandle {
    tx: Sender<UiCommand>,
    rx: Receiver<WorkerEvent>,
    cancel: Arc<AtomicBool>,
    pending: usize,
    alive: bool,
}

impl WorkerHandle {
    /// Starts the worker with this machine's interfaces for live capture;
    /// `wake` is called after each event (the UI's `request_repaint`).
    pub fn spawn(wake: impl Fn() + Send + Sync + 'static) -> std::io::Result<Self> {
        Self::spawn_with(wake, Arc::new(SystemBackend))
    }

    /// Starts the worker with `backend` as the live source.
    pub fn spawn_with(
        wake: impl Fn() + Send + Sync + 'static,
        backend: Arc<dyn LiveBackend>,
    ) -> std::io::Result<Self> {
        let (tx, cmd_rx) = bounded::<UiCommand>(64);
        let (ev_tx, rx) = bounded::<WorkerEvent>(64);
        let cancel = Arc::new(AtomicBool::new(false));
        let c = cancel.clone();
        std::thread::Builder::new()
            .name("osprey-gui-worker".into())
            .spawn(move || {
                let mut w = Worker {
                    case: None,
                    frames: None,
                    locations: HashMap::new(),
                    tx: ev_tx,
                    cancel: c,
                    wake: Arc::new(wake),
                    backend,
                    live: None,
                };
                for cmd in cmd_rx.iter() {
                    w.handle(cmd);
                }
                // The UI is gone: end a capture it left running.
                drop(w.live.take());
            })?;
        Ok(WorkerHandle {
            tx,
            rx,
            cancel,
            pending: 0,
            alive: true,
        })
    }

    /// Queues a command; false when the queue is full or the worker died.
    pub fn send(&mut self, cmd: UiCommand) -> bool {
        if matches!(cmd, UiCommand::Open(_)) {
            self.cancel.store(false, Ordering::Relaxed);
        }
        let ok = self.tx.try_send(cmd).is_ok();
        if ok {
            self.pending += 1;
        }
        ok
    }

    /// Asks a running analysis to stop.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Commands not yet answered.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// False once the worker thread has gone.
    pub fn alive(&self) -> bool {
        self.alive
    }

    /// Takes every event already received, without blocking.
    pub fn poll(&mut self) -> Vec<WorkerEvent> {
        let mut out = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(ev) => {
                    if !ev.unsolicited() {
                        self.pending = self.pending.saturating_sub(1);
                    }
                    out.push(ev);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.alive = false;
                    self.pending = 0;
                    break;
                }
            }
        }
        out
    }
}

struct Worker {
    case: Option<CaseReader>,
    frames: Option<FrameReader>,
    locations: HashMap<u64, osprey_analysis::store::PacketLocation>,
    tx: Sender<WorkerEvent>,
    cancel: Arc<AtomicBool>,
    wake: Wake,
    backend: Arc<dyn LiveBackend>,
    live: Option<LiveRun>,
}

/// Where a capture's case goes: `<capture>.osprey/` beside it, or a
/// directory under the temp dir when that cannot be created.
pub fn case_dir_for(capture: &Path) -> PathBuf {
    let mut name = capture.file_name().unwrap_or_default().to_os_string();
    name.push(".osprey");
    let beside = capture.with_file_name(&name);
    let writable = std::fs::create_dir_all(&beside).is_ok() && tempfile_probe(&beside);
    if writable {
        beside
    } else {
        std::env::temp_dir()
            .join(format!("osprey-{}", std::process::id()))
            .join(name)
    }
}

fn tempfile_probe(dir: &Path) -> bool {
    let p = dir.join(".osprey-write-probe");
    let ok = std::fs::write(&p, b"").is_ok();
    let _ = std::fs::remove_file(&p);
    ok
}

impl Worker {
    fn emit(&self, ev: WorkerEvent) {
        // The UI is gone when this fails; the loop ends with the channel.
        let _ = self.tx.send(ev);
        (self.wake)();
    }

    fn handle(&mut self, cmd: UiCommand) {
        let result = match cmd {
            UiCommand::Open(path) => {
                // Opening something else ends a live run first.
                drop(self.live.take());
                self.open(&path)
            }
            UiCommand::ListInterfaces => self.backend.interfaces().map(WorkerEvent::Interfaces),
            UiCommand::StartLive { ifaces, case_dir } => {
                drop(self.live.take());
                self.case = None;
                self.frames = None;
                let names = ifaces.iter().map(|i| i.name.clone()).collect();
                LiveRun::spawn(
                    &*self.backend,
                    &ifaces,
                    &case_dir,
                    self.tx.clone(),
                    self.wake.clone(),
                )
                .map(|run| {
                    self.live = Some(run);
                    WorkerEvent::LiveStarted(names)
                })
            }
            UiCommand::StopLive => self.stop_live(),
            UiCommand::LoadFlow(id) => self.load_flow(id),
            UiCommand::LoadPacket(n) => self.load_packet(n),
            UiCommand::Export { selection, path } => self.export(&selection, &path),
            UiCommand::WriteCsv { rows, path } => write_csv(&rows, &path)
                .map(|()| WorkerEvent::Done(format!("wrote {}", path.display())))
                .map_err(|e| format!("writing {}: {e}", path.display())),
            UiCommand::WritePng {
                width,
                height,
                rgba,
                path,
            } => write_png(width, height, &rgba, &path)
                .map(|()| WorkerEvent::Done(format!("wrote {}", path.display())))
                .map_err(|e| format!("writing {}: {e}", path.display())),
        };
        match result {
            Ok(ev) => self.emit(ev),
            Err(msg) => self.emit(WorkerEvent::Failed(msg)),
        }
    }

    /// Ends the live run and opens its finished case.
    fn stop_live(&mut self) -> Result<WorkerEvent, String> {
        let run = self.live.take().ok_or("no live capture is running")?;
        let dir = run.case_dir.clone();
        run.stop()?;
        self.open(&dir)
    }

    fn case(&self) -> Result<&CaseReader, String> {
        self.case
            .as_ref()
            .ok_or_else(|| "no case is open".to_string())
    }

    fn open(&mut self, path: &Path) -> Result<WorkerEvent, String> {
        let case_dir = if path.join("case.sqlite").is_file() {
            path.to_path_buf()
        } else if path.is_file() {
            let dir = case_dir_for(path);
            if CaseReader::open(&dir).is_err() {
                self.case = None;
                self.frames = None;
                let preview = self.spawn_preview(path);
                let result = self.analyze(path, &dir);
                // The preview is sent before the case, never after it.
                if let Some(t) = preview {
                    let _ = t.join();
                }
                result?;
            }
            dir
        } else {
            return Err(format!(
                "{} is neither a capture nor a case directory",
                path.display()
            ));
        };
        let case = CaseReader::open(&case_dir).map_err(|e| e.to_string())?;
        let data = CaseData::read(&case, case_dir)?;
        self.frames = Some(FrameReader::new(&case).map_err(|e| e.to_string())?);
        self.case = Some(case);
        self.locations.clear();
        Ok(WorkerEvent::CaseLoaded(Arc::new(data)))
    }

    /// For a large capture, a thread that sends a preview of its start.
    fn spawn_preview(&self, path: &Path) -> Option<std::thread::JoinHandle<()>> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size < PREVIEW_MIN_BYTES {
            return None;
        }
        let (path, tx, wake, cancel) = (
            path.to_path_buf(),
            self.tx.clone(),
            self.wake.clone(),
            self.cancel.clone(),
        );
        std::thread::Builder::new()
            .name("osprey-gui-preview".into())
            .spawn(move || {
                if let Ok(flows) = preview_flows(&path, PREVIEW_BYTES, &cancel) {
                    let case = CaseData {
                        dir: path,
                        flows,
                        alerts: Vec::new(),
                        flow_alerts: FlowAlerts::default(),
                        workloads: Default::default(),
                    };
                    let _ = tx.send(WorkerEvent::Preview(Arc::new(case)));
                    wake();
                }
            })
            .ok()
    }

    fn analyze(&self, capture: &Path, case_dir: &Path) -> Result<(), String> {
        let cfg = AnalyzeConfig {
            cancel: Some(self.cancel.clone()),
            ..AnalyzeConfig::default()
        };
        let tx = self.tx.clone();
        let wake = &self.wake;
        let mut on_progress = |p: &pipeline::Progress| {
            // Progress is advisory: drop it when the UI is behind.
            let _ = tx.try_send(WorkerEvent::Progress {
                bytes_read: p.bytes_read,
                bytes_total: p.bytes_total,
                packets: p.packets,
            });
            wake();
        };
        match pipeline::analyze(&[capture.to_path_buf()], case_dir, &cfg, &mut on_progress) {
            Ok(_) => Ok(()),
            Err(AnalyzeError::Cancelled) => Err(format!("opening {} cancelled", capture.display())),
            Err(e) => Err(format!("analysing {}: {e}", capture.display())),
        }
    }

    fn read(
        &mut self,
        pkt_no: u64,
    ) -> Result<(osprey_analysis::store::PacketLocation, Vec<u8>), String> {
        let loc = match self.locations.get(&pkt_no) {
            Some(l) => *l,
            None => {
                let l = self
                    .case()?
                    .locate(&[pkt_no])
                    .map_err(|e| e.to_string())?
                    .first()
                    .copied()
                    .ok_or_else(|| format!("frame {pkt_no} not found"))?;
                self.locations.insert(pkt_no, l);
                l
            }
        };
        let frames = self.frames.as_mut().ok_or("no case is open")?;
        let data = frames.read(&loc).map_err(|e| e.to_string())?;
        Ok((loc, data))
    }

    fn load_flow(&mut self, flow_id: u64) -> Result<WorkerEvent, String> {
        let case = self.case()?;
        let mut nos = case
            .flow_packet_numbers(flow_id)
            .map_err(|e| e.to_string())?;
        let records = case.app_events(flow_id).map_err(|e| e.to_string())?;
        let truncated = nos.len() > MAX_DETAIL_PACKETS;
        nos.truncate(MAX_DETAIL_PACKETS);
        let dirs: HashMap<u64, u8> = nos.iter().copied().collect();
        let numbers: Vec<u64> = nos.iter().map(|(n, _)| *n).collect();
        let locs = case.locate(&numbers).map_err(|e| e.to_string())?;
        let frames = self.frames.as_mut().ok_or("no case is open")?;
        let mut packets = Vec::with_capacity(locs.len());
        let mut datas = Vec::with_capacity(locs.len());
        for l in &locs {
            let data = frames.read(l).map_err(|e| e.to_string())?;
            let dir = dirs.get(&l.pkt_no).copied().unwrap_or(0);
            packets.push(PacketRow {
                pkt_no: l.pkt_no,
                ts_ns: l.ts_ns,
                dir,
                caplen: l.caplen,
                info: dissect::summary(&dissect::dissect(l.link_type, &data)),
            });
            datas.push((dir, l.link_type, data));
            self.locations.insert(l.pkt_no, *l);
        }
        let sf: Vec<StreamFrame<'_>> = datas
            .iter()
            .map(|(dir, link_type, data)| StreamFrame {
                dir: *dir,
                link_type: *link_type,
                data,
            })
            .collect();
        let mut stream = dissect::follow_stream(&sf);
        let mut total = 0;
        stream.retain_mut(|c| {
            let keep = total < MAX_STREAM_BYTES;
            c.data.truncate(MAX_STREAM_BYTES.saturating_sub(total));
            total += c.data.len();
            keep
        });
        Ok(WorkerEvent::Flow(Arc::new(FlowDetail {
            flow_id,
            packets,
            truncated,
            stream,
            records,
        })))
    }

    fn load_packet(&mut self, pkt_no: u64) -> Result<WorkerEvent, String> {
        let (loc, data) = self.read(pkt_no)?;
        let layers = dissect::dissect(loc.link_type, &data);
        Ok(WorkerEvent::Packet(Arc::new(PacketDetail {
            pkt_no,
            data,
            layers,
        })))
    }

    fn export(&self, sel: &case_export::Selection, path: &Path) -> Result<WorkerEvent, String> {
        let s = case_export::export(self.case()?, sel, path).map_err(|e| e.to_string())?;
        Ok(WorkerEvent::Done(format!(
            "exported {} packets of {} flow(s) to {}",
            s.packets,
            s.flows,
            path.display()
        )))
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv(rows: &[Vec<String>], path: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for r in rows {
        let line: Vec<String> = r.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()
}

fn write_png(width: u32, height: u32, rgba: &[u8], path: &Path) -> std::io::Result<()> {
    let out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut enc = png::Encoder::new(out, width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(std::io::Error::other)?;
    w.write_image_data(rgba).map_err(std::io::Error::other)?;
    w.finish().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
