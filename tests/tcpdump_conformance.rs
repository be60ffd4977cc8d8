//! synack print against tcpdump 4.99.3's own output for every capture of the
//! corpus, in the four modes of `../shared/corpus/README.md`.

mod common;

use common::{captures, compare, corpus, run, tcp_lines};

fn check_mode(mode: &str, flags: &[&str]) {
    let mut total_pass = 0;
    let mut total_fail = 0;
    let mut failing = Vec::new();
    for (stem, path) in captures() {
        let expected =
            std::fs::read_to_string(corpus().join(format!("expected/{stem}.{mode}.out")))
                .expect("expected output");
        let mut args: Vec<&str> = flags.to_vec();
        let p = path.to_string_lossy().into_owned();
        args.extend(["-r", &p]);
        let out = run(&args);
        let actual = String::from_utf8_lossy(&out.stdout);
        let (pass, fail, diffs) = compare(&tcp_lines(&expected), &tcp_lines(&actual));
        total_pass += pass;
        total_fail += fail;
        if fail > 0 {
            failing.push(format!("{stem}: {fail} lines differ\n{}", diffs.join("\n")));
        }
    }
    println!("mode {mode}: {total_pass} TCP lines identical, {total_fail} different");
    assert!(
        failing.is_empty(),
        "mode {mode}: {total_fail} lines differ in {} files:\n{}",
        failing.len(),
        failing.join("\n")
    );
    assert!(total_pass > 2500, "the corpus holds over 2500 TCP lines");
}

#[test]
fn mode_n_s_t_matches_tcpdump() {
    check_mode("nSt", &["-n", "-S", "-t"]);
}

#[test]
fn mode_n_with_timestamps_and_relative_numbers_matches_tcpdump() {
    check_mode("n", &["-n"]);
}

#[test]
fn mode_verbose_matches_tcpdump() {
    check_mode("nStv", &["-n", "-S", "-t", "-v"]);
}

#[test]
fn mode_link_headers_match_tcpdump() {
    check_mode("nSte", &["-n", "-S", "-t", "-e"]);
}
