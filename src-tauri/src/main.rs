//! The Quire desktop app (Tauri 2 over quire-engine). A placeholder until the
//! desktop app issue lands; it says so and exits non-zero.

fn main() {
    eprintln!("the Quire desktop app is not built yet; use the `quire` command line for now");
    std::process::exit(2);
}
