//! libpcap's checks on a whole pcapng block that `pcap-parser` does not make,
//! or reports in its own words: the trailing length, the Interface
//! Description Block's options, and packet data that runs past its block.
//! With them a damaged file is refused where tcpdump refuses it, with
//! tcpdump's message.

use super::file::{u16_at, u32_at};

/// The pcapng option codes libpcap reads in an Interface Description Block.
const OPT_ENDOFOPT: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// Check one block, `block` being all of it (header, body, trailer; its
/// length at least 12 and a multiple of 4, as the caller checked).
pub(super) fn check_block(block: &[u8], big_endian: bool) -> Result<(), String> {
    let kind = u32_at(block, 0, big_endian);
    let total = block.len();
    if u32_at(block, total - 4, big_endian) as usize != total {
        return Err("block total length in header and trailer don't match".to_string());
    }
    let body = &block[8..total - 4];
    let too_short = || format!("block of type {kind} in pcapng dump file is too short");
    match kind {
        1 => {
            // Link type (2), reserved (2), snapshot length (4), options.
            let options = body.get(8..).ok_or_else(too_short)?;
            interface_options(options, big_endian).map_err(|e| e.unwrap_or_else(too_short))
        }
        // Enhanced Packet Block: interface, time stamp (8), caplen, length, data.
        6 => {
            let caplen = body.get(..20).ok_or_else(too_short)?;
            let caplen = u32_at(caplen, 12, big_endian) as usize;
            if caplen > body.len() - 20 {
                return Err(too_short());
            }
            Ok(())
        }
        // The obsolete Packet Block: interface and drops (2 + 2), time stamp
        // (8), caplen, length, data.
        2 => {
            let fixed = body.get(..20).ok_or_else(too_short)?;
            if u32_at(fixed, 12, big_endian) as usize > body.len() - 20 {
                return Err(too_short());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// libpcap's `process_idb_options`: every option must fit in the block, the
/// end marker is empty, and the time stamp resolution and offset appear at
/// most once with their own lengths and a resolution a 64-bit count can hold.
/// `Err(None)` is an option cut short by the end of the block.
fn interface_options(mut rest: &[u8], big_endian: bool) -> Result<(), Option<String>> {
    let (mut saw_tsresol, mut saw_tsoffset) = (false, false);
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(None);
        }
        let code = u16_at(rest, 0, big_endian);
        let len = u16_at(rest, 2, big_endian);
        let padded = (usize::from(len) + 3) & !3;
        let value = rest.get(4..4 + padded).ok_or(None)?;
        rest = &rest[4 + padded..];
        let idb = "Interface Description Block";
        match code {
            OPT_ENDOFOPT if len != 0 => {
                return Err(Some(format!(
                    "{idb} has opt_endofopt option with length {len} != 0"
                )))
            }
            OPT_ENDOFOPT => return Ok(()),
            IF_TSRESOL => {
                if len != 1 {
                    return Err(Some(format!(
                        "{idb} has if_tsresol option with length {len} != 1"
                    )));
                }
                if saw_tsresol {
                    return Err(Some(format!("{idb} has more than one if_tsresol option")));
                }
                saw_tsresol = true;
                let r = value[0];
                if r & 0x80 != 0 && r & 0x7f > 63 {
                    return Err(Some(format!(
                        "{idb} if_tsresol option resolution 2^-{} is too high",
                        r & 0x7f
                    )));
                }
                if r & 0x80 == 0 && r > 19 {
                    return Err(Some(format!(
                        "{idb} if_tsresol option resolution 10^-{r} is too high"
                    )));
                }
            }
            IF_TSOFFSET => {
                if len != 8 {
                    return Err(Some(format!(
                        "{idb} has if_tsoffset option with length {len} != 8"
                    )));
                }
                if saw_tsoffset {
                    return Err(Some(format!("{idb} has more than one if_tsoffset option")));
                }
                saw_tsoffset = true;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let total = (12 + body.len()) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&total.to_le_bytes());
        b
    }

    fn idb(options: &[u8]) -> Vec<u8> {
        let mut body = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
        body.extend_from_slice(options);
        block(1, &body)
    }

    #[test]
    fn interface_options_are_walked_as_libpcap_walks_them() {
        assert_eq!(check_block(&idb(&[]), false), Ok(()));
        assert_eq!(check_block(&idb(&[9, 0, 1, 0, 6, 0, 0, 0]), false), Ok(()));
        // An option longer than the block.
        let e = check_block(&idb(&[2, 0, 0xff, 0xff]), false).unwrap_err();
        assert_eq!(e, "block of type 1 in pcapng dump file is too short");
        // Two bytes of an option header.
        let e = check_block(&idb(&[9, 0]), false).unwrap_err();
        assert_eq!(e, "block of type 1 in pcapng dump file is too short");
        let e = check_block(&idb(&[9, 0, 2, 0, 6, 0, 0, 0]), false).unwrap_err();
        assert!(e.contains("if_tsresol option with length 2 != 1"), "{e}");
        let twice = [9, 0, 1, 0, 6, 0, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0];
        let e = check_block(&idb(&twice), false).unwrap_err();
        assert!(e.contains("more than one if_tsresol"), "{e}");
        let e = check_block(&idb(&[9, 0, 1, 0, 0xc0, 0, 0, 0]), false).unwrap_err();
        assert!(e.contains("2^-64 is too high"), "{e}");
        let e = check_block(&idb(&[9, 0, 1, 0, 20, 0, 0, 0]), false).unwrap_err();
        assert!(e.contains("10^-20 is too high"), "{e}");
        let e = check_block(&idb(&[14, 0, 4, 0, 0, 0, 0, 0]), false).unwrap_err();
        assert!(e.contains("if_tsoffset option with length 4 != 8"), "{e}");
        let e = check_block(&idb(&[0, 0, 4, 0, 0, 0, 0, 0]), false).unwrap_err();
        assert!(e.contains("opt_endofopt option with length 4"), "{e}");
        // After the end marker nothing is read.
        assert_eq!(check_block(&idb(&[0, 0, 0, 0, 9, 0, 9, 9]), false), Ok(()));
    }

    #[test]
    fn packet_data_must_fit_its_block_and_trailers_must_agree() {
        let mut epb = vec![0u8; 20];
        epb[12] = 4;
        epb.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(check_block(&block(6, &epb), false), Ok(()));
        epb[12] = 5;
        let e = check_block(&block(6, &epb), false).unwrap_err();
        assert_eq!(e, "block of type 6 in pcapng dump file is too short");
        let e = check_block(&block(6, &[0; 8]), false).unwrap_err();
        assert_eq!(e, "block of type 6 in pcapng dump file is too short");
        let mut b = block(3, &[0; 8]);
        let n = b.len();
        b[n - 4] = 99;
        let e = check_block(&b, false).unwrap_err();
        assert_eq!(e, "block total length in header and trailer don't match");
    }
}
