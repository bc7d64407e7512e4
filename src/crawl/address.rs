//! The address guard shared by every outgoing request (pages and photos): which IP
//! addresses are not public, and a DNS resolver that drops them, so that the address
//! checked is the address connected to (a name cannot resolve to a public address
//! when checked and to 127.0.0.1 when connected).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use thiserror::Error;

/// An address refused because it is not public.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0} is not a public address (fetching from it is not allowed)")]
pub struct PrivateAddress(pub IpAddr);

/// True for addresses a fetcher of public sites must never reach: loopback, private,
/// shared (100.64/10), link-local (the cloud metadata service among them),
/// unique-local, the deprecated site-local (fec0::/10), unspecified, broadcast,
/// multicast, reserved; and IPv6 addresses that carry an IPv4 address (mapped,
/// compatible, NAT64, 6to4, Teredo: see [`embedded_ipv4`]) when that IPv4 address
/// is forbidden, since a gateway on the way may deliver them to it.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local() // includes 169.254.169.254, the cloud metadata service
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated, RFC 3879)
                || (s[0] == 0xfd00 && s[1] == 0x0ec2) // AWS metadata over IPv6
                || embedded_ipv4(v6)
                    .into_iter()
                    .any(|v4| is_forbidden(IpAddr::V4(v4)))
        }
    }
}

/// The IPv4 addresses an IPv6 address carries, by the standard embeddings:
/// IPv4-compatible `::a.b.c.d` (deprecated), NAT64 `64:ff9b::/96` and
/// `64:ff9b:1::/48` (RFC 6052, 8215; the IPv4 address in the last 32 bits), 6to4
/// `2002::/16` (RFC 3056; bits 16-47) and Teredo `2001::/32` (RFC 4380; the server in
/// bits 32-63, the client inverted in the last 32 bits).
pub fn embedded_ipv4(v6: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = v6.segments();
    let last = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    let mut out = Vec::new();
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        out.push(last); // IPv4-compatible (:: and ::1 are not)
    }
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b;
    if nat64 && (s[2..6] == [0; 4] || s[2] == 1) {
        out.push(last);
    }
    if s[0] == 0x2002 {
        out.push(Ipv4Addr::from((u32::from(s[1]) << 16) | u32::from(s[2])));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        out.push(Ipv4Addr::from((u32::from(s[2]) << 16) | u32::from(s[3])));
        out.push(Ipv4Addr::from(!u32::from(last)));
    }
    out
}

/// Whether `ip` is reachable on the public internet (not [`is_forbidden`]).
pub fn is_public(ip: IpAddr) -> bool {
    !is_forbidden(ip)
}

/// True for host names that always mean this machine ("localhost", "*.localhost").
pub fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host
            .len()
            .checked_sub(".localhost".len())
            .and_then(|i| host.get(i..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
}

/// The guard's DNS resolver: resolves with the system and drops forbidden
/// addresses; a name left without addresses fails with [`PrivateAddress`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            match (public.is_empty(), all.first()) {
                (false, _) => Ok(Box::new(public.into_iter()) as Addrs),
                (true, Some(first)) => Err(Box::new(PrivateAddress(first.ip())) as _),
                (true, None) => Err(format!("{host} has no address").into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_addresses() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.0.8",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "fd00:ec2::254",
            // IPv4 addresses carried in IPv6.
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001:0:7f00:1::1",
            "2001:0:808:808::80ff:fffe", // Teredo client 127.0.0.1
            "fec0::1",
        ] {
            assert!(is_forbidden(a.parse().unwrap()), "{a}");
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "2606:2800:220:1::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn local_names() {
        for h in ["localhost", "LOCALHOST", "shop.localhost", "localhost."] {
            assert!(is_local_name(h), "{h}");
        }
        for h in ["localhost.example", "mylocalhost", "example.com"] {
            assert!(!is_local_name(h), "{h}");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_private_addresses() {
        let name: Name = "localhost".parse().unwrap();
        let err = match GuardedResolver.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("is not a public address"), "{err}");
    }
}
