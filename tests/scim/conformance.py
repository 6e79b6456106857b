"""Runs scim2-tester (a third-party SCIM 2.0 conformance suite, PyPI) against a dirsync SCIM
endpoint: every check it has for the discovery endpoints and for User and Group (create,
read, list, attribute projection, replace, delete, PATCH add/remove/replace). Prints one line
per check and exits non-zero when any check fails (the PATCH ones too) or when the suite did
not reach both resource types.

Usage: SCIM_TOKEN=... python conformance.py http://127.0.0.1:PORT/scim/v2/TENANT
"""

import os
import sys
from collections import Counter

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILED = (Status.ERROR, Status.CRITICAL)


def main():
    base = sys.argv[1].rstrip("/")
    token = os.environ["SCIM_TOKEN"]
    http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client, resource_types=["User", "Group"])
    counts = Counter()
    failures = []
    for result in results:
        where = result.resource_type or "-"
        tags = ",".join(sorted(result.tags or ())) or "-"
        print(f"{result.status.name:10} {where:6} {tags:32} {result.title}: {result.reason or ''}".rstrip())
        counts[result.status.name] += 1
        if result.status in FAILED:
            failures.append(result)
    print("scim2-tester:", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    checked = {r.resource_type for r in results if r.resource_type}
    if not {"User", "Group"} <= checked:
        print("scim2-tester did not reach both User and Group", file=sys.stderr)
        return 1
    if failures:
        print(f"{len(failures)} checks failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
