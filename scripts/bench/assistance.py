#!/usr/bin/env python3
"""Writes under load, against a running server with the demo data: households created by union
staff (the baseline), then assistance entries posted by 16 department clients, each with its own
key and an Idempotency-Key per entry, 16 at a time. Prints throughput and latency percentiles of
each, and their ratio.

    scripts/bench/assistance.py PORT [ENTRIES] [HOUSEHOLDS]
"""
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

PORT = int(sys.argv[1])
ENTRIES = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
CREATES = int(sys.argv[3]) if len(sys.argv) > 3 else 2_000
CLIENTS = 16
BASE = f"http://127.0.0.1:{PORT}/api/v1"
PASSWORD = "Jiekun-demo-2026"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def call(method, path, body=None, auth=None, headers=None):
    req = urllib.request.Request(BASE + path, method=method)
    if auth:
        req.add_header("Authorization", auth)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, data) as r:
            return r.status, r.headers, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"null")


def token(user):
    _, _, body = call("POST", "/auth/token", {"username": user, "password": PASSWORD})
    return "Bearer " + body["access_token"]


def national_id(body17):
    return body17 + CHECK[sum(int(d) * w for d, w in zip(body17, WEIGHTS)) % 11]


def timed(fn, jobs):
    latencies = []

    def one(job):
        started = time.perf_counter()
        status = fn(job)
        latencies.append(time.perf_counter() - started)
        return status

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(one, jobs))
    took = time.perf_counter() - started
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000
    return len(jobs) / took, pct(0.5), pct(0.99), sorted(set(statuses)), took


def main():
    admin = token("xixiang.admin")
    reviewer = token("xixiang.reviewer")
    officer = token("chengguan.officer")

    # Baseline: households created by a grassroots officer, 16 at a time.
    run = random.randrange(100, 999)
    _, _, me = call("GET", "/auth/me", auth=officer)
    union = me["organisation_id"]

    def create(i):
        serial = f"{i % 1000:03d}"
        # Born in 北京市东城区 (110101), a region the demo data never uses, so that no worker is
        # already in another household: every create is a real create.
        worker = national_id(f"110101{1960 + (i // 336) % 40}{(i // 28) % 12 + 1:02d}{i % 28 + 1:02d}{serial}")
        body = {"organisation_id": union, "region_code": "610724", "address": f"城关镇{run}巷{i}号",
                "housing_type": "private_rental", "main_cause": 2, "secondary_causes": [],
                "members": [{"relation": "worker", "name": "王建军", "national_id": worker, "work_status": "unemployed"}]}
        status, _, _ = call("POST", "/households", body, auth=officer)
        return status

    # Identity numbers must be new: skip those used by an earlier run on the same database.
    offset = random.randrange(0, 1000) * 13440
    rate, p50, p99, statuses, took = timed(lambda i: create(i + offset), list(range(CREATES)))
    print(f"household create: {CREATES} in {took:.1f} s = {rate:.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms; statuses {statuses}")
    if statuses != [201]:
        print("WARNING: not every create was a create; the baseline is not comparable")
    base_rate, base_p99 = rate, p99

    # Setup: filed households with measure 2 referred to 人社, and 16 keys of 西乡县人社局.
    filed, cursor = [], None
    while len(filed) < 500:
        _, _, page = call("GET", "/households?status=filed&region_code=610724&limit=200"
                          + (f"&cursor={cursor}" if cursor else ""), auth=reviewer)
        filed += [h["id"] for h in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    filed = filed[:500]

    def refer(h):
        status, headers, _ = call("GET", f"/households/{h}/plan", auth=reviewer)
        if status == 200:
            status, headers, _ = call("POST", f"/households/{h}/plan", auth=reviewer, headers={"If-Match": headers["ETag"]})
        else:
            status, headers, _ = call("POST", f"/households/{h}/plan", auth=reviewer)
        if status != 201:
            return status
        _, headers, plan = call("GET", f"/households/{h}/plan", auth=reviewer)
        item = next((i for i in plan["items"] if i["measure"] == 2), None)
        if item is None:
            status, _, _ = call("POST", f"/households/{h}/plan/measures", {"measure": 2}, auth=reviewer,
                                headers={"If-Match": headers["ETag"]})
        elif item["status"] == "proposed":
            status, _, _ = call("POST", f"/households/{h}/plan/measures/2/accept", {}, auth=reviewer,
                                headers={"If-Match": headers["ETag"]})
        return status

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(refer, filed))
    _, _, depts = call("GET", "/departments?code=hrss&region_code=610724", auth=admin)
    dept = depts["items"][0]["id"]
    keys = []
    for n in range(CLIENTS):
        _, _, k = call("POST", "/api-keys", {"department_id": dept, "name": f"人社局帮扶登记{run}-{n}",
                                              "scopes": ["assistance:write"], "rate_limit_per_minute": 6000}, auth=admin)
        keys.append("ApiKey " + k["key"])
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))

    def post(i):
        body = {"household_id": filed[i % len(filed)], "measure": 2, "delivered_on": today,
                "kind": "service", "amount_fen": 0, "evidence": f"bench-{run}-{i}"}
        status, _, _ = call("POST", "/assistance", body, auth=keys[i % CLIENTS],
                            headers={"Idempotency-Key": f"bench-{run}-{i}-{uuid.uuid4()}"})
        return status

    rate, p50, p99, statuses, took = timed(post, list(range(ENTRIES)))
    print(f"assistance POST with Idempotency-Key ({CLIENTS} department clients): {ENTRIES} in {took:.1f} s = "
          f"{rate:.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms; statuses {statuses}")
    print(f"RESULT assistance/create throughput ratio {rate / base_rate:.2f}, p99 ratio {p99 / base_p99:.2f}")
    # A retry replays: the same key and body answer as the first time.
    body = {"household_id": filed[0], "measure": 2, "delivered_on": today, "kind": "service", "amount_fen": 0}
    key = {"Idempotency-Key": f"bench-replay-{run}-{uuid.uuid4()}"}
    first = call("POST", "/assistance", body, auth=keys[0], headers=key)
    again = call("POST", "/assistance", body, auth=keys[0], headers=key)
    assert first[2]["id"] == again[2]["id"] and again[1].get("Idempotent-Replayed") == "true", (first, again)


main()
