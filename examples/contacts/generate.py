#!/usr/bin/env python3
"""Generate the messy example contacts dataset for Sluice.

Writes, next to this script:

    data/contacts.csv     320 records of realistic, messy contacts
    data/EXPECTED.json    which rows carry which kind of mess, and how many
                          rows a pipeline should load

Python 3 standard library only; no network. The output is deterministic: a
fixed seed drives every random choice, and nothing depends on hash order, so
running the script again rewrites byte-identical files.

Layout rules that make the expectations easy to check:

* one record per physical line (no embedded newlines anywhere), so record
  ``n`` (1-based) is always on physical line ``n + 1`` (line 1 is the header);
* the id of record ``n`` is ``C{n:04d}``; the 4 blank records (a line of only
  commas) have no id, so those numbers are simply missing from the sequence;
* each problem row has exactly one kind of problem (``invalid_both`` rows have
  both a bad email and a bad phone, and nothing else wrong).

Run:  python3 examples/contacts/generate.py
"""

import csv
import io
import json
import os
import random
import re
import unicodedata

SEED = 20240917
RECORDS_TOTAL = 320

HEADER = ["id", "First Name", "Last Name", "E-Mail", "Phone",
          "Company", "Title", "Country", "Notes"]

# How many rows of each problem kind. Everything else is valid.
N_MALFORMED = 3
N_BLANK = 4
N_INVALID_EMAIL = 14
N_INVALID_PHONE = 11
N_MISSING_EMAIL = 6
N_INVALID_BOTH = 2

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "data")
CSV_PATH = os.path.join(DATA_DIR, "contacts.csv")
EXPECTED_PATH = os.path.join(DATA_DIR, "EXPECTED.json")

# --------------------------------------------------------------------------
# Source material (all people and companies are fictional).
# --------------------------------------------------------------------------

COUNTRY_WEIGHTS = [("US", 60), ("GB", 10), ("DE", 8), ("FR", 8),
                   ("CA", 8), ("AU", 6)]

FIRST_NAMES = {
    "US": ["James", "Mary", "Robert", "Patricia", "Michael", "Jennifer",
           "David", "Linda", "William", "Elizabeth", "Christopher",
           "Jessica", "Daniel", "Sarah", "Matthew", "Karen", "Anthony",
           "Nancy", "Mark", "Lisa", "DeShawn", "Aaliyah", "Jamal", "Keisha",
           "Carlos", "María", "José", "Guadalupe", "Wei", "Mei", "Hiroshi",
           "Yuki", "Priya", "Rahul", "Anjali", "Minh", "Thanh", "Ji-woo",
           "Min-jun", "Fatima", "Omar", "Aisha", "Olga", "Dmitri",
           "Siobhan", "Connor", "Mary-Ann", "Zoë", "Chloé", "Bob",
           "Tyler", "Brittany", "Kwame", "Ngozi", "Esperanza", "Raúl"],
    "GB": ["Oliver", "Amelia", "Harry", "Isla", "George", "Ava",
           "Siobhan", "Niamh", "Callum", "Rhys", "Eilidh", "Ffion",
           "Hannah", "Mohammed", "Priya", "Alastair", "Imogen", "Declan"],
    "DE": ["Lukas", "Anna", "Jürgen", "Jörg", "Björn", "Katharina",
           "Maximilian", "Lea", "Günther", "Annegret", "Hans-Peter",
           "Mehmet", "Ayşe", "Sören", "Friederike", "Małgorzata"],
    "FR": ["Jean-Luc", "Élodie", "François", "Amélie", "Hélène", "Benoît",
           "Chloé", "Théo", "Loïc", "Maëlle", "Jérôme", "Anaïs", "Karim",
           "Yasmine", "Anne-Sophie", "Gaëlle"],
    "CA": ["Émilie", "Marc-André", "Geneviève", "Liam", "Olivia", "Noah",
           "Aanya", "Gurpreet", "Chen", "Mathéo", "Siobhán", "Kateri"],
    "AU": ["Jack", "Charlotte", "Lachlan", "Matilda", "Mia", "Cooper",
           "Kylie", "Bronwyn", "Hamish", "Ngaio", "Thi", "Dimitri"],
}

