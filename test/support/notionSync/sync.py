"""Copies the titles of a Notion database's pages to stdout, one JSON line each.

Reads the API address and the database from config.json, and the integration token from
the NOTION_TOKEN environment variable.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

NOTION_VERSION = "2022-06-28"
PAGE_SIZE = 3

sleep = time.sleep


def load_config(path="config.json"):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def query(api_base, database_id, token, cursor=None):
    body = {"page_size": PAGE_SIZE}
    if cursor:
        body["start_cursor"] = cursor
    request = urllib.request.Request(
        f"{api_base}/v1/databases/{database_id}/query",
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Notion-Version": NOTION_VERSION,
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def title_of(page):
    return "".join(part["plain_text"] for part in page["properties"]["Name"]["title"])


def fetch_titles(api_base, database_id, token):
    data = query(api_base, database_id, token)
    return [title_of(page) for page in data["results"]]


def main():
    token = os.environ.get("NOTION_TOKEN")
    if not token:
        print("ERROR notion-sync: NOTION_TOKEN is not set", file=sys.stderr)
        return 2
    config = load_config()
    try:
        titles = fetch_titles(config["api_base"], config["database_id"], token)
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")
        print(f"ERROR notion-sync: HTTP {error.code} from the Notion API: {detail}", file=sys.stderr)
        return 1
    for title in titles:
        print(json.dumps({"title": title}))
    print(f"notion-sync: synced {len(titles)} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
