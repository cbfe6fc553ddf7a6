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

use crate::carrier::Carrier;
use crate::consts;
use crate::country;
use crate::error;
use crate::extension::Extension;
use crate::metadata::{Database, DATABASE};
use crate::phone_number::PhoneNumber;
use crate::validator::Validation;

// Since `parse` follows `steps`, only `valid` (for `is_viable`) and some
// helpers are still used; the rest is kept for the crate's own tests.
#[macro_use]
#[allow(dead_code)]
pub mod helper;
#[allow(dead_code)]
pub mod natural;
#[allow(dead_code)]
pub mod rfc3966;
mod steps;
pub mod valid;

/// Parse a phone number.
pub fn parse<S: AsRef<str>>(
    country: Option<country::Id>,
    string: S,
) -> Result<PhoneNumber, error::Parse> {
    parse_with(&DATABASE, country, string)
}

/// Parse a phone number using a specific `Database`.
///
/// Follows libphonenumber's `PhoneNumberUtil.parseHelper` step by step (see
/// `steps`): the number is read with the default region's rules unless it
/// carries its own country calling code, in which case that country's rules
/// apply.
pub fn parse_with<S: AsRef<str>>(
    database: &Database,
    country: Option<country::Id>,
    string: S,
) -> Result<PhoneNumber, error::Parse> {
    use steps::{CodeSource, Failure};

    let failure = |failure: Failure| match failure {
        Failure::NotANumber => error::Parse::NoNumber,
        Failure::InvalidCountryCode => error::Parse::InvalidCountryCode,
        Failure::TooShortAfterIdd => error::Parse::TooShortAfterIdd,
    };

    let string = string.as_ref();
    if string.chars().count() > steps::MAX_INPUT_STRING_LENGTH {
        return Err(error::Parse::TooLong);
    }
    let national = steps::build_national_number_for_parsing(string).map_err(failure)?;
    if !steps::is_viable_phone_number(&national) {
        return Err(error::Parse::NoNumber);
    }
    let default = country.and_then(|country| database.by_id(country.as_ref()));
    if default.is_none() && !steps::starts_with_plus(&national) {
        return Err(error::Parse::InvalidCountryCode);
    }
    let (national, extension) = steps::maybe_strip_extension(&national);

    let extracted = match steps::maybe_extract_country_code(database, national, default) {
        Err(Failure::InvalidCountryCode) if steps::starts_with_plus(national) => {
            // "+" followed by an international prefix: try again without it.
            let rest = national.trim_start_matches(['+', '\u{FF0B}']);
            match steps::maybe_extract_country_code(database, rest, default) {
                Ok((0, _, _)) => Err(Failure::InvalidCountryCode),
                other => other,
            }
        }
        other => other,
    };
    let (mut code, mut source, mut normalized) = extracted.map_err(failure)?;

    let mut meta = default;
    if code != 0 {
        // The country's own rules apply, unless it is the default region.
        let main_region = database
            .region(&code)
            .and_then(|regions| regions.first().copied());
        if main_region != meta.map(|meta| meta.id.as_str()) {
            meta = database.main_for_code(code);
        }
    } else {
        normalized = steps::normalize(national);
        if let Some(default) = default {
            code = default.country_code;
            source = CodeSource::Default;
        }
    }

    if normalized.len() < consts::MIN_LENGTH_FOR_NSN {
        return Err(error::Parse::TooShortNsn);
    }

    let mut carrier = None;
    if let Some(meta) = meta {
        let (potential, carrier_code) = steps::maybe_strip_national_prefix(&normalized, meta);
        match steps::test_number_length(potential.len(), meta) {
            Validation::TooShort | Validation::IsPossibleLocalOnly | Validation::InvalidLength => {}
            _ => {
                normalized = potential;
                carrier = carrier_code;
            }
        }
    }

    if normalized.len() < consts::MIN_LENGTH_FOR_NSN {
        return Err(error::Parse::TooShortNsn);
    }
    if normalized.len() > consts::MAX_LENGTH_FOR_NSN {
        return Err(error::Parse::TooLong);
    }

    Ok(PhoneNumber {
        code: country::Code {
            value: code,
            source: match source {
                CodeSource::Plus => country::Source::Plus,
                CodeSource::Idd => country::Source::Idd,
                CodeSource::Number => country::Source::Number,
                CodeSource::Default => country::Source::Default,
            },
        },

        national: normalized.parse()?,

        extension: extension.map(|s| Extension(steps::normalize(s))),
        carrier: carrier.map(Carrier),
    })
}

#[cfg(test)]
mod test {
    use crate::country::{self, Source};
    use crate::metadata::DATABASE;
    use crate::national_number::NationalNumber;
    use crate::parser;
    use crate::phone_number::PhoneNumber;
    use rstest::*;

