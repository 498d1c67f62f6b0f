"""Case register and name search: a worker's `GET /cases` and `/worklists` over ten years of a city.

What fills the register. Intake's (the program whose register is searched by name most) gets the
lines of ten years of a city: deploy/town.py's rate of new consultations, 1,800 a year per
100,000 people (3,060 a year in the city of 170,000, 18,000 in a city of a million), times ten.
Each line is a case as the write path leaves it: received on a day of the ten years, in a
district drawn by population, held by the organisation serving that district (deploy/demo.py's
routing) and opened by one of its workers (staff change every three years), with the issue tags
of one of the town's situations (its multi-field share and weights), a status and a last
activity from how long such cases stay open (simple ones about a month, referred ones most of a
year, a few never closed and going quiet: what the worklists are for), and the search terms
intake's `register_entry` makes — the name, kana, birth date and phone of the person and of each
identified household member, through libs.text. Names are generated from common name parts with
a Zipf-like frequency (the commonest surname is about 1.5 % of people, as 佐藤 is nationally), so
a surname typed in kana finds as many lines as it would in a real city.

How it is written: through `Session.save_registers`, the store's own statement for a line
(pipelined), under intake's own blind-index key, then `VACUUM ANALYZE` as autovacuum would have
done over ten years. A larger city is the same city's lines followed by more drawn the same way.

What is measured: each query as a worker sends it, over HTTP with a token (one client, one
request at a time), beside its baseline: the same page read with plain SQL by asyncpg on the same
server. Before timing, every variant of every query is checked to give the same lines both ways.
"""

from __future__ import annotations

import asyncio
import random
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

import asyncpg
import httpx

from deploy.demo import DEFAULT_INTAKE_WORKER, INTAKE_BY_DISTRICT_PREFIX
from deploy.town import (
    CONSULTATIONS_PER_100K,
    MULTI_FIELD,
    MULTI_FIELD_SHARE,
    REFERRED_SHARE_OF_MULTI_FIELD,
    SINGLE_FIELD,
)
from libs import db
from libs.crypto import PersonalDataCipher
from libs.directory import Directory
from libs.domain import RegisterEntry
from libs.eventstore import PostgresEventStore, RegisterWrite
from libs.register import MAX_PAGE
from libs.text import day_terms, name_terms, phone_terms, query_terms
from services.intake.domain.model import Status
from services.intake.entrypoints.register import OPEN
from services.intake.service_layer.handlers import stream_id

YEARS = 10
USER = DEFAULT_INTAKE_WORKER
"""Whose token asks: a worker of the organisation holding the most lines (three of seven districts)."""
PAGE = 50
STAFF = 5
"""Intake workers per organisation; they change every `TURNOVER` days."""
TURNOVER = 3 * 365
WRITERS = 2
"""Connections filling the register at once (one drawing lines while the other's are written)."""

# Name parts (kanji, reading): surnames and given names are pairs of them, ranked at random and
# drawn with weight rank^-0.5, which gives the commonest surname ~1.6 % and the top 100 ~40 %.
_SURNAME_HEADS = (
    "青あお 赤あか 秋あき 浅あさ 荒あら 池いけ 石いし 今いま 岩いわ 上うえ 内うち 大おお 岡おか 金かね 川かわ "
    "北きた 木き 黒くろ 小こ 坂さか 桜さくら 沢さわ 柴しば 島しま 杉すぎ 関せき 高たか 竹たけ 谷たに 中なか "
    "永なが 西にし 野の 橋はし 浜はま 原はら 平ひら 福ふく 藤ふじ 古ふる 堀ほり 前まえ 松まつ 丸まる 宮みや "
    "村むら 森もり 安やす 山やま 横よこ 吉よし 若わか"
)
_SURNAME_TAILS = "田た 野の 川かわ 山やま 本もと 村むら 井い 木き 沢さわ 島しま 原はら 谷たに 崎さき 口ぐち 部べ 橋はし 岡おか 塚つか"
_GIVEN_HEADS = (
    "明あき 和かず 健けん 浩ひろ 直なお 正まさ 幸ゆき 春はる 秀ひで 孝たか 俊とし 良よし 智とも 真ま 陽よう 友とも "
    "悠ゆう 千ち 里さと 恵けい"
)
_GIVEN_TAILS = "郎ろう 太た 介すけ 也や 樹き 人と 子こ 美み 代よ 香か 奈な 江え"


