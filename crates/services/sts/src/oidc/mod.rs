//! OpenID Connect for `AssumeRoleWithWebIdentity`: token signatures ([`jwt`]), the issuers'
//! key sets ([`jwks`]) and the HTTPS rule for fetching them ([`tls`]).

pub mod jwks;
pub mod jwt;
pub mod tls;
