//! Decodes MQTT packets given as hex on the command line.
//!
//! ```text
//! cargo run -p mqttspec-codec --example decode -- [--v5] [--lenient] <hex>...
//! cargo run -p mqttspec-codec --example decode -- --v5 "E0 01 04"
//! ```
//!
//! Spaces may separate the bytes, in one argument or across several, and a byte may carry a
//! `0x` prefix. Every packet in the input is printed. Exit code: 0 when every byte decoded,
//! 1 on a decode error or an incomplete packet, 2 on bad usage (no hex, bad hex, an unknown
//! option).

use bytes::BytesMut;
use mqttspec_codec::{DecodeOptions, Decoder, ProtocolVersion};
use std::process::ExitCode;

const USAGE: &str = "usage: decode [--v5 | --v311] [--lenient] <hex>...
  --v5       decode as MQTT 5.0 (default 3.1.1; a CONNECT is read by the level it carries)
  --lenient  skip the protocol checks, keep only what the codec cannot represent";

struct Args {
    version: ProtocolVersion,
    strict: bool,
    hex: String,
}

/// Reads the options and joins the hex arguments. `Ok(None)`: help was asked for.
fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        version: ProtocolVersion::V311,
        strict: true,
        hex: String::new(),
    };
    for arg in std::env::args_os().skip(1) {
        let arg = arg
            .to_str()
            .ok_or_else(|| format!("argument {arg:?} is not valid UTF-8"))?;
        match arg {
            "--v5" => args.version = ProtocolVersion::V5,
            "--v311" => args.version = ProtocolVersion::V311,
            "--lenient" => args.strict = false,
            "-h" | "--help" => return Ok(None),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => {
                args.hex.push_str(arg);
                args.hex.push(' ');
            }
        }
    }
    if args.hex.trim().is_empty() {
        return Err("no hex given".to_owned());
    }
    Ok(Some(args))
}

/// Parses hex digits, ignoring whitespace; each space-separated word may start with `0x`.
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut nibbles = Vec::new();
    for word in text.split_whitespace() {
        let digits = word
            .strip_prefix("0x")
            .or_else(|| word.strip_prefix("0X"))
            .unwrap_or(word);
        for c in digits.chars() {
            let n = c
                .to_digit(16)
                .ok_or_else(|| format!("{c:?} in {word:?} is not a hex digit"))?;
            // A hex digit is below 16, so it fits in a byte.
            nibbles.push(n as u8);
        }
    }
    if nibbles.len() % 2 != 0 {
        return Err(format!(
            "odd number of hex digits ({}): the last byte is incomplete",
            nibbles.len()
        ));
    }
    Ok(nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = match parse_hex(&args.hex) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let decoder = Decoder::with_options(
        args.version,
        DecodeOptions {
            strict: args.strict,
            ..DecodeOptions::default()
        },
    );
    let mut buf = BytesMut::from(&bytes[..]);
    while !buf.is_empty() {
        let offset = bytes.len() - buf.len();
        let before = buf.len();
        match decoder.decode(&mut buf) {
            Ok(Some(packet)) => {
                let name = packet.packet_type().name();
                println!("{name} at byte {offset} ({} bytes):", before - buf.len());
                println!("{packet:#?}");
            }
            Ok(None) => {
                eprintln!(
                    "error: incomplete packet at byte {offset}: {before} byte(s) given, more needed"
                );
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("error at byte {offset} ({}): {}", e.version, e.kind);
                eprintln!("statements: {}", e.statements().join(", "));
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
