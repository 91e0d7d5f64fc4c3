use std::path::{Path, PathBuf};

/// The folders of `templates/` that hold the message templates of a channel (the runtime
/// engine's built-ins); the others (`gui`, `public`, `api`) are askama's, compiled as code.
const ASKAMA_FOLDERS: &[&str] = &["gui", "public", "api"];

fn main() {
    // The migrations are embedded by `sqlx::migrate!`; rebuild when one is added or changed.
    println!("cargo:rerun-if-changed=migrations");
    // The message templates are embedded as built-ins (src/notify/templates/builtin.rs).
    println!("cargo:rerun-if-changed=templates");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&root).expect("templates/ is readable") {
        let path = entry.expect("templates/ is readable").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && !ASKAMA_FOLDERS.contains(&name.as_str()) {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, &mut files);
        }
    }
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        let name = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("]\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin_templates.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a template folder is readable") {
        let path = entry.expect("a template folder is readable").path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(&path, files);
        } else if !path.file_name().unwrap().to_string_lossy().starts_with('.') {
            files.push(path);
        }
    }
}
