from django.urls import NoReverseMatch, reverse


def _items_for(user):
    """Navigation entries (url name, text) for a role; pages that do not exist yet are skipped."""
    if not user.is_authenticated:
        return []
    if user.role == user.Role.PARTNER:
        entries = [("home", "Our actions"), ("priorities:plan", "The plan")]
    elif user.role == user.Role.COMMISSIONER:
        entries = [
            ("dashboard", "Dashboard"),
            ("priorities:plan", "The plan"),
            ("priorities:action-list", "Actions"),
            ("indicators:indicator-list", "Indicators"),
        ]
    else:
        entries = [
            ("priorities:action-list", "Actions"),
            ("priorities:plan", "The plan"),
            ("indicators:indicator-list", "Indicators"),
            ("dashboard", "Dashboard"),
            ("admin:index", "Admin"),
        ]
    items = []
    for name, text in entries:
        try:
            items.append({"href": reverse(name), "text": text})
        except NoReverseMatch:
            continue
    return items


def navigation(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    items = _items_for(user)
    path = request.path
    # The longest matching prefix is the current section (so "/" does not light up everywhere).
    best = max((i for i in items if path.startswith(i["href"])), key=lambda i: len(i["href"]), default=None)
    for item in items:
        item["current"] = item is best
    return {"navigation_items": items}
