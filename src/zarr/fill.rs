//! Zarr fill values: every JSON form the v2 and v3 specifications allow,
//! to the bytes of one element, and back to the form zarr-python writes.

use serde_json::{Number, Value};

use crate::element::{DType, Element, Kind};
use crate::zarr::metadata::{brief, MetadataError, ZarrFormat};

/// One element's bytes in native byte order, what absent chunks hold.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FillValue {
    pub(crate) bytes: Vec<u8>,
    /// v2's `null`: no fill value (read as zeros, as zarr-python does).
    pub(crate) null: bool,
}

impl FillValue {
    /// The fill as an `A`, or `None` if its bytes are not a valid `A`
    /// (the caller has checked that `A` is the dtype, so only a user type
    /// that claims a built-in descr could see `None`).
    pub(crate) fn element<A: Element>(&self) -> Option<A> {
        bytemuck::checked::try_pod_read_unaligned::<A>(&self.bytes).ok()
    }

    /// Whether every byte is zero: a new sparse chunk file holds it already.
    pub(crate) fn is_zero(&self) -> bool {
        self.bytes.iter().all(|&b| b == 0)
    }

    /// The fill of `dtype` from a Rust value's native bytes.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> FillValue {
        FillValue { bytes, null: false }
    }

    /// The JSON zarr-python writes for this fill.
    pub(crate) fn to_json(&self, dtype: DType, format: ZarrFormat) -> Value {
        if self.null && format == ZarrFormat::V2 {
            return Value::Null;
        }
        let bytes = &self.bytes;
        match dtype.kind {
            Kind::Bool => Value::Bool(bytes.first().is_some_and(|&b| b != 0)),
            Kind::Int => Value::Number(Number::from(sign_extend(bytes))),
            Kind::Uint => Value::Number(Number::from(unsigned(bytes))),
            Kind::Float => float_json(bytes),
            Kind::Complex => {
                let half = bytes.len() / 2;
                Value::Array(vec![float_json(&bytes[..half]), float_json(&bytes[half..])])
            }
        }
    }
}

fn unsigned(bytes: &[u8]) -> u64 {
    let mut wide = [0u8; 8];
    wide[..bytes.len()].copy_from_slice(bytes);
    if cfg!(target_endian = "big") {
        let mut be = [0u8; 8];
        be[8 - bytes.len()..].copy_from_slice(bytes);
        return u64::from_be_bytes(be);
    }
    u64::from_le_bytes(wide)
}

fn sign_extend(bytes: &[u8]) -> i64 {
    let bits = 8 * bytes.len() as u32;
    let raw = unsigned(bytes);
    if bits == 64 {
        raw as i64
    } else {
        let shift = 64 - bits;
        ((raw << shift) as i64) >> shift
    }
}

/// A float's native bytes as zarr-python writes it, except that a NaN other
/// than the canonical quiet one keeps its payload as the spec's `"0x..."`
/// form (zarr-python writes `"NaN"` and loses it).
fn float_json(bytes: &[u8]) -> Value {
    let bits = unsigned(bytes);
    let (value, canonical_nan) = match bytes.len() {
        2 => (f16_to_f64(bits as u16), 0x7e00),
        4 => (f64::from(f32::from_bits(bits as u32)), 0x7fc0_0000),
        _ => (f64::from_bits(bits), 0x7ff8_0000_0000_0000),
    };
    if value.is_nan() {
        if bits == canonical_nan {
            Value::String("NaN".to_owned())
        } else {
            Value::String(format!("0x{bits:0width$x}", width = 2 * bytes.len()))
        }
    } else if value.is_infinite() {
        Value::String(if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned())
    } else {
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f64::from(bits & 0x3ff);
    match exponent {
        0 => sign * mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + mantissa / 1024.0) * 2f64.powi(e - 15),
    }
}

fn native_bytes(bits: u64, size: usize) -> Vec<u8> {
    let all = bits.to_ne_bytes();
    if cfg!(target_endian = "big") {
        all[8 - size..].to_vec()
    } else {
        all[..size].to_vec()
    }
}