def _parts(text: str) -> list[tuple[str, str]]:
    return [(p[0], p[1:]) for p in text.split()]


def _names(heads: str, tails: str, seed: int) -> tuple[list[tuple[str, str]], list[float]]:
    """Every pairing of a head and a tail, and their cumulative weights (for `random.choices`)."""
    names = [(h + t, hk + tk) for h, hk in _parts(heads) for t, tk in _parts(tails) if h != t]
    random.Random(seed).shuffle(names)
    return names, list(accumulate(rank**-0.5 for rank in range(1, len(names) + 1)))


def _katakana(hiragana: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in hiragana)


def lines_for(population: int) -> int:
    """Ten years of new consultations in a city of `population` (deploy/town.py's yearly rate)."""
    return YEARS * round(CONSULTATIONS_PER_100K * population / 100_000)


@dataclass(frozen=True)
class Person:
    """Someone a worker of the measured organisation may look up (kept to search for them)."""

    surname_kana: str
    name_kana: str
    birth_date: date


@dataclass
class City:
    """The register lines of a city over ten years up to `today`, drawn one after another."""

    today: date
    directory: Directory
    seed: int = 2026
    drawn: int = 0
    people: list[Person] = field(default_factory=list)
    """Everyone in a line of the measured organisation, in the order drawn."""

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._surnames = _names(_SURNAME_HEADS, _SURNAME_TAILS, self.seed + 1)
        self._given = _names(_GIVEN_HEADS, _GIVEN_TAILS, self.seed + 2)
        districts = list(self.directory.districts.values())
        self._districts = [d.code for d in districts], list(accumulate(d.population for d in districts))
        self._situations = {
            multi: (group, list(accumulate(s.weight for s in group)))
            for multi, group in ((True, MULTI_FIELD), (False, SINGLE_FIELD))
        }
        self._worker = {
            d.code: INTAKE_BY_DISTRICT_PREFIX.get(d.code.split("-")[0], DEFAULT_INTAKE_WORKER)
            for d in districts
        }
        self.organisation = self.directory.users[USER].organisation

    def draw(self, count: int) -> list[RegisterWrite]:
        return [self._line() for _ in range(count)]

    def _name(self, names: tuple[list[tuple[str, str]], list[float]]) -> tuple[str, str]:
        return self._rng.choices(names[0], cum_weights=names[1])[0]

    def _line(self) -> RegisterWrite:
        rng = self._rng
        self.drawn += 1
        age_days = rng.randrange(YEARS * 365)
        received = self.today - timedelta(days=age_days)
        multi = rng.random() < MULTI_FIELD_SHARE
        group, weights = self._situations[multi]
        situation = rng.choices(group, cum_weights=weights)[0]
        district = rng.choices(self._districts[0], cum_weights=self._districts[1])[0]
        user = self._worker[district]
        organisation = self.directory.users[user].organisation
        position = rng.randrange(STAFF)
        era = age_days // TURNOVER
        prefix = user.split("-")[0]
        worker = user if (position, era) == (0, 0) else f"{prefix}-staff-{position}-{era}"

        surname, surname_kana = self._name(self._surnames)
        given, given_kana = self._name(self._given)
        age = rng.randint(*situation.ages)
        born = date(received.year - age, rng.randint(1, 12), rng.randint(1, 28))
        kana = f"{_katakana(surname_kana)} {_katakana(given_kana)}"
        phone = (
            f"000-{rng.randrange(10_000):04d}-{rng.randrange(10_000):04d}" if rng.random() < 0.85 else None
        )
        people = [(f"{surname} {given}", kana, born, phone)]
        for _, ages in situation.household:
            if rng.random() < 0.6:  # a member identified (name, kana, birth date), as intake records one
                member, member_kana = self._name(self._given)
                age = rng.randint(*ages)
                day = date(received.year - age, rng.randint(1, 12), rng.randint(1, 28))
                people.append(
                    (f"{surname} {member}", f"{kana.split()[0]} {_katakana(member_kana)}", day, None)
                )
        # As intake's register_entry: every identified person's terms, each term once.
        search = tuple(
            dict.fromkeys(
                term
                for name, name_kana, day, number in people
                for term in name_terms(name, name_kana) + day_terms(day) + phone_terms(number)
            )
        )

        status, last = self._course(received, multi, rng)
        case_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        if organisation == self.organisation:
            self.people.append(Person(surname_kana, kana, born))
        entry = RegisterEntry(
            case_id=case_id,
            case_key=case_id,
            organisation=organisation,
            status=status,
            district=district,
            issue_tags=tuple(sorted(t.value for t in situation.tags)),
            opened_on=received,
            last_activity_on=last,
            subject_ref=f"subj_{rng.getrandbits(128):032x}",
            search=search,
        )
        return RegisterWrite(stream_id(case_id), entry, rng.randint(2, 14), worker)

    def _course(self, received: date, multi: bool, rng: random.Random) -> tuple[str, date]:
        """Status and last activity today: closed after a while drawn by kind, or still open."""
        referred = multi and rng.random() < REFERRED_SHARE_OF_MULTI_FIELD
        lasting = rng.random() < (0.05 if multi else 0.02)
        mean_days = 240 if referred else 90 if multi else 30
        if not lasting:
            closed = received + timedelta(days=1 + round(rng.expovariate(1 / mean_days)))
            if closed <= self.today:
                return Status.CLOSED.value, closed
        quiet = round(rng.expovariate(1 / (60 if lasting else 12)))
        last = max(received, self.today - timedelta(days=quiet))
        if not referred:
            return Status.OPEN.value, last
        accepted = received + timedelta(days=rng.randint(0, 14) + rng.randint(2, 14))
        if self.today < accepted:
            return Status.REFERRED.value, last
        return (Status.RETURNED if rng.random() < 0.05 else Status.IN_COORDINATION).value, last


