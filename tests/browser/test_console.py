"""The Directory Sync page (CONTRACTS section 7) in Debian's chromium against `dirsync-local`:
each test opens the link `dirsync-local` prints and checks the page against the API.

With DIRSYNC_SCREENSHOTS set to a folder, the tests also save the screenshots the README shows."""

import os
import re
import uuid

import pytest
from playwright.sync_api import expect

SHOTS = os.environ.get("DIRSYNC_SCREENSHOTS")
TIMEOUT = 20_000


def shoot(locator, name):
    if SHOTS:
        locator.screenshot(path=os.path.join(SHOTS, name), animations="disabled")


def open_page(watched, local):
    page = watched.page
    page.goto(local.link)
    expect(page.locator("#status")).to_have_attribute("aria-busy", "false", timeout=TIMEOUT)
    expect(page.locator("#runs > li").first).to_be_visible()
    return page


def retitle(text):
    """José Müller gets a new job title."""
    return re.sub(
        r"(dn: uid=jose\.muller,[^\n]*\n(?:[^\n]+\n)*?)title: Account Executive\n",
        r"\1title: Senior Account Executive\n",
        text,
        count=1,
    )


def remove_users(*uids):
    def edit(text):
        entries = text.split("\n\n")
        return "\n\n".join(e for e in entries if not any(f"dn: uid={u}," in e for u in uids))

    return edit


def test_the_status_card_shows_what_the_api_says(local, watched):
    page = open_page(watched, local)
    status, body = local.api("GET", "/sync/status")
    assert status == 200
    card = page.locator("#status")
    expect(page.locator("#provider")).to_have_text("LDIF export")
    expect(page.locator("#server")).to_have_text(body["server"])
    synced = f"{body['synced_extensions']:,} of {body['record_limit']:,} (record limit)"
    expect(page.locator("#synced")).to_have_text(synced)
    expect(page.locator("#state")).to_have_text(body["state"].capitalize())
    expect(page.locator("#last-result")).to_have_text(body["last_sync"]["summary"])
    # Local time, then how long ago ("now" within the second).
    expect(page.locator("#last-sync")).to_have_text(re.compile(r"^\S.* \((now|\d+ seconds? ago)\)$"))
    expect(page.locator("#next-sync")).to_have_text(re.compile(r"^\S.* \(in \d+ minutes\)$"))
    local_time = "(iso) => new Date(iso).toLocaleString()"
    for field, at in [("#last-sync", body["last_sync"]["finished_at"]), ("#next-sync", body["next_sync_at"])]:
        expect(page.locator(field)).to_contain_text(page.evaluate(local_time, at) + " (")
    expect(page.locator("#held")).to_be_hidden()
    # The history lists the API's runs, newest first.
    _, runs = local.api("GET", "/sync/runs")
    rows = page.locator("#runs .run-row")
    expect(rows).to_have_count(len(runs["runs"]))
    for i, run in enumerate(runs["runs"]):
        expect(rows.nth(i)).to_have_attribute("data-run", run["run_id"])
    # The token left the address bar, and lives in this tab only.
    assert "token" not in page.url
    assert page.evaluate("localStorage.length") == 0
    shoot(card, "console-status.png")


def test_synchronize_runs_a_sync_and_the_card_updates(local, watched):
    page = open_page(watched, local)
    _, before = local.api("GET", "/sync/status")
    local.edit_ldif(retitle)
    page.get_by_role("button", name="Synchronize").click()
    expect(page.locator("#run")).to_be_visible()
    expect(page.locator("#run-line")).to_have_text(
        "Success: 0 new, 1 updated, 0 removed", timeout=TIMEOUT
    )
    expect(page.locator('#run-counts [data-count="updated"]')).to_have_text("1 updated")
    expect(page.locator("#last-result")).to_have_text("0 new, 1 updated, 0 removed")
    expect(page.locator("#last-names")).to_have_text("Updated: José Müller")
    _, after = local.api("GET", "/sync/status")
    assert after["last_sync"]["run_id"] != before["last_sync"]["run_id"]
    assert after["last_sync"]["trigger"] == "manual"
    expect(page.locator("#runs .run-row").first).to_have_attribute(
        "data-run", after["last_sync"]["run_id"]
    )
    expect(page.get_by_role("button", name="Synchronize")).to_be_enabled()