LAST_NAMES = {
    "US": ["Smith", "Johnson", "Williams", "Brown", "Jones", "García",
           "Miller", "Davis", "Rodríguez", "Martínez", "Hernández", "Lopez",
           "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
           "Jackson", "Lee", "Nguyen", "Kim", "Patel", "Chen", "O'Neil",
           "O'Connor", "Washington", "Okafor", "Adeyemi", "Kowalski",
           "Nowak", "Ivanova", "Van der Berg", "McAllister", "Smith-Jones",
           "De La Cruz", "Nakamura", "Yamamoto", "Castañeda", "D'Angelo"],
    "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Evans",
           "Roberts", "O'Brien", "McDonald", "Featherstonehaugh", "Ahmed",
           "Khan", "Singh", "Bell", "Ffoulkes", "Campbell-Hughes"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer",
           "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch",
           "Groß", "Yılmaz", "Kaya", "von Bülow", "Özdemir", "Meyer-Lindström"],
    "FR": ["Martin", "Bernard", "Dubois", "Robert", "Richard", "Petit",
           "Durand", "Leroy", "Moreau", "Lefèvre", "Faure", "Girard",
           "Rousseau", "Benali", "Le Gall", "D'Alembert", "Nguyễn"],
    "CA": ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier",
           "Morin", "Lavoie", "Fortin", "MacDonald", "Wong", "Singh",
           "Bélanger", "O'Reilly"],
    "AU": ["Smith", "Jones", "Williams", "Wilson", "Nguyen", "Kelly",
           "Ryan", "Murphy", "O'Sullivan", "Papadopoulos", "Rossi", "Chen",
           "Tran", "McGregor"],
}

COMPANIES = {
    "US": ["Brightwave Analytics", "Redwood Logistics", "Acme, Inc.",
           "Summit Health Partners", "Blue Harbor Capital",
           "Pinecone Robotics", "Granite & Oak LLP", "Lakeside Dental Group",
           "Cobalt Data Systems", "Meridian Biotech", "Ferris Wheel Media",
           "Bluebird Bakery Co.", "Tandem Software, LLC", "Copperline Energy",
           "Silverline Insurance", "Juniper Ridge Consulting",
           "Quill & Ledger Accounting", "Mesa Verde Solar",
           "Hudson Street Legal", "Prairie Wind Farms"],
    "GB": ["Thames Valley Interiors Ltd", "Albion & Finch LLP",
           "Kestrel Consulting Ltd", "Highland Byte Ltd",
           "Marlow Print Works", "Penrose Mobility plc"],
    "DE": ["Nordlicht Software GmbH", "Müller & Söhne KG",
           "Bergmann Maschinenbau AG", "Rheinblick Logistik GmbH",
           "Grünwald Energie GmbH"],
    "FR": ["Café Lumière SARL", "Atelier Sorel", "Lumen Conseil SAS",
           "Boulangerie Delacroix", "Vigneron & Fils", "Éditions du Quai"],
    "CA": ["Northern Pike Software", "Laurentian Data Inc.",
           "Boréal Conseil inc.", "Fraser River Outfitters"],
    "AU": ["Southern Cross Freight Pty Ltd", "Wattle & Gum Design",
           "Coral Coast Solar Pty Ltd", "Bondi Byte Pty Ltd"],
}

TITLES = {
    "en": ["Chief Executive Officer", "CEO", "VP of Sales",
           "Vice President, Marketing", "Head of Partnerships",
           "Account Executive", "Senior Software Engineer",
           "Sr. Software Engineer", "Office Manager", "Procurement Lead",
           "Director of Operations", "CFO", "HR Business Partner",
           "Customer Success Manager", "Data Scientist", "Product Manager",
           "Marketing Coordinator", "Founder & CEO", "Managing Director",
           "Paralegal", "Sales Rep", "Intern", "Co-Founder / CTO",
           "IT Administrator", "Executive Assistant to the CEO",
           "Lead Architect", "Buyer"],
    "DE": ["Geschäftsführer", "Teamleiter Vertrieb", "Einkäuferin",
           "Softwareentwickler", "Leiterin Marketing"],
    "FR": ["Directrice Commerciale", "Responsable Achats",
           "Ingénieur Logiciel", "Chef de projet", "Gérant"],
}

