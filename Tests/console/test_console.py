"""The web console in headless Chromium on a running hub: what an operator, a privacy officer and a
partner see, read from the page as a person would, and checked against the hub's API."""
import json
import urllib.error
import urllib.request
from urllib.parse import parse_qs, quote, urlparse
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]


def fresh_page(browser, url):
    """A newly loaded console with nobody signed in (a hash change alone would not reload it)."""
    browser.get(url.split("#")[0].rstrip("/") + "/healthz")
    browser.execute_script("sessionStorage.clear()")
    browser.get(url)


def sign_in(browser, hub, role, page=""):
    fresh_page(browser, f"{hub.url}/#/{page}")
    wait(browser).until(shown.visibility_of_element_located((By.ID, "token"))).send_keys(hub.tokens[role])
    browser.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait(browser).until(shown.text_to_be_present_in_element((By.ID, "who"), role if role in hub.tokens else ""))


def wait(browser, seconds=20):
    return WebDriverWait(browser, seconds)


def nav(browser):
    return [link.text for link in browser.find_elements(By.CSS_SELECTOR, "nav a")]


# Pages that refresh themselves redraw every two seconds; an element found before a redraw and read
# after it is stale. So a table or a card is read in one script, from one drawing of the page.
READ_ROWS = """
const table = document.querySelector(arguments[0]);
if (!table) return null;
return [...table.querySelectorAll("tbody tr")].map(row => [...row.querySelectorAll("td")].map(cell => cell.innerText.trim()));
"""


def rows(browser, css="#page table"):
    """The body rows of the first table matching `css`, as lists of cell texts."""
    found = browser.execute_script(READ_ROWS, css)
    assert found is not None, f"no table {css} on the page"
    return found


def pending_states(browser):
    """The state column of the pending approvals, or None while the page is being redrawn."""
    try:
        return [row[2] for row in rows(browser, "#pending table")]
    except Exception:
        return None


def card(browser, metric):
    value = browser.execute_script("const v = document.querySelector(arguments[0]); return v && v.innerText.trim();",
                                   f'[data-metric="{metric}"] .value')
    assert value is not None, f"no card {metric} on the page"
    return int(value)


def test_a_wrong_token_is_refused(hub, chromium):
    fresh_page(chromium, hub.url + "/")
    wait(chromium).until(shown.visibility_of_element_located((By.ID, "token"))).send_keys("kh_not-a-token")
    chromium.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.ID, "signin-error"), "That token is not valid here."))
    assert nav(chromium) == []
    assert chromium.find_element(By.ID, "page").text == ""


