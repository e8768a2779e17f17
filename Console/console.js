// The Ketenhub console: one page per task, for the role the token stands for. It reads the hub's API
// (Contracts/openapi.yaml) and /metrics, and writes every value as text, never as markup: dead-letter
// reasons and partner names come from outside and must not run in an operator's browser.
"use strict";

const tokenKey = "ketenhub-token";
let principal = null;
let refreshTimer = null;

// ---- plumbing ----

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "onclick" || name === "onsubmit" || name === "onchange") node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(tokenKey) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET", headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = text; }
  if (response.status === 401) { signOut("Your token is not (or no longer) valid."); }
  return { status: response.status, ok: response.ok, json };
}

/// A table of `rows` with `columns` [{title, value(row) -> text or Node, className?, number?}].
function table(columns, rows, emptyText = "Nothing yet.") {
  if (rows.length === 0) return el("p", { class: "muted" }, emptyText);
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map(c => el("th", { class: c.number ? "number" : null }, c.title)))),
    el("tbody", {}, rows.map(row => el("tr", {}, columns.map(c => {
      const value = c.value(row);
      const className = [c.number ? "number" : "", c.className ? c.className(row) : ""].join(" ").trim() || null;
      return el("td", { class: className }, value === undefined || value === null ? "" : value);
    })))));
}

function show(...nodes) {
  const page = document.getElementById("page");
  page.replaceChildren(...nodes.filter(node => node !== null && node !== undefined));
}

function problem(answer) {
  const json = answer.json || {};
  const findings = (json.findings || []).map(f => `${f.file}:${f.line}: ${f.rule ? f.rule + ": " : ""}${f.message}`);
  return el("div", { class: "error", role: "alert" }, el("p", {}, `${answer.status}: ${json.error || json}`),
    findings.length ? el("ul", {}, findings.map(f => el("li", {}, f))) : null);
}

function when(text) { return text ? text.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : ""; }

