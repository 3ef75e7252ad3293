//! XML signatures for SAML, through libxmlsec1 (the XML Security Library, OpenSSL back end):
//! exclusive and inclusive canonicalization, RSA and ECDSA signatures, SHA-1/SHA-2 digests.
//!
//! [`verify`] checks the enveloped signature of a SAML response (the response's own, else its
//! assertion's) with the identity provider's certificates only (a key in the document is never
//! used), allows only same-document references and the transforms SAML uses (enveloped
//! signature, C14N, digests: no XPath, XSLT or remote URI), requires exactly one reference,
//! and returns the canonical bytes that reference covers. The caller reads the assertion from
//! those bytes alone, so nothing outside the signature (a wrapped copy, a second assertion)
//! is ever believed.
//!
//! [`decrypt`] replaces a response's `EncryptedAssertion` (XML Encryption: an AES-CBC or
//! AES-GCM content key wrapped with RSA-OAEP or RSA 1.5) with the assertion, using the
//! service provider's private keys; the result is then verified as any response.

use std::os::raw::c_int;
use std::sync::OnceLock;

/// Why a document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum XmlDsigError {
    /// The library could not be set up.
    #[error("the XML security library could not be initialised")]
    Init,
    /// Not well-formed XML, or it declares a DTD.
    #[error("the document is not well-formed XML")]
    Parse,
    /// No enveloped signature on the response or its assertion.
    #[error("the document is not signed")]
    NoSignature,
    /// No certificate or key could be loaded.
    #[error("no usable certificate or key")]
    Key,
    /// The signature does not verify with any of the certificates.
    #[error("the signature does not verify")]
    Invalid,
    /// The signature does not cover exactly one element of the document.
    #[error("the signature must reference exactly one element of the document")]
    References,
    /// Out of memory.
    #[error("out of memory")]
    Memory,
    /// The encrypted assertion cannot be decrypted with any of the keys.
    #[error("the encrypted assertion cannot be decrypted with the provider's private keys")]
    Decrypt,
    /// Rampart was built without libxmlsec1.
    #[error("Rampart was built without libxmlsec1, so SAML signatures cannot be checked: install libxmlsec1-dev and pkg-config (Debian) and rebuild")]
    Unavailable,
}

/// Whether this build can check XML signatures (it was built with libxmlsec1).
pub fn available() -> bool {
    !cfg!(xmldsig_unavailable)
}

fn from_code(code: i32) -> XmlDsigError {
    match code {
        -2 => XmlDsigError::Parse,
        -3 => XmlDsigError::NoSignature,
        -4 => XmlDsigError::Key,
        -5 => XmlDsigError::Invalid,
        -6 => XmlDsigError::References,
        -7 => XmlDsigError::Memory,
        -10 => XmlDsigError::Decrypt,
        UNAVAILABLE => XmlDsigError::Unavailable,
        _ => XmlDsigError::Init,
    }
}

/// The code of a build without the library.
const UNAVAILABLE: i32 = -8;
/// The shim's answer for a response without an encrypted assertion.
const NOT_ENCRYPTED: i32 = -9;

/// Stand-ins for a build without libxmlsec1: `init` fails first, so nothing else is reached.
#[cfg(xmldsig_unavailable)]
#[allow(clippy::missing_safety_doc)]
mod ffi {
    use std::os::raw::{c_char, c_int, c_uchar, c_void};

    pub unsafe fn rampart_xmldsig_init() -> c_int {
        super::UNAVAILABLE
    }
    pub unsafe fn rampart_xmldsig_free(_p: *mut c_void) {}
    pub unsafe fn rampart_xmldsig_check_cert(_der: *const c_uchar, _len: usize) -> c_int {
        super::UNAVAILABLE
    }
    pub unsafe fn rampart_xmldsig_verify(
        _xml: *const c_char,
        _xml_len: usize,
        _certs: *const *const c_uchar,
        _cert_lens: *const usize,
        _ncerts: usize,
        _out: *mut *mut c_uchar,
        _out_len: *mut usize,
    ) -> c_int {
        super::UNAVAILABLE
    }
    pub unsafe fn rampart_xmldsig_sign(
        _xml: *const c_char,
        _xml_len: usize,
        _key_pem: *const c_uchar,
        _key_len: usize,
        _out: *mut *mut c_uchar,
        _out_len: *mut usize,
    ) -> c_int {
        super::UNAVAILABLE
    }
    pub unsafe fn rampart_xmldsig_decrypt(
        _xml: *const c_char,
        _xml_len: usize,
        _keys: *const *const c_uchar,
        _key_lens: *const usize,
        _nkeys: usize,
        _out: *mut *mut c_uchar,
        _out_len: *mut usize,
    ) -> c_int {
        super::UNAVAILABLE
    }
}

#[cfg(not(xmldsig_unavailable))]
mod ffi {
    use std::os::raw::{c_char, c_int, c_uchar, c_void};

    extern "C" {
        pub fn rampart_xmldsig_init() -> c_int;
        pub fn rampart_xmldsig_free(p: *mut c_void);
        pub fn rampart_xmldsig_check_cert(der: *const c_uchar, len: usize) -> c_int;
        pub fn rampart_xmldsig_verify(
            xml: *const c_char,
            xml_len: usize,
            certs: *const *const c_uchar,
            cert_lens: *const usize,
            ncerts: usize,
            out: *mut *mut c_uchar,
            out_len: *mut usize,
        ) -> c_int;
        pub fn rampart_xmldsig_sign(
            xml: *const c_char,
            xml_len: usize,
            key_pem: *const c_uchar,
            key_len: usize,
            out: *mut *mut c_uchar,
            out_len: *mut usize,
        ) -> c_int;
        pub fn rampart_xmldsig_decrypt(
            xml: *const c_char,
            xml_len: usize,
            keys: *const *const c_uchar,
            key_lens: *const usize,
            nkeys: usize,
            out: *mut *mut c_uchar,
            out_len: *mut usize,
        ) -> c_int;
    }
}

