#!/usr/bin/env python3
"""A realistic mix for a fixed time against a running server with the demo data, as the people
and systems that use it would: frontends listing and reading files; departments pulling their
referrals, answering verification tasks and posting assistance with Idempotency-Key; staff moving
applications through their steps; auditors pulling reports. Prints throughput, p50, p99 and
errors for each endpoint, and the server's memory: resident size after the first minute and at
the end (flat: within 10 %), and its peak.

    scripts/bench/mix.py PORT SERVER_PID [SECONDS] [CLIENTS] [REPORT_EVERY]

Memory is flat when the resident size at the end is at most 10 % above the size after the first
minute (falling is not a leak). Exits 1 when any request failed or memory grew.
"""
import json
import queue
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

PORT = int(sys.argv[1])
PID = int(sys.argv[2])
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 300
CLIENTS = int(sys.argv[4]) if len(sys.argv) > 4 else 16
REPORT_EVERY = float(sys.argv[5]) if len(sys.argv) > 5 else 5.0
BASE = f"http://127.0.0.1:{PORT}/api/v1"
PASSWORD = "Jiekun-demo-2026"
REPORTS = ["roster", "flows", "assistance", "campaigns", "accountability", "timeliness",
           "coverage", "exceptions"]
TODAY = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
MONTH = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600 - 40 * 86400))


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
        with urllib.request.urlopen(req, data, timeout=60) as r:
            return r.status, r.headers, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, e.headers, json.loads(raw or b"null")
        except ValueError:
            return e.code, e.headers, raw.decode(errors="replace")


STEPS_PER_CASE = 9


def national_id(body):
    """The 18-digit identity number (GB 11643) of a 17-digit body."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]


def people():
    """Pairs of identity numbers nobody in the demo has: the demo's births fall on days 1–28."""
    import datetime
    for year in range(1961, 1991):
        for month in range(1, 13):
            for day in (29, 30, 31):
                try:
                    born = datetime.date(year, month, day).strftime("%Y%m%d")
                except ValueError:
                    continue
                for seq in range(0, 800, 2):
                    yield national_id(f"610724{born}{seq:03d}"), national_id(f"610724{born}{seq + 1:03d}")


PEOPLE_LOCK = threading.Lock()


class _People:
    def __init__(self):
        self.it = people()

    def __next__(self):
        with PEOPLE_LOCK:
            return next(self.it)


PEOPLE = _People()


def token(user):
    _, _, body = call("POST", "/auth/token", {"username": user, "password": PASSWORD})
    return "Bearer " + body["access_token"]


def rss_kb(field="VmRSS"):
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pages(path, auth, want):
    out, cursor = [], None
    while len(out) < want:
        sep = "&" if "?" in path else "?"
        status, _, page = call("GET", path + (f"{sep}cursor={cursor}" if cursor else ""), auth=auth)
        assert status == 200, (path, status, page)
        out += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return out[:want]


