//! `GetRandomPassword`: a password from the character classes the request keeps, drawn
//! uniformly from the system's secure random generator, with at least one character of each
//! included class when `RequireEachIncludedType` (the default).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{
    common::opt_str,
    error::{SmError, SmResult},
};

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// A uniform index below `n` (rejection sampling, so no bias).
fn below(rng: &SystemRandom, n: usize) -> SmResult<usize> {
    let n = u32::try_from(n).map_err(|_| SmError::internal())?;
    if n == 0 {
        return Err(SmError::internal());
    }
    let zone = u32::MAX - (u32::MAX % n);
    loop {
        let mut b = [0u8; 4];
        rng.fill(&mut b).map_err(|_| SmError::internal())?;
        let v = u32::from_le_bytes(b);
        if v < zone {
            return usize::try_from(v % n).map_err(|_| SmError::internal());
        }
    }
}

fn flag(input: &Value, name: &str, default: bool) -> bool {
    input.get(name).and_then(Value::as_bool).unwrap_or(default)
}

/// The character classes a request keeps, each without the excluded characters.
fn classes(input: &Value) -> Vec<Vec<char>> {
    let excluded: Vec<char> = opt_str(input, "ExcludeCharacters")
        .unwrap_or_default()
        .chars()
        .collect();
    let mut out = Vec::new();
    for (set, exclude) in [
        (LOWER, "ExcludeLowercase"),
        (UPPER, "ExcludeUppercase"),
        (DIGITS, "ExcludeNumbers"),
        (PUNCTUATION, "ExcludePunctuation"),
    ] {
        if !flag(input, exclude, false) {
            out.push(
                set.chars()
                    .filter(|c| !excluded.contains(c))
                    .collect::<Vec<_>>(),
            );
        }
    }
    if flag(input, "IncludeSpace", false) && !excluded.contains(&' ') {
        out.push(vec![' ']);
    }
    out.retain(|c| !c.is_empty());
    out
}

/// Makes a password of `length` characters from `classes`.
fn generate(classes: &[Vec<char>], length: usize, each: bool) -> SmResult<Zeroizing<String>> {
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    if all.is_empty() {
        return Err(SmError::InvalidParameterException(
            "No characters are left to make a password from: every character type is excluded."
                .into(),
        ));
    }
    if each && length < classes.len() {
        return Err(SmError::InvalidParameterException(
            "Password length is too short based on the required types.".into(),
        ));
    }
    let rng = SystemRandom::new();
    let mut chars: Vec<char> = Vec::with_capacity(length);
    if each {
        for class in classes {
            let c = class
                .get(below(&rng, class.len())?)
                .ok_or_else(SmError::internal)?;
            chars.push(*c);
        }
    }
    while chars.len() < length {
        let c = all
            .get(below(&rng, all.len())?)
            .ok_or_else(SmError::internal)?;
        chars.push(*c);
    }
    // Shuffle (Fisher-Yates) so the required characters sit anywhere.
    for i in (1..chars.len()).rev() {
        let j = below(&rng, i + 1)?;
        chars.swap(i, j);
    }
    Ok(Zeroizing::new(chars.into_iter().collect()))
}

/// `GetRandomPassword`.
pub fn get_random_password(input: &Value) -> SmResult<Value> {
    let length = input
        .get("PasswordLength")
        .and_then(Value::as_i64)
        .unwrap_or(32);
    if !(1..=4096).contains(&length) {
        return Err(SmError::InvalidParameterException(
            "PasswordLength must be between 1 and 4096.".into(),
        ));
    }
    let length = usize::try_from(length).map_err(|_| SmError::internal())?;
    let password = generate(
        &classes(input),
        length,
        flag(input, "RequireEachIncludedType", true),
    )?;
    Ok(json!({ "RandomPassword": password.as_str() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(input: Value) -> String {
        get_random_password(&input).unwrap()["RandomPassword"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn defaults_to_32_characters_of_every_type() {
        let p = password(json!({}));
        assert_eq!(p.chars().count(), 32);
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(p.chars().any(|c| PUNCTUATION.contains(c)));
        assert!(!p.contains(' '));
    }

    #[test]
    fn every_option_is_honoured() {
        let p = password(json!({"PasswordLength": 200, "ExcludeNumbers": true,
            "ExcludePunctuation": true, "ExcludeUppercase": true, "ExcludeCharacters": "abc",
            "IncludeSpace": true}));
        assert_eq!(p.len(), 200);
        assert!(p
            .chars()
            .all(|c| c == ' ' || (c.is_ascii_lowercase() && !"abc".contains(c))));
        assert!(p.contains(' '));
        let p = password(
            json!({"PasswordLength": 4, "ExcludeLowercase": true, "ExcludeUppercase": true,
            "ExcludePunctuation": true}),
        );
        assert!(p.chars().all(|c| c.is_ascii_digit()));
        // Three types cannot fit in two characters unless not required.
        assert!(
            get_random_password(&json!({"PasswordLength": 2, "ExcludePunctuation": true})).is_err()
        );
        assert_eq!(
            password(json!({"PasswordLength": 2, "RequireEachIncludedType": false})).len(),
            2
        );
        let none = json!({"ExcludeLowercase": true, "ExcludeUppercase": true,
            "ExcludeNumbers": true, "ExcludePunctuation": true});
        assert!(get_random_password(&none).is_err());
    }
}
