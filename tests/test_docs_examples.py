"""Every ```python block of README.md and docs/*.md runs here, so none can rot (issue 14).

The rules (docs/development.md, "Docs examples", says the same):

- Every fence whose info string starts with ``python``, at any indentation (inside a list
  item too), is one example, with the id ``page:line`` (the line of its opening fence). A
  new block is collected without touching this module, and fails until it runs.
- Each example runs on its own, in a fresh namespace holding what its page's prose gives
  the reader (``PAGES`` below: a member ``user`` with 100 grains, a ``request`` of theirs,
  a ``project``...), against the test database, with the services for real. The autouse
  audit fixture (tests/conftest.py) checks the ledger after each one.
- ``<!-- example: continues -->`` on the line before a fence: the block builds on the
  previous block of its page; that one (with its own chain) runs first, in the same
  namespace.
- ``<!-- example: not run: <reason> -->``: the block is reported as skipped with the
  reason. Keep these rare.
- By their content, blocks are of five kinds:
  - a *signature* (``services.name(...) -> Type``) is compared with the function's real
    signature: parameter names, kinds and defaults, and the return annotation;
  - a *doctest* (``>>>`` lines) runs with :mod:`doctest`;
  - a *settings* block (only assignments to UPPER_CASE names) is executed with
    ``BASE_DIR`` and ``DATABASES`` given; each configuration it shows (an assignment to a
    name already assigned starts the next one) is applied with ``override_settings`` and
    the system checks run. Under a heading naming a check (``## django_saka.E004``) each
    configuration must report exactly that id; anywhere else, no ``django_saka`` id at
    all. In ``INSTALLED_APPS`` the apps named are added to the test project's other apps
    (what ``...`` stands for), ``django_q`` only when named. ``DATABASES`` is connected
    to (SQLite, or the test's own server) and ``LOGGING`` is applied with ``dictConfig``;
  - a *module* block, whose first line names a file (``# myapp/receivers.py``), runs as
    that module (``myapp.receivers``, in a package ``myapp``);
  - any other block is *code*, executed statement by statement; the on-commit callbacks
    of a statement (signals, enqueued shards) run after it, as they would once its
    transaction commits. An expression statement whose trailing comment is itself a
    Python expression shows its result: the comment must match ``repr()`` of the value,
    ``...`` matching anything (as doctest's ELLIPSIS). A comment in words is a comment.
- Then what the block defines is exercised: a function whose first parameter is
  ``request`` is a view, called with the page's request (its ``pk``, the page's
  ``project``) and must answer 2xx; ``test_*`` functions and ``TestCase`` classes are run
  (a block defining a ``TestCase`` or a ``django_db(transaction=True)`` test runs in a
  transactional test); an ``AppConfig`` is made ready; ``EXERCISES`` calls the others by
  name (receivers are sent their signal for real). ``GIVEN``/``THEN`` add, by a snippet
  of the block, data a block needs first and what to assert after it.
"""

from __future__ import annotations

import ast
import copy
import doctest
import inspect
import io
import logging
import logging.config
import re
import sys
import tokenize
import types
import unittest
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.checks import run_checks
from django.db.utils import ConnectionHandler
from django.dispatch import Signal
from django.http import HttpResponse
from django.test import RequestFactory, TestCase, override_settings
from django.utils import timezone

from django_saka import services
from django_saka import signals as saka_signals
from django_saka.models import CycleRun, Transaction, Wallet
from tests.factories import seed_wallets
from tests.testapp.models import Project

