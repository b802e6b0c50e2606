"""Driving Django's admin as support staff do: its change forms as a browser submits them, its actions, and the
messages it shows afterwards."""

from html.parser import HTMLParser

from django.urls import reverse

NOT_SUBMITTED = {"submit", "button", "file", "image", "reset"}


class _ChangeForm(HTMLParser):
    """The name/value pairs a browser submits for the page's ``<form id="…_form">``, as a dict of lists."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self.in_form = False
        self.select: str | None = None
        self.select_multiple = False
        self.select_options: list[tuple[str, bool]] = []
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("id") or "").endswith("_form"):
            self.in_form = True
        if not self.in_form or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type", "text") not in NOT_SUBMITTED:
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                self.fields.setdefault(name, []).append(attrs.get("value") or ("on" if "checked" in attrs else ""))
        elif tag == "select" and name:
            self.select, self.select_options, self.select_multiple = name, [], "multiple" in attrs
        elif tag == "option" and self.select:
            self.select_options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self.textarea = name
            self.fields.setdefault(name, []).append("")

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "textarea" and self.textarea:
            # Browsers drop the newline that Django writes right after <textarea>.
            self.fields[self.textarea][-1] = self.fields[self.textarea][-1].removeprefix("\n")
            self.textarea = None
        elif tag == "select" and self.select:
            chosen = [value for value, selected in self.select_options if selected]
            if not chosen and self.select_options and not self.select_multiple:
                chosen = [self.select_options[0][0]]  # a single select submits its first option by default
            if chosen:
                self.fields[self.select] = chosen
            self.select = None


def change_form_submit(client, model_admin_url: str, object_id: int, changes: dict[str, str]):
    """Open the object's change form, change the given fields and save it, as staff would in a browser."""
    url = reverse(f"admin:{model_admin_url}_change", args=[object_id])
    page = client.get(url)
    assert page.status_code == 200
    form = _ChangeForm()
    form.feed(page.content.decode())
    assert form.fields, "the page has no change form"
    return client.post(url, {**form.fields, **{name: [value] for name, value in changes.items()}})


def action_run(client, model_admin_url: str, action: str, *objects):
    """Select the objects on the list page and run the action on them; follow to the page staff land on."""
    return client.post(
        reverse(f"admin:{model_admin_url}_changelist"),
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
        follow=True,
    )


def messages_shown(response) -> list[tuple[str, str]]:
    """The (level, text) messages the page staff land on shows them."""
    return [(message.level_tag, message.message) for message in response.context["messages"]]
