/* Rampart's bridge to libxmlsec1 (OpenSSL back end): verifies an enveloped XML signature
 * with given certificates and hands back the canonical bytes the signature covers, signs a
 * signature template (test identity providers), and decrypts a SAML response's encrypted
 * assertion with given private keys. Only same-document references and the transforms SAML
 * uses are allowed; keys come from the caller, never from the document. */

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/transforms.h>
#include <xmlsec/errors.h>
#include <xmlsec/crypto.h>

/* Results, mirrored by the Rust side. */
#define R_OK 0
#define R_INIT -1
#define R_PARSE -2
#define R_NO_SIGNATURE -3
#define R_KEY -4
#define R_INVALID -5
#define R_REFERENCES -6
#define R_MEMORY -7
#define R_NOT_ENCRYPTED -9
#define R_DECRYPT -10

static const xmlChar SAMLP_NS[] = "urn:oasis:names:tc:SAML:2.0:protocol";
static const xmlChar SAML_NS[] = "urn:oasis:names:tc:SAML:2.0:assertion";

static void silent(void *ctx, const char *msg, ...) {
    (void)ctx;
    (void)msg;
}

int rampart_xmldsig_init(void) {
    xmlInitParser();
    /* Documents come from callers: their parse errors are answers, not log lines. */
    xmlSetGenericErrorFunc(NULL, silent);
    if (xmlSecInit() < 0) return R_INIT;
    if (xmlSecCheckVersion() != 1) return R_INIT;
    if (xmlSecCryptoAppInit(NULL) < 0) return R_INIT;
    if (xmlSecCryptoInit() < 0) return R_INIT;
    xmlSecErrorsDefaultCallbackEnableOutput(0);
    return R_OK;
}

void rampart_xmldsig_free(void *p) { free(p); }

static xmlDocPtr parse(const char *xml, size_t len) {
    /* No network, no external entities, no DTD loading. */
    return xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* Whether a DER certificate loads as a verification key. */
int rampart_xmldsig_check_cert(const unsigned char *der, size_t len) {
    xmlSecKeyPtr key = xmlSecCryptoAppKeyLoadMemory(der, (xmlSecSize)len, xmlSecKeyDataFormatCertDer,
                                                    NULL, NULL, NULL);
    if (key == NULL) return R_KEY;
    xmlSecKeyDestroy(key);
    return R_OK;
}

static int restrict_transforms(xmlSecDSigCtxPtr ctx) {
    ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
    xmlSecTransformId reference[] = {
        xmlSecTransformEnvelopedId, xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId,
        xmlSecTransformInclC14NId, xmlSecTransformInclC14NWithCommentsId, xmlSecTransformSha1Id,
        xmlSecTransformSha256Id, xmlSecTransformSha384Id, xmlSecTransformSha512Id,
    };
    for (size_t i = 0; i < sizeof(reference) / sizeof(reference[0]); i++) {
        if (xmlSecDSigCtxEnableReferenceTransform(ctx, reference[i]) < 0) return -1;
    }
    xmlSecTransformId signature[] = {
        xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId, xmlSecTransformInclC14NId,
        xmlSecTransformInclC14NWithCommentsId, xmlSecTransformRsaSha1Id, xmlSecTransformRsaSha256Id,
        xmlSecTransformRsaSha384Id, xmlSecTransformRsaSha512Id, xmlSecTransformEcdsaSha256Id,
        xmlSecTransformEcdsaSha384Id, xmlSecTransformEcdsaSha512Id,
    };
    for (size_t i = 0; i < sizeof(signature) / sizeof(signature[0]); i++) {
        if (xmlSecDSigCtxEnableSignatureTransform(ctx, signature[i]) < 0) return -1;
    }
    return 0;
}

/* The enveloped signature of a SAML response: the response's own, else its one assertion's. */
static xmlNodePtr find_signature(xmlDocPtr doc) {
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root == NULL) return NULL;
    xmlNodePtr sig = xmlSecFindChild(root, xmlSecNodeSignature, xmlSecDSigNs);
    if (sig != NULL) return sig;
    xmlNodePtr assertion = xmlSecFindChild(root, (const xmlChar *)"Assertion", SAML_NS);
    if (assertion == NULL) return NULL;
    return xmlSecFindChild(assertion, xmlSecNodeSignature, xmlSecDSigNs);
}

/* Verifies the signature of a SAML response (or a bare assertion) with one of `certs`; on
 * success `*out` holds the canonical bytes of the one element the signature references. */
