"""Fetch ClinicalTrials.gov API v2 study records into a review's folder (``inflamed fetch ctgov``).

A living review brings registry results in with one command; the pipeline then reads only the
saved copies, so a run without internet is exactly reproducible.

* Request ``<base-url>/studies/<NCT id>`` (the public API v2 path; default base URL
  :data:`DEFAULT_BASE_URL`) for each trial: the ids given, or every ``NCT`` number in the
  ``registry_id`` column of the review's ``studies.csv`` (read only).
* Save the body unchanged (the bytes as received, after HTTP content decoding) as
  ``<review>/registry/<NCT>.json``, atomically, and only when it is a JSON record of the trial
  asked for with a results section. A failed, malformed or results-less response never replaces
  an earlier saved copy.
* Append one row per request to ``<review>/registry/fetch_log.tsv`` (:data:`LOG_COLUMNS`):
  retrieval time (UTC), URL, HTTP status, sha256 and size of the body, outcome and a one-line
  message. The log is the only file that holds a time; nothing the pipeline reads does.
* Compare each new copy with the previous one (:mod:`inflamed.ingest.registry_diff`) and report
  what is new or changed, by trial and outcome measure.

Rate limits and server errors (HTTP 429 and 5xx) and network failures are retried with
exponential back-off that honours ``Retry-After``, bounded per wait and in total
(:class:`RetryPolicy`); other HTTP errors (404: no such record) are not retried.
"""

from __future__ import annotations

import csv
import email.utils
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from inflamed import __version__
from inflamed.errors import InputError
from inflamed.ingest.registry import REGISTRY_DIR, load_registry
from inflamed.ingest.registry_diff import RecordDiff, diff_records
from inflamed.io import write_bytes, write_text

__all__ = [
    "DEFAULT_BASE_URL",
    "LOG_COLUMNS",
    "FetchResult",
    "RetryPolicy",
    "fetch_ctgov",
    "registry_ids",
    "summary_lines",
]

