"""The downloader: a cut connection (fewer bytes than Content-Length), a file over the size cap and an HTML page
are refused, leave no ``.part`` file and no manifest entry; the manifest is written whole."""

import json

import pytest

from observatory.resources import Downloader, DownloadError

PARQUET = b"PAR1" + b"x" * 200 + b"PAR1"


def fake_server(monkeypatch, body: bytes, announced: int | None = None):
    import requests

    class FakeResp:
        status_code = 200
        ok = True
        headers = {"ETag": '"v1"', "Content-Length": str(len(body) if announced is None else announced)}

        def iter_content(self, n):
            for i in range(0, len(body), 64):
                yield body[i : i + 64]

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(requests, "get", lambda url, stream, timeout: FakeResp())
    monkeypatch.setattr(requests, "head", lambda url, allow_redirects, timeout: FakeResp())


KW = dict(
    source="sirene",
    millesime="2026-11",
    url="https://x/StockEtablissement_utf8.parquet",
    filename="StockEtablissement_utf8.parquet",
    licence="LO",
    expect_magic=(b"PAR1",),
)


@pytest.mark.parametrize(
    "body, announced, max_bytes, message",
    [
        (PARQUET[:100], len(PARQUET), 10**6, r"received 100 bytes, the server announced 208 \(Content-Length\): the download was cut"),
        (PARQUET, None, 100, r"announces 208 bytes, more than the cap of 100"),
        (PARQUET, 0, 100, r"more than the cap of 100 bytes received"),
        (b"<!DOCTYPE html><html>503</html>", None, 10**6, r"is an HTML page"),
    ],
)
def test_a_bad_download_is_refused_and_leaves_nothing_behind(tmp_path, monkeypatch, body, announced, max_bytes, message):
    fake_server(monkeypatch, body, announced)
    d = Downloader(raw_dir=str(tmp_path), offline=False, max_bytes=max_bytes)
    with pytest.raises(DownloadError, match=message):
        d.fetch(**KW)
    folder = tmp_path / "sirene" / "2026-11"
    assert sorted(p.name for p in folder.iterdir()) == []  # no .part, no file, no manifest


def test_a_good_download_writes_the_file_and_its_manifest_whole(tmp_path, monkeypatch):
    fake_server(monkeypatch, PARQUET)
    path = Downloader(raw_dir=str(tmp_path), offline=False).fetch(**KW)
    assert path.read_bytes() == PARQUET
    assert sorted(p.name for p in path.parent.iterdir()) == ["StockEtablissement_utf8.parquet", "manifest.json"]
    entry = json.loads((path.parent / "manifest.json").read_text())["files"][path.name]
    assert (entry["size"], entry["content-length"]) == (208, "208")
