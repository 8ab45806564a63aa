//! What a session tells the admin through its caller: trouble that one
//! session sees but cannot judge alone. Whether it was said before (to
//! this client, this hour; since start-up) is the caller's to decide, as
//! it sees every session: a session says it each time.

use std::net::Ipv4Addr;
use std::time::Duration;

/// Carried by [`Action::Notice`](crate::Action::Notice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Notice {
    /// No data connection came to a passive listener within `waited` (the
    /// session replied `425`): the client was told to connect to `port` of
    /// `address` (`PASV`), or of the address it reached the server at
    /// (`EPSV`, whose reply names none: `address` is `None`). The usual
    /// cause is a router or firewall between them.
    PassiveNotReached {
        address: Option<Ipv4Addr>,
        port: u16,
        waited: Duration,
    },
    /// A client on the internet is being told `address`, on a local
    /// network it cannot reach, for its passive data connection: no
    /// `--pasv-address` (or a private one) says what the internet reaches
    /// the server at, and no `--pasv-address-map` entry chose it.
    PrivateAddressToPublicClient { address: Ipv4Addr },
}
