#!/usr/bin/env python3
"""Contract fuzzing: schemathesis against the real server, with demo data, on SQLite and on
PostgreSQL, as three roles, a department key and nobody. Any 5xx, any answer that breaks the
documented schema, status or content type fails the run.

    scripts/fuzz/run.py            # the CI-sized run of `make test` (fixed seed, a few minutes)
    scripts/fuzz/run.py --long     # `make fuzz`: many more cases per operation

Environment: JIEKUN_TEST_POSTGRES_URL (the PostgreSQL to use; a schema of its own is made and
dropped), FUZZ_BACKENDS (default "sqlite postgres", run side by side), FUZZ_EXAMPLES (cases per
operation), FUZZ_SEED, FUZZ_CALLER_LIMIT (seconds one caller may take; 900 by default).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "debug", "jiekun")
VENV = os.path.join(ROOT, "target", "fuzz-venv")
SCHEMATHESIS = "schemathesis==4.32.5"
CONFIG = os.path.join(ROOT, "scripts", "fuzz", "schemathesis.toml")
PASSWORD = "Jiekun-demo-2026"
CALLERS = ["chengguan.officer", "xixiang.reviewer", "city.approver"]
# One caller's run never takes longer than this: a hung answer fails the run instead of
# holding CI until its own limit.
CALLER_LIMIT = int(os.environ.get("FUZZ_CALLER_LIMIT", "14400" if "--long" in sys.argv else "900"))
LOCK = threading.Lock()
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def say(*a):
    print("fuzz:", *a, flush=True)


def venv():
    st = os.path.join(VENV, "bin", "st")
    marker = os.path.join(VENV, SCHEMATHESIS)
    if not os.path.exists(marker):
        shutil.rmtree(VENV, ignore_errors=True)
        say(f"installing {SCHEMATHESIS} into {VENV}")
        ok = subprocess.run([sys.executable, "-m", "venv", VENV]).returncode == 0 and subprocess.run(
            [os.path.join(VENV, "bin", "pip"), "install", "-q", "--disable-pip-version-check", SCHEMATHESIS]
        ).returncode == 0
        if not ok:
            shutil.rmtree(VENV, ignore_errors=True)
            if os.environ.get("CI") == "true":
                raise SystemExit(f"fuzz: {SCHEMATHESIS} could not be installed; under CI=true that fails the run")
            say(f"SKIPPED: {SCHEMATHESIS} could not be installed (no Python package index?); nothing was fuzzed")
            sys.exit(0)
        open(marker, "w").close()
    return st


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data, timeout=30) as r:
        return json.loads(r.read() or b"null")


class Server:
    def __init__(self, backend, work):
        self.backend = backend
        self.work = work
        self.schema = None
        env = dict(os.environ)
        if backend == "sqlite":
            url = f"sqlite://{work}/jiekun.db"
        else:
            base = os.environ.get("JIEKUN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
            self.admin_url = base
            self.schema = "fuzz_" + uuid.uuid4().hex
            subprocess.run(["psql", base, "-qc", f"CREATE SCHEMA {self.schema}"], check=True)
            sep = "&" if "?" in base else "?"
            url = f"{base}{sep}options=-csearch_path%3D{self.schema}"
        for name, size in (("jwt.key", 48), ("data.key", 32)):
            with open(os.path.join(work, name), "w") as f:
                f.write(os.urandom(size).hex())
            os.chmod(os.path.join(work, name), 0o600)
        env.update(
            JIEKUN_DATABASE_URL=url,
            JIEKUN_JWT_SECRET_FILE=os.path.join(work, "jwt.key"),
            JIEKUN_DATA_KEY_FILE=os.path.join(work, "data.key"),
            JIEKUN_LOG="warn",
        )
        self.env = env
        subprocess.run([BIN, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([BIN, "demo", "--households", "60"], env=env, check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env["JIEKUN_BIND"] = f"127.0.0.1:{port}"
        self.log = open(os.path.join(work, "server.log"), "w")
        self.proc = subprocess.Popen([BIN, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=2)
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit(f"the {backend} server did not start; see {self.log.name}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        if self.schema:
            subprocess.run(["psql", self.admin_url, "-qc", f"SET client_min_messages = warning; DROP SCHEMA {self.schema} CASCADE"], check=False)


def credentials(base):
    """(name, Authorization header or None) for each caller."""
    out = []
    tokens = {}
    for user in CALLERS + ["xixiang.admin"]:
        tokens[user] = call(base, "POST", "/api/v1/auth/token", {"username": user, "password": PASSWORD})["access_token"]
    for user in CALLERS:
        out.append((user, f"Bearer {tokens[user]}"))
    admin = tokens["xixiang.admin"]
    dept = call(base, "GET", "/api/v1/departments?code=civil_affairs", token=admin)["items"][0]["id"]
    key = call(base, "POST", "/api/v1/api-keys", {"department_id": dept, "name": "接口测试", "scopes": [
        "directory:read", "verification:respond", "referrals:read", "referrals:write", "assistance:write"],
        "rate_limit_per_minute": 6000}, token=admin)
    out.append(("department key", f"ApiKey {key['key']}"))
    out.append(("nobody", None))
    return out


def fuzz_backend(backend, st, seed, examples, totals, failed):
    """Every caller against one backend's server, one after another."""
    work = tempfile.mkdtemp(prefix=f"jiekun-fuzz-{backend}-")
    server = Server(backend, work)
    try:
        for name, auth in credentials(server.base):
            args = [st, "run", f"{server.base}/api/v1/openapi.json", "--checks", CHECKS,
                    "--seed", seed, "--max-examples", examples, "--workers", "1",
                    "--request-timeout", "30",
                    "--no-color", "--output-truncate", "true",
                    "--report", "junit", "--report-dir", os.path.join(work, "report")]
            if auth:
                args += ["--header", f"Authorization: {auth}"]
            say(f"{backend}, as {name}: {examples} cases per operation")
            started = time.time()
            # Run where the configuration is copied, so that schemathesis keeps its example
            # cache in the run's own folder: every run starts from the seed alone.
            shutil.copy(CONFIG, os.path.join(work, "schemathesis.toml"))
            try:
                r = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=CALLER_LIMIT)
                out, rc = r.stdout, r.returncode
            except subprocess.TimeoutExpired as e:
                out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
                out += f"\nstopped after {CALLER_LIMIT} s\n"
                rc = -1
            generated = next((l.split()[0] for l in out.splitlines() if " generated" in l and l.strip()[0].isdigit()), "?")
            secs = round(time.time() - started)
            with LOCK:
                totals[(backend, name)] = (rc, secs, generated)
                say(f"{backend}, as {name}: {'ok' if rc == 0 else 'FAILED'} in {secs} s")
                if rc != 0:
                    print("\n".join(out.strip().splitlines()[-25:]), flush=True)
                    failed.append(f"{backend} as {name}")
                    with open(os.path.join(work, f"{name}.log"), "w") as f:
                        f.write(out)
                    say(f"full output: {work}/{name}.log")
    finally:
        server.stop()


