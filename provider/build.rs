//! Link-time settings for the plugin binary.

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36+): the loader reads
    // a few KiB instead of 1.2 MB of `.rela.dyn` at every start, and that
    // table no longer sits in the plugin's memory. The linker leaves it out
    // by itself where the C library cannot load it.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
