//! Mutations of seed files: byte flips, inserts, deletions, truncations, duplicated segments and
//! corrupted length fields, aware of each format's structure (JPEG marker segments, PNG and RIFF
//! chunks, TIFF directory entries, BMP and GIF header fields, the safetensors header length and
//! the numbers of JSON text).

use std::ops::Range;

use mclcr::rng::Rng;

/// The structure a seed file has, for structure-aware mutations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Jpeg,
    Png,
    /// WebP (a RIFF container).
    Riff,
    Gif,
    Bmp,
    Tiff,
    /// A model manifest.
    Json,
    /// A model's weights.
    Safetensors,
}

/// A length or size field: where it is, how wide and in which byte order.
#[derive(Debug, Clone, Copy)]
struct Field {
    at: usize,
    width: usize,
    big_endian: bool,
}

impl Field {
    fn read(&self, bytes: &[u8]) -> u64 {
        let raw = &bytes[self.at..self.at + self.width];
        let mut value = 0u64;
        for i in 0..self.width {
            let byte = if self.big_endian {
                raw[i]
            } else {
                raw[self.width - 1 - i]
            };
            value = (value << 8) | byte as u64;
        }
        value
    }

    fn write(&self, bytes: &mut [u8], value: u64) {
        for i in 0..self.width {
            let shift = 8 * (self.width - 1 - i);
            let byte = (value >> shift) as u8;
            let at = if self.big_endian {
                self.at + i
            } else {
                self.at + self.width - 1 - i
            };
            bytes[at] = byte;
        }
    }
}

/// Segments (byte ranges worth duplicating) and length fields of a file.
#[derive(Default)]
struct Structure {
    segments: Vec<Range<usize>>,
    fields: Vec<Field>,
}

fn u16_at(bytes: &[u8], at: usize, big_endian: bool) -> Option<usize> {
    let b = bytes.get(at..at + 2)?;
    Some(if big_endian {
        u16::from_be_bytes([b[0], b[1]])
    } else {
        u16::from_le_bytes([b[0], b[1]])
    } as usize)
}

fn u32_at(bytes: &[u8], at: usize, big_endian: bool) -> Option<usize> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    } as usize)
}

fn structure(form: Form, bytes: &[u8]) -> Structure {
    let mut s = Structure::default();
    let n = bytes.len();
    let field = |at: usize, width: usize, big_endian: bool| Field {
        at,
        width,
        big_endian,
    };
    match form {
        Form::Jpeg => {
            for i in 0..n.saturating_sub(3) {
                let marker = bytes[i + 1];
                if bytes[i] == 0xFF && (0xC0..=0xFE).contains(&marker) {
                    if (0xD0..=0xD9).contains(&marker) {
                        continue;
                    }
                    let length = u16_at(bytes, i + 2, true).unwrap_or(0);
                    s.segments.push(i..(i + 2 + length).min(n));
                    s.fields.push(field(i + 2, 2, true));
                }
            }
        }
        Form::Png => {
            let mut pos = 8;
            while let Some(length) = u32_at(bytes, pos, true) {
                let end = pos.saturating_add(12).saturating_add(length).min(n);
                s.segments.push(pos..end);
                s.fields.push(field(pos, 4, true));
                if end <= pos + 12 && end == n {
                    break;
                }
                pos = end;
            }
        }
        Form::Riff => {
            if n >= 12 {
                s.fields.push(field(4, 4, false));
            }
            let mut pos = 12;
            while let Some(size) = u32_at(bytes, pos + 4, false) {
                let end = (pos + 8 + size + (size & 1)).min(n);
                s.segments.push(pos..end);
                s.fields.push(field(pos + 4, 4, false));
                // VP8X / VP8L headers carry sizes of their own right after the chunk header.
                if end >= pos + 18 {
                    s.fields.push(field(pos + 8, 4, false));
                    s.fields.push(field(pos + 12, 2, false));
                }
                pos = end;
            }
        }
        Form::Gif => {
            for at in [6, 8] {
                if at + 2 <= n {
                    s.fields.push(field(at, 2, false));
                }
            }
            // Image descriptors: position and size of each frame.
            let descriptors = bytes.iter().enumerate().take(n.saturating_sub(10));
            for (i, _) in descriptors.filter(|(_, b)| **b == 0x2C) {
                for k in 0..4 {
                    s.fields.push(field(i + 1 + 2 * k, 2, false));
                }
                s.segments.push(i..(i + 10).min(n));
            }
        }
        Form::Bmp => {
            for (at, width) in [(2, 4), (10, 4), (14, 4), (18, 4), (22, 4), (28, 2), (34, 4)] {
                if at + width <= n {
                    s.fields.push(field(at, width, false));
                }
            }
            s.segments.push(0..54.min(n));
        }
        Form::Tiff => {
            let big = bytes.starts_with(b"MM");
            if let Some(ifd) = u32_at(bytes, 4, big) {
                s.fields.push(field(4, 4, big));
                if let Some(count) = u16_at(bytes, ifd, big) {
                    s.fields.push(field(ifd, 2, big));
                    for e in 0..count.min(64) {
                        let at = ifd + 2 + 12 * e;
                        if at + 12 > n {
                            break;
                        }
                        s.segments.push(at..at + 12);
                        s.fields.push(field(at + 2, 2, big));
                        s.fields.push(field(at + 4, 4, big));
                        s.fields.push(field(at + 8, 4, big));
                    }
                }
            }
        }
        Form::Safetensors => {
            if n >= 8 {
                s.fields.push(field(0, 8, false));
                let header = u32_at(bytes, 0, false).unwrap_or(0);
                s.segments.push(8..(8 + header).min(n));
            }
        }
        Form::Json => {}
    }
    s
}

