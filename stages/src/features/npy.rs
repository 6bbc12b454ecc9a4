//! NumPy's `.npy` format (version 1.0) for row-major float32 matrices: what
//! `numpy.load(path, mmap_mode="r")` opens. Header: magic, version, a little-endian u16 header
//! length, then a Python dict literal padded with spaces to a multiple of 64 bytes.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

/// The header bytes for an `rows × cols` little-endian float32 C-order array.
pub fn header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let mut out = Vec::with_capacity(unpadded + pad);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

/// Writes a matrix and fsyncs it.
pub fn write(path: &Path, rows: usize, cols: usize, values: &[f32]) -> Result<()> {
    assert_eq!(values.len(), rows * cols, "values must be rows × cols");
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = std::io::BufWriter::new(file);
    w.write_all(&header(rows, cols))
        .map_err(|e| Error::io(path, e))?;
    for v in values {
        w.write_all(&v.to_le_bytes())
            .map_err(|e| Error::io(path, e))?;
    }
    let file = w
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

/// Parses a float32 C-order 2-D header; returns (rows, cols, data offset).
pub fn parse_header(bytes: &[u8], path: &Path) -> Result<(usize, usize, usize)> {
    let (dtype, rows, cols, offset) = parse_any(bytes, path)?;
    if dtype != Dtype::F32 {
        return Err(Error::Invalid {
            what: path.display().to_string(),
            message: "not a float32 2-D .npy file: dtype is not <f4".into(),
        });
    }
    Ok((rows, cols, offset))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
}

/// Reads a little-endian float32 or float64 C-order 2-D `.npy` file (any writer's: numpy,
/// this crate) into row-major f64.
pub fn read_f64(path: &Path) -> Result<(usize, usize, Vec<f64>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (dtype, rows, cols, offset) = parse_any(&bytes, path)?;
    let width = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    };
    let data = &bytes[offset..];
    if data.len() != rows * cols * width {
        return Err(Error::Invalid {
            what: path.display().to_string(),
            message: format!(
                "header says ({rows}, {cols}) x {width} bytes = {} bytes of data, file holds {}",
                rows * cols * width,
                data.len()
            ),
        });
    }
    let values = match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
    };
    Ok((rows, cols, values))
}

/// Parses a float32/float64 C-order 2-D header; returns (dtype, rows, cols, data offset).
pub fn parse_any(bytes: &[u8], path: &Path) -> Result<(Dtype, usize, usize, usize)> {
    let bad = |m: &str| Error::Invalid {
        what: path.display().to_string(),
        message: format!("not a float32/float64 2-D .npy file: {m}"),
    };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("bad magic"));
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(&format!("unsupported version {v}"))),
    };
    let dict = std::str::from_utf8(
        bytes
            .get(start..start + len)
            .ok_or_else(|| bad("truncated header"))?,
    )
    .map_err(|_| bad("header is not text"))?;
    let dtype = if dict.contains("'descr': '<f4'") {
        Dtype::F32
    } else if dict.contains("'descr': '<f8'") {
        Dtype::F64
    } else {
        return Err(bad("dtype is neither <f4 nor <f8"));
    };
    if !dict.contains("'fortran_order': False") {
        return Err(bad("Fortran order"));
    }
    let shape = dict
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split('(').nth(1))
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_>>()?;
    let [rows, cols] = dims[..] else {
        return Err(bad(&format!("shape ({shape}) is not 2-D (rows, features)")));
    };
    let width = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    };
    if rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(width))
        .is_none()
    {
        return Err(bad(&format!(
            "shape ({rows}, {cols}) is too large to address"
        )));
    }
    Ok((dtype, rows, cols, start + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_parses_back() {
        for (r, c) in [(0, 1), (3, 1280), (123_456, 384)] {
            let h = header(r, c);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
            assert_eq!(parse_header(&h, Path::new("x")).unwrap(), (r, c, h.len()));
        }
    }
}
