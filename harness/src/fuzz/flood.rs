//! `mqttspec fuzz --flood`: hostile load (not yet implemented).

use crate::cli::fuzz::FuzzFormat;
use std::net::SocketAddr;
use std::path::Path;

pub async fn main(_addr: SocketAddr, _target: &str, _format: FuzzFormat, _out: Option<&Path>) -> i32 {
    eprintln!("mqttspec: --flood is not implemented yet");
    crate::report::exit::USAGE
}
