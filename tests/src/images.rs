//! Tiny images for the photo tests: the magic bytes the PBX and dirsync check, then filler.

/// A JPEG of `size` bytes (its first bytes, then `fill`).
pub fn jpeg(fill: u8, size: usize) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
    bytes.resize(size, fill);
    bytes
}

/// A 300-byte PNG.
pub fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    bytes.resize(300, 7);
    bytes
}

/// A GIF: a real image in a type the PBX refuses.
pub const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