def test_every_answer_carries_headers_that_keep_a_browser_from_misusing_it(hub, chromium):
    """The console may not be framed, loads only the hub's own files (and needs nothing else: signing in
    and drawing a page raise no refusal in the browser's log), nothing is sniffed; an answer of the API,
    which can carry personal data, is never stored."""
    def head(path, token=None):
        request = urllib.request.Request(hub.url + path, headers={"Authorization": f"Bearer {token}"} if token else {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.headers
    answers = {path: head(path, token) for path, token in [("/", None), ("/console.js", None), ("/api/me", hub.tokens["operator"]),
                                                             ("/api/deliveries", None), ("/api/no-such-thing", hub.tokens["operator"])]}
    assert [status for status, _ in answers.values()] == [200, 200, 200, 401, 404]
    for path, (_, headers) in answers.items():
        assert headers["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'", path
        assert (headers["X-Frame-Options"], headers["X-Content-Type-Options"], headers["Referrer-Policy"]) == ("DENY", "nosniff", "no-referrer"), path
        assert (headers["Cache-Control"] == "no-store") == path.startswith("/api/"), path
    chromium.get_log("browser")  # what earlier tests left
    sign_in(chromium, hub, "operator")
    wait(chromium).until(shown.presence_of_element_located((By.CSS_SELECTOR, '[data-metric="accepted"]')))
    refused = [entry["message"] for entry in chromium.get_log("browser") if "Content Security Policy" in entry["message"]]
    assert refused == []


def test_operator_pipeline_overview_shows_the_cases_flowing(hub, chromium):
    sign_in(chromium, hub, "operator")
    assert nav(chromium) == ["Pipeline", "Deliveries", "Dead letters", "SLA alerts", "Event trace", "Chain cases"]
    wait(chromium).until(shown.presence_of_element_located((By.CSS_SELECTOR, '[data-metric="accepted"]')))
    assert chromium.find_element(By.CSS_SELECTOR, "#page h2").text == "Pipeline"
    # Delivery status per partner: the acknowledged column agrees with the API, partner by partner.
    status, deliveries = hub.api("/api/deliveries")
    assert status == 200
    table = {row[0]: row for row in rows(chromium, "#delivery-status table")}
    partners = sorted({d["organisation"] for d in deliveries})
    assert sorted(table) == partners
    states = ["routed", "delivered", "acknowledged", "failed", "rejected"]
    for partner in partners:
        counted = [sum(1 for d in deliveries if d["organisation"] == partner and d["state"] == state) for state in states]
        assert [int(cell) for cell in table[partner][1:]] == counted, partner
    assert "ketenhub-router" in chromium.find_element(By.ID, "page").text  # consumer lag per group
    before = card(chromium, "accepted")
    assert before > 0 and card(chromium, "routed") > 0 and card(chromium, "acknowledged") > 0
    # One more message from the police: the open page counts it without being reloaded.
    message = (ROOT / "Contracts/partners/politie/examples/aangifte-sash-thv-overtreding.xml").read_bytes()
    status, receipt = hub.api("/partners/politie/messages", role="politie", method="POST", body=message)
    assert status == 202, receipt
    wait(chromium, 30).until(lambda browser: card(browser, "accepted") >= before + len(receipt["events"]))


def police_unit(hub):
    """A police unit the demo's cases reached: deliveries go to the unit of each case's region."""
    status, deliveries = hub.api("/api/deliveries?state=acknowledged")
    units = sorted({d["organisation"] for d in deliveries if d["organisation"].startswith("politie-")})
    assert status == 200 and units, "the demo's cases reach police units"
    return units[0]


def test_operator_deliveries_trace_and_no_content(hub, chromium):
    unit = police_unit(hub)
    sign_in(chromium, hub, "operator", f"deliveries?organisation={unit}&state=acknowledged")
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#page h2"), "Deliveries"))
    wait(chromium).until(shown.presence_of_element_located((By.CSS_SELECTOR, "#page table")))
    shown_rows = rows(chromium)
    status, expected = hub.api(f"/api/deliveries?organisation={unit}&state=acknowledged")
    assert len(shown_rows) >= len(expected) > 0
    assert all(row[1] == unit and row[4] == "acknowledged" for row in shown_rows)
    # Follow an event to its trace: its decisions, with rule and legal basis, and its deliveries.
    link = chromium.find_element(By.CSS_SELECTOR, "#page tbody tr td:nth-child(4) a")
    query = parse_qs(urlparse(link.get_attribute("href").replace("#/trace?", "?")).query)
    link.click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#page h2"), "Event trace"))
    wait(chromium).until(shown.text_to_be_present_in_element((By.ID, "page"), "Decisions"))
    status, trace = hub.api(f"/api/trace?source={quote(query['source'][0])}&id={quote(query['id'][0])}")
    assert status == 200
    decisions = rows(chromium, "#page h3 + table + h3 + table")
    assert [(row[0], row[1], row[2], row[3]) for row in decisions] == [
        (d["recipient"], "permit" if d["permitted"] else "deny", d.get("ruleId") or "", d.get("legalBasis") or "") for d in trace["decisions"]]
    assert [unit, "permit"] in [row[:2] for row in decisions]
    assert "null" not in chromium.find_element(By.ID, "page").text
    # Operators see metadata only: nowhere a delivery's content.
    delivery = expected[0]["deliveryId"]
    assert hub.api(f"/api/deliveries/{delivery}/content")[0] == 403


def test_chain_cases_references_and_links_by_two_operators(hub, chromium):
    """#16: the demo's cases are opened by police references and joined by the others'; a rule links two
    cases sharing a suspect at once; two sharing a victim wait until one operator proposes and a second confirms."""
    status, listed = hub.api("/api/case-links")
    assert status == 200
    automatic = [link for link in listed["links"] if link["rule"] == "LINK-SAME-SUSPECT"]
    assert automatic and all(link["state"] == "linked" and [s["by"] for s in link["steps"]] == ["hub"] for link in automatic)
    candidate = next(c for c in listed["candidates"] if c["rule"] == "LINK-SAME-VICTIM")
    first, second = candidate["cases"]
    # The case page: the partners' own references (the police opened it with their BVH number) and its events.
    sign_in(chromium, hub, "operator", f"cases?case={first}")
    wait(chromium).until(shown.text_to_be_present_in_element((By.ID, "page"), "Links between cases"))
    references = rows(chromium, "#page h3 + table")
    status, case = hub.api(f"/api/cases/{first}")
    assert [row[0] for row in references] == [r["organisation"] for r in case["references"]]
    assert any(row[0].startswith("politie-") and row[2].startswith("opened the case (OPEN-POLITIE-REGISTRATIE)") for row in references)
    assert any(not row[0].startswith("politie") and row[2] == "joined with the chain case id" for row in references)
    assert "psn:" not in chromium.find_element(By.ID, "page").text, "the person two cases share is never shown"
    # The operator proposes the victim link; the same operator is offered no confirmation.
    proposal = [b for b in chromium.find_elements(By.XPATH, "//button[text()='Propose link']")
                if first in b.find_element(By.XPATH, "./ancestor::tr").text and second in b.find_element(By.XPATH, "./ancestor::tr").text]
    proposal[0].click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "[role=status]"), "proposed by operator"))
    link_id = next(l["linkId"] for l in hub.api(f"/api/cases/{first}")[1]["links"] if l["rule"] == "LINK-SAME-VICTIM")
    # A second operator confirms it on the same page.
    sign_in(chromium, hub, "operator-2", f"cases?case={first}")
    confirm = WebDriverWait(chromium, 30).until(lambda b: b.find_elements(By.XPATH, "//button[text()='Confirm']") or None)
    confirm[0].click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "[role=status]"), "linked by operator-2"))
    WebDriverWait(chromium, 30).until(lambda _: hub.api(f"/api/cases/{first}")[1]["links"] and any(
        l["linkId"] == link_id and l["state"] == "linked" for l in hub.api(f"/api/cases/{first}")[1]["links"]))
    # The event trace shows the link and who made each step.
    status, events = hub.api(f"/api/cases/{first}/events")
    sign_in(chromium, hub, "operator-2", f"trace?source={quote(events[0]['source'])}&id={quote(events[0]['eventId'])}")
    wait(chromium).until(shown.text_to_be_present_in_element((By.ID, "page"), "Its links to other cases"))
    text = chromium.find_element(By.ID, "page").text
    assert link_id in text and "proposed by operator" in text and "linked by operator-2" in text


