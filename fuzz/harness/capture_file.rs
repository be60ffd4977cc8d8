//! A whole capture file (pcap or pcapng) read and printed in several modes:
//! the reader must end every input with frames or one error, never a panic,
//! and a damaged file's error names a byte offset inside the file.

use synack::print::{PrintOptions, Printer, TimeFormat};
use synack::source::{CaptureFile, FrameSource};

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
}
