//! Where to connect or listen: one syntax for every medium,
//! `scheme://rest`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use netcore_transports::serial::Parity;

/// A peer's address, as the command line spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    /// `tcp://host:port`
    Tcp(String),
    /// `unix:///absolute/path.sock`
    Unix(PathBuf),
    /// `serial:///dev/ttyUSB0?baud=115200&parity=even`
    Serial {
        path: String,
        baud: u32,
        parity: Parity,
    },
    /// `quic://host:port`
    Quic(String),
}

/// What is wrong with an address, with the forms that are right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad address {given:?}: {why} (expected tcp://host:port, unix:///path, \
     serial:///dev/tty?baud=115200&parity=none|odd|even or quic://host:port)"
)]
pub(crate) struct AddressError {
    given: String,
    why: String,
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(given: &str) -> Result<Address, AddressError> {
        let error = |why: &str| AddressError {
            given: given.to_owned(),
            why: why.to_owned(),
        };
        let (scheme, rest) = given.split_once("://").ok_or_else(|| error("no scheme"))?;
        let host_port = |rest: &str| match rest.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(rest.to_owned())
            }
            _ => Err(error("expected host:port with a port from 0 to 65535")),
        };
        match scheme {
            "tcp" => host_port(rest).map(Address::Tcp),
            "quic" => host_port(rest).map(Address::Quic),
            "unix" if rest.starts_with('/') && rest.len() > 1 => {
                Ok(Address::Unix(PathBuf::from(rest)))
            }
            "unix" => Err(error(
                "a Unix socket's path is absolute: unix:///run/x.sock",
            )),
            "serial" => {
                let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
                if !path.starts_with('/') || path.len() < 2 {
                    return Err(error(
                        "a serial port's path is absolute: serial:///dev/ttyUSB0",
                    ));
                }
                let mut baud = 115_200;
                let mut parity = Parity::None;
                for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                    match pair.split_once('=') {
                        Some(("baud", value)) => {
                            baud = value
                                .parse()
                                .ok()
                                .filter(|&baud| baud > 0)
                                .ok_or_else(|| error("baud is a positive number"))?;
                        }
                        Some(("parity", "none")) => parity = Parity::None,
                        Some(("parity", "odd")) => parity = Parity::Odd,
                        Some(("parity", "even")) => parity = Parity::Even,
                        Some(("parity", _)) => return Err(error("parity is none, odd or even")),
                        _ => return Err(error("unknown option: the options are baud and parity")),
                    }
                }
                Ok(Address::Serial {
                    path: path.to_owned(),
                    baud,
                    parity,
                })
            }
            _ => Err(error("unknown scheme")),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(host_port) => write!(f, "tcp://{host_port}"),
            Address::Quic(host_port) => write!(f, "quic://{host_port}"),
            Address::Unix(path) => write!(f, "unix://{}", path.display()),
            Address::Serial { path, baud, parity } => {
                let parity = match parity {
                    Parity::None => "none",
                    Parity::Odd => "odd",
                    Parity::Even => "even",
                };
                write!(f, "serial://{path}?baud={baud}&parity={parity}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_medium_has_one_spelling() {
        assert_eq!(
            "tcp://127.0.0.1:7000".parse(),
            Ok(Address::Tcp("127.0.0.1:7000".into()))
        );
        assert_eq!(
            "tcp://[::1]:7000".parse(),
            Ok(Address::Tcp("[::1]:7000".into()))
        );
        assert_eq!(
            "unix:///run/x.sock".parse(),
            Ok(Address::Unix("/run/x.sock".into()))
        );
        assert_eq!(
            "serial:///dev/ttyUSB0?baud=9600&parity=even".parse(),
            Ok(Address::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 9600,
                parity: Parity::Even
            })
        );
        assert_eq!(
            "serial:///dev/ttyS1"
                .parse::<Address>()
                .map(|a| a.to_string()),
            Ok("serial:///dev/ttyS1?baud=115200&parity=none".into())
        );
        assert_eq!(
            "quic://host:443".parse(),
            Ok(Address::Quic("host:443".into()))
        );
    }

    #[test]
    fn a_bad_address_says_what_is_wrong_and_what_is_right() {
        for (given, why) in [
            ("127.0.0.1:7000", "no scheme"),
            ("ftp://x:1", "unknown scheme"),
            ("tcp://localhost", "host:port"),
            ("tcp://host:99999", "host:port"),
            ("unix://relative.sock", "absolute"),
            ("serial:///dev/tty?baud=fast", "baud"),
            ("serial:///dev/tty?parity=mark", "parity"),
            ("serial:///dev/tty?speed=1", "unknown option"),
        ] {
            let error = given.parse::<Address>().expect_err(given).to_string();
            assert!(error.contains(why), "{given}: {error}");
            assert!(error.contains("tcp://host:port"), "{error}");
        }
    }
}
