"""Every text a user can type has a length limit (ASVS 5.0, input validation): no form field of
Samplan's takes an unbounded string into a model's TextField, the audit of a search or a
rendered page. Generic on purpose: a form added later (sign-in, two factors, log review) is
found without being named here.

Three nets, because fields reach a form in three ways:
- the class's own fields (`base_fields`, which also holds what a ModelForm builds from a model
  and what a form inherits from Django's, e.g. AuthenticationForm's password);
- fields built in `__init__` or by a helper function, which only exist on an instance: found
  in the source, every call of a CharField-like class under a forms module must pass max_length;
- the forms that views use without a forms module of ours (a class-based view's `form_class`).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import warnings
from pathlib import Path

from django import forms
from django.urls import URLPattern, URLResolver, get_resolver

PROJECT = Path(__file__).resolve().parent.parent
SOURCE = PROJECT / "src"
PACKAGE = SOURCE / "samplan"


def form_modules() -> list[Path]:
    paths = {
        path
        # Views modules too: a small form may live beside the only view that uses it.
        for pattern in ("**/forms.py", "**/forms_*.py", "**/forms/*.py", "**/views/*.py")
        for path in PACKAGE.glob(pattern)
        if "migrations" not in path.parts
    }
    assert paths, "no forms modules found"
    return sorted(paths)


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SOURCE).with_suffix("").parts).removesuffix(".__init__")


def form_classes() -> dict[str, type[forms.BaseForm]]:
    found: dict[str, type[forms.BaseForm]] = {}
    for path in form_modules():
        module = importlib.import_module(module_name(path))
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    for cls in view_form_classes():
        found.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
    return found


def view_form_classes() -> list[type[forms.BaseForm]]:
    """Forms of class-based views in samplan.urls (Django's sign-in view, for example)."""
    found = []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue  # the admin's forms are built from the models' own limits
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view_class = getattr(pattern.callback, "view_class", None)
                initkwargs = getattr(pattern.callback, "view_initkwargs", {})
                for name in ("form_class", "authentication_form"):
                    cls = initkwargs.get(name) or getattr(view_class, name, None)
                    if isinstance(cls, type) and issubclass(cls, forms.BaseForm):
                        found.append(cls)

    walk(get_resolver().url_patterns)
    return found


def unlimited(field: forms.Field) -> bool:
    return isinstance(field, forms.CharField) and field.max_length is None


def fields_of(cls: type[forms.BaseForm]) -> dict[str, forms.Field]:
    """An instance's fields where the form can be built without arguments (a limit may be set
    in __init__, as AuthenticationForm does for the username), else the class's."""
    try:
        return dict(cls().fields)
    except TypeError:
        return dict(cls.base_fields)


def test_every_text_field_of_every_form_class_has_a_max_length():
    classes = form_classes()
    assert len(classes) > 15, sorted(classes)
    problems = [
        f"{name}.{field_name} ({type(field).__name__})"
        for name, cls in sorted(classes.items())
        for field_name, field in fields_of(cls).items()
        if unlimited(field)
    ]
    assert not problems, "text fields without max_length:\n" + "\n".join(problems)


def _has_no_default_limit(cls: type[forms.CharField]) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # URLField's warning about its default scheme
            return cls().max_length is None  # EmailField brings its own (320)
    except TypeError:
        return True  # needs arguments (RegexField): must be given a limit too


def _charfield_classes() -> set[str]:
    return {
        name
        for name, value in vars(forms).items()
        if isinstance(value, type)
        and issubclass(value, forms.CharField)
        and _has_no_default_limit(value)
    }


def unlimited_calls(source: str, filename: str) -> list[str]:
    """Calls like `forms.CharField(...)` / `CharField(...)` (or any CharField subclass of
    django.forms) without max_length=, with their line."""
    names = _charfield_classes()
    problems = []
    calls = [node for node in ast.walk(ast.parse(source, filename)) if isinstance(node, ast.Call)]
    for node in sorted(calls, key=lambda node: (node.lineno, node.col_offset)):
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") != "forms":
            continue
        if called in names and not any(kw.arg in {"max_length", None} for kw in node.keywords):
            problems.append(f"{filename}:{node.lineno}: {called}(...) without max_length")
    return problems


def test_every_text_field_built_in_code_has_a_max_length():
    problems = [
        problem
        for path in form_modules()
        for problem in unlimited_calls(path.read_text(), str(path.relative_to(PROJECT)))
    ]
    assert not problems, "\n".join(problems)


def test_model_text_fields_are_limited_in_their_model_forms():
    """A ModelForm takes its limit from the model: a TextField needs one (max_length on a
    TextField limits the form, not the column)."""
    problems = [
        f"{name}.{field_name}"
        for name, cls in sorted(form_classes().items())
        if issubclass(cls, forms.ModelForm)
        for field_name, field in fields_of(cls).items()
        if unlimited(field)
    ]
    assert not problems, problems


def test_the_nets_catch_an_unlimited_field():
    class Unlimited(forms.Form):
        note = forms.CharField(widget=forms.Textarea)
        email = forms.EmailField()
        limited = forms.CharField(max_length=10)

    assert [name for name, field in fields_of(Unlimited).items() if unlimited(field)] == ["note"]
    source = (
        "def helper():\n"
        "    return forms.CharField(label='x', widget=forms.Textarea)\n"
        "ok = forms.CharField(max_length=3)\n"
        "kw = forms.CharField(**{'max_length': 3})\n"
        "other = models.CharField()\n"
        "link = forms.URLField()\n"
        "mail = forms.EmailField()\n"
    )
    assert unlimited_calls(source, "sample.py") == [
        "sample.py:2: CharField(...) without max_length",
        "sample.py:6: URLField(...) without max_length",
    ]