NOTES = [
    "Met at SaaStr 2023",
    'Prefers "Bob", not "Robert"',
    "Call after 3pm ET, not before",
    'Referred by Ana (García & Co.), warm lead',
    "Do not call; email only",
    'Said "send the deck", follow up Friday',
    "Renewal due Q3, budget approved",
    "VIP",
    "Speaks French, English and some German",
    "Out of office until 2024-03-01",
    'Asked for the "enterprise" tier',
    "Moved from Acme, Inc. last spring",
    "Likes golf; two kids",
    "Unsubscribed from newsletter",
    "Tel. nur vormittags",
    "Préfère le contact par e-mail",
    "Wrong number? Check with Lisa",
    'Nickname "Mac"',
    "Decision maker, but slow to reply",
    "50% discount promised (see thread)",
    "Gatekeeper: ask for the assistant, then escalate",
    'Wrote: "we\'ll revisit in January, maybe February"',
]

EMAIL_DOMAINS = ["example.com", "example.org", "example.net",
                 "mail.example.com"]

# Real, long-established geographic area codes, so that the numbers made
# from them are valid for libphonenumber.
US_AREA_CODES = ["415", "212", "312", "617", "206", "512", "303", "404",
                 "713", "305", "602", "503", "919", "615", "720", "646",
                 "310", "469"]
CA_AREA_CODES = ["416", "604", "514", "403", "613"]

# --------------------------------------------------------------------------
# Problem values. Each one is invalid under any reasonable validator (not
# just a strict one); the throwaway check script confirms it.
# --------------------------------------------------------------------------

def invalid_email_values(local, first, last, domain):
    """Deterministic list of invalid spellings built from a person's name."""
    label, _, rest = domain.partition(".")
    return [
        f"{local}@",                              # no domain
        f"@{domain}",                             # no local part
        f"{first} {last}@{domain}",               # space in local part
        f"{local}@@{domain}",                     # double @
        f"{local}.{domain}",                      # no @ at all
        f"{local}@{label}..{rest}",               # empty domain label
        f"{local}@{label[:3]} {label[3:]}.{rest}",  # space in domain
        f"{local}@.{domain}",                     # domain starts with a dot
        f"{local}@{label},{rest}",                # comma instead of dot
        f"mailto:{local}@{domain}",               # pasted link
        f"{local}@{domain};info@{domain}",        # two addresses in one
        f"{local}(at){domain}",                   # obfuscated @
        f"{local} @ {domain}",                    # spaces around @
        f"{local}#{domain}",                      # typo for @
        f"{local}@{domain}@",                     # trailing extra @
        f"{local}@ {domain}",                     # space after @
    ]


INVALID_PHONES = [
    "12345", "555-CALL-NOW", "+1 000 000 0000", "N/A", "+1 415 123 4567",
    "(999) 234-5678", "tbd", "000-000-0000", "415-234-567",
    "ask reception", "1234567890123456", "#N/A", "+44 20 1234",
]

MISSING_EMAIL_VALUES = ["", " ", "   ", "\t", " \t ", ""]

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

_TRANSLIT = {"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae",
             "Æ": "AE", "đ": "d", "Đ": "D", "ı": "i", "œ": "oe", "Œ": "OE"}


