"""Personal data planted in a real sample is masked on load: nothing personal is stored, so
nothing personal can reach the model, the app or the logs."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.load import load_file
from assistant.warehouse.privacy import KINDS, contains_personal, mask_table, mask_text, prefilter

from .conftest import real

REES46 = "rees46/rees46_2019-Oct_phamhoa2416_sample.csv"


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """The REES46 sample's first 200 rows, with e-mails as user ids, a phone in a brand, an IP in
    a session id and an e-mail in a line too broken to parse."""
    lines = real(REES46).read_text(encoding="utf-8-sig").splitlines()[:201]
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        fields = line.split(",")
        if i % 10 == 0:
            fields[7] = "jane.doe@example.com"  # user_id
        if i == 5:
            fields[5] = "call +1 (555) 123-4567"  # brand
        if i == 7:
            fields[8] = "session-from-192.168.10.77"
        out.append(",".join(fields))
    out.append("2019-10-01 00:00:09 UTC,view,broken line of bob@example.org")
    path = tmp_path / "planted.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def _all_text(warehouse: Warehouse) -> str:
    with warehouse.engine.connect() as conn:
        return "\n".join(
            str(row)
            for table in ("events", "users", "products", "rejected_rows")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}").fetchall()
        )


@pytest.mark.real_data
def test_personal_data_is_masked_before_it_is_stored(tmp_path: Path, planted: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")
    with Warehouse(settings) as warehouse:
        warehouse.ensure_schema()
        report = load_file(warehouse, planted)
        stored = _all_text(warehouse)
        pseudonyms = (
            warehouse.engine.connect()
            .exec_driver_sql("SELECT DISTINCT user_id FROM events WHERE user_id LIKE 'pii_%'")
            .fetchall()
        )
    leaks = [
        line for line in stored.splitlines() if "@" in line or "123-4567" in line or "192.168.10.77" in line
    ]
    assert leaks == []
    assert len(pseudonyms) == 1  # one person, one pseudonym: counts per user still hold
    assert "541312140" in stored  # numeric ids are not phone numbers
    assert "[email]" in stored and "call [phone]" in stored  # spans in free text
    assert stored.count("'pii_") > 20  # whole values in id columns (the IP's session id too)
    assert report.pii_masked == {
        "user_id: email": 20,
        "session_id: ip": 1,
        "brand: phone": 1,
        "raw: email": 1,
    }
    assert report.rows_loaded == 200 and report.rows_rejected == 1


@pytest.mark.real_data
def test_pseudonyms_are_stable_across_loads_and_masking_can_be_turned_off(
    tmp_path: Path, planted: Path
) -> None:
    data = tmp_path / "data"
    ids = []
    for name in ("a", "b"):
        with Warehouse(Settings(data_dir=data, warehouse=name)) as warehouse:
            warehouse.ensure_schema()
            load_file(warehouse, planted)
            ids.append(warehouse.scalar("SELECT min(user_id) FROM events WHERE user_id LIKE 'pii_%'"))
    assert ids[0] == ids[1] and (data / "pii.key").stat().st_mode & 0o077 == 0
    with Warehouse(Settings(data_dir=tmp_path / "other", pii_masking=False)) as warehouse:
        warehouse.ensure_schema()
        report = load_file(warehouse, planted)
        assert report.pii_masked == {}
        assert warehouse.scalar("SELECT count(*) FROM events WHERE user_id = 'jane.doe@example.com'") == 20


# Personal data in the layouts people write it in: (text, the personal part, its kind).
PERSONAL = [
    ("write to jane.doe@example.com today", "jane.doe@example.com", "email"),
    ("JOHN+orders@Mail.Example.co.uk", "JOHN+orders@Mail.Example.co.uk", "email"),
    ('"john doe"@example.com', '"john doe"@example.com', "email"),
    ('"very.(),:;<>[]\\".odd"@strange.example.com', 'odd"@strange.example.com', "email"),
    ("josé@exämple.de", "josé@exämple.de", "email"),
    ("用户@例子.中国", "用户@例子.中国", "email"),
    ("дмитрий@пример.рф", "дмитрий@пример.рф", "email"),
    ("contact: o'brien@example.ie", "o'brien@example.ie", "email"),
    ("user@xn--80ak6aa92e.com", "user@xn--80ak6aa92e.com", "email"),
    ("postmaster@[192.168.0.1]", "postmaster@[192.168.0.1]", "email"),
    ("Jane Doe <jane_doe99@mail.example.org>", "jane_doe99@mail.example.org", "email"),
    ("4111 1111 1111 1111", "4111 1111 1111 1111", "card"),
    ("4111-1111-1111-1111", "4111-1111-1111-1111", "card"),
    ("pay with 4111111111111111 please", "4111111111111111", "card"),
    ("mc 5500 0000 0000 0004", "5500 0000 0000 0004", "card"),
    ("amex 3782 822463 10005", "3782 822463 10005", "card"),
    ("diners 3056 930902 5904", "3056 930902 5904", "card"),
    ("discover 6011 1111 1111 1117 exp 2027", "6011 1111 1111 1117", "card"),
    ("jcb 3530111333300000", "3530111333300000", "card"),
    ("old visa 4222222222222", "4222222222222", "card"),
    ("19 digits 4000 0000 0000 0000 006", "4000 0000 0000 0000 006", "card"),
    ("card:4012888888881881,exp 12/25", "4012888888881881", "card"),
    ("DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00", "iban"),
    ("iban DE89370400440532013000.", "DE89370400440532013000", "iban"),
    ("GB82 WEST 1234 5698 7654 32 thanks", "GB82 WEST 1234 5698 7654 32", "iban"),
    ("gb82west12345698765432", "gb82west12345698765432", "iban"),
    ("FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606", "iban"),
    ("NL91ABNA0417164300", "NL91ABNA0417164300", "iban"),
    ("to BE68 5390 0754 7034 please", "BE68 5390 0754 7034", "iban"),
    ("NO9386011117947", "NO9386011117947", "iban"),
    ("2001:db8::1", "2001:db8::1", "ip"),
    ("from fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a", "ip"),
    ("localhost ::1", "::1", "ip"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "ip"),
    ("mapped ::ffff:192.0.2.128", "::ffff:192.0.2.128", "ip"),
    ("link fe80::1%eth0", "fe80::1%eth0", "ip"),
    ("[2001:db8::2]:8080", "2001:db8::2", "ip"),
    ("from 192.168.10.77", "192.168.10.77", "ip"),
    ("proxy 10.0.0.1:8080", "10.0.0.1", "ip"),
    ("dns 8.8.8.8.", "8.8.8.8", "ip"),
    ("+33 1 23 45 67 89", "+33 1 23 45 67 89", "phone"),
    ("ring +44 20 7946 0958 today", "+44 20 7946 0958", "phone"),
    ("(555) 123-4567", "(555) 123-4567", "phone"),
    ("size 42 (555) 123-4567", "(555) 123-4567", "phone"),
    ("qty 2 020 7946 0958", "020 7946 0958", "phone"),
    ("+49 (0)30 123456", "+49 (0)30 123456", "phone"),
    ("call +1 (555) 123-4567", "+1 (555) 123-4567", "phone"),
    ("555-123-4567", "555-123-4567", "phone"),
    ("1-555-123-4567", "1-555-123-4567", "phone"),
    ("555.123.4567", "555.123.4567", "phone"),
    ("+447946095812", "+447946095812", "phone"),
    ("0044 20 7946 0958", "0044 20 7946 0958", "phone"),
    ("portable 06 12 34 56 78", "06 12 34 56 78", "phone"),
    ("01.23.45.67.89", "01.23.45.67.89", "phone"),
    ("Berlin 030/123456", "030/123456", "phone"),
    ("+7 495 123-45-67", "+7 495 123-45-67", "phone"),
    ("+81 3-1234-5678", "+81 3-1234-5678", "phone"),
    ("+86 138 0013 8000", "+86 138 0013 8000", "phone"),
    ("call 5551234567", "5551234567", "phone"),
    ("tel: 612 34 56 78", "612 34 56 78", "phone"),
    ("WhatsApp +33612345678", "+33612345678", "phone"),
]
# Things that look like personal data and are not: they must stay as written, in free text and
# in id columns. (A four-part version number such as 1.2.3.4 cannot be told from an IPv4 address:
# it is masked; a bare run of digits is an id, not a phone.)
LOOK_ALIKES = [
    "order 100234567",
    "order ORD-2019-000123",
    "product 1234567812345678",  # 16 digits failing Luhn
    "category 2053013552326770905",  # a REES46 category id, failing Luhn
    "EAN 4006381333931",
    "card-like 4111 1111 1111 1112",  # one digit off: Luhn fails
    "DE89370400440532013001",  # one digit off: mod 97 fails
    "price 1,299.99",
    "€ 1.299,00",
    "$12.50 each",
    "2019-10-01",
    "2019-10-01 00:00:09 UTC",
    "2019-10-01T12:30:45Z",
    "01.10.2019 10:30",
    "12/25/2019",
    "version 1.2.3.4.5",
    "build 10.0.19041.1234",
    "v1.2.3.4",
    "SKU-12345-XL",
    "72d76fde-8bb3-4e00-8c23-a032dfed738c",
    "d41d8cd98f00b204e9800998ecf8427e",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "541312140",
    "user 541312140 viewed 44600062",
    "sizes 38 39 40 41 42",
    "MAC 00:1A:2B:3C:4D:5E",
    "opens 09:30-18:00",
    "std::vector",
    "ratio 16:9, 4K 3840x2160",
    "ISBN 978-3-16-148410-0",
    "999.999.999.999",
    "50% off @ the store",
    "Phone 11 64 128 256 512",
    "+15% vs last week",
    "zip 10115",
]


@pytest.mark.parametrize(("text", "secret", "kind"), PERSONAL, ids=[p[0] for p in PERSONAL])
def test_each_kind_of_personal_data_is_masked_in_text(text: str, secret: str, kind: str) -> None:
    masked, counts = mask_text(text)
    assert secret not in masked
    assert counts == {kind: 1}
    assert f"[{kind}]" in masked
    assert mask_text(masked) == (masked, {})  # masking again changes nothing


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_stay(text: str) -> None:
    assert mask_text(text) == (text, {})
    assert not contains_personal(text, identifier=True)


def test_the_corpora_are_large_enough_and_cover_every_kind() -> None:
    assert len(PERSONAL) >= 40 and len(LOOK_ALIKES) >= 25
    assert {kind for _, _, kind in PERSONAL} == set(KINDS)


def test_checksums_decide_cards_and_ibans() -> None:
    for text, secret, kind in PERSONAL:
        if kind not in ("card", "iban"):
            continue
        last = max(i for i, c in enumerate(secret) if c.isdigit())
        broken = secret[:last] + str((int(secret[last]) + 1) % 10) + secret[last + 1 :]
        _, counts = mask_text(text.replace(secret, broken))
        assert kind not in counts, text


def test_id_columns_take_phones_only_with_a_plus_or_separators() -> None:
    for value in ("+33 6 12 34 56 78", "+33612345678", "(555) 123-4567", "020 7946 0958"):
        assert contains_personal(value, identifier=True), value
    for value in ("541312140", "0612345678", "5551234567", "tel 5551234567", "000123456789"):
        assert not contains_personal(value, identifier=True), value
    assert contains_personal("tel 5551234567")  # in free text the phone word makes it a phone


def test_several_data_in_one_text_are_all_masked_and_counted() -> None:
    text = "I am jane@example.com, card 4111 1111 1111 1111, call +44 20 7946 0958 or 555-123-4567"
    assert mask_text(text) == (
        "I am [email], card [card], call [phone] or [phone]",
        {"email": 1, "card": 1, "phone": 2},
    )


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


def _prefilter_passes(con: duckdb.DuckDBPyConnection, text: str, identifier: bool) -> bool:
    return con.execute("SELECT regexp_matches(?, ?)", [text, prefilter(identifier)]).fetchone()[0]


@pytest.mark.real_data
def test_the_sql_prefilter_lets_every_personal_datum_through(duck: duckdb.DuckDBPyConnection) -> None:
    """mask_table runs the detector only on values the RE2 prefilter matches: it must match every
    value the detector would mask, in both modes."""
    values = [text for text, _, _ in PERSONAL] + ["+33 6 12 34 56 78", "1 555 123 4567"]
    for identifier in (False, True):
        missed = [
            v
            for v in values
            if contains_personal(v, identifier=identifier) and not _prefilter_passes(duck, v, identifier)
        ]
        assert missed == []
    # and it is a filter: the sample's ordinary values do not pass it
    rows = [line.split(",") for line in real(REES46).read_text(encoding="utf-8-sig").splitlines()[1:]]
    ordinary = {v for row in rows for v in (row[5], row[7], row[8])}  # brand, user, session
    passed = [v for v in ordinary if _prefilter_passes(duck, v, False)]
    assert len(passed) < len(ordinary) / 50


_ALPHABET = "0123456789 +-.:/()@abefxDE\"'%"


@given(st.text(alphabet=_ALPHABET, min_size=1, max_size=40), st.booleans())
@hsettings(deadline=None)  # examples: the profile's (conftest.py)
def test_the_prefilter_is_looser_than_the_detector_on_random_text(
    duck: duckdb.DuckDBPyConnection, text: str, identifier: bool
) -> None:
    if contains_personal(text, identifier=identifier):
        assert _prefilter_passes(duck, text, identifier), text


def test_mask_table_on_a_connection_again_and_with_nothing_to_mask(duck: duckdb.DuckDBPyConnection) -> None:
    duck.execute("CREATE OR REPLACE TABLE t (user_id VARCHAR, query_text VARCHAR, raw VARCHAR)")
    duck.execute(
        "INSERT INTO t VALUES ('541312140', 'mail jane@example.com', NULL),"
        " ('+33612345678', 'iphone 11 pro', 'x,y,8.8.8.8'), (NULL, NULL, NULL)"
    )
    assert mask_table(duck, "t", ["user_id", "query_text", "raw", "order_id"], "k") == {
        "user_id: phone": 1,
        "query_text: email": 1,
        "raw: ip": 1,
    }
    # registered again on the same connection (a second load): same result, nothing left to mask
    assert mask_table(duck, "t", ["user_id", "query_text", "raw"], "k") == {}
    assert duck.execute("SELECT * FROM t ORDER BY user_id").fetchall() == [
        ("541312140", "mail [email]", None),
        (
            "pii_" + duck.execute("SELECT left(sha256('k+33612345678'), 16)").fetchone()[0],
            "iphone 11 pro",
            "x,y,[ip]",
        ),
        (None, None, None),
    ]
    assert mask_table(duck, "t", ["price"], "k") == {}


# Where the corpus goes in a real load: ids that are personal, ids that only look it.
PERSONAL_IDS = [
    ("user_id", "jane.doe@example.com", "email"),
    ("user_id", "+33 6 12 34 56 78", "phone"),
    ("user_id", "4111111111111111", "card"),
    ("user_id", "DE89370400440532013000", "iban"),
    ("user_id", "2001:db8::1", "ip"),
    ("session_id", "session-from-192.168.10.77", "ip"),
    ("session_id", "fe80::1ff:fe23:4567:890a", "ip"),
    ("session_id", "+44 20 7946 0958", "phone"),
    ("session_id", "card-4111-1111-1111-1111", "card"),
]
LOOK_ALIKE_IDS = [
    ("user_id", "541312140"),
    ("user_id", "0612345678"),
    ("user_id", "4155552671"),
    ("user_id", "1234567812345678"),
    ("user_id", "000123456789"),
    ("session_id", "d41d8cd98f00b204e9800998ecf8427e"),
    ("session_id", "ORD-2019-000123"),
    ("session_id", "1.2.3.4.5"),
    ("session_id", "2019-10-01T12:30:45Z"),
]
# Rows rejected for their event type, with personal data (brand, user id) in their raw text, as
# whole CSV fields between numbers and in a sentence.
REJECTED = [
    ("mail jane.doe@example.com or +44 20 7946 0958", "536995313"),
    ("4111111111111111", "555-123-4567"),
]
# Lines the reader cannot parse (too few fields): their raw text is stored, masked.
BROKEN = [
    ("note jane.doe@example.com", "email"),
    ("card 4111 1111 1111 1111", "card"),
    ("iban DE89 3704 0044 0532 0130 00", "iban"),
    ("host 2001:db8::1", "ip"),
    ("call +33 1 23 45 67 89", "phone"),
    ("user 541312140 on 2019-10-01 at 00:00:09", None),  # a look-alike: stays
]


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    """The REES46 sample with the whole corpus planted: each personal text and each look-alike as
    a brand (free text), the ids above, one row rejected for its event type with personal data in
    it, and broken lines."""
    lines = real(REES46).read_text(encoding="utf-8-sig").splitlines()
    header, rows = lines[0], [line.split(",") for line in lines[1:]]
    planted: list[list[str]] = []
    brands = [text for text, _, _ in PERSONAL] + LOOK_ALIKES
    ids = [(c, v) for c, v, _ in PERSONAL_IDS] + LOOK_ALIKE_IDS
    for i, row in enumerate(rows[: len(brands) + len(ids)]):
        row = list(row)
        if i < len(brands):
            row[5] = brands[i]
        else:
            column, value = ids[i - len(brands)]
            row[7 if column == "user_id" else 8] = value
        planted.append(row)
    for brand, user in REJECTED:  # rejected for the event type; category ids are left out
        rejected = list(rows[-1])
        rejected[1], rejected[3], rejected[5], rejected[7] = "bogus", "", brand, user
        planted.append(rejected)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(header + "\n")
    writer.writerows(planted)
    for text, _ in BROKEN:
        out.write(f"2019-10-01 00:00:09 UTC,view,{text}\n")
    path = tmp_path / "corpus.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _stored_values(warehouse: Warehouse) -> list[str]:
    """Every value stored in the warehouse's tables, as text."""
    with warehouse.engine.connect() as conn:
        return [
            str(value)
            for table in ("events", "users", "products", "rejected_rows", "loads")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}").fetchall()
            for value in row
            if value is not None
        ]


