//! Compiles the bridge to libxmlsec1 (OpenSSL back end), located with pkg-config
//! (Debian: `libxmlsec1-dev`). Without the library the crate still builds, with the cfg
//! `xmldsig_unavailable`: every call then answers `XmlDsigError::Unavailable`, so the server
//! runs on a machine without it and only SAML federation is refused, saying what to install.

fn main() {
    println!("cargo:rerun-if-changed=csrc/shim.c");
    println!("cargo::rustc-check-cfg=cfg(xmldsig_unavailable)");
    let lib = match pkg_config::Config::new().probe("xmlsec1-openssl") {
        Ok(lib) => lib,
        Err(e) => {
            println!(
                "cargo:warning=libxmlsec1 (xmlsec1-openssl) not found ({e}); SAML signatures will be refused. Install libxmlsec1-dev and pkg-config, then rebuild."
            );
            println!("cargo:rustc-cfg=xmldsig_unavailable");
            return;
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