def test_dead_letters_show_reasons_as_text_and_replay(hub, chromium):
    # A hostile column name echoed in the reason must show as text, never run.
    hostile = 'record_id;<img src=x onerror="document.title=\'pwned\'">\n1;2\n'.encode()
    status, receipt = hub.api("/partners/3ro/messages", role="3ro", method="POST", body=hostile)
    assert status == 422, receipt
    sign_in(chromium, hub, "operator", "dead-letters")
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#page h2"), "Dead letters"))
    wait(chromium).until(shown.presence_of_element_located((By.CSS_SELECTOR, "#page table")))
    status, letters = hub.api("/api/dead-letters")
    page = chromium.find_element(By.ID, "page").text
    assert f"{len(letters)} dead letters" in page
    for letter in letters:
        assert letter["deadLetterId"] in page
        for reason in letter["reasons"]:
            assert reason in page
    assert "<img src=x" in page, "the hostile text is shown as text"
    assert chromium.find_elements(By.CSS_SELECTOR, "#page img") == [] and chromium.title != "pwned"
    # Replay the hostile one: refused again, and said so.
    row = next(r for r in chromium.find_elements(By.CSS_SELECTOR, "#page tbody tr") if receipt["deadLetterId"] in r.text)
    row.find_element(By.TAG_NAME, "button").click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#page [role=status]"), ": rejected"))


def test_sla_alerts_page_agrees_with_the_api(hub, chromium):
    sign_in(chromium, hub, "operator", "alerts")
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#page h2"), "SLA alerts"))
    status, alerts = hub.api("/api/alerts")
    assert status == 200
    if alerts:
        assert len(rows(chromium)) == len(alerts)
    else:
        assert "No SLA alerts" in chromium.find_element(By.ID, "page").text


def test_partner_sees_only_its_own_deliveries(hub, chromium):
    unit = police_unit(hub)
    sign_in(chromium, hub, unit)
    assert nav(chromium) == ["Deliveries"]
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#page h2"), f"Deliveries to {unit}"))
    wait(chromium).until(shown.presence_of_element_located((By.CSS_SELECTOR, "#page table")))
    shown_rows = rows(chromium)
    assert shown_rows and all(row[1] == unit for row in shown_rows)
    assert chromium.find_elements(By.XPATH, "//button[text()='Send again']") == []


def test_privacy_officer_matrix_table(hub, chromium):
    sign_in(chromium, hub, "privacy-officer")
    assert nav(chromium) == ["Matrix", "Simulate", "Approvals"]
    wait(chromium).until(shown.presence_of_element_located((By.CSS_SELECTOR, "#page table")))
    status, matrix = hub.api("/api/matrix", role="privacy-officer")
    shown_rows = rows(chromium)
    assert len(shown_rows) == len(matrix["rows"])
    # event type, recipient, scope, disclosure, legal basis, basis confirmed, purpose, purpose means, conditions, rule, fields
    definition = next(row["purposeDefinition"] for row in matrix["rows"] if row["ruleId"] == "VTM-VT")
    assert definition.startswith("Veilig Thuis uses it to assess")
    assert ["vt-melding", "vt", "national", "inhoud", "wpg-veilig-thuis", "unconfirmed", "veiligheidsbeoordeling", definition,
            "none", "VTM-VT", "8"] in shown_rows
    assert any(row[0] == "gedragsaanwijzing" and row[1] == "shn" and "consent victim-informed" in row[8] for row in shown_rows)
    # Every basis awaits confirmation: the page says so, and that the version is a trial.
    note = chromium.find_element(By.CSS_SELECTOR, "#page p.warning").text
    assert note.startswith(f"{len(matrix['rows'])} of {len(matrix['rows'])} rows rest on a legal basis not yet confirmed")
    assert "Trial version:" in note and matrix["trial"]