/// Runs of ASCII digits (numbers of JSON text), within `range`.
fn numbers(bytes: &[u8], range: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for i in range.clone() {
        let digit = bytes[i].is_ascii_digit() || (bytes[i] == b'.' && start.is_some());
        match (digit, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..range.end);
    }
    out
}

const INTERESTING: [u64; 22] = [
    0,
    1,
    2,
    3,
    7,
    8,
    16,
    31,
    64,
    127,
    128,
    255,
    256,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x1_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    u64::MAX,
];

const NUMBER_TEXT: [&str; 14] = [
    "0",
    "1",
    "-1",
    "2",
    "3",
    "7",
    "65536",
    "2147483648",
    "4294967295",
    "18446744073709551615",
    "99999999999999999999999",
    "1e308",
    "0.0",
    "-0.5",
];

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.int(0, items.len() as i64 - 1) as usize]
}

fn position(rng: &mut Rng, len: usize) -> usize {
    rng.int(0, len as i64) as usize
}

/// A value for a corrupted length field whose current value is `old`.
fn corrupt_value(rng: &mut Rng, old: u64) -> u64 {
    match rng.int(0, 5) {
        0 => old.wrapping_add(1),
        1 => old.wrapping_sub(1),
        2 => old.wrapping_mul(2),
        3 => old / 2,
        4 => rng.next_u64(),
        _ => pick(rng, &INTERESTING),
    }
}

