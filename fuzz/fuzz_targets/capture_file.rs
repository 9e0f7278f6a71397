//! pcap / pcapng reader: any bytes give frames then an end or an error,
//! never a panic, and every frame respects the record cap.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_capture::file::FileSource;
use osprey_capture::FrameSource;

fuzz_target!(|data: &[u8]| {
    let Ok(mut src) = FileSource::from_reader(std::io::Cursor::new(data.to_vec()), "fuzz", 0)
    else {
        return;
    };
    let mut n = 0usize;
    while let Ok(Some(frame)) = src.next_frame() {
        assert!(frame.data.len() <= 256 * 1024);
        n += 1;
        assert!(n <= data.len());
    }
});
