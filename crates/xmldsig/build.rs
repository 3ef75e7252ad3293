//! Compiles the bridge to libxmlsec1 (OpenSSL back end), located with pkg-config
//! (Debian: `libxmlsec1-dev`).

fn main() {
    println!("cargo:rerun-if-changed=csrc/shim.c");
    let lib = match pkg_config::Config::new().probe("xmlsec1-openssl") {
        Ok(lib) => lib,
        Err(e) => {
            println!("cargo:warning=libxmlsec1 (xmlsec1-openssl) not found: {e}");
            std::process::exit(1);
        }
    };
    let mut build = cc::Build::new();
    build.file("csrc/shim.c").warnings(false);
    for path in &lib.include_paths {
        build.include(path);
    }
    for (name, value) in &lib.defines {
        build.define(name, value.as_deref());
    }
    build.compile("rampart_xmldsig_shim");
}