/// One mutation of `bytes` in place; `other` is another seed to splice from.
fn mutate_once(rng: &mut Rng, form: Form, bytes: &mut Vec<u8>, other: &[u8]) {
    let n = bytes.len();
    if n == 0 {
        bytes.push(rng.next_u64() as u8);
        return;
    }
    // For weights, most mutations aim at the header, where the parsing is.
    let focus = match form {
        Form::Safetensors if rng.chance(0.8) => {
            let header = u32_at(bytes, 0, false).unwrap_or(0);
            0..(8 + header).min(n)
        }
        _ => 0..n,
    };
    let at = |rng: &mut Rng| focus.start + position(rng, focus.len().saturating_sub(1));
    match rng.int(0, 11) {
        0 | 1 => {
            let i = at(rng);
            bytes[i] ^= 1 << rng.int(0, 7);
        }
        2 => {
            let i = at(rng);
            let random = rng.next_u64() as u8;
            bytes[i] = pick(rng, &[0x00, 0x01, 0x7F, 0x80, 0xFF, random]);
        }
        3 => {
            // An interesting 16- or 32-bit value, either byte order.
            let width = if rng.chance(0.5) { 2 } else { 4 };
            if n >= width {
                let field = Field {
                    at: at(rng).min(n - width),
                    width,
                    big_endian: rng.chance(0.5),
                };
                field.write(bytes, pick(rng, &INTERESTING));
            }
        }
        4 => {
            let i = at(rng);
            let count = rng.int(1, 16) as usize;
            let fill: Vec<u8> = if rng.chance(0.5) {
                vec![rng.next_u64() as u8; count]
            } else {
                (0..count).map(|_| rng.next_u64() as u8).collect()
            };
            bytes.splice(i..i, fill);
        }
        5 => {
            let i = at(rng);
            let count = rng.int(1, (n as i64 / 8).clamp(1, 256)) as usize;
            bytes.drain(i..(i + count).min(n));
        }
        6 => {
            let keep = if rng.chance(0.5) {
                position(rng, n)
            } else {
                n - rng.int(1, 64.min(n as i64)) as usize
            };
            bytes.truncate(keep);
        }
        7 | 8 => {
            // Duplicate a segment (or a random range) at a segment boundary (or anywhere).
            let s = structure(form, bytes);
            let range = if !s.segments.is_empty() && rng.chance(0.8) {
                pick_range(rng, &s.segments)
            } else {
                let start = position(rng, n - 1);
                start..(start + rng.int(1, 256) as usize).min(n)
            };
            let copy = bytes[range.clone()].to_vec();
            let to = if !s.segments.is_empty() && rng.chance(0.7) {
                pick_range(rng, &s.segments).start
            } else {
                position(rng, n)
            };
            if bytes.len() + copy.len() <= 4 << 20 {
                bytes.splice(to..to, copy);
            }
        }
        9 | 10 => {
            let s = structure(form, bytes);
            if matches!(form, Form::Json | Form::Safetensors) && rng.chance(0.6) {
                let range = match form {
                    Form::Safetensors => s.segments.first().cloned().unwrap_or(0..0),
                    _ => 0..n,
                };
                let found = numbers(bytes, range);
                if !found.is_empty() {
                    let number = pick_range(rng, &found);
                    let text = pick(rng, &NUMBER_TEXT).as_bytes().to_vec();
                    bytes.splice(number, text);
                    return;
                }
            }
            if s.fields.is_empty() {
                let i = at(rng);
                bytes[i] = bytes[i].wrapping_add(rng.int(1, 255) as u8);
            } else {
                let field = s.fields[rng.int(0, s.fields.len() as i64 - 1) as usize];
                if field.at + field.width <= bytes.len() {
                    let old = field.read(bytes);
                    field.write(bytes, corrupt_value(rng, old));
                }
            }
        }
        _ => {
            // Splice: this file's head, another file's tail.
            let cut = position(rng, n);
            let from = position(rng, other.len());
            bytes.truncate(cut);
            bytes.extend_from_slice(&other[from..]);
        }
    }
}

fn pick_range(rng: &mut Rng, ranges: &[Range<usize>]) -> Range<usize> {
    ranges[rng.int(0, ranges.len() as i64 - 1) as usize].clone()
}

/// A mutant of `seed`: one to four stacked mutations.
pub fn mutate(rng: &mut Rng, form: Form, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    let rounds = match rng.int(0, 9) {
        0..=4 => 1,
        5..=7 => 2,
        8 => 3,
        _ => 4,
    };
    for _ in 0..rounds {
        mutate_once(rng, form, &mut bytes, other);
    }
    bytes
}

#[test]
fn the_same_seed_gives_the_same_mutants() {
    let seed: Vec<u8> = (0..=255).collect();
    let a: Vec<Vec<u8>> = (0..50)
        .map(|i| mutate(&mut Rng::derive(7, i), Form::Bmp, &seed, &seed))
        .collect();
    let b: Vec<Vec<u8>> = (0..50)
        .map(|i| mutate(&mut Rng::derive(7, i), Form::Bmp, &seed, &seed))
        .collect();
    assert_eq!(a, b);
    assert!(a.iter().filter(|m| **m != seed).count() > 40);
}

#[test]
fn length_fields_are_found_in_jpeg_and_png() {
    let jpeg = [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02, 0xFF, 0xD9];
    let s = structure(Form::Jpeg, &jpeg);
    assert_eq!(s.segments, vec![2..8]);
    assert_eq!(s.fields[0].read(&jpeg), 4);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0, 0, 0, 1, b'a', b'b', b'c', b'd', 9, 0, 0, 0, 0]);
    let s = structure(Form::Png, &png);
    assert_eq!(s.segments, vec![8..21]);
    assert_eq!(s.fields[0].read(&png), 1);
}
