"""Tests of sync.py with a fake Notion API (no network): python3 -m unittest -q"""
import io
import json
import unittest
import urllib.error
from unittest import mock

import sync


def page(title):
    return {"object": "page", "properties": {"Name": {"type": "title", "title": [{"plain_text": title}]}}}


def listing(titles, next_cursor):
    body = {"object": "list", "results": [page(t) for t in titles], "next_cursor": next_cursor, "has_more": next_cursor is not None}
    return io.BytesIO(json.dumps(body).encode("utf-8"))


def rate_limited(retry_after):
    body = io.BytesIO(json.dumps({"object": "error", "status": 429, "code": "rate_limited", "message": "rate limited"}).encode("utf-8"))
    return urllib.error.HTTPError("http://notion.test/v1/databases/db/query", 429, "Too Many Requests", {"Retry-After": str(retry_after)}, body)


class FakeApi:
    def __init__(self, answers):
        self.answers = list(answers)
        self.bodies = []

    def __call__(self, request, timeout=None):
        self.bodies.append(json.loads(request.data))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class SyncTest(unittest.TestCase):
    def test_follows_next_cursor_through_every_page(self):
        api = FakeApi([listing(["a", "b"], "c1"), listing(["c"], None)])
        with mock.patch("urllib.request.urlopen", api):
            self.assertEqual(sync.fetch_titles("http://notion.test", "db", "t"), ["a", "b", "c"])
        self.assertEqual(api.bodies[1].get("start_cursor"), "c1")

    def test_waits_retry_after_on_429_then_goes_on(self):
        api = FakeApi([rate_limited(2), listing(["a"], None)])
        waits = []
        with mock.patch("urllib.request.urlopen", api), mock.patch.object(sync, "sleep", waits.append):
            self.assertEqual(sync.fetch_titles("http://notion.test", "db", "t"), ["a"])
        self.assertEqual(waits, [2])


if __name__ == "__main__":
    unittest.main()
