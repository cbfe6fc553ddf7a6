// Copyright (C) 2017 1aim GmbH
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//! The steps of libphonenumber's `PhoneNumberUtil.parseHelper`, one function
//! each, in the order and with the semantics of the reference
//! implementation (Java, and its Python port `phonenumbers`, whose names are
//! given for each). Patched in for Sluice; see PATCHES.md.

use crate::consts;
use crate::metadata::{Database, Metadata};
use crate::parser::helper::AsCharExt;
use crate::validator::Validation;
use once_cell::sync::Lazy;
use regex::{Regex, RegexBuilder};
use regex_cache::CachedRegex;

/// Longest input considered (`_MAX_INPUT_STRING_LENGTH`, in characters).
pub const MAX_INPUT_STRING_LENGTH: usize = 250;

const VALID_PUNCTUATION: &str = r"\-x\x{2010}-\x{2015}\x{2212}\x{30FC}\x{FF0D}-\x{FF0F} \x{00A0}\x{00AD}\x{200B}\x{2060}\x{3000}()\x{FF08}\x{FF09}\x{FF3B}\x{FF3D}.\[\]/~\x{2053}\x{223C}\x{FF5E}";

fn case_insensitive(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .expect("a valid built-in pattern")
}

/// `_create_extn_pattern(True)`: every way of writing an extension that
/// parsing accepts.
static EXTN_PATTERNS_FOR_PARSING: Lazy<String> = Lazy::new(|| {
    let digits = |max: usize| format!(r"(\p{{Nd}}{{1,{max}}})");
    let separators = r"[ \x{00A0}\t,]*";
    let after_label = r"[:\.\x{FF0E}]?[ \x{00A0}\t,\-]*";
    let explicit_labels = r"(?:e?xt(?:ensi(?:o\x{0301}?|\x{00F3}))?n?|\x{FF45}?\x{FF58}\x{FF54}\x{FF4E}?|\x{0434}\x{043E}\x{0431}|anexo)";
    let ambiguous_labels = r"(?:[x\x{FF58}#\x{FF03}~\x{FF5E}]|int|\x{FF49}\x{FF4E}\x{FF54})";
    let rfc = format!(";ext={}", digits(20));
    let explicit = format!("{separators}{explicit_labels}{after_label}{}#?", digits(20));
    let ambiguous = format!("{separators}{ambiguous_labels}{after_label}{}#?", digits(9));
    let american = format!("[\\- ]+{}#", digits(6));
    let no_comma = r"[ \x{00A0}\t]*";
    let auto_dialling = format!("{no_comma}(?:,{{2}}|;){after_label}{}#?", digits(15));
    let only_commas = format!("{no_comma}(?:,)+{after_label}{}#?", digits(9));
    format!("{rfc}|{explicit}|{ambiguous}|{american}|{auto_dialling}|{only_commas}")
});

/// `_EXTN_PATTERN`: an extension at the end of the text.
static EXTN_PATTERN: Lazy<Regex> =
    Lazy::new(|| case_insensitive(&format!("(?:{})$", *EXTN_PATTERNS_FOR_PARSING)));

/// `_VALID_PHONE_NUMBER_PATTERN`, matched against the whole text.
static VALID_PHONE_NUMBER: Lazy<Regex> = Lazy::new(|| {
    case_insensitive(&format!(
        r"^(?:\p{{Nd}}{{{min}}}|[+\x{{FF0B}}]*(?:[{p}*]*\p{{Nd}}){{3,}}[{p}*A-Za-z\p{{Nd}}]*(?:{ext})?)$",
        min = consts::MIN_LENGTH_FOR_NSN,
        p = VALID_PUNCTUATION,
        ext = *EXTN_PATTERNS_FOR_PARSING,
    ))
});

static VALID_START_CHAR: Lazy<Regex> = Lazy::new(|| Regex::new(r"[+\x{FF0B}\p{Nd}]").unwrap());
static UNWANTED_END_CHARS: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?:_|[^#\p{L}\p{N}])+$").unwrap());
static SECOND_NUMBER_START: Lazy<Regex> = Lazy::new(|| Regex::new(r"[\\/] *x").unwrap());
static PLUS_CHARS: Lazy<Regex> = Lazy::new(|| Regex::new(r"^[+\x{FF0B}]+").unwrap());
static VALID_ALPHA_PHONE: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"^(?:.*?[A-Za-z]){3}.*$").unwrap());
static RFC3966_GLOBAL_NUMBER_DIGITS: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"^\+(?:\p{Nd}|[\-\.\(\)]?)*\p{Nd}(?:\p{Nd}|[\-\.\(\)]?)*$").unwrap());
static RFC3966_DOMAINNAME: Lazy<Regex> = Lazy::new(|| {
    let alnum = r"A-Za-z\p{Nd}";
    Regex::new(&format!(
        r"^(?:[{alnum}]+(?:\-*[{alnum}])*\.)*[A-Za-z]+(?:\-*[{alnum}])*\.?$"
    ))
    .unwrap()
});

