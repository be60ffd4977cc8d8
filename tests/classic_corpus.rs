//! `synack print --classic` on every capture of the corpus, in several flag
//! combinations: no panic, the same exit status and messages as the 4.x
//! printer, and one line per frame shown (tcpdump 3.x printed every packet
//! on one line, `-v` included).

mod common;

use common::{captures, run};

const FLAG_SETS: &[&[&str]] = &[
    &["-n", "-S", "-t"],
    &["-n"],
    &["-n", "-v"],
    &["-n", "-vv", "-e"],
    &["-n", "-e", "-tttt"],
    &["-n", "-q", "-ttt"],
    &["-n", "--all", "-v", "-tt"],
];

#[test]
fn classic_prints_the_whole_corpus_like_the_4x_printer_exits() {
    let mut failures = Vec::new();
    let mut lines = 0;
    for (stem, path) in captures() {
        let p = path.to_string_lossy().into_owned();
        for flags in FLAG_SETS {
            let mut args: Vec<&str> = flags.to_vec();
            args.extend(["-r", &p]);
            let modern = run(&args);
            args.insert(0, "--classic");
            let classic = run(&args);
            let err = String::from_utf8_lossy(&classic.stderr);
            let what = format!("{stem} {}", flags.join(" "));
            if classic.status.code().is_none() || err.contains("panicked") {
                failures.push(format!("{what}: crashed: {err}"));
                continue;
            }
            if classic.status.code() != modern.status.code() {
                failures.push(format!(
                    "{what}: exit {:?}, the 4.x printer {:?}",
                    classic.status.code(),
                    modern.status.code()
                ));
            }
            if classic.stderr != modern.stderr {
                failures.push(format!("{what}: messages differ: {err}"));
            }
            // As many lines as frames shown (what --count counts).
            let mut count_args = vec!["--classic", "--count", "-r", &p];
            if flags.contains(&"--all") {
                count_args.push("--all");
            }
            let counted = String::from_utf8_lossy(&run(&count_args).stdout)
                .trim_end()
                .strip_suffix(" packets")
                .and_then(|n| n.parse::<usize>().ok())
                .expect("--count prints N packets");
            let printed = classic.stdout.iter().filter(|&&b| b == b'\n').count();
            lines += printed;
            if printed != counted {
                failures.push(format!("{what}: {printed} lines for {counted} frames"));
            }
        }
    }
    println!(
        "classic corpus run: {lines} lines, {} problems",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