def test_preview_lists_a_change_made_to_the_demo_ldif(local, watched):
    page = open_page(watched, local)
    local.edit_ldif(retitle)
    local.edit_ldif(remove_users("marcus.lee"))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview-result")
    expect(page.locator("#preview-line")).to_have_text(
        "A sync now would do: 0 new, 1 updated, 1 removed", timeout=TIMEOUT
    )
    updates = preview.locator('[data-group="updates"]')
    expect(updates.locator("summary")).to_have_text("Updates (1)")
    expect(updates.locator("li")).to_have_text(
        "José MüllerJob title: Account Executive → Senior Account Executive"
    )
    removes = preview.locator('[data-group="removes"]')
    expect(removes.locator("li")).to_have_text("Marcus Lee — delete: deleted in the directory")
    skipped = preview.locator('[data-group="skipped"]')
    expect(skipped.locator("summary")).to_have_text("Skipped (4)")
    expect(skipped).to_contain_text("Tom Becker — missing email")
    # A preview changes nothing.
    _, status = local.api("GET", "/sync/status")
    assert status["last_sync"]["summary"] == "Everything is up to date"
    shoot(preview, "console-preview.png")


def add_people(*people):
    """New directory users: (uid, full name, extension number)."""

    def edit(text):
        entries = []
        for uid, name, number in people:
            first, last = name.split(" ", 1)
            entries.append(
                f"dn: uid={uid},ou=Sales,ou=People,dc=example,dc=com\n"
                "objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n"
                f"objectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\ngivenName: {first}\n"
                f"sn: {last}\nmail: {uid}@example.com\ntelephoneNumber: +1 (415) 555-{number}\n"
                f"entryUUID: {uuid.uuid5(uuid.NAMESPACE_URL, uid)}\n"
            )
        return text.rstrip("\n") + "\n\n" + "\n".join(entries)

    return edit


def test_a_long_preview_is_searchable_and_conflicts_name_their_holder(local, watched):
    holder = local.add_manual_extension("2199", "front.desk@example.com")
    hires = [(f"hire.{i}", f"Hire Number{i}", str(2400 + i)) for i in range(1, 11)]
    # Tenant data is hostile: markup in a name must show as text.
    hostile = "Eve Ev<img src=x onerror=window.pwned=1>il"
    local.edit_ldif(add_people(("new.clash", "Nora Clash", "2199"), ("eve", hostile, "2499"), *hires))
    page = open_page(watched, local)
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview-result")
    expect(page.locator("#preview-line")).to_have_text(
        "A sync now would do: 11 new, 0 updated, 0 removed", timeout=TIMEOUT
    )
    expect(preview.locator("li", has_text="Eve Ev<img src=x onerror=window.pwned=1>il — 2499")).to_have_count(1)
    expect(preview.locator("img")).to_have_count(0)
    assert page.evaluate("window.pwned") is None
    conflicts = preview.locator('[data-group="conflicts"]')
    expect(conflicts.locator("li")).to_have_text(
        f"Nora Clash — number taken, held by extension {holder}"
    )
    creates = preview.locator('[data-group="creates"]')
    expect(creates.locator("summary")).to_have_text("New extensions (11)")
    expect(creates.locator("li")).to_have_count(11)
    search = creates.get_by_role("searchbox", name="Search new extensions")
    search.fill("number7")
    expect(creates.locator("li:visible")).to_have_count(1)
    expect(creates.locator("li:visible")).to_have_text("Hire Number7 — 2407, hire.7@example.com")
    search.fill("")
    expect(creates.locator("li:visible")).to_have_count(11)
    # Short groups get no search box.
    expect(conflicts.get_by_role("searchbox")).to_have_count(0)