/// Initialises libxml2 and xmlsec once per process.
fn init() -> Result<(), XmlDsigError> {
    static INIT: OnceLock<i32> = OnceLock::new();
    // SAFETY: the library's global initialisation, run exactly once before any other call.
    let code = *INIT.get_or_init(|| unsafe { ffi::rampart_xmldsig_init() });
    if code == 0 {
        Ok(())
    } else {
        Err(from_code(code))
    }
}

/// Refuses a DTD (entity expansion, external entities) before the parser sees the text.
fn no_dtd(xml: &[u8]) -> Result<(), XmlDsigError> {
    if xml.windows(9).any(|w| w.eq_ignore_ascii_case(b"<!DOCTYPE")) {
        return Err(XmlDsigError::Parse);
    }
    Ok(())
}

/// Takes a buffer the shim allocated.
fn take(code: i32, out: *mut u8, len: usize) -> Result<Vec<u8>, XmlDsigError> {
    let result = if code == 0 && !out.is_null() {
        // SAFETY: on success the shim set `out` to a malloc'd buffer of `len` bytes.
        Ok(unsafe { std::slice::from_raw_parts(out, len) }.to_vec())
    } else if code == 0 {
        Err(XmlDsigError::Memory)
    } else {
        Err(from_code(code))
    };
    if !out.is_null() {
        // SAFETY: the buffer came from the shim's malloc and is freed once, here.
        unsafe { ffi::rampart_xmldsig_free(out.cast()) };
    }
    result
}

/// Whether a DER certificate loads as a signature verification key.
pub fn check_certificate(der: &[u8]) -> Result<(), XmlDsigError> {
    init()?;
    // SAFETY: `der` is a valid slice for the duration of the call.
    match unsafe { ffi::rampart_xmldsig_check_cert(der.as_ptr(), der.len()) } {
        0 => Ok(()),
        code => Err(from_code(code)),
    }
}

/// The pointers and lengths of `items`, as the shim takes a list of buffers.
fn buffers<T: AsRef<[u8]>>(items: &[T]) -> (Vec<*const u8>, Vec<usize>) {
    let ptrs = items.iter().map(|i| i.as_ref().as_ptr()).collect();
    let lens = items.iter().map(|i| i.as_ref().len()).collect();
    (ptrs, lens)
}

/// A shim call's code and the buffer it wrote (`take` it).
type Written = (c_int, *mut u8, usize);

/// Runs a shim call on document `xml`: the library initialised and a DTD refused first; the
/// call gets where to write its output buffer and that buffer's length.
fn call_on(
    xml: &[u8],
    call: impl FnOnce(*mut *mut u8, *mut usize) -> c_int,
) -> Result<Written, XmlDsigError> {
    init()?;
    no_dtd(xml)?;
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut len = 0usize;
    let code = call(&mut out, &mut len);
    Ok((code, out, len))
}

/// Verifies the enveloped signature of a SAML response with one of `certificates` (DER) and
/// returns the canonical bytes of the element it covers (see the crate documentation).
pub fn verify(xml: &[u8], certificates: &[Vec<u8>]) -> Result<Vec<u8>, XmlDsigError> {
    let (ptrs, lens) = buffers(certificates);
    // SAFETY: every pointer is valid for the call's duration with its length beside it; the
    // shim writes `out`/`len` only.
    let (code, out, len) = call_on(xml, |out, len| unsafe {
        ffi::rampart_xmldsig_verify(
            xml.as_ptr().cast(),
            xml.len(),
            ptrs.as_ptr(),
            lens.as_ptr(),
            ptrs.len(),
            out,
            len,
        )
    })?;
    take(code, out, len)
}

/// Signs the signature template of a document (the response's, else its assertion's) with a
/// PEM private key: what a test identity provider does.
pub fn sign(xml: &[u8], key_pem: &[u8]) -> Result<Vec<u8>, XmlDsigError> {
    // SAFETY: as in `verify`.
    let (code, out, len) = call_on(xml, |out, len| unsafe {
        ffi::rampart_xmldsig_sign(
            xml.as_ptr().cast(),
            xml.len(),
            key_pem.as_ptr(),
            key_pem.len(),
            out,
            len,
        )
    })?;
    take(code, out, len)
}

/// Decrypts the `EncryptedAssertion` of a SAML response with one of `private_keys` (PEM) and
/// returns the response with the assertion in its place; `None` when the response has no
/// encrypted assertion.
pub fn decrypt(xml: &[u8], private_keys: &[&[u8]]) -> Result<Option<Vec<u8>>, XmlDsigError> {
    let (ptrs, lens) = buffers(private_keys);
    // SAFETY: as in `verify`.
    let (code, out, len) = call_on(xml, |out, len| unsafe {
        ffi::rampart_xmldsig_decrypt(
            xml.as_ptr().cast(),
            xml.len(),
            ptrs.as_ptr(),
            lens.as_ptr(),
            ptrs.len(),
            out,
            len,
        )
    })?;
    if code == NOT_ENCRYPTED {
        return Ok(None);
    }
    take(code, out, len).map(Some)
}