    #[rstest]
    #[case(Source::Default, country::NZ, "033316005")]
    #[case(Source::Default, country::NZ, "33316005")]
    #[case(Source::Default, country::NZ, "03-331 6005")]
    #[case(Source::Default, country::NZ, "03 331 6005")]
    #[case(Source::Plus, country::NZ, "tel:03-331-6005;phone-context=+64")]
    // FIXME: What the fuck is this.
    // #[case(Source::Plus, country::NZ, "tel:331-6005;phone-context=+64-3")]
    #[case(Source::Plus, country::NZ, "tel:03-331-6005;phone-context=+64;a=%A1")]
    #[case(
        Source::Plus,
        country::NZ,
        "tel:03-331-6005;isub=12345;phone-context=+64"
    )]
    #[case(Source::Plus, country::NZ, "tel:+64-3-331-6005;isub=12345")]
    #[case(Source::Plus, country::NZ, "03-331-6005;phone-context=+64")]
    // Idd
    #[case(Source::Idd, country::NZ, "0064 3 331 6005")]
    #[case(Source::Idd, country::US, "01164 3 331 6005")]
    // Plus
    #[case(Source::Plus, country::US, "+64 3 331 6005")]
    #[case(Source::Plus, country::US, "+01164 3 331 6005")]
    #[case(Source::Plus, country::NZ, "+0064 3 331 6005")]
    #[case(Source::Plus, country::NZ, "+ 00 64 3 331 6005")]
    fn parse_1(
        #[case] source: Source,
        #[case] country: impl Into<Option<country::Id>>,
        #[case] number: &'static str,
    ) {
        let reference = PhoneNumber {
            code: country::Code { value: 64, source },

            national: NationalNumber::new(33316005, 0).unwrap(),

            extension: None,
            carrier: None,
        };

        let country = country.into();
        println!("parsing {} with country {:?}", number, country);
        let parsed = parser::parse(country, number).unwrap();
        println!("number type: {:?}", parsed.number_type(&DATABASE));
        println!("parsed: {:?}", parsed);

        assert_eq!(reference, parsed);
    }

    #[test]
    fn parse_2() {
        assert_eq!(
            PhoneNumber {
                code: country::Code {
                    value: 64,
                    source: Source::Number,
                },

                national: NationalNumber::new(64123456, 0).unwrap(),

                extension: None,
                carrier: None,
            },
            parser::parse(Some(country::NZ), "64(0)64123456").unwrap()
        );
    }

    #[test]
    fn parse_3() {
        assert_eq!(
            PhoneNumber {
                code: country::Code {
                    value: 49,
                    source: country::Source::Default,
                },

                national: NationalNumber::new(30123456, 0).unwrap(),

                extension: None,
                carrier: None,
            },
            parser::parse(Some(country::DE), "301/23456").unwrap()
        );
    }

    #[test]
    fn parse_4() {
        assert_eq!(
            PhoneNumber {
                code: country::Code {
                    value: 81,
                    source: country::Source::Plus,
                },

                national: NationalNumber::new(2345, 0,).unwrap(),

                extension: None,
                carrier: None,
            },
            parser::parse(Some(country::JP), "+81 *2345").unwrap()
        );
    }

    #[test]
    fn parse_5() {
        assert_eq!(
            PhoneNumber {
                code: country::Code {
                    value: 64,
                    source: country::Source::Default,
                },

                national: NationalNumber::new(12, 0,).unwrap(),

                extension: None,
                carrier: None,
            },
            parser::parse(Some(country::NZ), "12").unwrap()
        );
    }

    #[test]
    fn parse_6() {
        assert_eq!(
            PhoneNumber {
                code: country::Code {
                    value: 55,
                    source: country::Source::Default,
                },

                national: NationalNumber::new(3121286979, 0).unwrap(),

                extension: None,
                carrier: Some("12".into()),
            },
            parser::parse(Some(country::BR), "012 3121286979").unwrap()
        );
    }

    #[test]
    fn issue_43() {
        let res = parser::parse(None, " 2 22#:");
        assert!(res.is_err());
    }

    #[test]
    fn advisory_1() {
        let res = parser::parse(None, ".;phone-context=");
        assert!(res.is_err(), "{res:?}");
    }

    #[test]
    fn advisory_2() {
        let res = parser::parse(None, "+dwPAA;phone-context=AA");
        assert!(res.is_err(), "{res:?}");
    }

    #[test]
    fn email() {
        let res = parser::parse(Some(country::US), "someletters1110@gmail.com");
        assert!(res.is_err(), "{res:?}");
    }
}