@pytest.mark.real_data
def test_the_corpus_planted_in_a_real_load_leaves_nothing_personal(tmp_path: Path, corpus_file: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")
    with Warehouse(settings) as warehouse:
        warehouse.ensure_schema()
        report = load_file(warehouse, corpus_file)
        stored = "\n".join(_stored_values(warehouse)).lower()
        brands = {r[0] for r in warehouse.engine.connect().exec_driver_sql("SELECT brand FROM events")}
        ids = {
            r
            for r in warehouse.engine.connect().exec_driver_sql("SELECT user_id, session_id FROM events")
            for r in r
        }
        raws = [r[0] for r in warehouse.engine.connect().exec_driver_sql("SELECT raw FROM rejected_rows")]
    secrets = [s for _, s, _ in PERSONAL] + [v for _, v, _ in PERSONAL_IDS] + ["555-123-4567"]
    assert [s for s in secrets if s.lower() in stored] == []
    assert [t for t in LOOK_ALIKES if t.lower() not in brands] == []  # brands are stored lower-cased
    assert [v for _, v in LOOK_ALIKE_IDS if v not in ids] == []
    assert "user 541312140 on 2019-10-01 at 00:00:09" in "\n".join(raws)
    assert any(",[card],161.30,[phone]," in raw for raw in raws)  # whole fields, between numbers
    for kind in KINDS:
        assert f"[{kind}]" in stored  # spans in free text and in rejected lines
    assert sum(v.startswith("pii_") for v in ids) == len(PERSONAL_IDS)
    expected = Counter(f"brand: {kind}" for _, _, kind in PERSONAL)
    expected.update(f"{column}: {kind}" for column, _, kind in PERSONAL_IDS)
    expected.update(f"raw: {kind}" for _, kind in BROKEN if kind)
    # the rows rejected for their event type: their brand and user id (staged) and their raw text
    expected.update(["brand: email", "brand: phone", "raw: email", "raw: phone"])
    expected.update(["brand: card", "user_id: phone", "raw: card", "raw: phone"])
    assert report.pii_masked == dict(expected)
    assert report.rows_rejected == len(REJECTED) + len(BROKEN)
