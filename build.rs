//! Prepares the vendored Istio VirtualService schema for embedding: only `properties.spec`
//! is kept, without its `description` texts (annotations a validator ignores, most of the
//! file's bytes), so that the binary parses a fraction of the JSON at start-up.

use std::path::Path;

fn strip_descriptions(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            // An annotation here; a field of the manifest called `description` would be a
            // key of `properties`, whose keys are left alone below.
            if map
                .get("description")
                .is_some_and(serde_json::Value::is_string)
            {
                map.shift_remove("description");
            }
            for (key, child) in map.iter_mut() {
                if key == "properties" {
                    if let serde_json::Value::Object(props) = child {
                        props.values_mut().for_each(strip_descriptions);
                    }
                } else {
                    strip_descriptions(child);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

fn main() {
    let source = "schemas/istio-virtualservice-v1.schema.json";
    println!("cargo::rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("the vendored schema is readable");
    let root: serde_json::Value = serde_json::from_str(&text).expect("the vendored schema is JSON");
    let mut spec = root
        .pointer("/properties/spec")
        .cloned()
        .expect("the vendored schema has properties.spec");
    strip_descriptions(&mut spec);
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("spec.schema.json");
    std::fs::write(out, serde_json::to_string(&spec).expect("JSON serialises"))
        .expect("OUT_DIR is writable");
}
