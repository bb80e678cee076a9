//! Link-time settings for the plugin binary.

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36+): the loader reads
    // a few KiB instead of 1.2 MB of `.rela.dyn` at every start, and that
    // table no longer sits in the plugin's memory. The linker leaves it out
    // by itself where the C library cannot load it.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    // rust-lld links x86_64 Linux by default; other targets may use a
    // linker without `--icf`.
    if os == "linux" && env == "gnu" && arch == "x86_64" {
        // Identical code folding: generic code instantiated for many types
        // often compiles to the same machine code (177 KB of 6.55 MB here).
        // Rust promises no distinct function addresses, and rustc merges
        // identical functions itself already; the linker merges the rest.
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
