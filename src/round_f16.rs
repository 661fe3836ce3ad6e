//! Correctly rounded conversion into `float16`, bit for bit as numpy's
//! `astype('<f2')`.
//!
//! `half::f16::from_f64` is not used: its software path (every x86 without
//! AVX-512 FP16) drops the low mantissa bits before rounding, so values just
//! above a halfway point round down (`1 + 2**-11 + 2**-40` gives `0x3c00`
//! where numpy gives `0x3c01`). Here the whole significand takes part in one
//! round-to-nearest-even, as in numpy's `npy_doublebits_to_halfbits` and
//! `npy_floatbits_to_halfbits`, including their NaN payloads (the top ten
//! significand bits, kept a NaN if they are all zero).

/// The `float16` bits nearest to `x`, ties to even; overflow gives signed
/// infinity, underflow signed zero.
pub(crate) fn f16_bits_from_f64(x: f64) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let exponent = (bits >> 52) & 0x7ff;
    let significand = bits & ((1 << 52) - 1);
    if exponent == 0x7ff {
        return sign | nan_or_infinity((significand >> 42) as u16, significand != 0);
    }
    // float16 has exponents -14..=15 (bias 15); float64's bias is 1023.
    if exponent >= 1023 + 16 {
        return sign | 0x7c00;
    }
    if exponent <= 1023 - 15 {
        // A float16 subnormal (a multiple of 2**-24) or zero. Below 2**-25
        // (exponent 998) even the smallest subnormal is more than twice the
        // value away: zero.
        if exponent < 998 {
            return sign;
        }
        let full = (1u64 << 52) | significand;
        // value = full * 2**(exponent - 1075); in units of 2**-24 that is
        // full >> (1051 - exponent), a shift of 43 to 53 bits.
        return sign | round_shift(full, (1051 - exponent) as u32) as u16;
    }
    let half_exponent = (exponent - (1023 - 15)) << 10;
    // Rounding can carry into the exponent, and from 65504 into infinity:
    // both come out right because the fields are adjacent.
    sign | (half_exponent + round_shift(significand, 42)) as u16
}

/// The `float16` bits nearest to `x` (one rounding; a NaN keeps the top
/// ten bits of its payload, whether signalling or quiet, as numpy's
/// float32 path does).
pub(crate) fn f16_bits_from_f32(x: f32) -> u16 {
    if x.is_nan() {
        let bits = x.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let significand = bits & ((1 << 23) - 1);
        return sign | nan_or_infinity((significand >> 13) as u16, true);
    }
    // Every other float32 is exactly a float64.
    f16_bits_from_f64(f64::from(x))
}

/// Infinity's bits for a zero significand; a NaN with `top` as its
/// significand otherwise, made non-zero so that it stays a NaN.
fn nan_or_infinity(top: u16, is_nan: bool) -> u16 {
    match (is_nan, top) {
        (false, _) => 0x7c00,
        (true, 0) => 0x7c01,
        (true, top) => 0x7c00 | top,
    }
}

/// `value >> shift`, rounded to nearest with ties to even (`shift` in 1..64).
fn round_shift(value: u64, shift: u32) -> u64 {
    let kept = value >> shift;
    let rest = value & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    if rest > half || (rest == half && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_just_above_a_halfway_point_round_up() {
        let above = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        assert_eq!(f16_bits_from_f64(above), 0x3c01);
        assert_eq!(f16_bits_from_f64(1.0 + 2f64.powi(-11)), 0x3c00); // tie: even
        assert_eq!(f16_bits_from_f64(1.0 + 3.0 * 2f64.powi(-11)), 0x3c02); // tie: even
    }

    #[test]
    fn subnormals_round_on_the_whole_value() {
        let tiny = 2f64.powi(-25) * (1.0 + 2f64.powi(-30));
        assert_eq!(f16_bits_from_f64(tiny), 0x0001);
        assert_eq!(f16_bits_from_f64(2f64.powi(-25)), 0x0000); // tie: even
        assert_eq!(f16_bits_from_f64(3.0 * 2f64.powi(-25)), 0x0002); // tie: even
        assert_eq!(f16_bits_from_f64(-2f64.powi(-26)), 0x8000);
        // The largest subnormal rounds up into the smallest normal.
        assert_eq!(f16_bits_from_f64(2f64.powi(-14) - 2f64.powi(-30)), 0x0400);
    }

    #[test]
    fn overflow_is_infinity_from_the_halfway_point_on() {
        assert_eq!(f16_bits_from_f64(65504.0), 0x7bff);
        assert_eq!(f16_bits_from_f64(65519.99), 0x7bff);
        assert_eq!(f16_bits_from_f64(65520.0), 0x7c00);
        assert_eq!(f16_bits_from_f64(-1e300), 0xfc00);
        assert_eq!(f16_bits_from_f64(f64::INFINITY), 0x7c00);
    }

    #[test]
    fn nans_keep_the_top_of_their_payload_and_stay_nans() {
        assert_eq!(
            f16_bits_from_f64(f64::from_bits(0x7ff8_0000_0000_0000)),
            0x7e00
        );
        assert_eq!(
            f16_bits_from_f64(f64::from_bits(0xfff0_0000_0000_0001)),
            0xfc01
        );
        assert_eq!(f16_bits_from_f32(f32::from_bits(0x7f80_2000)), 0x7c01);
        assert_eq!(f16_bits_from_f32(f32::from_bits(0x7fc0_4000)), 0x7e02);
    }

    #[test]
    fn float32_agrees_with_float64_off_nan() {
        for bits in (0..=u32::MAX).step_by(65_537) {
            let x = f32::from_bits(bits);
            if !x.is_nan() {
                assert_eq!(f16_bits_from_f32(x), f16_bits_from_f64(f64::from(x)));
            }
        }
    }
}
