//! pcapng files built block by block, in either byte order, for the tests
//! that need pcapng input tcpdump's corpus does not have.

/// A pcapng file being built.
pub struct Ng {
    pub big: bool,
    pub out: Vec<u8>,
}

impl Ng {
    pub fn new(big: bool) -> Ng {
        Ng {
            big,
            out: Vec::new(),
        }
    }
    pub fn u16(&self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    pub fn u32(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    pub fn block(&mut self, kind: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let total = 12 + body.len() as u32;
        let (k, t) = (self.u32(kind), self.u32(total));
        self.out.extend_from_slice(&k);
        self.out.extend_from_slice(&t);
        self.out.extend_from_slice(&body);
        self.out.extend_from_slice(&t);
    }
    pub fn section(&mut self) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u32(0x1a2b_3c4d));
        b.extend_from_slice(&self.u16(1));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &b);
    }
    pub fn interface(&mut self, linktype: u16, tsresol: Option<u8>) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u16(linktype));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&self.u32(65535));
        if let Some(r) = tsresol {
            b.extend_from_slice(&self.u16(9));
            b.extend_from_slice(&self.u16(1));
            b.extend_from_slice(&[r, 0, 0, 0]);
            b.extend_from_slice(&[0, 0, 0, 0]);
        }
        self.block(1, &b);
    }
    pub fn enhanced(&mut self, iface: u32, ts: u64, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u32(iface));
        b.extend_from_slice(&self.u32((ts >> 32) as u32));
        b.extend_from_slice(&self.u32(ts as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(data);
        self.block(6, &b);
    }
    pub fn obsolete(&mut self, iface: u16, ts: u64, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u16(iface));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&self.u32((ts >> 32) as u32));
        b.extend_from_slice(&self.u32(ts as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(data);
        self.block(2, &b);
    }
    pub fn simple(&mut self, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(data);
        self.block(3, &b);
    }
}