// ---- metrics (Prometheus text) ----

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^([a-z_]+)(?:\{(.*)\})? ([-0-9.eE+]+)$/);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] || "").matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function total(samples, name, labels = {}) {
  return samples.filter(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

// ---- operators ----

const deliveryStates = ["routed", "delivered", "acknowledged", "failed", "rejected"];

async function overviewPage() {
  const [metrics, deliveries] = await Promise.all([fetch("/metrics").then(r => r.text()), api("/api/deliveries")]);
  const samples = parseMetrics(metrics);
  const card = (label, value, id) => el("div", { class: "card", "data-metric": id }, el("div", { class: "value" }, String(value)), el("div", { class: "label" }, label));
  const lag = samples.filter(s => s.name === "ketenhub_consumer_lag");
  show(
    el("h2", {}, "Pipeline"),
    el("p", { class: "muted" }, "From the partners' messages to their acknowledgements; refreshed every two seconds."),
    el("div", { class: "cards" },
      card("events accepted", total(samples, "ketenhub_events_accepted_total"), "accepted"),
      card("messages refused", total(samples, "ketenhub_messages_rejected_total"), "rejected"),
      card("events routed", total(samples, "ketenhub_events_routed_total"), "routed"),
      card("decisions: permit", total(samples, "ketenhub_decisions_total", { outcome: "permit" }), "permits"),
      card("decisions: deny", total(samples, "ketenhub_decisions_total", { outcome: "deny" }), "denies"),
      card("delivered", total(samples, "ketenhub_deliveries_total", { outcome: "delivered" }), "delivered"),
      card("acknowledged", total(samples, "ketenhub_acknowledgements_total"), "acknowledged"),
      card("dead letters", total(samples, "ketenhub_dead_letters"), "dead-letters"),
      card("SLA alerts", total(samples, "ketenhub_sla_alerts_total"), "alerts")),
    el("h3", {}, "Delivery status per partner"),
    deliveryStatusTable(deliveries.ok ? deliveries.json : []),
    el("h3", {}, "Consumer lag"),
    table([{ title: "consumer group", value: s => s.labels.group }, { title: "records behind", value: s => s.value, number: true }],
      lag, "No lag measured yet."));
}

function deliveryStatusTable(deliveries) {
  const byOrganisation = {};
  for (const delivery of deliveries) {
    const counts = byOrganisation[delivery.organisation] || (byOrganisation[delivery.organisation] = {});
    counts[delivery.state] = (counts[delivery.state] || 0) + 1;
  }
  const rows = Object.keys(byOrganisation).sort().map(organisation => ({ organisation, ...byOrganisation[organisation] }));
  return el("div", { id: "delivery-status" }, table(
    [{ title: "partner", value: r => el("a", { href: `#/deliveries?organisation=${encodeURIComponent(r.organisation)}` }, r.organisation) }]
      .concat(deliveryStates.map(state => ({ title: state, value: r => r[state] || 0, number: true, className: () => "state-" + state }))),
    rows, "No deliveries yet."));
}

async function deliveriesPage(query) {
  const organisation = query.get("organisation") || "";
  const state = query.get("state") || "";
  const own = principal.role.startsWith("partner:");
  const parameters = new URLSearchParams();
  if (organisation && !own) parameters.set("organisation", organisation);
  if (state) parameters.set("state", state);
  const answer = await api("/api/deliveries?" + parameters);
  if (!answer.ok) return show(el("h2", {}, "Deliveries"), problem(answer));
  const filter = el("form", { class: "inline", onsubmit: event => {
    event.preventDefault();
    const form = new FormData(event.target);
    const next = new URLSearchParams();
    for (const [key, value] of form) if (value) next.set(key, value);
    location.hash = "#/deliveries?" + next;
  } },
    own ? null : el("div", {}, el("label", { for: "organisation" }, "partner"), el("input", { id: "organisation", name: "organisation", value: organisation })),
    el("div", {}, el("label", { for: "state" }, "state"),
      el("select", { id: "state", name: "state" }, el("option", { value: "" }, "any"),
        deliveryStates.map(s => el("option", { value: s, selected: s === state }, s)))),
    el("button", { type: "submit" }, "Show"));
  const columns = [
    { title: "delivery", value: d => el("span", { class: "mono" }, d.deliveryId) },
    { title: "partner", value: d => d.organisation },
    { title: "case", value: d => d.ketencaseid },
    { title: "event", value: d => d.eventId && !own
        ? el("a", { href: `#/trace?source=${encodeURIComponent(d.eventSource)}&id=${encodeURIComponent(d.eventId)}` }, d.eventId) : d.eventId },
    { title: "state", value: d => d.state, className: d => "state-" + d.state },
    { title: "attempts", value: d => d.attempts, number: true },
    { title: "delivered", value: d => when(d.deliveredAt) },
    { title: "acknowledged", value: d => when(d.acknowledgedAt) },
  ];
  if (!own) columns.push({ title: "", value: d => el("button", { class: "secondary", onclick: () => replay(`/api/deliveries/${encodeURIComponent(d.deliveryId)}/replay`) }, "Send again") });
  show(el("h2", {}, own ? `Deliveries to ${principal.role.slice("partner:".length)}` : "Deliveries"), filter,
    el("p", { class: "muted" }, `${answer.json.length} deliveries`), table(columns, answer.json));
}

async function replay(path) {
  const answer = await api(path, { method: "POST" });
  const message = answer.ok ? `Replay ${answer.json.replayId}: ${answer.json.outcome}${answer.json.detail ? " (" + answer.json.detail + ")" : ""}`
                            : `${answer.status}: ${answer.json.error}`;
  document.getElementById("page").prepend(el("p", { class: answer.ok ? "outcome-" + answer.json.outcome : "error", role: "status" }, message));
}

async function deadLettersPage() {
  const answer = await api("/api/dead-letters");
  if (!answer.ok) return show(el("h2", {}, "Dead letters"), problem(answer));
  show(el("h2", {}, "Dead letters"),
    el("p", { class: "muted" }, `${answer.json.length} dead letters. The messages themselves stay on the dead-letter topic; this page shows why they were refused.`),
    table([
      { title: "dead letter", value: d => el("span", { class: "mono" }, d.deadLetterId) },
      { title: "received", value: d => when(d.receivedAt) },
      { title: "stage", value: d => d.stage },
      { title: "partner", value: d => d.partner },
      { title: "size", value: d => d.sizeBytes + " B", number: true },
      { title: "reasons", value: d => el("ul", {}, d.reasons.map(r => el("li", {}, r))) },
      { title: "replays", value: d => d.replays.map(r => `${r.outcome} (${r.requestedBy})`).join(", ") },
      // Only a partner's message refused on the way in can be submitted again (the API refuses the rest).
      { title: "", value: d => d.stage !== "inbound" ? null
        : el("button", { class: "secondary", onclick: () => replay(`/api/dead-letters/${encodeURIComponent(d.deadLetterId)}/replay`) }, "Replay") },
    ], answer.json, "No dead letters."));
}

async function alertsPage(query) {
  const severity = query.get("severity") || "";
  const answer = await api("/api/alerts" + (severity ? "?severity=" + encodeURIComponent(severity) : ""));
  if (!answer.ok) return show(el("h2", {}, "SLA alerts"), problem(answer));
  show(el("h2", {}, "SLA alerts"),
    el("p", {}, ["", "breach", "warning", "escalation"].map(s =>
      el("a", { href: "#/alerts" + (s ? "?severity=" + s : ""), style: "margin-right:1rem" }, s || "all"))),
    table([
      { title: "raised", value: a => when(a.raisedAt) },
      { title: "severity", value: a => a.severity, className: a => "severity-" + a.severity },
      { title: "clock", value: a => a.clock },
      { title: "case", value: a => a.ketencaseid },
      { title: "partner", value: a => a.organisation },
      { title: "due", value: a => when(a.dueAt) },
      { title: "what", value: a => a.message },
    ], answer.json, "No SLA alerts: every clock is within its time."));
}

async function tracePage(query) {
  const source = query.get("source") || "";
  const id = query.get("id") || "";
  const form = el("form", { class: "inline", onsubmit: event => {
    event.preventDefault();
    const data = new FormData(event.target);
    location.hash = `#/trace?source=${encodeURIComponent(data.get("source"))}&id=${encodeURIComponent(data.get("id"))}`;
  } },
    el("div", {}, el("label", { for: "source" }, "source"), el("input", { id: "source", name: "source", value: source, size: 28, required: true })),
    el("div", {}, el("label", { for: "id" }, "event id"), el("input", { id: "id", name: "id", value: id, size: 36, required: true })),
    el("button", { type: "submit" }, "Trace"));
  if (!source || !id) return show(el("h2", {}, "Event trace"), form, el("p", { class: "muted" }, "Give an event's source and id, or follow a link from the deliveries."));
  const answer = await api(`/api/trace?source=${encodeURIComponent(source)}&id=${encodeURIComponent(id)}`);
  if (!answer.ok) return show(el("h2", {}, "Event trace"), form, problem(answer));
  const trace = answer.json;
  show(el("h2", {}, "Event trace"), form,
    el("h3", {}, `${trace.event.type} ${trace.event.eventId}`),
    table([{ title: "case", value: e => caseLink(e.ketencaseid) }, { title: "from", value: e => e.producer },
           { title: "event time", value: e => when(e.eventTime) }, { title: "accepted by the hub", value: e => when(e.acceptedAt) }], [trace.event]),

    el("h3", {}, "Decisions"),
    table([
      { title: "recipient", value: d => d.recipient },
      { title: "outcome", value: d => d.outcome, className: d => "outcome-" + d.outcome },
      { title: "rule", value: d => d.ruleId }, { title: "legal basis", value: d => d.legalBasis }, { title: "purpose", value: d => d.purpose },
      { title: "matrix", value: d => el("span", { class: "mono" }, d.matrixVersion) }, { title: "decided", value: d => when(d.decidedAt) },
    ], trace.decisions),
    el("h3", {}, "Deliveries"),
    table([
      { title: "partner", value: d => d.organisation }, { title: "state", value: d => d.state, className: d => "state-" + d.state },
      { title: "attempts", value: d => d.attempts, number: true }, { title: "delivered", value: d => when(d.deliveredAt) },
      { title: "acknowledged", value: d => when(d.acknowledgedAt) }, { title: "detail", value: d => d.detail },
    ], trace.deliveries, "No deliveries: no rule permitted this event to anyone."),
    trace.replays.length ? el("h3", {}, "Replays") : null,
    trace.replays.length ? table([{ title: "replay", value: r => r.replayId }, { title: "delivery", value: r => r.target },
      { title: "by", value: r => r.requestedBy }, { title: "at", value: r => when(r.at) }, { title: "outcome", value: r => r.outcome }], trace.replays) : null,
    el("h3", { id: "chain-case" }, "The chain case: partners' own references"),
    referencesTable(trace.references),
    el("h3", {}, "Its links to other cases"),
    linksTable(trace.links, "This case is linked to no other."));
}

// ---- privacy officers ----

async function matrixPage() {
  const answer = await api("/api/matrix");
  if (!answer.ok) return show(el("h2", {}, "Sharing matrix"), problem(answer));
  const { version, rows } = answer.json;
  const unconfirmed = rows.filter(r => !r.legalBasisConfirmed).length;
  show(el("h2", {}, "Sharing matrix in force"),
    el("p", {}, `Version ${version.number} (`, el("span", { class: "mono" }, version.matrixVersion), `), in force from ${when(version.activeFrom)}; `,
      `${rows.length} rows. Deny by default: a recipient not listed for an event receives nothing.`),
    unconfirmed ? el("p", { class: "warning", role: "note" },
      `${unconfirmed} of ${rows.length} rows rest on a legal basis not yet confirmed by the disclosing partner's privacy lawyer. `,
      answer.json.trial ? `Trial version: ${answer.json.trial}` : "") : null,
    table([
      { title: "event type", value: r => r.eventType },
      { title: "recipient", value: r => r.recipient },
      { title: "scope", value: r => r.scope },
      { title: "disclosure", value: r => el("span", { class: "disclosure" }, r.disclosure) },
      { title: "legal basis", value: r => el("span", { title: r.legalBasisCitation || "" }, r.legalBasis) },
      { title: "basis confirmed", value: r => r.legalBasisConfirmed ? "confirmed" : "unconfirmed",
        className: r => r.legalBasisConfirmed ? "" : "unconfirmed" },
      { title: "purpose", value: r => r.purpose },
      { title: "purpose means", value: r => r.purposeDefinition || "" },
      { title: "conditions", value: r => r.conditions || "none" },
      { title: "rule", value: r => el("span", { class: "mono" }, r.ruleId) },
      { title: "fields", value: r => r.fields.length, number: true },
    ], rows));
}

async function simulatePage() {
  const versions = await api("/api/matrix/versions");
  const output = el("div", { id: "simulation" });
  const form = el("form", { onsubmit: async event => {
    event.preventDefault();
    const data = new FormData(event.target);
    let body;
    try {
      body = { event: JSON.parse(data.get("event")) };
      if (data.get("consent").trim()) body.consents = [JSON.parse(data.get("consent"))];
    } catch (error) {
      return output.replaceChildren(el("p", { class: "error", role: "alert" }, "Not JSON: " + error.message));
    }
    if (data.get("version")) body.version = Number(data.get("version"));
    const answer = await api("/api/matrix/simulate", { method: "POST", body });
    if (!answer.ok) return output.replaceChildren(problem(answer));
    output.replaceChildren(
      el("p", {}, `${answer.json.type} ${answer.json.event} under `, el("span", { class: "mono" }, answer.json.matrixVersion)),
      table([
        { title: "recipient", value: d => d.recipient },
        { title: "outcome", value: d => d.outcome, className: d => "outcome-" + d.outcome },
        { title: "rule", value: d => d.ruleId }, { title: "legal basis", value: d => d.legalBasis }, { title: "purpose", value: d => d.purpose },
        { title: "disclosure", value: d => d.disclosure },
        { title: "fields disclosed", value: d => d.fields.join(", ") },
        { title: "why", value: d => d.reason || d.considered.filter(c => !c.applied).map(c => `${c.ruleId}: ${c.reason}`).join("; ") },
      ], answer.json.decisions));
  } },
    el("label", { for: "event" }, "canonical event (structured CloudEvents JSON)"),
    el("textarea", { id: "event", name: "event", required: true, spellcheck: "false" }),
    el("label", { for: "consent" }, "informatiewens giving consent (optional)"),
    el("textarea", { id: "consent", name: "consent", spellcheck: "false", style: "min-height:5rem" }),
    el("div", { class: "inline", style: "display:flex;gap:.5rem;align-items:end;margin-top:.5rem" },
      el("div", {}, el("label", { for: "version" }, "matrix version"),
        el("select", { id: "version", name: "version" }, el("option", { value: "" }, "in force"),
          (versions.ok ? versions.json : []).map(v => el("option", { value: v.number }, `${v.number} (${v.state})`)))),
      el("button", { type: "submit" }, "Simulate")));
  show(el("h2", {}, "Simulate"), el("p", { class: "muted" }, "Who would receive this event, under which rule and legal basis, and which fields."), form, output);
}

async function approvalsPage() {
  const answer = await api("/api/matrix/versions");
  if (!answer.ok) return show(el("h2", {}, "Matrix versions"), problem(answer));
  const versions = answer.json;
  const pending = versions.filter(v => v.state !== "activated");
  const step = async (path, body) => {
    const result = await api(path, { method: "POST", body });
    if (!result.ok) return document.getElementById("page").prepend(problem(result));
    approvalsPage();
  };
  const actions = v => {
    if (v.state === "proposed") return el("button", { onclick: () => step(`/api/matrix/versions/${v.number}/approve`) }, "Approve");
    if (v.state === "approved") return el("form", { class: "inline", onsubmit: event => {
      event.preventDefault();
      const from = new FormData(event.target).get("from");
      step(`/api/matrix/versions/${v.number}/activate`, from ? { from: new Date(from).toISOString().replace(/\.\d+Z$/, "Z") } : {});
    } }, el("input", { type: "datetime-local", name: "from", "aria-label": "active from" }), el("button", { type: "submit" }, "Activate"));
    return null;
  };
  const columns = [
    { title: "version", value: v => v.number, number: true },
    { title: "matrix", value: v => el("span", { class: "mono" }, v.matrixVersion) },
    { title: "state", value: v => v.inForce ? "in force" : v.state },
    { title: "proposed by", value: v => `${v.proposedBy}, ${when(v.proposedAt)}` },
    { title: "approved by", value: v => v.approvedBy ? `${v.approvedBy}, ${when(v.approvedAt)}` : "" },
    { title: "active from", value: v => when(v.activeFrom) },
    { title: "", value: v => v.number > 1 ? el("a", { href: `#/diff?version=${v.number}` }, "diff") : null },
    { title: "", value: actions },
  ];
  const proposal = el("form", { onsubmit: async event => {
    event.preventDefault();
    const text = new FormData(event.target).get("matrix");
    const result = await api("/api/matrix/versions", { method: "POST", body: { files: { "sharing-matrix.yaml": text } } });
    if (!result.ok) return document.getElementById("proposal-result").replaceChildren(problem(result));
    approvalsPage();
  } },
    el("label", { for: "matrix" }, "sharing-matrix.yaml of the proposed version (the other files stay as in force)"),
    el("textarea", { id: "matrix", name: "matrix", required: true, spellcheck: "false" }),
    el("button", { type: "submit" }, "Propose"), el("div", { id: "proposal-result" }));
  show(el("h2", {}, "Pending approvals"),
    el("p", { class: "muted" }, "A version takes effect only when a second privacy officer, not its proposer, has approved it, and from the date it is activated."),
    el("div", { id: "pending" }, table(columns, pending, "No versions waiting.")),
    el("h3", {}, "All versions"), table(columns, versions),
    principal.role === "privacy-officer" ? el("h3", {}, "Propose a version") : null,
    principal.role === "privacy-officer" ? proposal : null);
}

async function diffPage(query) {
  const version = query.get("version");
  if (!version) return show(el("h2", {}, "Diff"), el("p", { class: "muted" }, "Choose a version on the approvals page."));
  const answer = await api(`/api/matrix/versions/${encodeURIComponent(version)}/diff`);
  if (!answer.ok) return show(el("h2", {}, "Diff"), problem(answer));
  show(el("h2", {}, `Version ${answer.json.to} against version ${answer.json.from}`),
    table([
      { title: "event type", value: c => c.eventType }, { title: "recipient", value: c => c.recipient }, { title: "scope", value: c => c.scope },
      { title: "rule", value: c => el("span", { class: "mono" }, c.ruleID) }, { title: "change", value: c => c.details.join("; ") },
    ], answer.json.changes, "No changes: the two versions decide alike."));
}

// ---- chain cases: partners' references and links ----

function caseLink(ketencaseid) {
  return ketencaseid ? el("a", { href: `#/cases?case=${encodeURIComponent(ketencaseid)}` }, ketencaseid) : "";
}

function referencesTable(references) {
  return table([
    { title: "partner", value: r => r.organisation }, { title: "own reference", value: r => el("span", { class: "mono" }, r.reference) },
    { title: "how", value: r => r.how === "opened" ? `opened the case (${r.rule})` : "joined with the chain case id" },
    { title: "by record", value: r => `${r.eventType} ${r.eventId}` }, { title: "registered", value: r => when(r.registeredAt) },
  ], references, "No partner has registered a reference to this case: its messages carried the chain case id.");
}

function linkSteps(link) {
  return link.steps.map(s => `${s.action} by ${s.by} ${when(s.at)}${s.reason ? " (" + s.reason + ")" : ""}`).join("; ");
}

function linksTable(links, emptyText, actions = false) {
  const columns = [
    { title: "link", value: l => el("span", { class: "mono" }, l.linkId) },
    { title: "cases", value: l => el("span", {}, caseLink(l.cases[0]), " and ", caseLink(l.cases[1])) },
    { title: "rule", value: l => l.rule }, { title: "state", value: l => l.state, className: l => "link-" + l.state },
    { title: "who", value: l => linkSteps(l) },
  ];
  if (actions) columns.push({ title: "", value: l =>
    l.state === "proposed" && l.steps[l.steps.length - 1].by !== principal.name
      ? el("button", { onclick: () => linkAction(`/api/case-links/${encodeURIComponent(l.linkId)}/confirm`) }, "Confirm")
      : l.state === "linked" ? el("button", { class: "secondary", onclick: () => {
          const reason = window.prompt("Why are these cases not linked?");
          if (reason) linkAction(`/api/case-links/${encodeURIComponent(l.linkId)}/unlink`, { reason });
        } }, "Unlink") : null });
  return table(columns, links, emptyText);
}

async function linkAction(path, body) {
  const answer = await api(path, { method: "POST", body });
  const message = answer.ok ? `${answer.json.action} by ${answer.json.by}: ${answer.json.cases.join(" and ")}` : `${answer.status}: ${answer.json.error}`;
  document.getElementById("page").prepend(el("p", { class: answer.ok ? "outcome-permit" : "error", role: "status" }, message));
}

async function casesPage(query) {
  const ketencaseid = query.get("case") || "";
  const form = el("form", { class: "inline", onsubmit: event => {
    event.preventDefault();
    location.hash = "#/cases?case=" + encodeURIComponent(new FormData(event.target).get("case"));
  } },
    el("div", {}, el("label", { for: "case" }, "chain case"), el("input", { id: "case", name: "case", value: ketencaseid, size: 18, placeholder: "KZ-2026-XXXXXX" })),
    el("button", { type: "submit" }, "Show"));
  const listed = await api("/api/case-links");
  if (!listed.ok) return show(el("h2", {}, "Chain cases"), form, problem(listed));
  const sections = [el("h2", {}, "Chain cases"), form];
  if (ketencaseid) {
    const [chainCase, events] = await Promise.all([api(`/api/cases/${encodeURIComponent(ketencaseid)}`), api(`/api/cases/${encodeURIComponent(ketencaseid)}/events`)]);
    if (!chainCase.ok) sections.push(problem(chainCase));
    else sections.push(el("h3", {}, `Case ${ketencaseid}: partners' own references`), referencesTable(chainCase.json.references),
      el("h3", {}, "Its links"), linksTable(chainCase.json.links, "This case is linked to no other.", true),
      el("h3", {}, "Its events"), events.ok ? table([
        { title: "event", value: e => el("a", { href: `#/trace?source=${encodeURIComponent(e.source)}&id=${encodeURIComponent(e.eventId)}` }, e.eventId) },
        { title: "type", value: e => e.type }, { title: "from", value: e => e.producer }, { title: "accepted", value: e => when(e.acceptedAt) },
      ], events.json) : problem(events));
  }
  const operator = principal.role === "operator";
  sections.push(el("h3", {}, "Links between cases"),
    el("p", { class: "muted" }, "A rule of the matrix links two cases naming the same suspect at once; two cases naming the same victim are linked only when one operator proposes it and a second confirms. A link changes no routing."),
    linksTable(listed.json.links, "No case is linked yet.", operator),
    el("h3", {}, "Waiting for operators"),
    table([
      { title: "cases", value: c => el("span", {}, caseLink(c.cases[0]), " and ", caseLink(c.cases[1])) },
      { title: "rule", value: c => `${c.rule}: ${c.says}` }, { title: "since", value: c => when(c.since) },
      { title: "", value: c => operator ? el("button", { onclick: () => linkAction("/api/case-links", { cases: c.cases, rule: c.rule }) }, "Propose link") : null },
    ], listed.json.candidates, "No pair of cases waits for a decision."));
  show(...sections);
}

// ---- pages by role, routing, sign-in ----

const pages = {
  overview: { title: "Pipeline", render: overviewPage, refresh: true, roles: ["operator", "admin"] },
  deliveries: { title: "Deliveries", render: deliveriesPage, roles: ["operator", "admin", "partner"] },
  "dead-letters": { title: "Dead letters", render: deadLettersPage, roles: ["operator", "admin"] },
  alerts: { title: "SLA alerts", render: alertsPage, roles: ["operator", "admin"] },
  trace: { title: "Event trace", render: tracePage, roles: ["operator", "admin"] },
  cases: { title: "Chain cases", render: casesPage, roles: ["operator", "admin"] },
  matrix: { title: "Matrix", render: matrixPage, roles: ["privacy-officer", "admin"] },
  simulate: { title: "Simulate", render: simulatePage, roles: ["privacy-officer", "admin"] },
  approvals: { title: "Approvals", render: approvalsPage, roles: ["privacy-officer", "admin"] },
  diff: { title: "Diff", render: diffPage, roles: ["privacy-officer", "admin"], hidden: true },
};

function roleKind() { return principal.role.startsWith("partner:") ? "partner" : principal.role; }

function allowedPages() { return Object.entries(pages).filter(([, page]) => page.roles.includes(roleKind())); }

async function route() {
  clearInterval(refreshTimer);
  if (!principal) return;
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  const allowed = allowedPages();
  const name = allowed.some(([key]) => key === path) ? path : allowed[0][0];
  for (const link of document.querySelectorAll("nav a")) link.toggleAttribute("aria-current", link.dataset.page === name);
  document.querySelector("nav a[aria-current]")?.setAttribute("aria-current", "page");
  const page = pages[name];
  document.title = `${page.title}: Ketenhub console`;
  const query = new URLSearchParams(search || "");
  await page.render(query);
  if (page.refresh) refreshTimer = setInterval(() => { if (!document.hidden) page.render(query); }, 2000);
}

async function signIn(token) {
  sessionStorage.setItem(tokenKey, token);
  const answer = await api("/api/me");
  if (!answer.ok) return false;
  principal = answer.json;
  document.getElementById("signin").hidden = true;
  document.getElementById("nav").replaceChildren(...allowedPages().filter(([, p]) => !p.hidden)
    .map(([key, page]) => el("a", { href: "#/" + key, "data-page": key }, page.title)));
  document.getElementById("who").replaceChildren(`${principal.name} (${principal.role})`,
    el("button", { class: "secondary", onclick: () => signOut() }, "Sign out"));
  await route();
  return true;
}

function signOut(message) {
  sessionStorage.removeItem(tokenKey);
  principal = null;
  clearInterval(refreshTimer);
  document.getElementById("nav").replaceChildren();
  document.getElementById("who").replaceChildren();
  document.getElementById("page").replaceChildren();
  document.getElementById("signin").hidden = false;
  document.getElementById("signin-error").textContent = message || "";
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("signin-form").addEventListener("submit", async event => {
    event.preventDefault();
    const token = document.getElementById("token").value.trim();
    if (!(await signIn(token))) signOut("That token is not valid here.");
  });
  const saved = sessionStorage.getItem(tokenKey);
  if (!saved || !(await signIn(saved))) signOut();
});
