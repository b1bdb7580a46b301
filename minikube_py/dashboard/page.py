"""The dashboard's one HTML page, rendered on the server: the layout and every table's
columns; the rows come from the event stream (static/dashboard.js fills them)."""

from __future__ import annotations

from html import escape

# Each table: its id (the feed's table), heading, and columns (row field, heading). The
# script renders a row's cells in this order, by the `data-col` of each heading.
TABLES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("nodes", "Nodes", (("name", "Name"), ("ready", "Status"), ("roles", "Roles"),
                        ("version", "Version"), ("cpu", "CPU"), ("memory", "Memory"))),
    ("workloads", "Workloads", (("kind", "Kind"), ("namespace", "Namespace"),
                                ("name", "Name"), ("ready", "Ready"),
                                ("updated", "Up-to-date"), ("available", "Available"),
                                ("state", "Rollout"))),
    ("pods", "Pods", (("namespace", "Namespace"), ("name", "Name"), ("status", "Status"),
                      ("phase", "Phase"), ("ready", "Ready"), ("restarts", "Restarts"),
                      ("node", "Node"), ("ip", "IP"))),
    ("services", "Services", (("namespace", "Namespace"), ("name", "Name"),
                              ("type", "Type"), ("clusterIP", "Cluster IP"),
                              ("ports", "Ports"))),
    ("endpointslices", "Endpoints", (("name", "EndpointSlice"), ("ports", "Ports"),
                                     ("endpoints", "Endpoints"))),
    ("namespaces", "Namespaces", (("name", "Name"), ("phase", "Status"))),
    ("events", "Events", (("time", "Last seen"), ("namespace", "Namespace"),
                          ("type", "Type"), ("reason", "Reason"), ("object", "Object"),
                          ("message", "Message"), ("count", "Count"))),
)
NOTES = {
    "nodes": '<p class="note" id="metrics-note">Usage: waiting for metrics.</p>',
    "pods": '<p class="note">Click a pod to follow its log.</p>',
    "services": '<p class="note">Click a service to see its endpoints.</p>',
    "endpointslices": '<p class="note" id="endpoints-of">No service selected.</p>',
    "events": '<p class="note">Newest first; the last 200.</p>',
}


def _table(table: str, title: str, columns: tuple[tuple[str, str], ...]) -> str:
    heads = "".join(f'<th data-col="{col}">{escape(head)}</th>' for col, head in columns)
    return (f'<section id="{table}" class="panel">\n'
            f'<h2>{escape(title)} <span class="count" data-count="{table}"></span></h2>\n'
            f'{NOTES.get(table, "")}\n'
            f'<div class="scroll"><table data-table="{table}"><thead><tr>{heads}</tr></thead>'
            f'<tbody></tbody></table></div>\n</section>')


def render_page(*, server: str, cluster: str) -> str:
    tables = {t: _table(t, title, cols) for t, title, cols in TABLES}
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>minikube-py dashboard</title>
<link rel="stylesheet" href="/static/dashboard.css">
<script type="module" src="/static/dashboard.js"></script>
</head>
<body>
<header>
<h1>minikube-py</h1>
<span class="where">{escape(cluster)} · {escape(server)}</span>
<label>Namespace <select id="namespace"><option value="">all</option></select></label>
<span id="connection" class="connection">connecting…</span>
</header>
<main>
{tables["nodes"]}
{tables["workloads"]}
{tables["pods"]}
<div class="pair">
{tables["services"]}
{tables["endpointslices"]}
</div>
<section id="logs" class="panel">
<h2>Log <span id="log-of" class="count">no pod selected</span>
<select id="log-container" hidden aria-label="container"></select></h2>
<pre id="log-lines"></pre>
</section>
{tables["events"]}
{tables["namespaces"]}
</main>
<footer>Read-only: served on 127.0.0.1 with the cluster's admin credentials, which stay in
the dashboard process. Objects update from watches; node usage every metrics resolution.
</footer>
</body>
</html>
"""