const RFC3966_PHONE_CONTEXT: &str = ";phone-context=";
const RFC3966_PREFIX: &str = "tel:";
const RFC3966_ISDN_SUBADDRESS: &str = ";isub=";

/// Why a text is not a phone number, as `NumberParseException` says.
pub enum Failure {
    NotANumber,
    InvalidCountryCode,
    TooShortAfterIdd,
}

/// `_build_national_number_for_parsing`: the number part of an RFC 3966
/// URI with a phone context, or else the phone-number-like part of the text.
pub fn build_national_number_for_parsing(number: &str) -> Result<String, Failure> {
    let mut national = match number.find(RFC3966_PHONE_CONTEXT) {
        Some(index) => {
            let start = index + RFC3966_PHONE_CONTEXT.len();
            let rest = &number[start..];
            let context = rest.find(';').map_or(rest, |end| &rest[..end]);
            if context.is_empty()
                || !(RFC3966_GLOBAL_NUMBER_DIGITS.is_match(context)
                    || RFC3966_DOMAINNAME.is_match(context))
            {
                return Err(Failure::NotANumber);
            }
            let mut national = if context.starts_with('+') {
                context.to_owned()
            } else {
                String::new()
            };
            let from = number
                .find(RFC3966_PREFIX)
                .map_or(0, |i| i + RFC3966_PREFIX.len());
            national.push_str(number.get(from..index).unwrap_or(""));
            national
        }
        None => extract_possible_number(number).to_owned(),
    };
    if let Some(index) = national.find(RFC3966_ISDN_SUBADDRESS) {
        if index > 0 {
            national.truncate(index);
        }
    }
    Ok(national)
}

/// `_extract_possible_number`: from the first `+` or digit on, without
/// trailing punctuation or a second number.
pub fn extract_possible_number(number: &str) -> &str {
    let Some(start) = VALID_START_CHAR.find(number) else {
        return "";
    };
    let mut number = &number[start.start()..];
    if let Some(trailing) = UNWANTED_END_CHARS.find(number) {
        number = &number[..trailing.start()];
    }
    if let Some(second) = SECOND_NUMBER_START.find(number) {
        number = &number[..second.start()];
    }
    number
}

/// `_is_viable_phone_number`.
pub fn is_viable_phone_number(number: &str) -> bool {
    number.chars().count() >= consts::MIN_LENGTH_FOR_NSN && VALID_PHONE_NUMBER.is_match(number)
}

/// `_check_region_for_parsing`: without a default region the number must
/// start with a plus sign.
pub fn starts_with_plus(number: &str) -> bool {
    PLUS_CHARS.is_match(number)
}

/// `_maybe_strip_extension`: the number without its extension, and the
/// extension.
pub fn maybe_strip_extension(number: &str) -> (&str, Option<&str>) {
    if let Some(captures) = EXTN_PATTERN.captures(number) {
        let start = captures.get(0).expect("group 0").start();
        if is_viable_phone_number(&number[..start]) {
            if let Some(extension) = captures.iter().skip(1).flatten().next() {
                return (&number[..start], Some(extension.as_str()));
            }
        }
    }
    (number, None)
}

/// `_normalize`: digits only (any script's decimal digits as ASCII), or,
/// with three or more letters, letters read as keypad digits.
pub fn normalize(number: &str) -> String {
    if VALID_ALPHA_PHONE.is_match(number) {
        number
            .chars()
            .filter_map(|c| {
                let upper = c.to_ascii_uppercase();
                if upper.is_ascii_digit() {
                    Some(upper)
                } else {
                    consts::ALPHA_MAPPINGS.get(&upper).copied()
                }
            })
            .collect()
    } else {
        number.chars().filter_map(|c| c.as_dec_digit()).collect()
    }
}

/// `_extract_country_code`: the country calling code the digits start with.
fn extract_country_code<'a>(database: &Database, number: &'a str) -> Option<(u16, &'a str)> {
    if number.is_empty() || number.starts_with('0') {
        return None;
    }
    for len in 1..=consts::MAX_LENGTH_FOR_COUNTRY_CODE.min(number.len()) {
        let Ok(code) = number[..len].parse::<u16>() else {
            continue;
        };
        if database.region(&code).is_some() {
            return Some((code, &number[len..]));
        }
    }
    None
}

/// How the country calling code was found.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum CodeSource {
    Plus,
    Idd,
    Number,
    Default,
}

