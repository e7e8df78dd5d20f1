"""``netgrade serve``: the hosted grading service (API, durable queue, workers) and ``netgrade submit``'s client.

The database row of a submission is the truth: it is committed before the
upload is answered (202), leased by a worker while graded (with a heartbeat),
put back in the queue by the reaper when its lease expires, and its result is
written once per (submission, attempt).  See ARCHITECTURE.md, "Service".
"""
