//! A whole capture file (pcap or pcapng) read and printed in several modes:
//! the reader must end every input with frames or one error, never a panic,
//! and a damaged file's error names a byte offset inside the file.

use synack::print::{PrintOptions, Printer, TimeFormat};
use synack::source::{open_path, CaptureFile, FrameIndex, FrameSource};

/// A frame as compared between reads: number, offset, time and bytes.
type Seen = (u64, u64, String, Vec<u8>);

/// The frames of a file from here on, and the offset of the error that
/// ended them, if one did.
fn read_on(file: &mut CaptureFile) -> (Vec<Seen>, Option<u64>) {
    let mut seen = Vec::new();
    loop {
        match file.next_frame() {
            Ok(Some(f)) => seen.push((f.number, f.offset, format!("{:?}", f.ts), f.data.to_vec())),
            Ok(None) => return (seen, None),
            Err(e) => return (seen, e.offset),
        }
        if seen.len() > 10_000 {
            return (seen, None);
        }
    }
}

/// The file read again from its middle frame, as a second read skips with
/// the first read's index: from there on, the same frames and the same end.
fn seek_agrees(data: &[u8]) {
    let path = std::env::temp_dir().join(format!("synack-fuzz-seek-{}", std::process::id()));
    std::fs::write(&path, data).expect("temp file");
    let p = path.to_str().expect("path");
    let index = FrameIndex::default();
    let Ok(mut first) = open_path(p) else { return };
    first.report_settled(index.settled_to());
    let (all, end) = read_on(&mut first);
    if all.len() < 2 || all.len() > 10_000 {
        return;
    }
    let k = all.len() / 2;
    let (number, offset, ..) = all[k];
    let mut again = open_path(p).expect("opened once");
    let mut taken = 0;
    // Up to the settled offset, as a second read is when it skips.
    while taken < k && again.position().is_some_and(|at| at < index.settled()) {
        again.next_frame().expect("read once").expect("a frame");
        taken += 1;
    }
    let at = again.position().unwrap_or(0);
    match again.seek_record(offset, number, index.settled()) {
        Ok(true) => {
            let (rest, rest_end) = read_on(&mut again);
            assert_eq!(rest, all[k..], "frames after a seek to frame {number}");
            assert_eq!(rest_end, end, "how the file ends after a seek");
        }
        Ok(false) => assert!(
            at < index.settled() || offset < index.settled(),
            "a seek refused at {at} to {offset}, past the interface blocks' end {}",
            index.settled()
        ),
        Err(e) => panic!("a seek to a frame's own offset failed: {e}"),
    }
}

pub fn run(data: &[u8]) {
    let Ok(mut file) =
        CaptureFile::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())), None)
    else {
        return;
    };
    let mut printers: Vec<Printer> = [(false, 0u8, false), (true, 1, true), (false, 2, false)]
        .iter()
        .map(|&(absolute, verbose, link)| {
            Printer::new(PrintOptions {
                numeric: true,
                absolute,
                time: TimeFormat::Clock,
                verbose,
                link,
                quiet: false,
                all: true,
                classic: false,
            })
        })
        .collect();
    let mut out = Vec::new();
    let mut frames = 0;
    loop {
        match file.next_frame() {
            Ok(Some(frame)) => {
                assert!(
                    frame.offset < data.len() as u64,
                    "a frame at offset {} of a {}-byte file",
                    frame.offset,
                    data.len()
                );
                for p in printers.iter_mut() {
                    p.print(&frame, &mut out);
                }
                let _ = synack::wire::decode(&frame);
                out.clear();
            }
            Ok(None) => break,
            Err(e) => {
                let offset = e.offset.expect("a file error names its offset");
                assert!(
                    offset <= data.len() as u64,
                    "error at offset {offset} of a {}-byte file: {e}",
                    data.len()
                );
                break;
            }
        }
        frames += 1;
        if frames > 10_000 {
            break;
        }
    }
    if frames >= 2 {
        seek_agrees(data);
    }
}