int rampart_xmldsig_verify(const char *xml, size_t xml_len, const unsigned char *const *certs,
                           const size_t *cert_lens, size_t ncerts, unsigned char **out,
                           size_t *out_len) {
    static const xmlChar *ids[] = {(const xmlChar *)"ID", NULL};
    *out = NULL;
    *out_len = 0;
    xmlDocPtr doc = parse(xml, xml_len);
    if (doc == NULL) return R_PARSE;
    xmlSecAddIDs(doc, xmlDocGetRootElement(doc), ids);
    xmlNodePtr sig = find_signature(doc);
    if (sig == NULL) {
        xmlFreeDoc(doc);
        return R_NO_SIGNATURE;
    }
    (void)SAMLP_NS;
    int result = R_KEY;
    for (size_t i = 0; i < ncerts && result != R_OK; i++) {
        xmlSecKeyPtr key = xmlSecCryptoAppKeyLoadMemory(certs[i], (xmlSecSize)cert_lens[i],
                                                        xmlSecKeyDataFormatCertDer, NULL, NULL, NULL);
        if (key == NULL) continue;
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
        if (ctx == NULL) {
            xmlSecKeyDestroy(key);
            result = R_MEMORY;
            break;
        }
        ctx->signKey = key; /* owned by ctx from here */
        ctx->flags |= XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES | XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
        if (restrict_transforms(ctx) < 0) {
            xmlSecDSigCtxDestroy(ctx);
            result = R_INIT;
            break;
        }
        if (xmlSecDSigCtxVerify(ctx, sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded) {
            result = R_INVALID;
        } else if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1) {
            result = R_REFERENCES;
        } else {
            xmlSecDSigReferenceCtxPtr ref =
                (xmlSecDSigReferenceCtxPtr)xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
            xmlSecBufferPtr buf = ref == NULL ? NULL : xmlSecDSigReferenceCtxGetPreDigestBuffer(ref);
            if (buf == NULL || xmlSecBufferGetSize(buf) == 0) {
                result = R_REFERENCES;
            } else {
                size_t n = xmlSecBufferGetSize(buf);
                *out = malloc(n);
                if (*out == NULL) {
                    result = R_MEMORY;
                } else {
                    memcpy(*out, xmlSecBufferGetData(buf), n);
                    *out_len = n;
                    result = R_OK;
                }
            }
        }
        xmlSecDSigCtxDestroy(ctx);
    }
    xmlFreeDoc(doc);
    return result;
}

/* Copies a dumped document into a malloc'd buffer for the caller. */
static int dump(xmlDocPtr doc, unsigned char **out, size_t *out_len) {
    xmlChar *mem = NULL;
    int size = 0;
    xmlDocDumpMemory(doc, &mem, &size);
    int result = R_OK;
    if (mem == NULL || size <= 0) {
        result = R_MEMORY;
    } else {
        *out = malloc((size_t)size);
        if (*out == NULL) {
            result = R_MEMORY;
        } else {
            memcpy(*out, mem, (size_t)size);
            *out_len = (size_t)size;
        }
    }
    xmlFree(mem);
    return result;
}

/* Signs the first signature template of a document (the response's, else its assertion's)
 * with a PEM private key; `*out` holds the signed document. */
int rampart_xmldsig_sign(const char *xml, size_t xml_len, const unsigned char *key_pem,
                         size_t key_len, unsigned char **out, size_t *out_len) {
    static const xmlChar *ids[] = {(const xmlChar *)"ID", NULL};
    *out = NULL;
    *out_len = 0;
    xmlDocPtr doc = parse(xml, xml_len);
    if (doc == NULL) return R_PARSE;
    xmlSecAddIDs(doc, xmlDocGetRootElement(doc), ids);
    xmlNodePtr sig = find_signature(doc);
    if (sig == NULL) {
        xmlFreeDoc(doc);
        return R_NO_SIGNATURE;
    }
    xmlSecKeyPtr key = xmlSecCryptoAppKeyLoadMemory(key_pem, (xmlSecSize)key_len, xmlSecKeyDataFormatPem,
                                                    NULL, NULL, NULL);
    if (key == NULL) {
        xmlFreeDoc(doc);
        return R_KEY;
    }
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    if (ctx == NULL) {
        xmlSecKeyDestroy(key);
        xmlFreeDoc(doc);
        return R_MEMORY;
    }
    ctx->signKey = key;
    int result = R_INVALID;
    if (restrict_transforms(ctx) == 0 && xmlSecDSigCtxSign(ctx, sig) >= 0) result = R_OK;
    xmlSecDSigCtxDestroy(ctx);
    if (result == R_OK) result = dump(doc, out, out_len);
    xmlFreeDoc(doc);
    return result;
}

/* SAML lets the wrapped content key sit beside EncryptedData in EncryptedAssertion (named by
 * a RetrievalMethod): move it into EncryptedData's KeyInfo, where xmlsec looks for it. */