def test_a_held_run_is_approved_from_the_page(local, watched):
    status, _ = local.api(
        "PUT",
        "/directory",
        {
            "provider": {"type": "ldif", "path": "demo.ldif"},
            "extension_numbers": {"mode": "attribute", "pattern": r"(\d{3,6})$"},
            "deletion_guard": {"max_deletes": 1},
        },
    )
    assert status == 200
    local.edit_ldif(remove_users("alice.johnson", "marcus.lee"))
    page = open_page(watched, local)
    page.get_by_role("button", name="Synchronize").click()
    expect(page.locator("#run-line")).to_have_text(
        "Held: Everything is up to date (2 removals held for approval)", timeout=TIMEOUT
    )
    expect(page.locator("#held")).to_be_visible()
    _, before = local.api("GET", "/sync/status")
    held_id = before["last_sync"]["run_id"]
    assert before["last_sync"]["outcome"] == "held"
    assert before["synced_extensions"] == 21

    page.get_by_role("button", name="Review the held run").click()
    detail = page.locator(f"#run-{held_id}")
    expect(detail).to_be_visible()
    expect(detail.locator('[data-group="removes"] li')).to_have_count(2)
    shoot(page.locator("#runs > li").first, "console-run.png")
    approve = detail.get_by_role("button", name="Approve 2 removals")
    approve.click()
    expect(detail).to_contain_text("Apply 2 removals now?")
    # Keyboard: the confirmation has the focus; Enter applies.
    expect(detail.get_by_role("button", name="Yes, apply them")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#run-line")).to_have_text(
        "Success: 0 new, 0 updated, 2 removed", timeout=TIMEOUT
    )
    _, after = local.api("GET", "/sync/status")
    assert after["synced_extensions"] == 19
    assert after["last_sync"]["outcome"] == "success"
    _, held = local.api("GET", f"/sync/runs/{held_id}")
    assert held["approved_by"] == after["last_sync"]["run_id"]
    expect(page.locator("#held")).to_be_hidden()
    expect(page.locator("#last-names")).to_have_text("Removed: Alice Johnson, Marcus Lee")


def test_an_api_error_is_shown_as_the_apis_message(local, watched):
    watched.expected_failures.update({401, 403})
    page = watched.page
    base = local.link.split("#", 1)[0]
    page.goto(base + "#token=not-a-token&tenant=demo")
    status, body = local.api("GET", "/sync/status", token="not-a-token")
    assert status == 401
    expect(page.locator("#error")).to_have_text("Error: " + body["message"])
    # The demo's token on another tenant's page (a new link in the same tab): the 403's message.
    page.goto(base + f"#token={local.token}&tenant=other-tenant")
    status, body = local.api("GET", "/sync/status", tenant="other-tenant")
    assert status == 403
    expect(page.locator("#error")).to_have_text("Error: " + body["message"])
    # A tab opened without the link (nothing kept in its session): how to open the page.
    fresh = page.context.new_page()
    fresh.on("console", watched._console)
    fresh.goto(base)
    expect(fresh.locator("#error")).to_contain_text("Open this page with its link")
    expect(fresh.get_by_role("button", name="Synchronize")).to_be_disabled()


@pytest.mark.parametrize("watched", [360], indirect=True)
def test_the_page_works_at_360_px_and_from_the_keyboard(local, watched):
    page = open_page(watched, local)
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # Tab reaches Synchronize, and Enter on it runs a sync.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "sync":
            break
    assert page.evaluate("document.activeElement.id") == "sync"
    local.edit_ldif(retitle)
    page.keyboard.press("Enter")
    expect(page.locator("#run-line")).to_have_text(
        "Success: 0 new, 1 updated, 0 removed", timeout=TIMEOUT
    )
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-line")).to_have_text("The connection works.", timeout=TIMEOUT)
    expect(page.locator('[data-check="search"]')).to_contain_text("26 users read")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#state")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Synchronize")).to_be_disabled()
    _, status = local.api("GET", "/sync/status")
    assert status["state"] == "paused"
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#state")).to_have_text("Active")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "console-360.png"), full_page=True)