#: Root of the public ClinicalTrials.gov API v2.
DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2"
FETCH_LOG = "fetch_log.tsv"
LOG_COLUMNS = (
    "retrieved_utc",
    "nct_id",
    "url",
    "http_status",
    "sha256",
    "bytes",
    "outcome",
    "message",
)
NCT_ID = re.compile(r"NCT\d{8}")
#: Outcomes after which the saved copy is the record just received.
SAVED = ("new", "changed", "unchanged")
#: Statuses worth asking again: rate limited, or the server failed.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How patiently to ask.

    Attributes
    ----------
    attempts
        Requests per record at most (the first one included).
    backoff_s
        First wait; each further wait doubles it (unless the server sends ``Retry-After``).
    max_wait_s
        Longest single wait; a ``Retry-After`` asking for more stops the record's retries.
    max_total_s
        Longest sum of waits per record.
    timeout_s
        Connect and read timeout of each request.
    """

    attempts: int = 4
    backoff_s: float = 1.0
    max_wait_s: float = 30.0
    max_total_s: float = 60.0
    timeout_s: float = 30.0


@dataclass(frozen=True)
class FetchResult:
    """What happened to one trial's record.

    ``outcome`` is one of ``new`` (first saved copy), ``changed``, ``unchanged`` (saved copy
    kept, the body was identical), ``not-found``, ``http-error``, ``network-error``,
    ``malformed-json``, ``wrong-record`` or ``no-results`` (the last six keep any earlier copy).
    """

    nct_id: str
    url: str
    outcome: str
    message: str
    http_status: int | None = None
    sha256: str = ""
    n_bytes: int = 0
    attempts: int = 0
    diff: RecordDiff | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.outcome in SAVED


@dataclass(frozen=True)
class _Response:
    status: int | None
    body: bytes
    error: str
    attempts: int


def registry_ids(studies_csv: str | Path) -> list[str]:
    """The NCT numbers in the ``registry_id`` column of a studies sheet (sorted, unique)."""
    path = Path(studies_csv)
    if not path.is_file():
        raise InputError("studies sheet not found", file=str(path), expected="studies.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if "registry_id" not in (reader.fieldnames or []):
            raise InputError(
                "no registry_id column",
                file=str(path),
                column="registry_id",
                expected="a registry_id column holding NCT numbers",
            )
        ids = {m for row in reader for m in NCT_ID.findall(row.get("registry_id") or "")}
    return sorted(ids)


def _retry_after(value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _get(
    session: requests.Session, url: str, policy: RetryPolicy, sleep: Callable[[float], None]
) -> _Response:
    waited = 0.0
    status: int | None = None
    error = ""
    for attempt in range(1, policy.attempts + 1):
        retry_after = None
        try:
            response = session.get(url, timeout=policy.timeout_s)
            status, body = response.status_code, response.content
            if status not in RETRY_STATUSES:
                return _Response(status, body, "", attempt)
            error = f"HTTP {status}" + (f" {response.reason}" if response.reason else "")
            retry_after = _retry_after(response.headers.get("Retry-After"))
        except requests.Timeout:
            status, error = None, f"no response within {policy.timeout_s:g} s"
        except requests.RequestException as exc:
            # Connection refused, DNS failure, a body cut short: the first line says which.
            first = (str(exc).splitlines() or [""])[0][:200]
            status, error = None, f"{type(exc).__name__}: {first}"
        if attempt == policy.attempts:
            break
        if retry_after is None:
            wait = min(policy.backoff_s * 2 ** (attempt - 1), policy.max_wait_s)
        else:
            wait = retry_after
        if wait > policy.max_wait_s:  # only a server's Retry-After can ask for more
            error += f"; the server asks to wait {wait:g} s, more than the {policy.max_wait_s:g} s allowed"
            return _Response(status, b"", error, attempt)
        if waited + wait > policy.max_total_s:
            break
        sleep(wait)
        waited += wait
    return _Response(status, b"", f"{error} (gave up after {attempt} attempt(s))", attempt)


def _read_log(path: Path) -> str:
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return "\t".join(LOG_COLUMNS) + "\n"


def _log_row(result: FetchResult, when: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(
        [
            when,
            result.nct_id,
            result.url,
            "" if result.http_status is None else result.http_status,
            result.sha256,
            result.n_bytes,
            result.outcome,
            result.message,
        ]
    )
    return buffer.getvalue()


def _check(nct: str, body: bytes) -> tuple[str, str, dict[str, Any] | None]:
    """Outcome, message and parsed record of a 200 body that is not yet known to be usable."""
    try:
        record = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return "malformed-json", f"the body is not UTF-8 ({exc.reason} at byte {exc.start})", None
    except json.JSONDecodeError as exc:
        return (
            "malformed-json",
            f"malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; "
            f"{len(body)} bytes received)",
            None,
        )
    if not isinstance(record, dict):
        return "malformed-json", "the JSON is not a study record (not an object)", None
    got = ((record.get("protocolSection") or {}).get("identificationModule") or {}).get("nctId")
    if got != nct:
        return "wrong-record", f"the record is {got!r}, not {nct}", None
    if not record.get("resultsSection"):
        return "no-results", "the record has no posted results (no resultsSection)", None
    return "", "", record


def fetch_ctgov(
    review_folder: str | Path,
    nct_ids: Iterable[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    policy: RetryPolicy = RetryPolicy(),
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[FetchResult]:
    """Download each trial's API v2 record into ``<review_folder>/registry/``.

    Parameters
    ----------
    review_folder
        The review's folder; only its ``registry/`` sub-folder is written.
    nct_ids
        NCT numbers (``NCT`` + 8 digits); fetched in sorted order, duplicates once.
    base_url
        API root; ``<base_url>/studies/<NCT>`` is requested.
    policy
        Retries, back-off and timeouts.
    session, sleep, clock
        Injected for tests (a ``requests.Session``, the wait function, the UTC clock).

    Returns
    -------
    list of FetchResult
        One per trial, in sorted order. Every request also gets a row in the fetch log.

    Raises
    ------
    InputError
        An id that is not an NCT number.
    """
    ids = sorted(set(nct_ids))
    for nct in ids:
        if not re.fullmatch(NCT_ID, nct):
            raise InputError(
                "not a ClinicalTrials.gov id", value=nct, expected="NCT followed by 8 digits"
            )
    folder = Path(review_folder) / REGISTRY_DIR
    log_path = folder / FETCH_LOG
    own = session is None
    session = session or requests.Session()
    session.headers.update(
        {"Accept": "application/json", "User-Agent": f"inflamed/{__version__} (living review)"}
    )
    results = []
    try:
        for nct in ids:
            url = f"{base_url.rstrip('/')}/studies/{nct}"
            got = _get(session, url, policy, sleep)
            body = got.body
            digest = hashlib.sha256(body).hexdigest() if got.status == 200 else ""
            common: dict[str, Any] = dict(
                nct_id=nct, url=url, http_status=got.status, sha256=digest,
                n_bytes=len(body), attempts=got.attempts,
            )  # fmt: skip
            target = folder / f"{nct}.json"
            kept = " (the earlier saved copy is kept)" if target.is_file() else ""
            if got.error:
                outcome = "http-error" if got.status is not None else "network-error"
                result = FetchResult(outcome=outcome, message=got.error + kept, **common)
            elif got.status != 200:
                outcome = "not-found" if got.status == 404 else "http-error"
                text = "no such record" if got.status == 404 else "unexpected status"
                result = FetchResult(
                    outcome=outcome, message=f"HTTP {got.status}: {text}{kept}", **common
                )
            else:
                outcome, message, record = _check(nct, body)
                if record is None:
                    result = FetchResult(outcome=outcome, message=message + kept, **common)
                else:
                    previous = target.read_bytes() if target.is_file() else None
                    if previous == body:
                        result = FetchResult(
                            outcome="unchanged", message="same bytes as the saved copy", **common
                        )
                    else:
                        old = _previous_record(previous)
                        diff = diff_records(old, record)
                        write_bytes(target, body)
                        result = FetchResult(
                            outcome="new" if previous is None else "changed",
                            message="saved" if diff.is_empty else "saved; results differ",
                            diff=diff,
                            **common,
                        )
            when = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
            write_text(log_path, _read_log(log_path) + _log_row(result, when))
            results.append(result)
    finally:
        if own:
            session.close()
    return results


def _previous_record(previous: bytes | None) -> dict[str, Any] | None:
    if previous is None:
        return None
    try:
        return json.loads(previous.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # an unreadable old copy: everything in the new one counts as new


def summary_lines(
    results: Sequence[FetchResult], study_ids: dict[str, str] | None = None
) -> list[str]:
    """What a reviewer reads after a fetch: one line per trial, then its changes by outcome."""
    study_ids = study_ids or {}
    lines = []
    for r in results:
        name = f"{r.nct_id} ({study_ids[r.nct_id]})" if r.nct_id in study_ids else r.nct_id
        if r.ok:
            if r.outcome == "unchanged" or (r.diff is not None and r.diff.is_empty):
                lines.append(f"{name}: {r.outcome}; no result differs from the last fetch")
            else:
                lines.append(f"{name}: {r.outcome}")
            if r.diff is not None:
                lines += r.diff.lines()
        else:
            lines.append(f"{name}: {r.outcome}: {r.message} [{r.url}]")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    lines.append(
        f"{len(results)} record(s): " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    )
    return lines


def review_spec(config_path: str | Path, review: str) -> tuple[dict[str, Any], str]:
    """The ``reviews.<name>`` entry of a config file and its ``instruments`` path.

    Paths in the config are relative to the directory the command runs in, as for Snakemake.
    """
    import yaml

    path = Path(config_path)
    if not path.is_file():
        raise InputError("config file not found", file=str(path), expected="a YAML config")
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    reviews = config.get("reviews") or {}
    if review not in reviews or "path" not in (reviews[review] or {}):
        raise InputError(
            "no such review in the config",
            file=str(path),
            column="reviews",
            value=review,
            expected="one of: " + ", ".join(sorted(reviews)),
        )
    return dict(reviews[review]), str(config.get("instruments", "data/instruments.csv"))


def mapping_lines(spec: dict[str, Any], instruments: str | Path) -> list[str]:
    """What the review's registry mapping leaves out of the saved records (none without one)."""
    if not spec.get("registry_mapping"):
        return []
    folder = Path(spec["path"])
    try:
        data = load_registry(
            folder, folder / spec["registry_mapping"], review=folder.name,
            instruments_path=instruments, outcomes=spec.get("outcomes"),
        )  # fmt: skip
    except InputError as error:  # the records are saved; the mapping needs a human's edit
        return [f"the registry mapping does not fit the saved records: {error}"]
    lines = [f"not mapped: {nct}: '{title}'" for nct, title in data.unmapped]
    lines += [f"mapped but not saved: {nct}" for nct in data.not_fetched]
    if lines:
        lines.append(f"(edit {folder / spec['registry_mapping']} to map or set them aside)")
    return lines


