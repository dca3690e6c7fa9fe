"""Comparison views for the benchmarks: a page with no database at all, and the dashboard in raw SQL."""

import datetime
from html import escape

from django.db import connection
from django.http import HttpResponse
from django.utils import timezone

from priorities.models import Status, UpdateFrequency
from priorities.scheduling import add_months
from tracker.permissions import STAFF

STATUS_ORDER = ["off_track", "at_risk", "on_track", "not_started", "completed"]
LABELS = dict(Status.choices)


def no_database(request):
    """The ceiling: the same middleware and server, no query, a fixed small page."""
    return HttpResponse(
        "<!DOCTYPE html><html lang='en-GB'><head><title>No database</title></head>"
        "<body><h1>No database</h1><p>This page makes no query.</p></body></html>"
    )


def _person(first, last, username):
    name = f"{first} {last}".strip()
    return name or username or "Unknown"


def _fetch(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def raw_dashboard(request):
    """The numbers and lists /dashboard/ shows for a commissioner, from raw SQL and string formatting.

    The same lists as the page: the 25 most urgent at risk or off track, the 25 oldest overdue, the
    latest 50 status changes, with totals. Like the page, it reads the session and the signed-in user
    and checks their role first (a floor that skipped them would flatter the page).

    By default it reads what the page reads: the stored counts per objective and status and each
    partnership's stored last report (the tightest floor). With `?rows=1` it counts them from the
    actions, submissions and updates themselves, in grouped queries.
    """
    if not request.user.is_authenticated or request.user.role not in STAFF:
        return HttpResponse(status=403)
    today = timezone.localdate()
    since = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=30), datetime.time.min))
    from_rows = request.GET.get("rows") == "1"
    counted = (
        "SELECT objective_id, status, count(*) AS n FROM priorities_action GROUP BY objective_id, status"
        if from_rows
        else "SELECT objective_id, status, count AS n FROM priorities_objectivestatuscount WHERE count > 0"
    )
    counts = _fetch(
        f"SELECT o.id, o.code, o.title, c.status, c.n FROM ({counted}) c "
        "JOIN priorities_objective o ON o.id = c.objective_id "
        "JOIN priorities_priority p ON p.id = o.priority_id "
        "ORDER BY p.plan_id, p.number, o.sort_key"
    )
    in_trouble = _fetch(
        "SELECT a.id, a.code, a.title, a.status, u.note, au.first_name, au.last_name, au.username, "
        "org.short_name, org.name, u.created_at FROM (SELECT * FROM priorities_action "
        "WHERE status IN ('off_track', 'at_risk') ORDER BY status DESC, sort_key LIMIT 25) a "
        "LEFT JOIN priorities_progressupdate u ON u.id = a.last_update_id "
        "LEFT JOIN tracker_user au ON au.id = u.author_id "
        "LEFT JOIN tracker_organisation org ON org.id = u.organisation_id "
        "ORDER BY a.status DESC, a.sort_key"
    )
    overdue = _fetch(
        "SELECT a.id, a.code, a.title, a.next_update_due, ow.first_name, ow.last_name, ow.username "
        "FROM priorities_action a LEFT JOIN tracker_user ow ON ow.id = a.owner_id "
        "WHERE a.status <> 'completed' AND a.next_update_due < %s ORDER BY a.next_update_due, a.sort_key LIMIT 25",
        [today],
    )
    overdue_total = _fetch(
        "SELECT count(*) FROM priorities_action WHERE status <> 'completed' AND next_update_due < %s", [today]
    )[0][0]
    changes = _fetch(
        "SELECT c.changed_at, a.id, a.code, a.title, c.old_value, c.new_value, "
        "u.first_name, u.last_name, u.username FROM priorities_actionchange c "
        "JOIN priorities_action a ON a.id = c.action_id LEFT JOIN tracker_user u ON u.id = c.changed_by_id "
        "WHERE c.field = 'status' AND c.changed_at >= %s ORDER BY c.changed_at DESC, c.id DESC LIMIT 50",
        [since],
    )
    cycle = " OR ".join(
        ["(update_frequency IS NULL AND last_reported IS NOT NULL)"]
        + ["(update_frequency = %s AND last_reported >= %s)"] * len(UpdateFrequency.values)
    )
    cycle_params = []
    for months in UpdateFrequency.values:
        start = add_months(today, -months)
        cycle_params += [months, timezone.make_aware(datetime.datetime(start.year, start.month, start.day))]
    # Grouped, not correlated: every report (submission or update an organisation made) grouped once per
    # (action, organisation), joined to the partnerships, then counted per organisation id.
    if from_rows:
        partnerships = (
            "SELECT p.organisation_id, a.update_frequency, r.last_reported FROM priorities_actionpartner p "
            "JOIN priorities_action a ON a.id = p.action_id LEFT JOIN ("
            "SELECT action_id, organisation_id, max(at) AS last_reported FROM ("
            " SELECT action_id, organisation_id, submitted_at AS at FROM priorities_submission"
            " UNION ALL SELECT action_id, organisation_id, created_at FROM priorities_progressupdate"
            " WHERE organisation_id IS NOT NULL) u GROUP BY action_id, organisation_id"
            ") r ON r.action_id = p.action_id AND r.organisation_id = p.organisation_id"
        )
    else:
        partnerships = (
            "SELECT p.organisation_id, a.update_frequency, p.last_reported_at AS last_reported "
            "FROM priorities_actionpartner p JOIN priorities_action a ON a.id = p.action_id"
        )
    engagement = _fetch(
        "SELECT o.name, o.slug, c.partnered, c.current, c.ever FROM ("
        f"SELECT organisation_id, count(*) AS partnered, count(*) FILTER (WHERE {cycle}) AS current, "
        f"count(last_reported) AS ever FROM ({partnerships}) lr GROUP BY organisation_id"
        ") c JOIN tracker_organisation o ON o.id = c.organisation_id ORDER BY o.name",
        cycle_params,
    )

    by_objective, overall = {}, dict.fromkeys(STATUS_ORDER, 0)
    for objective_id, code, title, status, n in counts:
        by_objective.setdefault(objective_id, (code, title, {}))[2][status] = n
        overall[status] += n
    out = ["<!DOCTYPE html><html lang='en-GB'><head><title>Dashboard (raw SQL)</title></head><body>"]
    out.append(f"<h1>Dashboard</h1><p>{sum(overall.values())} actions on {today:%d %B %Y}.</p><ul>")
    out += [f"<li><a href='/actions/?status={s}'>{overall[s]} {LABELS[s]}</a></li>" for s in STATUS_ORDER]
    out.append("</ul><table><tr><th>Objective</th>" + "".join(f"<th>{LABELS[s]}</th>" for s in STATUS_ORDER) + "</tr>")
    for objective_id, (code, title, row) in by_objective.items():
        cells = "".join(
            f"<td><a href='/actions/?objective={objective_id}&status={s}'>{row.get(s, 0)}</a></td>"
            for s in STATUS_ORDER
        )
        out.append(f"<tr><th>{escape(code)} {escape(title)}</th>{cells}<td>{sum(row.values())}</td></tr>")
    out.append(f"</table><h2>At risk or off track ({overall['off_track'] + overall['at_risk']})</h2><ul>")
    for pk, code, title, status, note, first, last, username, short, org, at in in_trouble:
        who = _person(first, last, username) + (f", {escape(short or org)}" if org else "")
        when = f"{timezone.localtime(at):%d %b %Y}" if at else ""
        out.append(
            f"<li><a href='/actions/{pk}/'>{escape(code)} {escape(title)}</a> {LABELS[status]}"
            f"<p>{escape((note or '')[:300])}</p><p>{escape(who)}, {when}</p></li>"
        )
    out.append(f"</ul><h2>Updates overdue ({overdue_total})</h2><table>")
    for pk, code, title, due, first, last, username in overdue:
        out.append(
            f"<tr><td><a href='/actions/{pk}/'>{escape(code)}</a> {escape(title)}</td><td>{due:%d %b %Y}</td>"
            f"<td>{escape(_person(first, last, username))}</td></tr>"
        )
    out.append(f"</table><h2>What changed since {since:%d %B %Y}</h2><table>")
    for at, pk, code, title, old, new, first, last, username in changes:
        out.append(
            f"<tr><td>{timezone.localtime(at):%d %b %Y %H:%M}</td><td><a href='/actions/{pk}/'>{escape(code)}</a> "
            f"{escape(title)}</td><td>{escape(old)}</td><td>{escape(new)}</td>"
            f"<td>{escape(_person(first, last, username))}</td></tr>"
        )
    out.append("</table><h2>Partner engagement</h2><table>")
    for name, slug, partnered, current, ever in engagement:
        out.append(
            f"<tr><th><a href='/organisations/{slug}/'>{escape(name)}</a></th><td>{partnered}</td>"
            f"<td>{current}</td><td>{partnered - ever}</td></tr>"
        )
    out.append("</table></body></html>")
    return HttpResponse("".join(out))


