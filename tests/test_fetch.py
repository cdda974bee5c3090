"""`inflamed fetch ctgov` against a local stand-in for the registry (127.0.0.1, no internet).

Questions answered:
* Is a record saved byte for byte, with a log row (time, URL, status, sha256, bytes, outcome)?
* Does a second fetch say "unchanged", and a changed record name the trial, outcome and value?
* Are 404, 429 (then 200, honouring Retry-After), repeated 500s, a timeout, truncated JSON, the
  wrong trial and a record without results each reported in one line, leaving the saved copy intact?
* Is the back-off bounded (attempts, single wait, total wait)?
* Does the command line read the review's registry ids and leave the human-typed sheets alone?
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ctgov_server import Reply, serve
from inflamed.cli import main
from inflamed.ingest.fetch import (
    FETCH_LOG,
    LOG_COLUMNS,
    RetryPolicy,
    fetch_ctgov,
    registry_ids,
    summary_lines,
)
from inflamed.ingest.registry_diff import diff_records, flatten_results

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "tests" / "fixtures" / "ctgov" / "NCT00463580.json"
NCT = "NCT00463580"
PATH = f"/api/v2/studies/{NCT}"
FAST = RetryPolicy(attempts=3, backoff_s=0.0, max_wait_s=5.0, max_total_s=10.0, timeout_s=5.0)


def _body() -> bytes:
    return RECORD.read_bytes()


def _edited(edit) -> bytes:
    record = json.loads(_body())
    edit(record)
    return json.dumps(record, indent=2).encode()


def _log(folder: Path) -> list[dict[str, str]]:
    lines = (folder / "registry" / FETCH_LOG).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    assert tuple(header) == LOG_COLUMNS
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _fetch(folder: Path, routes, ids=(NCT,), policy=FAST, waits=None):
    with serve(routes) as (base, hits):
        results = fetch_ctgov(
            folder,
            ids,
            base_url=base,
            policy=policy,
            sleep=(waits.append if waits is not None else lambda s: None),
        )
    return results, hits


def test_saves_the_record_byte_for_byte_and_logs_it(tmp_path):
    (result,), hits = _fetch(tmp_path, {PATH: [Reply(200, _body())]})
    saved = tmp_path / "registry" / f"{NCT}.json"
    assert saved.read_bytes() == _body()
    assert result.outcome == "new" and result.ok and hits[PATH] == 1
    (row,) = _log(tmp_path)
    assert row["nct_id"] == NCT and row["http_status"] == "200" and row["outcome"] == "new"
    assert row["url"].endswith(PATH) and row["bytes"] == str(len(_body()))
    assert row["sha256"] == hashlib.sha256(_body()).hexdigest()
    assert row["retrieved_utc"].endswith("Z")
    assert result.diff is not None and result.diff.results_added
    assert "Plasma Concentrations of CRP" in result.diff.outcomes_added


def test_second_fetch_is_unchanged_and_does_not_rewrite(tmp_path):
    _fetch(tmp_path, {PATH: [Reply(200, _body())]})
    saved = tmp_path / "registry" / f"{NCT}.json"
    before = saved.stat().st_mtime_ns
    (result,), _ = _fetch(tmp_path, {PATH: [Reply(200, _body())]})
    assert result.outcome == "unchanged" and saved.stat().st_mtime_ns == before
    assert [r["outcome"] for r in _log(tmp_path)] == ["new", "unchanged"]
    assert "no result differs" in summary_lines([result])[0]


def test_changed_value_is_named_by_trial_outcome_and_place(tmp_path):
    _fetch(tmp_path, {PATH: [Reply(200, _body())]})

    def edit(record):
        om = record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]
        week12 = next(c for c in om["classes"] if c["title"] == "Week 12")
        week12["categories"][0]["measurements"][0]["value"] = "16.9"
        record["protocolSection"]["statusModule"]["lastUpdatePostDate"] = {"date": "2030-01-01"}

    new = _edited(edit)
    (result,), _ = _fetch(tmp_path, {PATH: [Reply(200, new)]})
    assert result.outcome == "changed"
    assert (tmp_path / "registry" / f"{NCT}.json").read_bytes() == new
    (change,) = result.diff.changed
    assert change.outcome.startswith("Hamilton Depression Rating Scale 17")
    assert "Week 12" in change.where and (change.old, change.new) == ("16.6", "16.9")
    text = "\n".join(summary_lines([result], {NCT: "RAISON2013"}))
    assert "NCT00463580 (RAISON2013): changed" in text and "16.6 -> 16.9" in text


def test_reformatting_or_dates_only_is_no_result_change():
    record = json.loads(_body())
    shuffled = copy.deepcopy(record)
    om = shuffled["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]
    om.reverse()
    for measure in om:  # the registry may renumber groups; titles are what count
        for g in measure["groups"]:
            g["description"] = "reworded"
    shuffled["protocolSection"]["statusModule"]["lastUpdatePostDate"] = {"date": "2031-02-03"}
    assert diff_records(record, shuffled).is_empty
    assert flatten_results(record) == flatten_results(shuffled)


def test_404_is_one_line_and_keeps_the_saved_copy(tmp_path):
    _fetch(tmp_path, {PATH: [Reply(200, _body())]})
    (result,), hits = _fetch(tmp_path, {PATH: [Reply(404, b"{}")]})
    assert result.outcome == "not-found" and not result.ok and hits[PATH] == 1  # not retried
    assert "earlier saved copy is kept" in result.message and "\n" not in result.message
    assert (tmp_path / "registry" / f"{NCT}.json").read_bytes() == _body()


def test_429_then_200_waits_as_told(tmp_path):
    waits: list[float] = []
    routes = {PATH: [Reply(429, b"slow down", {"Retry-After": "2"}), Reply(200, _body())]}
    (result,), hits = _fetch(tmp_path, routes, waits=waits)
    assert result.outcome == "new" and result.attempts == 2 and hits[PATH] == 2
    assert waits == [2.0]


def test_retry_after_beyond_the_bound_gives_up_at_once(tmp_path):
    waits: list[float] = []
    routes = {PATH: [Reply(429, b"", {"Retry-After": "3600"})]}
    (result,), hits = _fetch(tmp_path, routes, waits=waits)
    assert result.outcome == "http-error" and hits[PATH] == 1 and waits == []
    assert "3600 s" in result.message and "429" in result.message


def test_repeated_500_backs_off_exponentially_and_stops(tmp_path):
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, backoff_s=0.5, max_wait_s=10, max_total_s=100, timeout_s=5)
    (result,), hits = _fetch(tmp_path, {PATH: [Reply(500, b"oops")]}, policy=policy, waits=waits)
    assert hits[PATH] == 4 and waits == [0.5, 1.0, 2.0]
    assert result.outcome == "http-error" and "HTTP 500" in result.message
    assert "gave up after 4 attempt(s)" in result.message
    assert not (tmp_path / "registry" / f"{NCT}.json").exists()


def test_backoff_is_capped_by_the_single_wait_bound(tmp_path):
    waits: list[float] = []
    policy = RetryPolicy(attempts=5, backoff_s=1.0, max_wait_s=3.0, max_total_s=100, timeout_s=5)
    (result,), hits = _fetch(tmp_path, {PATH: [Reply(502, b"")]}, policy=policy, waits=waits)
    assert waits == [1.0, 2.0, 3.0, 3.0] and hits[PATH] == 5 and result.outcome == "http-error"


def test_total_wait_is_bounded(tmp_path):
    waits: list[float] = []
    policy = RetryPolicy(attempts=10, backoff_s=1.0, max_wait_s=100, max_total_s=3.5, timeout_s=5)
    (result,), hits = _fetch(tmp_path, {PATH: [Reply(503, b"")]}, policy=policy, waits=waits)
    assert sum(waits) <= 3.5 and waits == [1.0, 2.0] and hits[PATH] == 3
    assert result.outcome == "http-error"


def test_timeout_is_a_network_error(tmp_path):
    policy = RetryPolicy(attempts=2, backoff_s=0.0, max_wait_s=1, max_total_s=1, timeout_s=0.2)
    (result,), hits = _fetch(tmp_path, {PATH: [Reply(200, _body(), delay_s=1.0)]}, policy=policy)
    assert result.outcome == "network-error" and "no response within 0.2 s" in result.message
    assert hits[PATH] == 2 and result.http_status is None


def test_connection_refused_is_a_network_error(tmp_path):
    with serve({}) as (base, _):
        pass  # the server is gone: nothing listens on that port any more
    policy = RetryPolicy(attempts=1, timeout_s=2)
    (result,) = fetch_ctgov(tmp_path, [NCT], base_url=base, policy=policy)
    assert result.outcome == "network-error" and "ConnectionError" in result.message
    assert _log(tmp_path)[0]["http_status"] == ""


def test_truncated_json_keeps_the_saved_copy(tmp_path):
    _fetch(tmp_path, {PATH: [Reply(200, _body())]})
    (result,), _ = _fetch(tmp_path, {PATH: [Reply(200, _body()[:5000])]})
    assert result.outcome == "malformed-json" and "malformed JSON" in result.message
    assert "5000 bytes received" in result.message
    assert (tmp_path / "registry" / f"{NCT}.json").read_bytes() == _body()
    row = _log(tmp_path)[-1]
    assert row["outcome"] == "malformed-json" and row["bytes"] == "5000"


def test_record_without_results_is_not_saved(tmp_path):
    body = _edited(lambda r: r.pop("resultsSection"))
    (result,), _ = _fetch(tmp_path, {PATH: [Reply(200, body)]})
    assert result.outcome == "no-results" and "no posted results" in result.message
    assert not (tmp_path / "registry" / f"{NCT}.json").exists()


def test_wrong_trial_is_refused(tmp_path):
    other = "/api/v2/studies/NCT02473289"
    (result,), _ = _fetch(tmp_path, {other: [Reply(200, _body())]}, ids=["NCT02473289"])
    assert result.outcome == "wrong-record" and NCT in result.message


def test_bad_id_stops_before_any_request(tmp_path):
    from inflamed.errors import InputError

    with pytest.raises(InputError, match="NCT followed by 8 digits"):
        fetch_ctgov(tmp_path, ["NCT123"], base_url="http://127.0.0.1:9")


def test_command_line_fetches_the_sheet_ids_and_leaves_sheets_alone(tmp_path, capsys):
    review = tmp_path / "data" / "reviews" / "crp"
    shutil.copytree(ROOT / "data" / "reviews" / "anti-inflammatory-crp", review)
    before = {p.name: p.read_bytes() for p in review.iterdir() if p.is_file()}
    config = tmp_path / "config.yaml"
    config.write_text(
        f"instruments: {ROOT / 'data' / 'instruments.csv'}\nreviews:\n  crp:\n    path: {review}\n"
        "    registry_mapping: registry_mapping.yaml\n",
        encoding="utf-8",
    )
    ids = registry_ids(review / "studies.csv")
    assert NCT in ids and len(ids) >= 5
    other = "NCT02473289"  # SIMULATED: the real record under another trial's id, not mapped
    simulated = _edited(lambda r: r["protocolSection"]["identificationModule"].update(nctId=other))
    routes = {PATH: [Reply(200, _body())], f"/api/v2/studies/{other}": [Reply(200, simulated)]}
    with serve(routes) as (base, _):
        args = ["fetch", "ctgov", "--review", "crp", "--config", str(config), "--base-url", base]
        code = main([*args, "--attempts", "1"])
    out = capsys.readouterr().out
    assert code == 1  # the other trials are not on the local server
    assert "NCT00463580 (RAISON2013): new" in out and "not-found" in out
    assert f"not mapped: {other}: '(whole record)'" in out
    assert "not mapped: NCT00463580" not in out and "mapped but not saved" not in out
    assert {r["nct_id"] for r in _log(review)} == set(ids)
    saved = sorted(p.name for p in (review / "registry").iterdir())
    assert saved == [f"{NCT}.json", f"{other}.json", FETCH_LOG]
    assert {p.name: p.read_bytes() for p in review.iterdir() if p.is_file()} == before


def test_command_line_unknown_review_is_an_input_error(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("reviews:\n  a:\n    path: x\n", encoding="utf-8")
    assert main(["fetch", "ctgov", "--review", "b", "--config", str(config)]) == 2
    assert "no such review" in capsys.readouterr().err