def ascii_slug(text):
    """'Müller-Lindström' -> 'muller-lindstrom'; "O'Neil" -> 'oneil'."""
    text = "".join(_TRANSLIT.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace(" ", "")
    return re.sub(r"[^a-z0-9-]", "", text)


def weighted_choice(rng, pairs):
    total = sum(w for _, w in pairs)
    r = rng.randrange(total)
    for value, weight in pairs:
        if r < weight:
            return value
        r -= weight
    raise AssertionError("unreachable")


def us_number(rng):
    """(area, exchange, line) for a valid US number: exchange 2xx-9xx, not
    N11 and not 555."""
    area = rng.choice(US_AREA_CODES)
    while True:
        exchange = rng.randrange(200, 1000)
        if exchange % 100 == 11 or exchange == 555:
            continue
        break
    return area, f"{exchange:03d}", f"{rng.randrange(10000):04d}"


def format_us(rng, area, exch, line):
    style = rng.randrange(9)
    return [
        f"({area}) {exch}-{line}",
        f"{area}.{exch}.{line}",
        f"{area}-{exch}-{line}",
        f"1-{area}-{exch}-{line}",
        f"+1 {area} {exch} {line}",
        f"{area}{exch}{line}",
        f"{area} {exch} {line}",
        f"+1 ({area}) {exch}-{line}",
        f"+1-{area}-{exch}-{line}",
    ][style]


def valid_phone(rng, country):
    """A valid phone for the country. Only US numbers may lack a '+'.

    Deliberately avoided, although libphonenumber accepts them: the
    '+44 (0)20 ...' style and international numbers whose national part is
    10+ digits starting with '1' (e.g. German mobiles '+49 151 ...'). The
    Rust `phonenumber` crate (0.3.x), parsing with default region US, keeps
    the '0' and strips a leading '1' from such numbers, so it would call
    them invalid.
    """
    if country == "US":
        return format_us(rng, *us_number(rng))
    d = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    nz = lambda: str(rng.randrange(2, 10))  # noqa: E731  (2-9)
    if country == "CA":
        area = rng.choice(CA_AREA_CODES)
        while True:
            exch = rng.randrange(200, 1000)
            if exch % 100 != 11 and exch != 555:
                break
        line = d(4)
        return rng.choice([f"+1 {area} {exch} {line}",
                           f"+1 ({area}) {exch}-{line}",
                           f"+1-{area}-{exch}-{line}"])
    if country == "GB":
        if rng.randrange(2):   # London 020 7xxx xxxx / 020 3xxx xxxx
            a, b = rng.choice("73") + d(3), d(4)
            return rng.choice([f"+44 20 {a} {b}", f"+4420{a}{b}",
                               f"+44-20-{a}-{b}"])
        a, b = nz() + d(2), d(4)           # Manchester 0161 xxx xxxx
        return rng.choice([f"+44 161 {a} {b}", f"+44 161-{a}-{b}"])
    if country == "DE":
        kind = rng.randrange(3)
        if kind == 0:                      # Berlin 030 + 8 digits
            return rng.choice([f"+49 30 {nz()}{d(7)}",
                               f"+49 30 {nz()}{d(3)} {d(4)}"])
        if kind == 1:                      # Munich 089 + 8 digits
            return f"+49 89 {nz()}{d(7)}"
        return f"+49 40 {nz()}{d(7)}"      # Hamburg 040 + 8 digits
    if country == "FR":
        # Paris 01, south-east 04, mobile 06 [1-8]x (long-standing blocks;
        # 06 9x and most of 07 are only partly allocated).
        first = rng.choice(["1", "4", "6"])
        lead = rng.choice("12345678") if first == "6" else nz()
        groups = [lead + d(1)] + [d(2) for _ in range(3)]
        return rng.choice([f"+33 {first} " + " ".join(groups),
                           f"+33{first}" + "".join(groups),
                           f"+33 {first}." + ".".join(groups)])
    if country == "AU":
        if rng.randrange(2):               # Sydney/Melbourne 0[23] 9xxx xxxx
            return f"+61 {rng.choice('23')} 9{d(3)} {d(4)}"
        # mobile 040x-043x xxx xxx (fully allocated blocks)
        return f"+61 4{rng.choice('0123')}{d(1)} {d(3)} {d(3)}"
    raise ValueError(country)


PADS = [" ", "  ", "\t", " \t", "   ", "\t "]


def pad(rng, value):
    """Add leading and/or trailing spaces/tabs."""
    where = rng.randrange(3)
    lead = rng.choice(PADS) if where in (0, 2) else ""
    trail = rng.choice(PADS) if where in (1, 2) else ""
    return f"{lead}{value}{trail}"


def odd_case(rng, name):
    style = rng.randrange(3)
    if style == 0:
        return name.upper()                       # MARY-ANN
    if style == 1:
        return name.lower()                       # smith
    return name[:1].lower() + name[1:].upper()    # jOHN


def mixed_case_email(rng, email):
    local, domain = email.split("@")
    style = rng.randrange(3)
    if style == 0:
        local = ".".join(p.capitalize() for p in local.split("."))
        domain = domain.split(".")[0].capitalize() + "." + \
            ".".join(domain.split(".")[1:]).upper()
    elif style == 1:
        local, domain = local.upper(), domain.upper()
    else:
        local = ".".join(p.capitalize() for p in local.split("."))
    return f"{local}@{domain}"


# --------------------------------------------------------------------------
# Independent re-check of the written file (stdlib approximations of the
# pipeline's rules; the real libphonenumber check lives outside this script).
# --------------------------------------------------------------------------

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,}}$")


