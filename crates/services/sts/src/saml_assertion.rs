//! Reading a SAML 2.0 assertion from the canonical bytes its signature covers (a `Response`
//! holding exactly one `Assertion`, or the `Assertion` itself): issuer, subject, the bearer
//! confirmation, conditions and attributes.

use chrono::{DateTime, Utc};
use quick_xml::{events::Event, Reader};

/// What an assertion says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assertion {
    /// The assertion's `Issuer`.
    pub issuer: String,
    /// `NameID`.
    pub name_id: String,
    /// `NameID`'s `Format`.
    pub name_id_format: Option<String>,
    /// The bearer confirmation's `Recipient`.
    pub recipient: Option<String>,
    /// The earliest `NotOnOrAfter` of the bearer confirmation and the conditions.
    pub not_on_or_after: Option<DateTime<Utc>>,
    /// `Conditions/@NotBefore`.
    pub not_before: Option<DateTime<Utc>>,
    /// Every `AudienceRestriction/Audience`.
    pub audiences: Vec<String>,
    /// Attributes by `Name`, with their values in order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The response's status code, when the signed element is a response.
    pub status: Option<String>,
}

impl Assertion {
    /// The values of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&[String]> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

fn time(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{value} is not a date"))
}

fn earliest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// Reads the one assertion of the signed bytes.
pub fn read(signed: &[u8]) -> Result<Assertion, String> {
    let text = std::str::from_utf8(signed).map_err(|_| "not UTF-8".to_string())?;
    let mut reader = Reader::from_str(text);
    let mut out = Assertion::default();
    let mut path: Vec<String> = Vec::new();
    let mut assertions = 0;
    let mut text_buf = String::new();
    let mut bearer = false;
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                let attr = |key: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == key.as_bytes())
                        .and_then(|a| a.unescape_value().ok().map(|v| v.to_string()))
                };
                let parent = path.last().map(String::as_str);
                match (name.as_str(), parent) {
                    ("Assertion", _) => {
                        assertions += 1;
                        if assertions > 1 {
                            return Err("more than one assertion".into());
                        }
                    }
                    ("StatusCode", Some("Status")) => out.status = attr("Value"),
                    ("NameID", Some("Subject")) => out.name_id_format = attr("Format"),
                    ("SubjectConfirmation", _) => {
                        bearer = attr("Method").as_deref()
                            == Some("urn:oasis:names:tc:SAML:2.0:cm:bearer");
                    }
                    ("SubjectConfirmationData", _) if bearer => {
                        if let Some(r) = attr("Recipient") {
                            out.recipient = Some(r);
                        }
                        if let Some(t) = attr("NotOnOrAfter") {
                            out.not_on_or_after = earliest(out.not_on_or_after, time(&t)?);
                        }
                    }
                    ("Conditions", _) => {
                        if let Some(t) = attr("NotBefore") {
                            out.not_before = Some(time(&t)?);
                        }
                        if let Some(t) = attr("NotOnOrAfter") {
                            out.not_on_or_after = earliest(out.not_on_or_after, time(&t)?);
                        }
                    }
                    ("Attribute", Some("AttributeStatement")) => {
                        out.attributes
                            .push((attr("Name").unwrap_or_default(), Vec::new()));
                    }
                    _ => {}
                }
                text_buf.clear();
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                }
            }
            Event::Text(t) => text_buf.push_str(&t.unescape().map_err(|e| e.to_string())?),
            Event::CData(t) => text_buf.push_str(&String::from_utf8_lossy(&t)),
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str);
                let value = text_buf.trim().to_string();
                match (name.as_str(), parent) {
                    ("Issuer", Some("Assertion")) => out.issuer = value,
                    ("NameID", Some("Subject")) => out.name_id = value,
                    ("Audience", Some("AudienceRestriction")) => out.audiences.push(value),
                    ("AttributeValue", Some("Attribute")) => {
                        if let Some((_, values)) = out.attributes.last_mut() {
                            values.push(value);
                        }
                    }
                    _ => {}
                }
                text_buf.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if assertions == 0 {
        return Err("no assertion".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_iam_uses_are_read() {
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion><saml:Issuer>https://idp</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="2030-01-01T00:05:00Z" Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="2030-01-01T00:00:00Z" NotOnOrAfter="2030-01-01T01:00:00Z"><saml:AudienceRestriction><saml:Audience>https://signin.aws.amazon.com/saml</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>a,b</saml:AttributeValue><saml:AttributeValue>c,d</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#;
        let a = read(xml.as_bytes()).unwrap();
        assert_eq!(a.issuer, "https://idp");
        assert_eq!(a.name_id, "alice");
        assert_eq!(
            a.recipient.as_deref(),
            Some("https://signin.aws.amazon.com/saml")
        );
        assert_eq!(
            a.not_on_or_after,
            Some(time("2030-01-01T00:05:00Z").unwrap())
        );
        assert_eq!(a.audiences, ["https://signin.aws.amazon.com/saml"]);
        assert_eq!(
            a.attribute("https://aws.amazon.com/SAML/Attributes/Role")
                .unwrap(),
            ["a,b", "c,d"]
        );
        assert_eq!(
            a.status.as_deref(),
            Some("urn:oasis:names:tc:SAML:2.0:status:Success")
        );
        let two = xml.replace("</samlp:Response>", "<saml:Assertion/></samlp:Response>");
        assert!(read(two.as_bytes()).is_err());
    }
}