ROOT = Path(__file__).resolve().parent.parent
PAGES_WITH_EXAMPLES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<what>.*?)\s*-->\s*$")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.*?)\s*$")
CHECK_ID = re.compile(r"\bdjango_saka\.[EW]\d{3}\b")
MODULE_HEADER = re.compile(r"^#\s*(?P<path>[\w/]+)\.py\s*$")
SIGNATURE = re.compile(r"^services\.(?P<name>\w+)\((?P<params>.*)\)\s*->\s*(?P<returns>.+)$", re.S)


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # the line of the opening fence, from 1
    code: str  # dedented
    marker: str  # "", "continues" or "not run: <reason>"
    heading: str  # the nearest heading above the fence

    @property
    def page(self) -> str:
        return self.path.name

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def kind(self) -> str:
        stripped = self.code.lstrip()
        if stripped.startswith(">>>"):
            return "doctest"
        try:
            tree = ast.parse(self.code)
        except SyntaxError:
            return "signature" if SIGNATURE.match(stripped) else "code"  # code: fails, shown
        first = stripped.splitlines()[0] if stripped else ""
        header = MODULE_HEADER.match(first)
        if tree.body and all(_assigned_setting(stmt) for stmt in tree.body):
            return "settings"
        if header and header["path"] != "settings":
            return "module"
        return "code"

    @property
    def module(self) -> str:
        return MODULE_HEADER.match(self.code.lstrip().splitlines()[0])["path"].replace("/", ".")


def parse_examples(path: Path) -> list[Example]:
    """The ```python blocks of one Markdown page, nested ones included."""
    lines = path.read_text(encoding="utf-8").splitlines()
    examples, heading, index = [], "", 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            title = HEADING.match(lines[index])
            heading = title["title"] if title else heading
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        closing = re.compile(rf"^[ \t]*{fence[0]}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if opening["info"].strip().split(" ")[0] == "python":
            body = [
                line[len(indent) :] if line.startswith(indent) else line.lstrip()
                for line in lines[index + 1 : end]
            ]
            before = next((line for line in reversed(lines[:index]) if line.strip()), "")
            marker = MARKER.match(before)
            examples.append(
                Example(
                    path,
                    index + 1,
                    "\n".join(body) + "\n",
                    marker["what"] if marker else "",
                    heading,
                )
            )
        index = end + 1
    return examples


ALL_EXAMPLES = [example for page in PAGES_WITH_EXAMPLES for example in parse_examples(page)]


def _assigned_setting(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return False
    target = stmt.targets[0]
    while isinstance(target, ast.Subscript):
        target = target.value
    return isinstance(target, ast.Name) and target.id.isupper()


def _root_name(stmt: ast.Assign) -> str:
    target = stmt.targets[0]
    while isinstance(target, ast.Subscript):
        target = target.value
    return target.id


# -- What each page gives its examples ------------------------------------------------


def member(username: str = "alice", grains: int = 100) -> Any:
    user = get_user_model().objects.create_user(username, email=f"{username}@example.org")
    if grains:
        services.harvest(user, "manual_adjust", amount=grains)
    return user


def request_of(user: Any) -> Any:
    request = RequestFactory().post("/", {"amount": "25", "request_id": "docs-example"})
    request.user = user
    return request


def a_member_with_a_project() -> dict[str, Any]:
    user = member()
    project = Project.objects.create(title="Community garden")
    return {"user": user, "request": request_of(user), "project": project, "Project": Project}


def readme() -> dict[str, Any]:
    return {**a_member_with_a_project(), "article": Project.objects.create(title="An article")}


def quickstart() -> dict[str, Any]:
    # "Article" is any model of the project; the test app has Project.
    return {**a_member_with_a_project(), "Article": Project}


def api() -> dict[str, Any]:
    # The page opens with `from django_saka import services`.
    given = a_member_with_a_project()
    return {**given, "services": services, "poll": Project.objects.create(title="Market day?")}


def admin() -> dict[str, Any]:
    member("alice")  # the blocks fetch her by username
    return {}


def cycles() -> dict[str, Any]:
    seed_wallets([500, 500, 5], last_activity_at=timezone.now() - timedelta(days=400))
    return {}


def scheduling() -> dict[str, Any]:
    # Something for the enqueued compost and redistribution to do.
    seed_wallets([1000, 1000], last_activity_at=timezone.now() - timedelta(days=400))
    seed_wallets([10, 10], last_activity_at=timezone.now())
    return {}


def http_api() -> dict[str, Any]:
    given = a_member_with_a_project()
    # As Django's test client does: the page's POST examples authenticate with a token,
    # which REST framework does not check for CSRF.
    given["request"]._dont_enforce_csrf_checks = True
    return given


def nothing() -> dict[str, Any]:
    return {}


PAGES: dict[str, Callable[[], dict[str, Any]]] = {
    "README.md": readme,
    "quickstart.md": quickstart,
    "api.md": api,
    "admin.md": admin,
    "cycles.md": cycles,
    "scheduling.md": scheduling,
    "http-api.md": http_api,
}


def silo_of_1000_and_three_active_members() -> dict[str, Any]:
    seed_wallets([10_000], last_activity_at=timezone.now() - timedelta(days=400))
    services.compost()  # 10% of 10,000
    seed_wallets([10, 10, 10], last_activity_at=timezone.now())
    assert services.get_silo().balance == 1000
    return {"services": services}


def wallets_for_three_chunks() -> dict[str, Any]:
    seed_wallets([100] * 250, last_activity_at=timezone.now() - timedelta(days=400))
    return {}


# (page, a snippet of the block): what the block needs instead of its page's givens.
GIVEN: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
    ("api.md", 'services.redistribute(rate="0.5")'): silo_of_1000_and_three_active_members,
    ("signals.md", "def test_one_signal_per_chunk"): wallets_for_three_chunks,
}


def compostable_is_what_the_dry_run_plans(ns: dict[str, Any]) -> None:
    compostable = ns["Wallet"].objects.compostable(ns["rule"]).count()
    assert compostable == services.compost(dry_run=True).planned_wallets == 2


def both_cycles_ran_in_four_shards(ns: dict[str, Any]) -> None:
    runs = {run.kind: run for run in CycleRun.objects.all()}
    assert {kind: (run.status, run.shard_count) for kind, run in runs.items()} == {
        "compost": ("completed", 4),
        "redistribution": ("completed", 4),
    }


def three_chunks_ran(ns: dict[str, Any]) -> None:
    assert CycleRun.objects.get(kind="compost").chunks_done == 3


def the_deleted_member_is_gone(ns: dict[str, Any]) -> None:
    assert not get_user_model().objects.filter(pk=ns["user"].pk).exists()
    assert services.get_silo().balance == 100  # her grains


def alice_got_30(ns: dict[str, Any]) -> None:
    assert services.get_balance(ns["user"]).balance == 100 + 50 - 20


# (page, a snippet of the block): what to assert after it ran.
THEN: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("cycles.md", "Wallet.objects.compostable(rule)"): compostable_is_what_the_dry_run_plans,
    ("scheduling.md", "async_task("): both_cycles_ran_in_four_shards,
    ("signals.md", "def test_one_signal_per_chunk"): three_chunks_ran,
    ("api.md", "except WalletDeletionRefused:"): the_deleted_member_is_gone,
    ("admin.md", '"SUP-1234"'): alice_got_30,
}