def main():
    long = "--long" in sys.argv
    examples = os.environ.get("FUZZ_EXAMPLES", "400" if long else "10")
    seed = os.environ.get("FUZZ_SEED", "20261201")
    backends = os.environ.get("FUZZ_BACKENDS", "sqlite postgres").split()
    # The binary of this checkout, built as `cargo test --workspace --all-targets` builds it (the
    # same targets, so the same features: a no-op right after it, where `-p jiekun-cli` alone
    # would build most dependencies again).
    subprocess.run([os.environ.get("CARGO", "cargo"), "build", "-q", "--workspace", "--all-targets", "--locked"], cwd=ROOT, check=True)
    st = venv()
    failed = []
    totals = {}
    errors = []
    started = time.time()

    def run(backend):
        try:
            fuzz_backend(backend, st, seed, examples, totals, failed)
        except BaseException as e:  # a server that did not start, a failed migration
            with LOCK:
                errors.append(f"{backend}: {e}")

    # The backends run side by side: each caller mostly waits on its server's answers.
    threads = [threading.Thread(target=run, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (backend, name), (rc, secs, generated) in sorted(totals.items()):
        say(f"{backend:8} {name:20} {'ok' if rc == 0 else 'FAILED'}: {generated} test cases in {secs} s")
    say(f"{round(time.time() - started)} s in all")
    for e in errors:
        say("error:", e)
    if failed or errors:
        say("failed: " + ", ".join(failed + [e.split(":")[0] for e in errors]))
        sys.exit(1)
    say("contract fuzzing passed on " + " and ".join(backends))


if __name__ == "__main__":
    main()