def setup():
    admin, reviewer = token("xixiang.admin"), token("xixiang.reviewer")
    officer, auditor = token("chengguan.officer"), token("xixiang.auditor")
    households = [h["id"] for h in pages("/households?limit=200", reviewer, 5000)]
    filed = [h["id"] for h in pages("/households?status=filed&limit=200", officer, 400)]
    _, _, depts = call("GET", "/departments?code=hrss&region_code=610724", auth=admin)
    dept = depts["items"][0]["id"]
    run = uuid.uuid4().hex[:6]
    _, _, first = call("GET", f"/households/{filed[0]}", auth=officer)

    def key(scopes, system):
        status, _, k = call("POST", "/api-keys", {"department_id": dept, "name": f"联调{run}-{system}-{'-'.join(scopes)}",
                                                  "scopes": scopes, "rate_limit_per_minute": 6000}, auth=admin)
        assert status == 201, k
        return "ApiKey " + k["key"]

    # 人社's systems: two keys per use (two systems), each limited to 6,000 requests a minute.
    dept_keys = {use: [key(scopes, 1), key(scopes, 2)] for use, scopes in
                 [("referrals", ["referrals:read"]), ("assistance", ["assistance:write"]),
                  ("verification", ["verification:respond"])]}
    # Referrals of measure 2 (人社) for the first filed households, and their consents and a
    # verification of social insurance each, whose tasks 人社 answers during the run.
    referred, tasks = [], queue.Queue()
    for h in filed[:200]:
        status, headers, _ = call("GET", f"/households/{h}/plan", auth=officer)
        if status == 200:
            call("POST", f"/households/{h}/plan", auth=officer, headers={"If-Match": headers["ETag"]})
        else:
            call("POST", f"/households/{h}/plan", auth=officer)
        _, headers, plan = call("GET", f"/households/{h}/plan", auth=officer)
        item = next((i for i in plan["items"] if i["measure"] == 2), None)
        if item is None:
            status, _, _ = call("POST", f"/households/{h}/plan/measures", {"measure": 2}, auth=officer,
                                headers={"If-Match": headers["ETag"]})
        elif item["status"] == "proposed":
            status, _, _ = call("POST", f"/households/{h}/plan/measures/2/accept", {}, auth=officer,
                                headers={"If-Match": headers["ETag"]})
        referred.append(h)
        _, _, file = call("GET", f"/households/{h}", auth=officer)
        for m in file["members"]:
            call("POST", f"/households/{h}/consents", {"member_id": m["id"], "number": f"授〔2026〕{run}号",
                 "signed_on": TODAY, "domains": ["social_insurance"], "evidence": "授权书原件存档"}, auth=officer)
        status, _, v = call("POST", "/verifications", {"household_id": h, "domains": ["social_insurance"]},
                            auth=reviewer)
        if status == 201:
            for t in v["tasks"]:
                tasks.put((t["id"], [m["id"] for m in file["members"]]))
    # Applications the staff move round: submitted → county review → returned → submitted …
    cases = queue.Queue()
    for state in ["submitted", "county_review", "returned"]:
        for a in pages(f"/applications?state={state}&limit=200", officer, 200):
            cases.put(a["id"])
    print(f"setup: {len(households)} files sampled, {len(referred)} referred, {tasks.qsize()} verification tasks,"
          f" {cases.qsize()} applications in motion", flush=True)
    return dict(reviewer=reviewer, officer=officer, auditor=auditor, dept=dept_keys, households=households,
                union=first["organisation_id"],
                referred=referred, tasks=tasks, cases=cases, run=run)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by = {}

    def add(self, name, took, ok, detail):
        with self.lock:
            s = self.by.setdefault(name, {"lat": [], "errors": 0, "example": None})
            s["lat"].append(took)
            if not ok:
                s["errors"] += 1
                s["example"] = s["example"] or detail


