//! `pow`, the one function the binary takes from libm (the SDK's adaptive
//! retry rate limiter calls `f64::powf`), defined here so that libm.so is
//! not loaded at all: a shared library is mapped in large pieces, and
//! libm cost every plugin process 0.3 MiB of memory for this function.
//! The body is the `libm` crate's port of musl's `pow`.

/// C `pow(x, y)`: the symbol `f64::powf` lowers to.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;

    /// `f64::powf` in this binary is the `pow` above: it must compute what
    /// libm's would.
    #[test]
    fn powf_computes_libms_results() {
        assert!((black_box(27.0_f64).powf(1.0 / 3.0) - 3.0).abs() < 1e-15);
        assert_eq!(black_box(2.0_f64).powf(10.0), 1024.0);
        assert_eq!(black_box(10.0_f64).powf(-2.0), 0.01);
        assert_eq!(black_box(123.4_f64).powf(0.0), 1.0);
        assert_eq!(black_box(0.0_f64).powf(-1.0), f64::INFINITY);
        assert!(black_box(-8.0_f64).powf(1.0 / 3.0).is_nan());
        assert_eq!(super::pow(black_box(1.5), 2.0), 2.25);
    }
}
