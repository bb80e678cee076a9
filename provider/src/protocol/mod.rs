//! Terraform plugin protocol 6 machinery, independent of bbws: the
//! go-plugin handshake, msgpack values and schema builders.

mod client_signature;
pub mod log;
pub mod plugin;
pub mod schema;
pub mod value;