# -- Exercising what a block defines --------------------------------------------------


def exercise_router(router_class: type) -> None:
    router = router_class()
    assert router.db_for_read(Wallet) == router.db_for_write(Transaction) == "default"
    assert router.db_for_read(Project) is None and router.db_for_write(Project) is None


def exercise_thank_supporter(receiver: Callable[..., Any]) -> None:
    supporter = member("supporter")
    project = Project.objects.create(title="Seed library")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.spend(supporter, 25, "support", target=project)
    assert [(m.subject, m.body, m.to) for m in mail.outbox] == [
        ("Thank you", "You planted 25 grains on Seed library.", ["supporter@example.org"])
    ]


def exercise_tell_recipients(receiver: Callable[..., Any]) -> None:
    seed_wallets([1000], last_activity_at=timezone.now() - timedelta(days=400))
    services.compost()  # 100 grains to the silo
    active = seed_wallets([10, 10], last_activity_at=timezone.now())
    get_user_model().objects.filter(pk=active[0].user_id).update(email="one@example.org")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.redistribute(rate="1")
    assert [(m.body, m.to) for m in mail.outbox] == [
        ("You received 50 grains.", ["one@example.org"])  # the other has no e-mail
    ]


# The functions and classes a block defines that are exercised by name.
EXERCISES: dict[str, Callable[[Any], None]] = {
    "SakaOnDefaultRouter": exercise_router,
    "thank_supporter": exercise_thank_supporter,
    "tell_recipients": exercise_tell_recipients,
}