def email_ok(value):
    return bool(EMAIL_RE.match(value.strip()))


def phone_ok(value):
    """Structural check matching the numbering plans used above."""
    v = value.strip()
    if re.search(r"[^0-9+()\-. ]", v):
        return False
    digits = re.sub(r"\D", "", v)
    if v.startswith("+"):
        for cc, pattern in [("1", r"(\d{3})([2-9]\d{2})\d{4}"),
                            ("44", r"(?:20[37]\d{7}|161[2-9]\d{6})"),
                            ("49", r"(?:30|40|89)[2-9]\d{7}"),
                            ("33", r"(?:[14][2-9]|6[1-8])\d{7}"),
                            ("61", r"(?:[23]9\d{7}|4[0-3]\d{7})")]:
            if digits.startswith(cc):
                rest = digits[len(cc):]
                m = re.fullmatch(pattern, rest)
                if not m:
                    return False
                if cc == "1":
                    area = m.group(1)
                    exch = m.group(2)
                    return (area in US_AREA_CODES + CA_AREA_CODES
                            and exch[1:] != "11" and exch != "555")
                return True
        return False
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return False
    area, exch = digits[:3], digits[3:6]
    return (area in US_AREA_CODES and exch[0] in "23456789"
            and exch[1:] != "11" and exch != "555")


def classify(row):
    if len(row) != len(HEADER):
        return "malformed"
    if all(f == "" for f in row):
        return "blank"
    email, phone = row[3], row[4]
    if email.strip() == "":
        return "missing_email"
    bad_email = not email_ok(email)
    bad_phone = phone.strip() != "" and not phone_ok(phone)
    if bad_email and bad_phone:
        return "invalid_both"
    if bad_email:
        return "invalid_email"
    if bad_phone:
        return "invalid_phone"
    return "valid"


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------