def raw_export_csv(request):
    """The floor for the register's CSV download: the same rows from one hand-written query and csv.writer.

    Same columns, order and quoting as /actions/export.csv, partners grouped once with string_agg and
    joined (a sound floor: no query per action), but no session, no filters, no formula guard, built in
    memory and sent in one piece.
    """
    import csv
    import io

    rows = _fetch(
        "SELECT a.code, a.title, o.code || ' ' || o.title, a.status, ow.first_name, ow.last_name, ow.username, "
        "pl.names, u.created_at, au.first_name, au.last_name, au.username, a.next_update_due "
        "FROM priorities_action a JOIN priorities_objective o ON o.id = a.objective_id "
        "LEFT JOIN (SELECT p.action_id, string_agg(org.name || CASE WHEN p.role = 'lead' THEN ' (lead)' "
        "  ELSE '' END, '; ' ORDER BY p.role, org.name) AS names FROM priorities_actionpartner p "
        "  JOIN tracker_organisation org ON org.id = p.organisation_id GROUP BY p.action_id) pl "
        "  ON pl.action_id = a.id "
        "LEFT JOIN tracker_user ow ON ow.id = a.owner_id "
        "LEFT JOIN priorities_progressupdate u ON u.id = a.last_update_id "
        "LEFT JOIN tracker_user au ON au.id = u.author_id ORDER BY a.sort_key"
    )
    today = timezone.localdate()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(
        ["Code", "Title", "Objective", "Status", "Owner", "Partners", "Last update", "Last update by"]
        + ["Next update due", "Overdue"]
    )
    for code, title, objective, status, of, ol, ou, partners, updated, af, al, au, due in rows:
        writer.writerow(
            [
                code,
                title,
                objective,
                LABELS[status],
                f"{of} {ol}".strip() or ou or "",
                partners or "",
                timezone.localtime(updated).date().isoformat() if updated else "",
                f"{af or ''} {al or ''}".strip() or au or "",
                due.isoformat() if due else "",
                "Overdue" if due and due < today and status != "completed" else "",
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="raw.csv"'
    return response


def raw_feed_csv(request):
    """The floor for the API's actions feed: the same columns and rows from one hand-written query and csv.writer.

    Live actions in the register's order, as /api/v1/feeds/actions.csv; but no token, no throttle, no
    formula guard, built in memory and sent in one piece.
    """
    import csv
    import io

    rows = _fetch(
        "SELECT a.id, p.plan_id, o.priority_id, a.objective_id, a.code, a.title, a.status, a.owner_id, "
        "ow.first_name, ow.last_name, ow.username, a.start_date, a.target_date, a.update_frequency, u.created_at, "
        "a.next_update_due FROM priorities_action a JOIN priorities_objective o ON o.id = a.objective_id "
        "JOIN priorities_priority p ON p.id = o.priority_id LEFT JOIN tracker_user ow ON ow.id = a.owner_id "
        "LEFT JOIN priorities_progressupdate u ON u.id = a.last_update_id "
        "WHERE a.archived_at IS NULL AND o.archived_at IS NULL AND p.archived_at IS NULL ORDER BY a.sort_key, a.id"
    )
    today = timezone.localdate()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(
        ["action_id", "plan_id", "priority_id", "objective_id", "code", "title", "status", "status_label"]
        + ["owner_id", "owner_name", "start_date", "target_date", "update_frequency_months", "last_update_at"]
        + ["next_update_due", "overdue"]
    )
    for pk, plan, priority, objective, code, title, status, owner, of, ol, ou, start, target, freq, last, due in rows:
        writer.writerow(
            [
                pk,
                plan,
                priority,
                objective,
                code,
                title,
                status,
                LABELS[status],
                owner or "",
                (f"{of} {ol}".strip() or ou) if owner else "",
                start.isoformat() if start else "",
                target.isoformat() if target else "",
                freq or "",
                timezone.localtime(last).isoformat() if last else "",
                due.isoformat() if due else "",
                "true" if due and due < today and status != "completed" else "false",
            ]
        )
    return HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