def exercise(name: str, value: Any, ns: dict[str, Any]) -> None:
    if name in EXERCISES:
        EXERCISES[name](value)
    elif isinstance(value, type) and issubclass(value, unittest.TestCase):
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(value)
        result = unittest.TestResult()
        suite.run(result)
        problems = [text for _, text in result.errors + result.failures]
        assert result.testsRun and not problems, "\n".join(problems)
    elif isinstance(value, type) and issubclass(value, AppConfig) and value is not AppConfig:
        value(value.name, sys.modules[value.name]).ready()
    elif inspect.isfunction(value) and name.startswith("test_"):
        fixtures = {"django_user_model": get_user_model()}
        params = inspect.signature(value).parameters
        assert set(params) <= set(fixtures), f"{name}() wants a fixture this module lacks"
        value(**{param: fixtures[param] for param in params})
    elif inspect.isfunction(value) and list(inspect.signature(value).parameters)[:1] == ["request"]:
        assert "request" in ns, f"the view {name}() needs a page that gives a request (PAGES)"
        params = inspect.signature(value).parameters
        # A REST framework @api_view is (request, *args, **kwargs): it takes the URL's pk too.
        takes_pk = "pk" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
        response = value(ns["request"], **({"pk": ns["project"].pk} if takes_pk else {}))
        assert isinstance(response, HttpResponse) and 200 <= response.status_code < 300, (
            f"{name}() answered {response.status_code}: {response.content!r}"
        )


# -- Running the blocks ---------------------------------------------------------------


def _comments(code: str) -> dict[int, str]:
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return {tok.start[0]: tok.string[1:].strip() for tok in tokens if tok.type == tokenize.COMMENT}


def _shown_result(comment: str | None) -> str | None:
    """The trailing comment, when it reads as a Python expression (a shown result)."""
    if not comment:
        return None
    try:
        expression = ast.parse(comment, mode="eval").body
    except SyntaxError:
        return None
    return None if isinstance(expression, ast.Name) else comment


def run_code(example: Example, ns: dict[str, Any]) -> None:
    filename = str(example.path.relative_to(ROOT))
    tree = ast.parse(example.code, filename)
    comments = _comments(example.code)
    for stmt in tree.body:
        shown = _shown_result(comments.get(stmt.end_lineno)) if isinstance(stmt, ast.Expr) else None
        ast.increment_lineno(stmt, example.line)
        # On-commit callbacks (signals, enqueued shards) run after each statement, as they
        # would in a project where the statement's transaction commits.
        with TestCase.captureOnCommitCallbacks(execute=True):
            if shown is None:
                exec(compile(ast.Module([stmt], []), filename, "exec"), ns)
                continue
            value = eval(compile(ast.Expression(stmt.value), filename, "eval"), ns)
        pattern = ".*?".join(re.escape(part) for part in shown.split("..."))
        assert re.fullmatch(pattern, repr(value), re.S), (
            f"{example.id}: line {stmt.lineno} shows {shown}, got {value!r}"
        )


def run_module(example: Example) -> dict[str, Any]:
    package, _, _ = example.module.rpartition(".")
    if package and package not in sys.modules:
        parent = types.ModuleType(package)
        parent.__path__ = [str(ROOT / "build" / package)]  # never read: modules come from here
        sys.modules[package] = parent
    module = types.ModuleType(example.module)
    module.__package__ = package
    sys.modules[example.module] = module
    if package:
        setattr(sys.modules[package], example.module.rpartition(".")[2], module)
    run_code(example, module.__dict__)
    return module.__dict__