def main():
    ctx = setup()
    stats = Stats()
    deadline = time.time() + SECONDS

    def timed(name, method, path, body=None, auth=None, headers=None, expect=(200,)):
        started = time.perf_counter()
        status, h, resp = call(method, path, body, auth, headers)
        stats.add(name, time.perf_counter() - started, status in expect, (status, str(resp)[:300]))
        return status, h, resp

    def list_files():
        f = random.choice(["status=filed", "status=monitoring", "category=deep", "main_cause=2", "single_parent=true"])
        timed("GET /households (filters)", "GET", f"/households?{f}&limit=20", auth=ctx["reviewer"])

    def read_file():
        timed("GET /households/{id}", "GET", f"/households/{random.choice(ctx['households'])}", auth=ctx["reviewer"])

    def pull_referrals():
        timed("GET /referrals (department key)", "GET", "/referrals?limit=50", auth=random.choice(ctx["dept"]["referrals"]))

    def answer_task():
        try:
            task, members = ctx["tasks"].get_nowait()
        except queue.Empty:
            timed("GET /verifications/tasks (department key)", "GET", "/verifications/tasks?limit=20",
                  auth=random.choice(ctx["dept"]["verification"]))
            return
        facts = [{"member_id": m, "as_of": TODAY, "status": "insured"} for m in members]
        timed("POST /verifications/tasks/{id}/answer (department key)", "POST",
              f"/verifications/tasks/{task}/answer", {"facts": facts}, auth=random.choice(ctx["dept"]["verification"]))

    def post_assistance():
        body = {"household_id": random.choice(ctx["referred"]), "measure": 2, "delivered_on": TODAY,
                "kind": "service", "amount_fen": 0, "evidence": f"mix-{ctx['run']}"}
        timed("POST /assistance (department key, Idempotency-Key)", "POST", "/assistance", body,
              auth=random.choice(ctx["dept"]["assistance"]), headers={"Idempotency-Key": str(uuid.uuid4())}, expect=(201,))

    def new_case():
        # Staff file a new household of two and open its application.
        worker, spouse = next(PEOPLE)
        body = {"organisation_id": ctx["union"], "region_code": "610724", "address": "西乡县城关镇东大街12号",
                "housing_type": "private_rental", "main_cause": 6, "members": [
                    {"relation": "worker", "name": "张建国", "national_id": worker, "work_status": "employed",
                     "health": {"status": "healthy"}},
                    {"relation": "spouse", "name": "李秀英", "national_id": spouse, "work_status": "unemployed",
                     "health": {"status": "healthy"}}]}
        status, _, h = timed("POST /households (staff)", "POST", "/households", body, auth=ctx["officer"],
                             expect=(201,))
        if status != 201:
            return None
        status, _, app = timed("POST /applications (staff)", "POST", "/applications", {"household_id": h["id"]},
                               auth=ctx["officer"], expect=(201,))
        return app["id"] if status == 201 else None

    def step_case():
        try:
            case = ctx["cases"].get_nowait()
        except queue.Empty:
            return
        # A case goes round (returned and submitted again) a few times, not for ever: its timeline
        # would grow with the run. Then the staff take up a new one.
        rounds[case] = rounds.get(case, 0) + 1
        if rounds[case] > STEPS_PER_CASE:
            fresh = new_case()
            ctx["cases"].put(fresh or case)
            return
        try:
            status, h, app = timed("GET /applications/{id}", "GET", f"/applications/{case}", auth=ctx["reviewer"])
            if status != 200:
                return
            action, who, body = {
                "draft": ("submit", ctx["officer"], {"action": "submit"}),
                "submitted": ("start_review", ctx["reviewer"], {"action": "start_review"}),
                "county_review": ("return", ctx["reviewer"], {"action": "return", "opinion": "材料不全，请补充"}),
                "returned": ("submit", ctx["officer"], {"action": "submit"}),
            }.get(app["state"], (None, None, None))
            if action:
                timed(f"POST /applications/{{id}}/actions ({action})", "POST", f"/applications/{case}/actions",
                      body, auth=who, headers={"If-Match": h["ETag"]})
        finally:
            ctx["cases"].put(case)

    rounds = {}

    def pull_report():
        name = random.choice(REPORTS)
        extra = f"?from={MONTH}" if name in ("flows", "assistance") else ""
        timed(f"GET /reports/{name} (auditor)", "GET", f"/reports/{name}{extra}", auth=ctx["auditor"])

    actions = [(list_files, 30), (read_file, 30), (pull_referrals, 8), (answer_task, 5), (post_assistance, 10),
               (step_case, 12)]
    population = [a for a, w in actions for _ in range(w)]

    def worker():
        while time.time() < deadline:
            random.choice(population)()

    def auditor():
        # Auditors pull a report every REPORT_EVERY seconds: each reads the whole register, so
        # pulled as often as a file is read they would be most of the load, which they are not.
        while time.time() < deadline:
            pull_report()
            time.sleep(REPORT_EVERY)

    rss, detail = [], []
    started = time.time()

    def sample():
        while time.time() < deadline:
            rss.append((time.time() - started, rss_kb()))
            detail.append((rss_kb("RssAnon"), rss_kb("RssFile"), rss_kb("RssShmem"), rss_kb("Threads")))
            time.sleep(5)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)] + [threading.Thread(target=sample),
                                                                         threading.Thread(target=auditor)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - started
    print(f"{'endpoint':66} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    errors = 0
    for name, s in sorted(stats.by.items()):
        lat = sorted(s["lat"])
        pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1000
        errors += s["errors"]
        print(f"{name:66} {len(lat) / took:8.1f} {pct(0.5):8.1f} {pct(0.99):8.1f} {s['errors']:7d}")
        if s["example"]:
            print(f"    first error: {s['example']}")
    total = sum(len(s["lat"]) for s in stats.by.values())
    print(f"all: {total} requests in {took:.0f} s = {total / took:.0f} req/s, {errors} errors")
    after_minute = next((kb for t, kb in rss if t >= 60), rss[0][1] if rss else 0)
    end = rss[-1][1] if rss else 0
    drift = (end - after_minute) / after_minute if after_minute else 0
    flat = drift <= 0.10
    series = [f"{t:.0f}s {kb / 1024:.0f}" for i, (t, kb) in enumerate(rss) if i % 6 == 0 or i == len(rss) - 1]
    print("server RSS (MB) every 30 s: " + ", ".join(series))
    if os.environ.get("BENCH_MIX_DETAIL"):
        for i, ((t, _), (anon, file, shmem, threads)) in enumerate(zip(rss, detail)):
            if i % 6 == 0 or i == len(rss) - 1:
                print(f"  {t:4.0f}s anon {anon / 1024:.0f} MB, file {file / 1024:.0f} MB, shmem {shmem / 1024:.0f} MB, {threads} threads")
    print(f"server RSS: {after_minute / 1024:.0f} MB after the first minute, {end / 1024:.0f} MB at the end"
          f" ({drift:+.1%}: {'flat' if flat else 'NOT flat'}); peak {rss_kb('VmHWM') / 1024:.0f} MB")
    sys.exit(0 if errors == 0 and flat else 1)


main()