def study_ids_by_registry(studies_csv: Path) -> dict[str, str]:
    """``NCT -> study_id`` from a studies sheet, to name trials in the summary."""
    if not studies_csv.is_file():
        return {}
    with studies_csv.open(encoding="utf-8", newline="") as handle:
        return {
            nct: row.get("study_id", "")
            for row in csv.DictReader(handle)
            for nct in NCT_ID.findall(row.get("registry_id") or "")
        }


def cmd_fetch_ctgov(args: Any) -> int:
    """``inflamed fetch ctgov``: exit 0 if every record was saved or unchanged, else 1."""
    spec, instruments = review_spec(args.config, args.review)
    folder = Path(spec["path"])
    studies = folder / "studies.csv"
    ids = list(args.nct_ids) or registry_ids(studies)
    if not ids:
        raise InputError(
            "no trial to fetch", file=str(studies), column="registry_id",
            expected="NCT numbers in the studies sheet, or NCT ids on the command line",
        )  # fmt: skip
    # The parser (inflamed.cli_fetch) leaves unset options as None: the defaults live here.
    default = RetryPolicy()
    policy = RetryPolicy(
        attempts=args.attempts if args.attempts is not None else default.attempts,
        timeout_s=args.timeout if args.timeout is not None else default.timeout_s,
    )
    results = fetch_ctgov(folder, ids, base_url=args.base_url or DEFAULT_BASE_URL, policy=policy)
    print("\n".join(summary_lines(results, study_ids_by_registry(studies))))
    for line in mapping_lines(spec, instruments):
        print(line)
    print(f"records and fetch log: {folder / REGISTRY_DIR}")
    return 0 if all(r.ok for r in results) else 1