@dataclass(frozen=True)
class Fill:
    lines: int
    added: int
    tokens: int
    seconds: float
    vacuum_seconds: float


async def fill(url: str, cipher: PersonalDataCipher, city: City, total: int, batch: int = 2_000) -> Fill:
    """Draw lines until intake's register holds `total` (whatever the demo or the write path put
    there counts), write them as the write path would, then vacuum and analyse."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    engine = db.create_engine(url, pool_size=WRITERS)
    store = PostgresEventStore(engine, cipher)
    try:
        need = max(0, total - await conn.fetchval("SELECT count(*) FROM case_register"))
        began = time.perf_counter()
        added = tokens = 0

        async def writer() -> None:
            # While one writer's batch is in the database, the other draws its next one.
            nonlocal added, tokens
            while added < need:
                lines = city.draw(min(batch, need - added))
                added += len(lines)
                tokens += sum(len(line.entry.search) for line in lines)
                async with store.transaction() as session:
                    await session.save_registers(lines)

        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        seconds = time.perf_counter() - began
        vacuumed = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) case_register, case_search")
        vacuum_seconds = time.perf_counter() - vacuumed
        lines_now = await conn.fetchval("SELECT count(*) FROM case_register")
    finally:
        await engine.dispose()
        await conn.close()
    return Fill(lines_now, added, tokens, seconds, vacuum_seconds)


# --- the queries --------------------------------------------------------------------------------

_COLUMNS = (
    "case_id, case_key, status, organisation, worker, district, issue_tags, opened_on, "
    "last_activity_on, due_on, version, consent_expires_on"
)
_FROM = "case_register LEFT JOIN case_register_consent USING (case_key)"
_NEWEST = f"ORDER BY coalesce(opened_on, DATE '0001-01-01') DESC, case_id DESC LIMIT {PAGE + 1}"
_LATEST_ACTIVITY = (
    f"ORDER BY coalesce(last_activity_on, DATE '0001-01-01') DESC, case_id DESC LIMIT {PAGE + 1}"
)
_OLDEST_ACTIVITY = f"ORDER BY coalesce(last_activity_on, DATE '9999-12-31'), case_id LIMIT {PAGE + 1}"
_SEARCH = "stream_id IN (SELECT stream_id FROM case_search WHERE token = ANY($2::bytea[]))"
TAGS = ("8050", "hikikomori", "elderly_care", "poverty_debt")


@dataclass(frozen=True)
class Variant:
    """One request of a query: its query string, and the baseline SQL's arguments for the same page."""

    params: dict[str, Any]
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    """A question a worker asks, as HTTP and as the plain SQL that returns the same page."""

    name: str
    label: str
    path: str
    sql: str
    variants: list[Variant]