static int gather_key(xmlNodePtr wrapper, xmlNodePtr data) {
    xmlNodePtr key = xmlSecFindChild(wrapper, xmlSecNodeEncryptedKey, xmlSecEncNs);
    if (key == NULL) return 0;
    xmlNodePtr info = xmlSecFindChild(data, xmlSecNodeKeyInfo, xmlSecDSigNs);
    if (info == NULL) {
        xmlNodePtr cipher = xmlSecFindChild(data, xmlSecNodeCipherData, xmlSecEncNs);
        if (cipher == NULL) return -1;
        info = xmlNewNode(NULL, xmlSecNodeKeyInfo);
        if (info == NULL) return -1;
        xmlSetNs(info, xmlNewNs(info, xmlSecDSigNs, NULL));
        if (xmlAddPrevSibling(cipher, info) == NULL) return -1;
    }
    xmlNodePtr method;
    while ((method = xmlSecFindChild(info, xmlSecNodeRetrievalMethod, xmlSecDSigNs)) != NULL) {
        xmlUnlinkNode(method);
        xmlFreeNode(method);
    }
    xmlUnlinkNode(key);
    return xmlAddChild(info, key) == NULL ? -1 : 0;
}

/* Decrypts the EncryptedAssertion of a SAML response with one PEM private key and puts the
 * assertion in its place. */
static int decrypt_with(xmlDocPtr doc, xmlNodePtr wrapper, const unsigned char *pem, size_t len) {
    xmlNodePtr data = xmlSecFindChild(wrapper, xmlSecNodeEncryptedData, xmlSecEncNs);
    if (data == NULL || gather_key(wrapper, data) < 0) return R_DECRYPT;
    xmlSecKeysMngrPtr mngr = xmlSecKeysMngrCreate();
    if (mngr == NULL) return R_MEMORY;
    int result = R_KEY;
    if (xmlSecCryptoAppDefaultKeysMngrInit(mngr) < 0) {
        xmlSecKeysMngrDestroy(mngr);
        return R_INIT;
    }
    xmlSecKeyPtr key = xmlSecCryptoAppKeyLoadMemory(pem, (xmlSecSize)len, xmlSecKeyDataFormatPem,
                                                    NULL, NULL, NULL);
    if (key == NULL || xmlSecCryptoAppDefaultKeysMngrAdoptKey(mngr, key) < 0) {
        if (key != NULL) xmlSecKeyDestroy(key);
        xmlSecKeysMngrDestroy(mngr);
        return R_KEY;
    }
    xmlSecEncCtxPtr ctx = xmlSecEncCtxCreate(mngr);
    if (ctx == NULL) {
        xmlSecKeysMngrDestroy(mngr);
        return R_MEMORY;
    }
    /* The certificate an identity provider names in KeyInfo only says which key it used. */
    ctx->keyInfoReadCtx.flags |= XMLSEC_KEYINFO_FLAGS_X509DATA_DONT_VERIFY_CERTS;
    ctx->transformCtx.enabledUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
    xmlSecBufferPtr plain = xmlSecEncCtxDecryptToBuffer(ctx, data);
    if (plain == NULL || xmlSecBufferGetSize(plain) == 0) {
        result = R_DECRYPT;
    } else if (xmlSecReplaceNodeBuffer(wrapper, xmlSecBufferGetData(plain),
                                       xmlSecBufferGetSize(plain)) < 0) {
        result = R_PARSE;
    } else {
        result = R_OK;
    }
    xmlSecEncCtxDestroy(ctx);
    xmlSecKeysMngrDestroy(mngr);
    (void)doc;
    return result;
}

/* Decrypts the encrypted assertion of a SAML response with one of `keys` (PEM private keys);
 * `*out` holds the response with the assertion in place. R_NOT_ENCRYPTED when the response
 * has no encrypted assertion. */
int rampart_xmldsig_decrypt(const char *xml, size_t xml_len, const unsigned char *const *keys,
                            const size_t *key_lens, size_t nkeys, unsigned char **out,
                            size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    int result = R_KEY;
    for (size_t i = 0; i < nkeys || i == 0; i++) {
        /* A fresh document per key: a failed attempt may have moved nodes. */
        xmlDocPtr doc = parse(xml, xml_len);
        if (doc == NULL) return R_PARSE;
        xmlNodePtr root = xmlDocGetRootElement(doc);
        xmlNodePtr wrapper =
            root == NULL ? NULL : xmlSecFindChild(root, (const xmlChar *)"EncryptedAssertion", SAML_NS);
        if (wrapper == NULL) {
            xmlFreeDoc(doc);
            return R_NOT_ENCRYPTED;
        }
        if (i >= nkeys) {
            xmlFreeDoc(doc);
            return R_KEY;
        }
        result = decrypt_with(doc, wrapper, keys[i], key_lens[i]);
        if (result == R_OK) result = dump(doc, out, out_len);
        xmlFreeDoc(doc);
        if (result == R_OK || result == R_MEMORY) break;
    }
    return result;
}
