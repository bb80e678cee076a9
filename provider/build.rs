//! Nothing to set at link time: the plugin links as any Rust binary does,
//! so that one built against an old glibc starts on every newer one.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
