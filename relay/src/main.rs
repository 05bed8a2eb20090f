//! `quire-relay`: rendezvous, NAT traversal and store-and-forward for Quire teams.
//! A placeholder until the relay issue lands; it says so and exits non-zero.

fn main() {
    eprintln!("quire-relay is not built yet: it arrives with the relay issue");
    std::process::exit(2);
}
