//! The exports read back by independent readers: the Zeek conn.log by
//! parsezeeklogs (a Python reader of Zeek's TSV format, strict here: any
//! malformed line fails), the Parquet file by DuckDB and by pyarrow. Expected
//! Zeek states come from handshakes.md §7's rules applied to what LAB.md says
//! each connection was; Parquet counts are compared with the JSONL of the
//! same run's input.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{corpus, handshakes_jsonl, synack};
use serde_json::Value;
use synack_gen::{generate, Config, Format, Mix};

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exports");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn lab(file: &str) -> PathBuf {
    corpus().join("captures").join(file)
}

fn export(inputs: &[&Path], format: &str, out: &Path) {
    let mut cmd = synack();
    cmd.args(["handshakes", "--format", format, "-o"]).arg(out);
    for i in inputs {
        cmd.arg("-r").arg(i);
    }
    let run = cmd.output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Run a Python script with arguments; its standard output as JSON.
fn python(script: &str, args: &[&Path]) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is installed");
    assert!(
        out.status.success(),
        "python3 failed (the test step installs parsezeeklogs, duckdb and pyarrow with pip): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

const READ_ZEEK: &str = r#"
import json, sys
from parsezeeklogs import ZeekLog
def fail(line_number, line, exc):
    raise SystemExit(f"line {line_number}: {exc}: {line!r}")
with ZeekLog(sys.argv[1], on_error=fail) as log:
    rows = list(log.records())
    header = {"path": log.path, "fields": log.fields, "types": log.types}
print(json.dumps({"header": header, "rows": rows}, default=str))
"#;

fn read_conn_log(path: &Path) -> (Value, Vec<Value>) {
    let v = python(READ_ZEEK, &[path]);
    let rows = v["rows"].as_array().unwrap().clone();
    (v["header"].clone(), rows)
}

fn by_ports(rows: &[Value], orig_p: u64, resp_p: u64) -> Vec<&Value> {
    rows.iter()
        .filter(|r| r["id.orig_p"] == orig_p && r["id.resp_p"] == resp_p)
        .collect()
}

#[test]
fn zeek_conn_log_of_the_lab_captures_reads_back_with_section_7_states() {
    let log = scratch("lab-client.conn.log");
    export(&[&lab("lab-client.pcap")], "zeek", &log);
    let (header, rows) = read_conn_log(&log);
    assert_eq!(header["path"], "conn");
    let fields: Vec<&str> = header["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    // Zeek's own conn.log columns come first, in Zeek's order.
    let zeek = [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "service",
        "duration",
        "orig_bytes",
        "resp_bytes",
        "conn_state",
        "local_orig",
        "local_resp",
        "missed_bytes",
        "history",
        "orig_pkts",
        "orig_ip_bytes",
        "resp_pkts",
        "resp_ip_bytes",
        "tunnel_parents",
    ];
    assert_eq!(&fields[..zeek.len()], zeek);
    assert_eq!(header["types"]["ts"], "time");
    assert_eq!(header["types"]["id.orig_h"], "addr");
    assert_eq!(header["types"]["tunnel_parents"], "set[string]");
    assert_eq!(rows.len(), 21, "LAB.md: S1–S14 are 21 attempts");

    // §7 applied to LAB.md's rows. Letters: S SYN, h SYN-ACK, A/a pure ACK,
    // D/d data, F/f FIN, R/r RST; retransmissions of s/h/r with the same
    // sequence number add no letter.
    for (orig_p, resp_p, state, history, row) in [
        (
            40002,
            5001,
            "REJ",
            Some("Sr"),
            "S2: SYN answered by RST+ACK",
        ),
        (
            40003,
            5002,
            "S0",
            Some("S"),
            "S3: four SYNs, same ISN, no reply",
        ),
        (
            41100,
            5001,
            "REJ",
            Some("Sr"),
            "S11: hping3 to a closed port",
        ),
        (
            41000,
            5000,
            "RSTO",
            Some("ShR"),
            "S10: SYN, SYN-ACK, client RST",
        ),
        (
            41001,
            5000,
            "RSTO",
            Some("ShR"),
            "S10: SYN, SYN-ACK, client RST",
        ),
        (42321, 5000, "RSTO", Some("ShR"), "S12: nmap, open port"),
        (42321, 5001, "REJ", Some("Sr"), "S12: nmap, closed port"),
        (42323, 5002, "S0", Some("S"), "S12: nmap's retry, filtered"),
        (
            42000,
            5000,
            "S1",
            Some("Sh"),
            "S13: SYN-ACK retransmitted, no ACK",
        ),
        (
            40000,
            5100,
            "SF",
            Some("ShADaFf"),
            "S1: 5 bytes, FIN both ways, client first",
        ),
        (40001, 5000, "SF", None, "S1b: FIN both ways"),
    ] {
        let r = by_ports(&rows, orig_p, resp_p);
        assert_eq!(r.len(), 1, "{row}: one record");
        assert_eq!(r[0]["conn_state"], state, "{row}");
        if let Some(h) = history {
            assert_eq!(r[0]["history"], h, "{row}");
        }
    }
    // S1b: the server closed first, so its f comes before the client's F.
    let s1b = by_ports(&rows, 40001, 5000)[0]["history"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s1b.starts_with("Sh"), "{s1b}");
    assert!(s1b.find('f').unwrap() < s1b.find('F').unwrap(), "{s1b}");
    // S12's filtered port 5002 from 42321: unanswered, like S3.
    assert_eq!(by_ports(&rows, 42321, 5002)[0]["conn_state"], "S0");

    for r in &rows {
        let uid = r["uid"].as_str().unwrap();
        assert!(uid.len() == 18 && uid.starts_with('C'), "{uid}");
        assert!(uid[1..].chars().all(|c| c.is_ascii_alphanumeric()), "{uid}");
        assert_eq!(r["proto"], "tcp");
        assert_eq!(r["service"], Value::Null, "unset");
        assert_eq!(
            r["client_is_orig"], true,
            "every lab attempt began with its SYN"
        );
        assert!(r["orig_pkts"].as_u64().unwrap() >= 1);
    }
    let uids: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["uid"].as_str().unwrap()).collect();
    assert_eq!(uids.len(), rows.len(), "uids are unique");

    // The same attempts as the JSONL, in the same order, at the same times.
    let jsonl = handshakes_jsonl(&lab("lab-client.pcap"), &[]);
    for (z, j) in rows.iter().zip(&jsonl) {
        assert_eq!(z["synack_id"], j["id"]);
        assert_eq!(z["verdict"], j["verdict"]);
        assert_eq!(z["conn_state"], j["zeek"]["conn_state"]);
        let ts = z["ts"].as_f64().unwrap();
        assert!((ts - j["first_time"].as_f64().unwrap()).abs() < 1e-6);
        let pkts = z["orig_pkts"].as_u64().unwrap() + z["resp_pkts"].as_u64().unwrap();
        assert_eq!(pkts, j["packets"].as_u64().unwrap(), "{z}");
    }
}

#[test]
fn zeek_conn_log_orients_midstream_connections_as_zeek_does() {
    let log = scratch("lab-midstream.conn.log");
    export(&[&lab("lab-midstream.pcap")], "zeek", &log);
    let (_, rows) = read_conn_log(&log);
    assert_eq!(rows.len(), 1);
    // S1b without its handshake: both sides closed with FIN (SF needs no
    // handshake, §7), and the history says the first packet came from the
    // responder (^).
    assert_eq!(rows[0]["conn_state"], "SF");
    assert!(rows[0]["history"].as_str().unwrap().starts_with('^'));
    assert_eq!(rows[0]["verdict"], "midstream");
}

#[cfg(feature = "parquet")]
const READ_PARQUET: &str = r#"
import json, sys
import duckdb, pyarrow.parquet as pq
path = sys.argv[1]
counts = dict(duckdb.sql(f"select verdict, count(*) from read_parquet('{path}') group by verdict").fetchall())
rows = duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
ids = [r[0] for r in duckdb.sql(f"select id from read_parquet('{path}') order by id").fetchall()]
table = pq.read_table(path)
print(json.dumps({"rows": rows, "verdicts": counts, "ids": ids, "pyarrow_rows": table.num_rows,
                  "columns": table.column_names}))
"#;

#[cfg(feature = "parquet")]
fn verdict_counts(records: &[Value]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(r["verdict"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

#[cfg(feature = "parquet")]
fn check_parquet_against_jsonl(inputs: &[&Path], name: &str) {
    let pq = scratch(name);
    export(inputs, "parquet", &pq);
    let jsonl_out = scratch(&format!("{name}.jsonl"));
    export(inputs, "jsonl", &jsonl_out);
    let jsonl: Vec<Value> = std::fs::read_to_string(&jsonl_out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got = python(READ_PARQUET, &[&pq]);
    assert_eq!(got["rows"].as_u64().unwrap(), jsonl.len() as u64, "{name}");
    assert_eq!(got["pyarrow_rows"].as_u64().unwrap(), jsonl.len() as u64);
    let counts: BTreeMap<String, u64> = serde_json::from_value(got["verdicts"].clone()).unwrap();
    assert_eq!(counts, verdict_counts(&jsonl), "{name}");
    let ids: Vec<u64> = serde_json::from_value(got["ids"].clone()).unwrap();
    let want: Vec<u64> = jsonl.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, want);
    // Every §9 field of the JSONL is a column.
    let columns: Vec<String> = serde_json::from_value(got["columns"].clone()).unwrap();
    for key in jsonl[0].as_object().unwrap().keys() {
        assert!(columns.contains(key), "{key} is a column");
    }
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_reads_back_in_duckdb_and_pyarrow_with_the_jsonl_counts() {
    check_parquet_against_jsonl(&[&lab("lab-client.pcap")], "lab-client.parquet");
    check_parquet_against_jsonl(
        &[
            &lab("lab-extra.pcap"),
            &lab("lab-retrans.pcap"),
            &lab("lab-midstream.pcap"),
        ],
        "lab-three.parquet",
    );
    // More than one row group (32 768 rows each).
    let capture = scratch("mix.pcap");
    let cfg = Config {
        connections: Some(70_000),
        mix: Mix::parse(
            "established=50,refused=10,unanswered=10,half_open=10,nmap=10,hping3=5,flood=5",
        )
        .unwrap(),
        ipv6_share: 0.3,
        format: Format::Pcapng,
        seed: 21,
        ..Config::default()
    };
    let file = std::fs::File::create(&capture).unwrap();
    generate(&cfg, std::io::BufWriter::new(file)).unwrap();
    check_parquet_against_jsonl(&[&capture], "mix.parquet");
    std::fs::remove_file(&capture).ok();
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_timestamps_and_nested_fields_match_the_jsonl() {
    let pq = scratch("lab-extra.parquet");
    export(&[&lab("lab-extra.pcap")], "parquet", &pq);
    let got = python(
        r#"
import json, sys, duckdb
rows = duckdb.sql(f"""select id, epoch_ns(first_time), options.agreed.mss, zeek.history,
    len(checks), len(events), [e.kind for e in events], rtt_us.handshake
    from read_parquet('{sys.argv[1]}') order by id""").fetchall()
print(json.dumps(rows))
"#,
        &[&pq],
    );
    let jsonl = handshakes_jsonl(&lab("lab-extra.pcap"), &[]);
    let rows = got.as_array().unwrap();
    assert_eq!(rows.len(), jsonl.len());
    for (p, j) in rows.iter().zip(&jsonl) {
        assert_eq!(p[0], j["id"]);
        let ns = p[1].as_i64().unwrap() as f64 / 1e9;
        assert!((ns - j["first_time"].as_f64().unwrap()).abs() < 1e-6);
        assert_eq!(p[2], j["options"]["agreed"]["mss"]);
        assert_eq!(p[3], j["zeek"]["history"]);
        assert_eq!(
            p[4].as_u64(),
            Some(j["checks"].as_array().unwrap().len() as u64)
        );
        let kinds: Vec<&Value> = j["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["kind"])
            .collect();
        assert_eq!(p[5].as_u64(), Some(kinds.len() as u64));
        assert_eq!(p[6].as_array().unwrap().iter().collect::<Vec<_>>(), kinds);
        assert_eq!(p[7], j["rtt_us"]["handshake"]);
    }
}