def run_doctest(example: Example, ns: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(
        example.code, ns, example.id, str(example.path), example.line
    )
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(test, out=out.append)
    assert result.failed == 0 and result.attempted, "".join(out)


def _bare(signature: inspect.Signature) -> str:
    """The signature without its annotations: names, kinds and defaults."""
    params = [p.replace(annotation=p.empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=params, return_annotation=signature.empty))


def check_signature(example: Example) -> None:
    shown = SIGNATURE.match(example.code.strip())
    ns: dict[str, Any] = {}
    exec(f"def documented({shown['params']}): pass", ns)
    real = inspect.signature(getattr(services, shown["name"]))
    assert _bare(inspect.signature(ns["documented"])) == _bare(real), (
        f"{example.id}: the documented signature is not services.{shown['name']}{real}"
    )
    returns = ast.unparse(ast.parse(real.return_annotation, mode="eval"))
    assert ast.unparse(ast.parse(shown["returns"].strip(), mode="eval")) == returns


def _installed_apps(named: list[Any]) -> list[str]:
    """The apps a settings block names, with the test project's others (its "...")."""
    names = [app for app in named if isinstance(app, str)]
    others = [app for app in settings.INSTALLED_APPS if app not in names and app != "django_q"]
    return others + names


def check_databases(databases: dict[str, Any]) -> None:
    """Connect to each database the block configures, when this test can reach it."""
    handler = ConnectionHandler(databases)
    reachable = ("django.db.backends.sqlite3", settings.DATABASES["default"]["ENGINE"])
    try:
        for alias, config in databases.items():
            if config["ENGINE"] not in reachable:
                continue  # a server this test does not have
            options = config.get("OPTIONS", {})
            with handler[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                if "journal_mode=WAL" in options.get("init_command", ""):
                    cursor.execute("PRAGMA journal_mode")
                    assert cursor.fetchone()[0] == "wal"
                for name, value in re.findall(r"-c (\w+)=(\S+)", options.get("options", "")):
                    cursor.execute("SELECT setting FROM pg_settings WHERE name = %s", [name])
                    assert cursor.fetchone()[0] == value
    finally:
        handler.close_all()


def check_logging(config: dict[str, Any]) -> None:
    names = list(config.get("loggers", {}))
    saved = {name: logging.getLogger(name).__dict__.copy() for name in names}
    try:
        logging.config.dictConfig(config)
        for name, wanted in config.get("loggers", {}).items():
            logger = logging.getLogger(name)
            assert len(logger.handlers) == len(wanted.get("handlers", []))
            assert logger.level == logging.getLevelName(wanted.get("level", "NOTSET"))
    finally:
        for name, state in saved.items():
            logging.getLogger(name).__dict__.update(state)


def run_settings(example: Example, base_dir: Path) -> None:
    filename = str(example.path.relative_to(ROOT))
    tree = ast.parse(example.code, filename)
    ast.increment_lineno(tree, example.line)
    configurations: list[list[ast.Assign]] = [[]]
    for stmt in tree.body:
        if _root_name(stmt) in {_root_name(s) for s in configurations[-1]}:
            configurations.append([])
        configurations[-1].append(stmt)
    wanted = set(CHECK_ID.findall(example.heading))
    for statements in configurations:
        ns: dict[str, Any] = {
            "BASE_DIR": base_dir,
            "DATABASES": {"default": copy.deepcopy(settings.DATABASES["default"])},
        }
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            ns["DATABASES"] = {"default": {"ENGINE": "django.db.backends.postgresql"}}
        exec(compile(ast.Module(statements, []), filename, "exec"), ns)
        given = {_root_name(stmt): ns[_root_name(stmt)] for stmt in statements}
        if "DATABASES" in given:
            check_databases(given.pop("DATABASES"))
        if "LOGGING" in given:
            check_logging(given.pop("LOGGING"))
        if "INSTALLED_APPS" in given:
            given["INSTALLED_APPS"] = _installed_apps(given["INSTALLED_APPS"])
        if not given:
            continue
        with override_settings(**given):
            found = {
                m.id for m in run_checks(databases=[]) if (m.id or "").startswith("django_saka.")
            }
        line = statements[0].lineno
        assert found == wanted, (
            f"{example.path.name}:{line}: the checks report {found or 'nothing'}"
        )


def chain(example: Example) -> list[Example]:
    """The example and the ones it continues, first first."""
    page = [e for e in ALL_EXAMPLES if e.path == example.path]
    blocks = [example]
    while blocks[0].marker == "continues":
        earlier = [e for e in page if e.line < blocks[0].line]
        assert earlier, f"{blocks[0].id} continues no earlier block"
        blocks.insert(0, earlier[-1])
    return blocks


def _matching(table: dict[tuple[str, str], Any], example: Example) -> Any:
    return next(
        (
            value
            for (page, snippet), value in table.items()
            if page == example.page and snippet in example.code
        ),
        None,
    )


def _marks(example: Example) -> list[pytest.MarkDecorator]:
    """A block whose test wants real commits, or that defines a Django ``TestCase`` (whose
    tearDownClass closes the connections), runs outside the test's transaction."""
    transactional = "@pytest.mark.django_db(transaction=True)" in example.code or bool(
        re.search(r"^class \w+\((django\.test\.)?TestCase\):", example.code, re.M)
    )
    return [pytest.mark.django_db(transaction=transactional)]


@pytest.fixture
def sandbox() -> Iterator[None]:
    """Receivers a block connects and modules it creates do not outlive it."""
    signals = [s for s in vars(saka_signals).values() if isinstance(s, Signal)]
    saved = [(signal, list(signal.receivers)) for signal in signals]
    modules = set(sys.modules)
    yield
    for signal, receivers in saved:
        signal.receivers = receivers
        signal.sender_receivers_cache.clear()
    for name in set(sys.modules) - modules:
        del sys.modules[name]


@pytest.mark.usefixtures("sandbox")
@pytest.mark.parametrize(
    "example", [pytest.param(e, id=e.id, marks=_marks(e)) for e in ALL_EXAMPLES]
)
def test_example_runs(example: Example, tmp_path: Path) -> None:
    assert re.fullmatch(r"|continues|not run: \S.*", example.marker), (
        f"{example.id}: unknown marker <!-- example: {example.marker} -->"
    )
    if example.marker.startswith("not run"):
        pytest.skip(f"{example.id}: {example.marker}")
    if example.kind == "signature":
        check_signature(example)
        return
    ns: dict[str, Any] = {"__name__": "tests.testapp.example", "__package__": "tests.testapp"}
    ns.update((_matching(GIVEN, example) or PAGES.get(example.page, nothing))())
    defined: dict[str, Any] = {}
    for block in chain(example):
        before = dict(ns)
        if block.kind == "settings":
            run_settings(block, tmp_path)
        elif block.kind == "doctest":
            run_doctest(block, ns)
        elif block.kind == "module":
            defined = run_module(block)
        else:
            run_code(block, ns)
            defined = {k: v for k, v in ns.items() if before.get(k) is not v}
    for name, value in list(defined.items()):
        if getattr(value, "__module__", None) == defined.get("__name__", ns["__name__"]):
            exercise(name, value, ns)
    then = _matching(THEN, example)
    if then:
        then(ns)


def test_every_python_fence_is_an_example() -> None:
    """The parser misses no block: as many examples as lines opening a python fence."""
    fences = sum(
        len(re.findall(r"^[ \t]*```python", page.read_text(encoding="utf-8"), re.M))
        for page in PAGES_WITH_EXAMPLES
    )
    assert len(ALL_EXAMPLES) == fences > 0


@pytest.mark.parametrize("table", [GIVEN, THEN], ids=["GIVEN", "THEN"])
def test_each_snippet_names_one_block(table: dict[tuple[str, str], Any]) -> None:
    for page, snippet in table:
        found = [e.id for e in ALL_EXAMPLES if e.page == page and snippet in e.code]
        assert len(found) == 1, f"{page}: {snippet!r} is in {found or 'no block'}"


def test_each_page_of_the_registry_exists() -> None:
    assert set(PAGES) <= {page.name for page in PAGES_WITH_EXAMPLES}
