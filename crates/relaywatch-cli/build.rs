//! Rebuilds `relaywatch` when a file of the web UI it embeds (`ui/`) is added, removed or changed
//! (rust-embed's `include_bytes!` alone notices only changes to files already embedded).

fn main() {
    println!("cargo:rerun-if-changed=../../ui");
}