/// `_maybe_strip_i18n_prefix_and_normalize`.
fn strip_international_prefix_and_normalize(
    number: &str,
    idd: Option<&CachedRegex>,
) -> (CodeSource, String) {
    if number.is_empty() {
        return (CodeSource::Default, String::new());
    }
    if let Some(plus) = PLUS_CHARS.find(number) {
        return (CodeSource::Plus, normalize(&number[plus.end()..]));
    }
    let normalized = normalize(number);
    if let Some(found) = idd.and_then(|idd| idd.find(&normalized)) {
        // The pattern is anchored at the start. A country calling code never
        // starts with 0, so an IDD followed by 0 is not one.
        if found.start() == 0 && !normalized[found.end()..].starts_with('0') {
            return (CodeSource::Idd, normalized[found.end()..].to_owned());
        }
    }
    (CodeSource::Default, normalized)
}

/// `_maybe_extract_country_code`: the country calling code (0 if none), how
/// it was found, and the national number after it (empty if none).
pub fn maybe_extract_country_code(
    database: &Database,
    number: &str,
    meta: Option<&Metadata>,
) -> Result<(u16, CodeSource, String), Failure> {
    if number.is_empty() {
        return Ok((0, CodeSource::Default, String::new()));
    }
    let idd = meta.and_then(|meta| meta.international_prefix.as_ref());
    let (source, full) = strip_international_prefix_and_normalize(number, idd);
    if source != CodeSource::Default {
        if full.len() <= consts::MIN_LENGTH_FOR_NSN {
            return Err(Failure::TooShortAfterIdd);
        }
        return match extract_country_code(database, &full) {
            Some((code, rest)) => Ok((code, source, rest.to_owned())),
            None => Err(Failure::InvalidCountryCode),
        };
    }
    if let Some(meta) = meta {
        // A national number that starts with the region's own country code
        // is read as international only if that makes it match the plan
        // where it did not before, or if it is too long otherwise.
        let code = meta.country_code.to_string();
        if let Some(rest) = full.strip_prefix(&code) {
            let general = &meta.descriptors.general;
            let (potential, _) = maybe_strip_national_prefix(rest, meta);
            if (!general.matches_pattern(&full) && general.matches_pattern(&potential))
                || test_number_length(full.len(), meta) == Validation::TooLong
            {
                return Ok((meta.country_code, CodeSource::Number, potential));
            }
        }
    }
    Ok((0, CodeSource::Default, String::new()))
}

/// `_maybe_strip_national_prefix_carrier_code`: the number without its
/// national prefix (transformed as the region says), and the carrier code.
pub fn maybe_strip_national_prefix(number: &str, meta: &Metadata) -> (String, Option<String>) {
    let unchanged = || (number.to_owned(), None);
    let Some(prefix) = meta.national_prefix_for_parsing.as_ref() else {
        return unchanged();
    };
    if number.is_empty() {
        return unchanged();
    }
    // The pattern is anchored at the start.
    let Some(captures) = prefix.captures(number) else {
        return unchanged();
    };
    let end = captures.get(0).expect("group 0").end();
    let general = &meta.descriptors.general;
    let viable = general.matches_pattern(number);
    let groups = captures.len() - 1;
    let last_group = if groups == 0 {
        captures.get(0)
    } else {
        captures.get(groups)
    };
    let first_group = captures.get(1).map(|m| m.as_str().to_owned());
    match meta.national_prefix_transform_rule.as_deref() {
        Some(rule) if !rule.is_empty() && last_group.is_some() => {
            let transformed = prefix.replace(number, rule).into_owned();
            if viable && !general.matches_pattern(&transformed) {
                return unchanged();
            }
            (transformed, first_group.filter(|_| groups > 1))
        }
        _ => {
            if viable && !general.matches_pattern(&number[end..]) {
                return unchanged();
            }
            (number[end..].to_owned(), first_group.filter(|_| groups > 0))
        }
    }
}

/// `_test_number_length` for any type of number.
pub fn test_number_length(length: usize, meta: &Metadata) -> Validation {
    let general = &meta.descriptors.general;
    let possible = &general.possible_length;
    let Some((&min, rest)) = possible.split_first() else {
        return Validation::InvalidLength;
    };
    let length = length as u16;
    if general.possible_local_length.contains(&length) {
        Validation::IsPossibleLocalOnly
    } else if length == min {
        Validation::IsPossible
    } else if length < min {
        Validation::TooShort
    } else if possible.last().is_some_and(|&max| max < length) {
        Validation::TooLong
    } else if rest.contains(&length) {
        Validation::IsPossible
    } else {
        Validation::InvalidLength
    }
}
