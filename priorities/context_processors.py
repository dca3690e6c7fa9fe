def plan_switcher(request):
    """The plan switcher for the header, on the pages that show one plan (they resolve it: plan_choice.py).

    No query here: pages that are not per plan have no switcher, and those that are worked it out already.
    """
    switch = getattr(request, "_plan_switch", None)
    return {"plan_switch": switch if switch is not None and switch.show else None}
