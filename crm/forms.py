"""Form helpers shared by the apps."""

from django import forms


def bootstrap_widgets(form: forms.BaseForm) -> None:
    """Give every widget Bootstrap 5's class (form-select, form-check-input or form-control), and
    is-invalid when its field has errors, so that a template can render `{{ field }}` directly."""
    errors = form.errors if form.is_bound else {}
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.Select):
            css = "form-select"
        elif isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        else:
            css = "form-control"
        if name in errors:
            css += " is-invalid"
        existing = widget.attrs.get("class", "")
        widget.attrs["class"] = f"{existing} {css}".strip()
