//! Why an address is invalid.

use std::fmt;

/// Why an address is invalid, for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    MissingAt,
    FullWidthAt,
    DisplayName,
    Quoted,
    LocalPartEmpty,
    LocalPartTooLong,
    LocalPartCharacters,
    LocalPartDots,
    UnsafeCharacters,
    DomainEmpty,
    DomainLiteral,
    DomainCharacters,
    DomainDots,
    DomainHyphens,
    DomainReservedHyphens,
    DomainNotIdna,
    DomainTooLong,
    DomainLabelTooLong,
    NoTopLevelDomain,
    TopLevelDomainNotLetters,
    SpecialUseDomain,
    TooLong,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invalid::MissingAt => "missing \"@\"",
            Invalid::FullWidthAt => "it has a full-width \"＠\" instead of \"@\"",
            Invalid::DisplayName => {
                "only a bare address is accepted, without a display name or angle brackets"
            }
            Invalid::Quoted => "quoted text (\"…\") is not accepted",
            Invalid::LocalPartEmpty => "missing the part before the \"@\"",
            Invalid::LocalPartTooLong => "the part before the \"@\" is longer than 64 characters",
            Invalid::LocalPartCharacters => {
                "the part before the \"@\" contains a character that is not allowed"
            }
            Invalid::LocalPartDots => {
                "the part before the \"@\" starts or ends with a dot or has two in a row"
            }
            Invalid::UnsafeCharacters => {
                "it contains a space, control, formatting or unassigned character"
            }
            Invalid::DomainEmpty => "missing domain",
            Invalid::DomainLiteral => "IP-address domains are not accepted",
            Invalid::DomainCharacters => "the domain contains a character that is not allowed",
            Invalid::DomainDots => "the domain starts or ends with a dot or has two in a row",
            Invalid::DomainHyphens => "a part of the domain starts or ends with a hyphen",
            Invalid::DomainReservedHyphens => {
                "a part of the domain has \"--\" as its third and fourth characters"
            }
            Invalid::DomainNotIdna => "the domain is not a valid internationalized domain name",
            Invalid::DomainTooLong => "the domain is longer than 253 characters",
            Invalid::DomainLabelTooLong => "a part of the domain is longer than 63 characters",
            Invalid::NoTopLevelDomain => "the domain has no top-level domain such as \".com\"",
            Invalid::TopLevelDomainNotLetters => {
                "the top-level domain does not end with a letter (IP addresses are not accepted)"
            }
            Invalid::SpecialUseDomain => {
                "the domain is reserved (.localhost, .local, .test, .invalid, .onion, .arpa)"
            }
            Invalid::TooLong => "the address is longer than 254 bytes",
        })
    }
}
