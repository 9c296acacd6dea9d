//! Embeds `openapi.json` minified: the document is served as compact JSON
//! anyway, and its pretty-printed form would take twice the room in the wasm.

use std::path::Path;

fn main() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source).expect("openapi.json is readable");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("openapi.json is JSON");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("openapi.min.json");
    std::fs::write(out, serde_json::to_string(&doc).expect("serializable")).expect("writable");
}
