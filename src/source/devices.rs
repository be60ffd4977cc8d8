//! The interfaces libpcap can capture on: tcpdump's `-D` listing, and `-i N`
//! naming an interface by its number in that listing.

use pcap::{ConnectionStatus, Device, IfFlags};

use super::SourceError;

/// Every capture device, in libpcap's order.
pub fn list() -> Result<Vec<Device>, SourceError> {
    super::libpcap::load().map_err(|e| SourceError::new("interfaces", None, e))?;
    Device::list().map_err(|e| SourceError::new("interfaces", None, e.to_string()))
}

/// One line of tcpdump's `-D` listing (without the newline):
/// `1.eth0 [Up, Running, Connected]`.
pub fn listing_line(number: usize, device: &Device) -> String {
    let mut line = format!("{number}.{}", device.name);
    if let Some(desc) = &device.desc {
        line.push_str(&format!(" ({desc})"));
    }
    let flags = device.flags.if_flags;
    let status = &device.flags.connection_status;
    // tcpdump prints the bracket whenever pcap_if_t.flags is non-zero; the
    // connection status "unknown" is the all-zero value of its bits.
    if flags.is_empty() && *status == ConnectionStatus::Unknown {
        return line;
    }
    let names: Vec<&str> = [
        (IfFlags::UP, "Up"),
        (IfFlags::RUNNING, "Running"),
        (IfFlags::LOOPBACK, "Loopback"),
        (IfFlags::WIRELESS, "Wireless"),
    ]
    .iter()
    .filter(|(bit, _)| flags.contains(*bit))
    .map(|(_, name)| *name)
    .collect();
    line.push_str(" [");
    if names.is_empty() {
        line.push_str("none");
    } else {
        line.push_str(&names.join(", "));
    }
    let wireless = flags.contains(IfFlags::WIRELESS);
    let status_text = match (status, wireless) {
        (ConnectionStatus::Unknown, true) => ", Association status unknown",
        (ConnectionStatus::Connected, true) => ", Associated",
        (ConnectionStatus::Disconnected, true) => ", Not associated",
        (ConnectionStatus::Unknown, false) => ", Connection status unknown",
        (ConnectionStatus::Connected, false) => ", Connected",
        (ConnectionStatus::Disconnected, false) => ", Disconnected",
        (ConnectionStatus::NotApplicable, _) => "",
    };
    line.push_str(status_text);
    line.push(']');
    line
}

/// The whole `-D` listing, one line per device.
pub fn listing() -> Result<String, SourceError> {
    let mut text = String::new();
    for (i, device) in list()?.iter().enumerate() {
        text.push_str(&listing_line(i + 1, device));
        text.push('\n');
    }
    Ok(text)
}

/// The device to open for `-i NAME`: the name itself, or, when no device has
/// that name and it is a number, the device with that number in the `-D`
/// listing (as tcpdump does).
pub fn resolve(name: &str) -> Result<String, SourceError> {
    let Ok(number) = name.parse::<usize>() else {
        return Ok(name.to_string());
    };
    let devices = list()?;
    if devices.iter().any(|d| d.name == name) {
        return Ok(name.to_string());
    }
    match number.checked_sub(1).and_then(|i| devices.get(i)) {
        Some(device) => Ok(device.name.clone()),
        None => Err(SourceError::new(
            name,
            None,
            format!(
                "no interface number {number}: there are {} (synack -D lists them)",
                devices.len()
            ),
        )),
    }
}

/// Does a device of this name exist?
pub fn exists(name: &str) -> bool {
    list().is_ok_and(|devices| devices.iter().any(|d| d.name == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap::DeviceFlags;

    fn device(name: &str, desc: Option<&str>, flags: u32) -> Device {
        let mut d = Device::from(name);
        d.desc = desc.map(str::to_string);
        d.flags = DeviceFlags::from(flags);
        d
    }

    #[test]
    fn listing_lines_follow_tcpdump() {
        // PCAP_IF_LOOPBACK 1, UP 2, RUNNING 4, WIRELESS 8; status bits 0x30.
        assert_eq!(
            listing_line(1, &device("eth0", None, 0x2 | 0x4 | 0x10)),
            "1.eth0 [Up, Running, Connected]"
        );
        assert_eq!(
            listing_line(3, &device("lo", None, 0x1 | 0x2 | 0x4 | 0x30)),
            "3.lo [Up, Running, Loopback]"
        );
        assert_eq!(
            listing_line(5, &device("nflog", Some("Linux netfilter log"), 0x30)),
            "5.nflog (Linux netfilter log) [none]"
        );
        assert_eq!(
            listing_line(4, &device("wlan0", None, 0x8 | 0x20)),
            "4.wlan0 [Wireless, Not associated]"
        );
        assert_eq!(listing_line(9, &device("x", None, 0)), "9.x");
    }
}