def main():
    rng = random.Random(SEED)

    # Which record number gets which problem. Records 1-5 and the last one
    # stay valid so that the file starts and ends with ordinary rows.
    pool = list(range(6, RECORDS_TOTAL))
    picked = rng.sample(pool, N_MALFORMED + N_BLANK + N_INVALID_EMAIL
                        + N_INVALID_PHONE + N_MISSING_EMAIL + N_INVALID_BOTH)
    kinds = {}
    cursor = 0
    for kind, count in [("malformed", N_MALFORMED), ("blank", N_BLANK),
                        ("invalid_email", N_INVALID_EMAIL),
                        ("invalid_phone", N_INVALID_PHONE),
                        ("missing_email", N_MISSING_EMAIL),
                        ("invalid_both", N_INVALID_BOTH)]:
        for n in sorted(picked[cursor:cursor + count]):
            kinds[n] = kind
        cursor += count

    malformed_styles = ["truncated", "unquoted_comma", "missing_columns"]
    bad_email_i = 0
    bad_phone_i = 0
    missing_i = 0
    malformed_i = 0
    used_emails = []          # list, not set: keep everything order-based
    lines = []                # physical lines, without line terminator
    plan = {}                 # record number -> kind
    details = {k: [] for k in ["whitespace_padded", "mixed_case_email",
                               "odd_case_name", "empty_phone",
                               "empty_company", "empty_title",
                               "international_phone", "notes_with_quotes",
                               "notes_with_commas"]}

    def emit(fields):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(fields)
        text = buf.getvalue()
        assert text.endswith("\n") and text.count("\n") == 1, fields
        lines.append(text[:-1])

    emit(HEADER)

    for n in range(1, RECORDS_TOTAL + 1):
        kind = kinds.get(n, "valid")
        plan[n] = kind
        rid = f"C{n:04d}"

        if kind == "blank":
            emit([""] * len(HEADER))
            continue

        country = weighted_choice(rng, COUNTRY_WEIGHTS)
        first = rng.choice(FIRST_NAMES[country])
        last = rng.choice(LAST_NAMES[country])
        company = rng.choice(COMPANIES[country])
        lang = country if country in ("DE", "FR") and rng.randrange(2) else "en"
        title = rng.choice(TITLES[lang])
        notes = rng.choice(NOTES) if rng.randrange(100) < 35 else ""

        # A unique, valid email derived from the name.
        f_s, l_s = ascii_slug(first), ascii_slug(last)
        domain = rng.choice(EMAIL_DOMAINS)
        if rng.randrange(4) == 0:
            domain = ascii_slug(company.split(" ")[0].rstrip(",")) + "." + \
                rng.choice(["example.com", "example.net"])
        local = [f"{f_s}.{l_s}", f"{f_s[0]}{l_s}", f"{f_s}_{l_s}",
                 f"{f_s}", f"{f_s}.{l_s}+crm", f"{l_s}.{f_s}"][rng.randrange(6)]
        email = f"{local}@{domain}"
        k = 2
        while email.lower() in used_emails:
            email = f"{local}{k}@{domain}"
            k += 1
        used_emails.append(email.lower())

        phone = valid_phone(rng, country)
        phone_may_be_empty = kind == "valid"

        if kind == "malformed":
            # Plain values only, so nothing needs quoting and the damage is
            # exactly the field count.
            style = malformed_styles[malformed_i]
            malformed_i += 1
            plain = lambda s: re.sub(r"[,\"\t]", "", s).strip()  # noqa: E731
            company, title = plain(company), plain(title)
            if style == "truncated":           # export cut off: 5 fields
                line = ",".join([rid, first, last, email, phone])
            elif style == "unquoted_comma":    # comma in Notes, unquoted: 10
                line = ",".join([rid, first, last, email, phone, company,
                                 title, country,
                                 "Met at the Berlin fair, wants a demo"])
            else:                              # Company/Title dropped: 7
                line = ",".join([rid, first, last, email, phone, country,
                                 "Imported from old CRM"])
            assert not any(c in line for c in '"\r\n'), line
            lines.append(line)
            continue

        if kind in ("invalid_email", "invalid_both"):
            options = invalid_email_values(local, first, last, domain)
            email = options[bad_email_i % len(options)]
            bad_email_i += 1
        elif kind == "missing_email":
            email = MISSING_EMAIL_VALUES[missing_i]
            missing_i += 1
        if kind in ("invalid_phone", "invalid_both"):
            phone = INVALID_PHONES[bad_phone_i]
            bad_phone_i += 1

        # Mess that keeps the row valid.
        if phone_may_be_empty and rng.randrange(100) < 8:
            phone = ""
            details["empty_phone"].append(rid)
        if rng.randrange(100) < 7:
            company = ""
            details["empty_company"].append(rid)
        if rng.randrange(100) < 9:
            title = ""
            details["empty_title"].append(rid)
        if rng.randrange(100) < 8:
            if rng.randrange(2):
                first = odd_case(rng, first)
            else:
                last = odd_case(rng, last)
            details["odd_case_name"].append(rid)
        if kind not in ("invalid_email", "invalid_both", "missing_email") \
                and rng.randrange(100) < 15:
            email = mixed_case_email(rng, email)
            details["mixed_case_email"].append(rid)

        fields = [rid, first, last, email, phone, company, title, country,
                  notes]
        if rng.randrange(100) < 35:
            # Pad a few of the non-id fields (never the id itself, and never
            # a field that is meant to be empty).
            for i in rng.sample(range(1, len(fields)), rng.randrange(1, 4)):
                if fields[i].strip() != "":
                    fields[i] = pad(rng, fields[i])
            if fields != [rid, first, last, email, phone, company, title,
                          country, notes]:
                details["whitespace_padded"].append(rid)
        if phone.strip().startswith("+") and not phone.strip().startswith("+1"):
            details["international_phone"].append(rid)
        if '"' in notes:
            details["notes_with_quotes"].append(rid)
        if "," in notes:
            details["notes_with_commas"].append(rid)
        emit(fields)

    os.makedirs(DATA_DIR, exist_ok=True)
    with open(CSV_PATH, "w", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(lines) + "\n")

    # ---------------------------------------------------------------------
    # Re-read the file and check every expectation against what is on disk.
    # ---------------------------------------------------------------------
    with open(CSV_PATH, encoding="utf-8", newline="") as fh:
        raw = fh.read()
    physical = raw.split("\n")
    assert physical[-1] == "" and "\r" not in raw
    physical = physical[:-1]
    assert len(physical) == RECORDS_TOTAL + 1, len(physical)

    with open(CSV_PATH, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, strict=True))
    assert rows[0] == HEADER, rows[0]
    records = rows[1:]
    assert len(records) == RECORDS_TOTAL, len(records)

    found = {k: [] for k in ["malformed", "blank", "invalid_email",
                             "invalid_phone", "missing_email",
                             "invalid_both", "valid"]}
    seen_ids = []
    for n, row in enumerate(records, start=1):
        line_no = n + 1
        # One record per physical line: the line alone parses to the row.
        assert next(csv.reader([physical[line_no - 1]])) == row, line_no
        kind = classify(row)
        assert kind == plan[n], (n, kind, plan[n], row)
        if kind != "blank":
            assert row[0] == f"C{n:04d}", (n, row[0])
            seen_ids.append(row[0])
        found[kind].append((line_no, row[0]))
    assert len(seen_ids) == len(set(seen_ids))

    expected_counts = {"malformed": N_MALFORMED, "blank": N_BLANK,
                       "invalid_email": N_INVALID_EMAIL,
                       "invalid_phone": N_INVALID_PHONE,
                       "missing_email": N_MISSING_EMAIL,
                       "invalid_both": N_INVALID_BOTH}
    for kind, count in expected_counts.items():
        assert len(found[kind]) == count, (kind, len(found[kind]))
    valid = RECORDS_TOTAL - sum(expected_counts.values())
    assert len(found["valid"]) == valid

    # Valid emails must be unique once cleaned (trim + lowercase).
    clean = [r[3].strip().lower() for r in records
             if len(r) == len(HEADER) and email_ok(r[3])]
    assert len(clean) == len(set(clean))

    expected = {
        "records_total": RECORDS_TOTAL,
        "malformed_rows": [{"line": line, "id": rid}
                           for line, rid in found["malformed"]],
        "blank_rows": [line for line, _ in found["blank"]],
        "invalid_email": [rid for _, rid in found["invalid_email"]],
        "invalid_phone": [rid for _, rid in found["invalid_phone"]],
        "missing_email": [rid for _, rid in found["missing_email"]],
        "invalid_both": [rid for _, rid in found["invalid_both"]],
        "valid": valid,
        # Informational: rows with mess that must still load once cleaned.
        "details": {k: v for k, v in details.items()},
    }
    with open(EXPECTED_PATH, "w", encoding="utf-8", newline="") as fh:
        json.dump(expected, fh, indent=2, ensure_ascii=False)
        fh.write("\n")

    print(f"wrote {os.path.relpath(CSV_PATH)}: {RECORDS_TOTAL} records, "
          f"{valid} valid")
    for kind, count in expected_counts.items():
        print(f"  {kind}: {count}")


if __name__ == "__main__":
    main()