def _sql(where: str, order: str = _NEWEST) -> str:
    return f"SELECT {_COLUMNS} FROM {_FROM} WHERE organisation = $1 AND {where} {order}"  # noqa: S608


async def _get(client: httpx.AsyncClient, path: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await client.get(path, params=params, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


async def queries(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    conn: asyncpg.Connection,
    city: City,
    cipher: PersonalDataCipher,
    today: date,
) -> list[Query]:
    """The questions, each with its variants; names and birth dates are of people the
    organisation holds, and the deep pages' cursors are the service's own, from walking the list."""
    org = city.organisation
    rng = random.Random(city.seed + city.drawn)
    open_ = list(OPEN)
    districts = sorted({d for d, user in city._worker.items() if user == USER})
    people = rng.sample(city.people, min(40, len(city.people)))
    held = await conn.fetchval("SELECT count(*) FROM case_register WHERE organisation = $1", org)

    def typed_name(n: int, p: Person) -> str:
        # As workers type: in katakana, in hiragana without the space, or half-width.
        return (p.name_kana, hiragana(p.name_kana), half_width(p.name_kana))[n % 3]

    def typed_day(n: int, day: date) -> str:
        return (f"{day:%Y-%m-%d}", f"{day:%Y%m%d}", f"{day.year}年{day.month}月{day.day}日")[n % 3]

    def search(q: str) -> Variant:
        return Variant({"q": q, "limit": PAGE}, (org, [cipher.blind(t) for t in query_terms(q)]))

    return [
        Query(
            "open_by_activity",
            "open cases, latest activity first",
            "/cases",
            _sql("status = ANY($2::text[])", _LATEST_ACTIVITY),
            [Variant({"status": open_, "sort": "last_activity_on", "limit": PAGE}, (org, open_))],
        ),
        Query(
            "district_and_tag",
            "by district and issue tag",
            "/cases",
            _sql("district = $2 AND $3 = ANY(issue_tags)"),
            [
                Variant({"district": d, "issue_tag": t, "limit": PAGE}, (org, d, t))
                for d in districts
                for t in TAGS
            ],
        ),
        Query(
            "deep_page",
            "a page deep in the list (cursor)",
            "/cases",
            _sql("(coalesce(opened_on, DATE '0001-01-01'), case_id) < ($2::date, $3::uuid)"),
            await _deep_cursors(client, headers, org, held),
        ),
        Query(
            "my_cases",
            "worklist: my cases",
            "/worklists/my_cases",
            _sql("status = ANY($2::text[]) AND worker = $3", _OLDEST_ACTIVITY),
            [Variant({"limit": PAGE}, (org, open_, USER))],
        ),
        Query(
            "quiet_30_days",
            "worklist: no activity for 30 days",
            "/worklists/quiet_30_days",
            _sql("status = ANY($2::text[]) AND last_activity_on <= $3", _OLDEST_ACTIVITY),
            [Variant({"limit": PAGE}, (org, open_, today - timedelta(days=30)))],
        ),
        Query(
            "name_kana",
            "name search in kana",
            "/cases",
            _sql(_SEARCH),
            [search(typed_name(n, p)) for n, p in enumerate(people)],
        ),
        # Everyone of that family name, the common ones as often as they are common (the
        # people are drawn at random): the search with the most lines to sort through.
        Query(
            "surname_kana",
            "surname-only search in kana",
            "/cases",
            _sql(_SEARCH),
            [search(p.surname_kana) for p in people],
        ),
        Query(
            "birth_date",
            "birth-date search",
            "/cases",
            _sql(_SEARCH),
            [search(typed_day(n, p.birth_date)) for n, p in enumerate(people)],
        ),
    ]


async def _deep_cursors(
    client: httpx.AsyncClient, headers: dict[str, str], org: str, held: int, wanted: int = 20
) -> list[Variant]:
    """Walk the whole list as a client pages through it, keeping the cursors past its middle."""
    size = max(1, min(MAX_PAGE, held // 40))
    found: list[Variant] = []
    seen, cursor = 0, None
    while True:
        page = await _get(
            client, "/cases", {"limit": size, **({"cursor": cursor} if cursor else {})}, headers
        )
        seen += len(page["cases"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if seen >= held / 2:
            last = page["cases"][-1]
            opened = date.fromisoformat(last["opened_on"]) if last["opened_on"] else date(1, 1, 1)
            found.append(
                Variant({"cursor": cursor, "limit": PAGE}, (org, opened, uuid.UUID(last["case_id"])))
            )
    step = max(1, len(found) // wanted)
    return found[::step][:wanted]


def hiragana(katakana: str) -> str:
    """The kana as typed in hiragana, without the space between the names."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in katakana if not c.isspace())


_FULL = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォャュョッー"
_HALF = dict(zip(_FULL, "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｬｭｮｯｰ", strict=True))
_HALF |= {"\u3099": "ﾞ", "\u309a": "ﾟ"}  # the sound marks, once NFD has split them off (ガ → カ + ゛)


def half_width(katakana: str) -> str:
    """The kana as a half-width keyboard types it (ﾊﾏｻｷ ｱｷﾗ)."""
    return "".join(_HALF.get(c, c) for c in unicodedata.normalize("NFD", katakana))


# --- measuring ----------------------------------------------------------------------------------


def _ids(page: Any) -> tuple[list[str], bool]:
    return [line["case_id"] for line in page["cases"]], page["next_cursor"] is not None


async def check_same_pages(
    client: httpx.AsyncClient, headers: dict[str, str], conn: asyncpg.Connection, query: Query
) -> None:
    """Every variant gives the same lines, and the same "there is more", both ways."""
    for v in query.variants:
        http = _ids(await _get(client, query.path, v.params, headers))
        rows = await conn.fetch(query.sql, *v.args)
        sql = [str(r["case_id"]) for r in rows[:PAGE]], len(rows) > PAGE
        if http != sql:
            raise RuntimeError(
                f"{query.name} {v.params}: HTTP and SQL pages differ ({len(http[0])} vs {len(sql[0])} lines)"
            )


async def http_run(
    client: httpx.AsyncClient, headers: dict[str, str], query: Query, requests: int
) -> list[float]:
    """Latencies of `requests` requests, one after another, cycling through the variants."""
    latencies = []
    for n in range(requests):
        v = query.variants[n % len(query.variants)]
        sent = time.perf_counter()
        response = await client.get(query.path, params=v.params, headers=headers)
        latencies.append(time.perf_counter() - sent)
        if response.status_code != 200:
            raise RuntimeError(f"GET {query.path}: HTTP {response.status_code} {response.text[:300]}")
    return latencies


async def floor_run(client: httpx.AsyncClient, headers: dict[str, str], requests: int) -> list[float]:
    """What any request costs here: a path no route has (404 before any authentication)."""
    latencies = []
    for _ in range(requests):
        sent = time.perf_counter()
        response = await client.get("/bench/no-such-route", headers=headers)
        latencies.append(time.perf_counter() - sent)
        if response.status_code != 404:
            raise RuntimeError(f"GET /bench/no-such-route: HTTP {response.status_code}")
    return latencies


async def sql_run(conn: asyncpg.Connection, query: Query, requests: int) -> list[float]:
    """The baseline: the same pages by plain SQL (asyncpg prepares and caches the statement)."""
    latencies = []
    for n in range(requests):
        v = query.variants[n % len(query.variants)]
        sent = time.perf_counter()
        await conn.fetch(query.sql, *v.args)
        latencies.append(time.perf_counter() - sent)
    return latencies


async def explain(conn: asyncpg.Connection, query: Query) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the first variant's SQL: where the database's part of the time goes."""
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query.sql}", *query.variants[0].args)
    lines = [r[0] for r in rows]
    execution = next((float(x.split()[-2]) for x in lines if x.startswith("Execution Time")), None)
    return {
        "execution_ms": execution,
        "plan": [x for x in lines if not x.startswith(("Planning", "Execution"))],
    }
