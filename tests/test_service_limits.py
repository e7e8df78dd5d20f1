"""A course's limits, on a real service: one pending submission, cooldown, attempts, deadline, and 429 with
Retry-After for token guessing.  SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from servicekit import (GRADE_S, REF_UDP_SEND, Service, course, db_url, postgres, services,  # noqa: F401
                        upload, wait_state)

SOURCE = [("udp_send.py", REF_UDP_SEND.read_bytes())]


def test_limits(tmp_path, db_url, services):
    data, teacher, tokens = course(tmp_path, db_url, ["cy", "dee"], "--limits", '{"cooldown_s": 3600}')
    svc = Service(data, db_url, workers=1).start()
    services.append(svc)
    with svc.client(tokens["cy"]) as cy, svc.client(tokens["dee"]) as dee, svc.client(teacher) as t:
        first = upload(cy, SOURCE)
        assert first.status_code == 202, first.text
        pending = upload(cy, SOURCE)  # one queued-or-running submission per student
        assert pending.status_code == 409 and "waiting or being graded" in pending.json()["error"], pending.text
        wait_state(cy, first.json()["id"], ("done",), GRADE_S)
        cooling = upload(cy, SOURCE)
        assert cooling.status_code == 429 and "cooldown" in cooling.json()["error"], cooling.text
        assert 3500 <= int(cooling.headers["retry-after"]) <= 3600, cooling.headers
        # one attempt allowed: cy has used it (dee has not)
        r = t.put("/api/course/limits", json={"cooldown_s": 0, "max_attempts": 1})
        assert r.status_code == 200 and r.json()["max_attempts"] == 1, r.text
        used = upload(cy, SOURCE)
        assert used.status_code == 403 and "attempts are used" in used.json()["error"], used.text
        # past the deadline: refused, or accepted and marked late
        past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        assert t.put("/api/course/limits", json={"deadline": past, "after_deadline": "refuse",
                                                 "max_attempts": None}).status_code == 200
        closed = upload(dee, SOURCE)
        assert closed.status_code == 403 and "deadline" in closed.json()["error"], closed.text
        assert t.put("/api/course/limits", json={"after_deadline": "late"}).status_code == 200
        late = upload(dee, SOURCE)
        assert late.status_code == 202 and late.json()["late"] is True, late.text
        refused = [r for r in (pending, cooling, used, closed)]
        assert all(set(r.json()) == {"error"} for r in refused)
        assert len(t.get("/api/submissions").json()["submissions"]) == 2, "a refused submission was stored"
    # token guessing: 10 wrong tokens from one address, then 429 with Retry-After, even for a right one
    for i in range(10):
        r = httpx.get(svc.url + "/api/me", headers={"Authorization": f"Bearer ng_guess{i}"})
        assert r.status_code == 401, (i, r.status_code)
    r = httpx.get(svc.url + "/api/me", headers={"Authorization": "Bearer ng_guess10"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, (r.status_code, r.headers)
    r = httpx.get(svc.url + "/api/me", headers={"Authorization": f"Bearer {tokens['dee']}"})
    assert r.status_code == 429, "a blocked address could still try tokens"
    assert httpx.get(svc.url + "/healthz").status_code == 200
