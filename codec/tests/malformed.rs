//! One negative test per malformation rule. Each fixture is a byte literal commented field by
//! field; each test asserts the exact error and the statement it names, then decodes the
//! same bytes with only the violation fixed, so that it fails if the check is removed.

mod common;

#[path = "malformed/codes.rs"]
mod codes;
#[path = "malformed/connect.rs"]
mod connect;
#[path = "malformed/header.rs"]
mod header;
#[path = "malformed/ids_qos.rs"]
mod ids_qos;
#[path = "malformed/properties.rs"]
mod properties;
#[path = "malformed/strings.rs"]
mod strings;
#[path = "malformed/subscribe.rs"]
mod subscribe;
