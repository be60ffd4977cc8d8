//! A whole capture file (pcap or pcapng) read and printed in several modes:
//! the reader must end every input with frames or one error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synack::print::{PrintOptions, Printer, TimeFormat};
use synack::source::{CaptureFile, FrameSource};

fuzz_target!(|data: &[u8]| {
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
    while let Ok(Some(frame)) = file.next_frame() {
        for p in printers.iter_mut() {
            p.print(&frame, &mut out);
        }
        let _ = synack::wire::decode(&frame);
        out.clear();
        frames += 1;
        if frames > 10_000 {
            break;
        }
    }
});