def test_privacy_officer_simulate_form(hub, chromium):
    sign_in(chromium, hub, "privacy-officer", "simulate")
    event = (ROOT / "Contracts/examples/vt-melding/valid/melding-met-kind.json").read_text()
    area = wait(chromium).until(shown.visibility_of_element_located((By.ID, "event")))
    chromium.execute_script("arguments[0].value = arguments[1]", area, event)
    chromium.find_element(By.XPATH, "//button[text()='Simulate']").click()
    wait(chromium).until(shown.presence_of_element_located((By.CSS_SELECTOR, "#simulation table")))
    decisions = rows(chromium, "#simulation table")
    expected = hub.api("/api/matrix/simulate", role="privacy-officer", method="POST", body={"event": json.loads(event)})[1]["decisions"]
    assert [(row[0], row[1], row[2]) for row in decisions] == [(d["recipient"], d["outcome"], d.get("ruleId") or "") for d in expected]
    vt = next(row for row in decisions if row[0].startswith("vt-") and row[1] == "permit")
    assert vt[2] == "VTM-VT" and vt[3] == "wpg-veilig-thuis" and vt[5] == "inhoud" and "/data/meldingId" in vt[6]
    assert any(row[1] == "deny" for row in decisions)


def test_privacy_officers_propose_approve_diff_and_activate(hub, chromium):
    current = (ROOT / "Contracts/matrix/sharing-matrix.yaml").read_text()
    narrowed = current.replace("""    disclosure: inhoud
    fields: [/data/meldingId, /data/registeredAt, /data/municipalityCode, /data/concerns, /data/persons, /data/childrenPresent, /data/summary, /data/contactPerson]""",
                               """    disclosure: dat
    fields: [/data/meldingId, /data/contactPerson]""")
    assert narrowed != current
    sign_in(chromium, hub, "privacy-officer", "approvals")
    area = wait(chromium).until(shown.visibility_of_element_located((By.ID, "matrix")))
    chromium.execute_script("arguments[0].value = arguments[1]", area, narrowed + "\n  - {id: BROKEN, events: [vt-melding], recipient: shn}\n")
    chromium.find_element(By.XPATH, "//button[text()='Propose']").click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.ID, "proposal-result"), "422"))
    assert "BROKEN" in chromium.find_element(By.ID, "proposal-result").text, "lint findings are shown with the rule"
    area = chromium.find_element(By.ID, "matrix")
    chromium.execute_script("arguments[0].value = arguments[1]", area, narrowed)
    chromium.find_element(By.XPATH, "//button[text()='Propose']").click()
    wait(chromium).until(lambda browser: pending_states(browser) == ["proposed"])
    pending = rows(chromium, "#pending table")
    number = pending[-1][0]
    assert pending[-1][2] == "proposed" and pending[-1][3].startswith("privacy-officer,")
    # The proposer may not approve: the page says why.
    chromium.find_element(By.XPATH, "//div[@id='pending']//button[text()='Approve']").click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.ID, "page"), "may not approve"))
    # The diff of the proposal, per event type and recipient.
    chromium.find_element(By.XPATH, f"//div[@id='pending']//a[text()='diff']").click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#page h2"), f"Version {number} against version"))
    assert ["vt-melding", "vt", "national", "VTM-VT"] == rows(chromium)[0][:4]
    assert "disclosure inhoud → dat" in rows(chromium)[0][4]
    # A second privacy officer approves, then activates it now.
    sign_in(chromium, hub, "privacy-officer-2", "approvals")
    wait(chromium).until(shown.presence_of_element_located((By.XPATH, "//div[@id='pending']//button[text()='Approve']"))).click()
    wait(chromium).until(lambda browser: pending_states(browser) == ["approved"])
    assert rows(chromium, "#pending table")[-1][4].startswith("privacy-officer-2,")
    chromium.find_element(By.XPATH, "//div[@id='pending']//button[text()='Activate']").click()
    wait(chromium).until(shown.text_to_be_present_in_element((By.ID, "pending"), "No versions waiting."))
    versions = rows(chromium, "#page h3 + table")
    assert [row[2] for row in versions if row[0] == number] == ["in force"]
    status, matrix = hub.api("/api/matrix", role="privacy-officer")
    assert str(matrix["version"]["number"]) == number