/// Parses `value` as the fill of `dtype` (any byte order: fills are values).
pub(crate) fn parse_fill(
    value: &Value,
    dtype: DType,
    format: ZarrFormat,
) -> Result<FillValue, MetadataError> {
    let wrong = |expected: &str| {
        MetadataError::Invalid(format!(
            "fill_value must be {expected} for the data type {}, found {}",
            dtype.descr(),
            brief(value)
        ))
    };
    if value.is_null() {
        return match format {
            ZarrFormat::V2 => Ok(FillValue {
                bytes: vec![0; dtype.size],
                null: true,
            }),
            ZarrFormat::V3 => Err(wrong("a value (v3 has no null fill)")),
        };
    }
    let bytes = match dtype.kind {
        Kind::Bool => match value {
            Value::Bool(b) => vec![u8::from(*b)],
            // zarr 2 wrote 0 and 1 for bool fills.
            Value::Number(n)
                if format == ZarrFormat::V2 && (n.as_u64() == Some(0) || n.as_u64() == Some(1)) =>
            {
                vec![n.as_u64().unwrap_or(0) as u8]
            }
            _ => return Err(wrong("true or false")),
        },
        Kind::Int => {
            let bits = 8 * dtype.size as u32;
            let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
            let n = integer(value).filter(|n| (min..=max).contains(n));
            match n {
                Some(n) => native_bytes(n as i64 as u64, dtype.size),
                None => return Err(wrong(&format!("an integer in {min}..={max}"))),
            }
        }
        Kind::Uint => {
            let bits = 8 * dtype.size as u32;
            let max = (1i128 << bits) - 1;
            match integer(value).filter(|n| (0..=max).contains(n)) {
                Some(n) => native_bytes(n as u64, dtype.size),
                None => return Err(wrong(&format!("an integer in 0..={max}"))),
            }
        }
        Kind::Float => float_bytes(value, dtype.size).ok_or_else(|| {
            wrong("a number, \"NaN\", \"Infinity\", \"-Infinity\" or \"0x\" and the hex bits")
        })?,
        Kind::Complex => {
            let half = dtype.size / 2;
            let parts = value.as_array().filter(|parts| parts.len() == 2);
            let parsed =
                parts.and_then(|p| Some([float_bytes(&p[0], half)?, float_bytes(&p[1], half)?]));
            match parsed {
                Some([re, im]) => [re, im].concat(),
                None => return Err(wrong("a pair [real, imaginary] of float fills")),
            }
        }
    };
    Ok(FillValue { bytes, null: false })
}

/// An integer fill: a JSON integer, or (v2, older writers) a float with no
/// fractional part.
fn integer(value: &Value) -> Option<i128> {
    let n = value.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 2f64.powi(64)).then_some(f as i128)
}

fn float_bytes(value: &Value, size: usize) -> Option<Vec<u8>> {
    let x = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            hex => {
                let digits = hex.strip_prefix("0x")?;
                if digits.len() != 2 * size || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                return Some(native_bytes(u64::from_str_radix(digits, 16).ok()?, size));
            }
        },
        _ => return None,
    };
    let bits = match size {
        2 => u64::from(f16_bits(x)?),
        4 => u64::from(if x.is_nan() {
            0x7fc0_0000
        } else {
            (x as f32).to_bits()
        }),
        8 => {
            if x.is_nan() {
                0x7ff8_0000_0000_0000
            } else {
                x.to_bits()
            }
        }
        _ => return None,
    };
    Some(native_bytes(bits, size))
}

#[cfg(feature = "half")]
fn f16_bits(x: f64) -> Option<u16> {
    Some(if x.is_nan() {
        0x7e00
    } else {
        crate::round_f16::f16_bits_from_f64(x)
    })
}

#[cfg(not(feature = "half"))]
fn f16_bits(_: f64) -> Option<u16> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::ByteOrder;

    fn dtype(kind: Kind, size: usize) -> DType {
        DType {
            kind,
            size,
            byte_order: ByteOrder::Little,
        }
    }

    #[test]
    fn every_form_round_trips_as_zarr_python_writes_it() {
        let cases: [(&str, DType); 12] = [
            ("\"NaN\"", dtype(Kind::Float, 8)),
            ("\"Infinity\"", dtype(Kind::Float, 4)),
            ("\"-Infinity\"", dtype(Kind::Float, 8)),
            ("-0.0", dtype(Kind::Float, 4)),
            ("0.1", dtype(Kind::Float, 8)),
            ("\"0x7ff8000000000001\"", dtype(Kind::Float, 8)),
            ("18446744073709551615", dtype(Kind::Uint, 8)),
            ("-9223372036854775808", dtype(Kind::Int, 8)),
            ("-1", dtype(Kind::Int, 1)),
            ("true", dtype(Kind::Bool, 1)),
            ("[\"NaN\",1.0]", dtype(Kind::Complex, 8)),
            ("[1.0,\"-Infinity\"]", dtype(Kind::Complex, 16)),
        ];
        for (text, dtype) in cases {
            let value: Value = serde_json::from_str(text).unwrap();
            let fill = parse_fill(&value, dtype, ZarrFormat::V3).unwrap();
            assert_eq!(fill.to_json(dtype, ZarrFormat::V3), value, "{text}");
        }
    }

    #[test]
    fn out_of_range_and_ill_typed_fills_are_refused() {
        for (text, dtype) in [
            ("256", dtype(Kind::Uint, 1)),
            ("-1", dtype(Kind::Uint, 4)),
            ("128", dtype(Kind::Int, 1)),
            ("1.5", dtype(Kind::Int, 4)),
            ("\"nan\"", dtype(Kind::Float, 8)),
            ("\"0x7fc0\"", dtype(Kind::Float, 4)),
            ("[1.0]", dtype(Kind::Complex, 8)),
            ("null", dtype(Kind::Float, 8)),
            ("2", dtype(Kind::Bool, 1)),
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let err = parse_fill(&value, dtype, ZarrFormat::V3).unwrap_err();
            let MetadataError::Invalid(message) = err else {
                panic!("{err:?}")
            };
            assert!(message.contains(text), "{message}");
        }
    }
}
