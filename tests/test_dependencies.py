"""The dependency rules between the apps and inside each (docs/architecture.md, "Seams"), read from the source with ast.

Each test states one rule; the few places that break one today are listed in EXCEPTIONS with the reason, and an
exception that no longer happens fails too, so that the list only ever shrinks.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "accounts",
    "projects",
    "messaging",
    "meetings",
    "integrations",
    "notifications",
    "moderation",
    "realtime",
    "presence",
    "pages",
    "evidence",
    "config",
    "kernel",
)
# The apps proper: what the kernel serves and config composes.
DOMAIN_APPS = (
    "accounts",
    "projects",
    "messaging",
    "meetings",
    "integrations",
    "notifications",
    "moderation",
    "realtime",
    "presence",
    "pages",
    "evidence",
)

# What an app offers the others: its writes, its reads, its event names and payloads, its models for their
# types and choices (never to query: see test_no_app_queries_another_apps_models), and the Django signals it
# sends: a signals module exists only for other apps to connect to, and is how a dependency is inverted
# (realtime announces sockets to presence, presence announces changes to messaging, and neither imports them).
SEAMS = {"services", "selectors", "events", "models", "signals"}
# Further modules an app offers because that is its job in the house.
APP_SEAMS = {
    "accounts": {
        "suspension",  # the suspended-provider rule every writing service applies
        "socket_auth",  # who is on a socket: mounted by realtime's routing and its Socket.IO transport
        "scope_auth",  # the user of an ASGI scope, for config's body limits
        "forms",  # the login forms of the pages and the admin
        "serializers",  # UserBriefSerializer, nested in the other apps' serializers
        "authentication",  # the REST API's Bearer JWT, which the send path (messaging.send) runs on the event loop
    },
    # The socket framework the apps plug their handlers into, and the one after-commit publisher.
    "realtime": {"publish", "handlers", "consumers", "session"},
    # The background worker's job framework the other apps' jobs plug into (JobKind), and its leased claims.
    "integrations": {"worker", "claims"},
}
# kernel (errors, ids, ratelimit, routers, schema, parsers...) is the library every app shares, and imports none
# of them. config is only the composition root: the URLs, the ASGI stack (with the body limits, which ask
# accounts.scope_auth who is calling before a body is read), the settings and what only they use; with
# realtime's socket routing, these may import any app.
COMPOSITION_ROOTS = {"config.asgi", "config.body_limits", "config.urls", "config.settings", "realtime.routing"}
HTTP_AND_SOCKET_LAYER = {"api", "views", "serializers", "urls", "forms", "admin", "consumers", "socket_handlers"}
# Layers that read through selectors instead of querying models themselves.
NO_QUERY_LAYERS = {"api", "views", "consumers", "socket_handlers", "socket_auth", "socketio"}

# (rule, importer, imported or queried name): why it holds for now. Every entry must still be true.
EXCEPTIONS = {
    ("no cross-app queries", "projects.management.commands.seed_demo", "accounts.models.User"): (
        "the demo seed gets or creates its fixed users; accounts has no service for an idempotent demo user"
    ),
}
# Package cycles left, each with why it is not broken yet (docs/architecture.md says the same).
ALLOWED_CYCLES = {
    frozenset({"projects", "messaging"}): (
        "a project's members are the participants of its conversation (support staff's removal): projects asks "
        "messaging.selectors who they are and messaging.services opens the conversation on acceptance, while "
        "messaging.services asks projects.selectors whether the project is still active. Breaking it means "
        "keeping the membership in projects (a schema change) or opening the conversation from a signal"
    ),
    frozenset({"accounts", "realtime"}): (
        "realtime's transports authenticate with accounts.socket_auth, and accounts publishes logouts and "
        "deactivations through realtime.publish and closes sockets with realtime's handlers; breaking it means "
        "moving the socket authentication into realtime"
    ),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _product_modules() -> dict[str, ast.Module]:
    modules = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                modules[_module_name(path)] = ast.parse(path.read_text(), filename=str(path))
    return modules


MODULES = _product_modules()


def _resolve(name: str) -> str:
    """The product module ``name`` stands for: a module itself, or the package a name is taken from."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(tree: ast.Module, importer: str) -> set[str]:
    """The product modules ``importer`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = importer.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(_resolve(name) for name in names if name.split(".")[0] in APPS)
    found.discard("")
    return found


IMPORTS = {module: _imports(tree, module) for module, tree in MODULES.items()}


def _app(module: str) -> str:
    return module.split(".")[0]


def _kind(module: str) -> str:
    """What a module is inside its app: models, services, api... (a subpackage counts as its name)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _violations(rule: str, found: set[tuple[str, str]]) -> list[tuple[str, str]]:
    listed = {(importer, target) for (name, importer, target) in EXCEPTIONS if name == rule}
    assert listed <= found, f"listed exceptions to {rule!r} that no longer happen: {sorted(listed - found)}"
    return sorted(found - listed)


def test_models_import_no_services_api_or_consumers():
    found = {
        (module, target)
        for module, targets in IMPORTS.items()
        if _kind(module) == "models"
        for target in targets
        if _kind(target) not in {"models", "__init__"} and _app(target) != "kernel"
    }
    assert _violations("models import only models and the kernel", found) == []


def test_services_and_selectors_import_no_http_or_socket_layer():
    found = {
        (module, target)
        for module, targets in IMPORTS.items()
        if _kind(module) in {"services", "selectors"}
        for target in targets
        if _kind(target) in HTTP_AND_SOCKET_LAYER
    }
    assert _violations("services import no HTTP layer", found) == []


def _cross_app_import_allowed(importer: str, target: str) -> bool:
    app, kind = _app(target), _kind(target)
    if importer in COMPOSITION_ROOTS or _app(importer) == app:
        return True
    if app == "kernel":
        return True
    if kind in SEAMS or kind in APP_SEAMS.get(app, set()):
        return True
    # A representation nests another app's (UserBriefSerializer), and pages render the API's payloads.
    return kind == "serializers" and (_kind(importer) == "serializers" or _app(importer) == "pages")


def test_apps_reach_each_other_only_through_their_seams():
    found = {
        (module, target)
        for module, targets in IMPORTS.items()
        for target in targets
        if not _cross_app_import_allowed(module, target)
    }
    assert _violations("no cross-app imports outside the seams", found) == []


def test_kernel_imports_no_app_and_no_config():
    found = {
        (module, target)
        for module, targets in IMPORTS.items()
        if _app(module) == "kernel"
        for target in targets
        if _app(target) != "kernel"
    }
    assert _violations("kernel imports no app", found) == []


def test_apps_import_no_config_module():
    """config composes the apps; what they share is the kernel's (``django.conf.settings`` is Django's)."""
    found = {
        (module, target)
        for module, targets in IMPORTS.items()
        if _app(module) in DOMAIN_APPS and module not in COMPOSITION_ROOTS
        for target in targets
        if _app(target) == "config"
    }
    assert _violations("apps import no config", found) == []


def test_models_load_no_rest_framework():
    """Loading a model module loads no DRF through the product modules it imports (the kernel's errors are
    plain Python): the HTTP layer is not part of the data."""
    found = set()
    for module in MODULES:
        if _kind(module) != "models":
            continue
        loaded, pending = set(), [module]
        while pending:
            current = pending.pop()
            if current not in loaded:
                loaded.add(current)
                pending.extend(IMPORTS[current])
        found.update(
            (module, target)
            for target in loaded
            if any(name.split(".")[0] == "rest_framework" for name in _external_imports(MODULES[target]))
        )
    assert _violations("models load no DRF", found) == []


def _external_imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
    return names


def _names_from_models(tree: ast.Module, importer: str, *, other_apps_only: bool) -> set[str]:
    """The models ``importer`` imports by name (dotted), only those of other apps with ``other_apps_only``."""
    return {
        f"{node.module}.{alias.asname or alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.split(".")[0] in APPS
        and _kind(node.module) == "models"
        and not (other_apps_only and _app(node.module) == _app(importer))
        for alias in node.names
    }


def _queried(tree: ast.Module, names: set[str]) -> set[str]:
    """Which of ``names`` (dotted, as imported) the module calls ``.objects`` on."""
    by_local_name = {name.rpartition(".")[2]: name for name in names}
    return {
        by_local_name[node.value.id]
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"objects", "_default_manager"}
        and isinstance(node.value, ast.Name)
        and node.value.id in by_local_name
    }


def test_no_app_queries_another_apps_models():
    """Another app's rows are read through its selectors and written through its services; following one's
    own ForeignKey to them (select_related) is the one way in."""
    found = {
        (module, model)
        for module, tree in MODULES.items()
        for model in _queried(tree, _names_from_models(tree, module, other_apps_only=True))
    }
    assert _violations("no cross-app queries", found) == []


def test_http_and_socket_layers_read_through_selectors():
    found = {
        (module, model)
        for module, tree in MODULES.items()
        if _kind(module) in NO_QUERY_LAYERS
        for model in _queried(tree, _names_from_models(tree, module, other_apps_only=False))
    }
    assert _violations("HTTP and socket layers do not query", found) == []


def _app_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {app: set() for app in APPS}
    for module, targets in IMPORTS.items():
        if module in COMPOSITION_ROOTS:
            continue
        graph[_app(module)].update(_app(target) for target in targets if _app(target) != _app(module))
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The apps that reach each other (strongly connected components of more than one app)."""
    reach: dict[str, set[str]] = {app: set() for app in graph}
    for app, callees in graph.items():
        stack = list(callees)
        while stack:
            other = stack.pop()
            if other not in reach[app]:
                reach[app].add(other)
                stack.extend(graph[other])
    return {
        frozenset(other for other in graph if other in reach[app] and app in reach[other]) | {app}
        for app in graph
        if app in reach[app]
    }


def test_no_package_cycles_beyond_the_documented_ones():
    cycles = _cycles(_app_graph())
    allowed = set(ALLOWED_CYCLES)
    assert allowed <= cycles, f"documented cycles that are gone: {sorted(map(sorted, allowed - cycles))}"
    assert sorted(map(sorted, cycles - allowed)) == []


_QUERY_METHODS = {
    "filter",
    "exclude",
    "get",
    "select_related",
    "prefetch_related",
    "values",
    "values_list",
    "order_by",
    "annotate",
    "aggregate",
    "only",
    "defer",
    "Q",
    "F",
    "Prefetch",
    "OuterRef",
}


def _reverse_relations_into_other_apps() -> dict[str, set[str]]:
    """For each app, the names by which its models reach another app's rows that point at them
    (``Project.conversation``, ``User.participations``): the relations only the other app may follow."""
    from django.apps import apps

    names: dict[str, set[str]] = {app: set() for app in APPS}
    for model in apps.get_models():
        app = model._meta.app_label
        if app not in names:
            continue
        for field in model._meta.get_fields():
            if field.auto_created and not field.concrete and field.related_model._meta.app_label != app:
                names[app].add(field.name)
    return names


def _lookups(tree: ast.Module) -> set[str]:
    """The field lookups a module hands the ORM: keyword names and string arguments of query calls."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        method = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if method not in _QUERY_METHODS:
            continue
        found.update(keyword.arg for keyword in node.keywords if keyword.arg)
        found.update(arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return found


def test_no_app_follows_another_apps_relations_into_its_tables():
    """An app follows its own ForeignKeys out, never another app's back in: projects asks messaging.selectors
    who takes part in a conversation instead of filtering on ``conversation__participants``."""
    reverse = _reverse_relations_into_other_apps()
    found = {
        (module, lookup)
        for module, tree in MODULES.items()
        for lookup in _lookups(tree)
        if lookup.split("__")[0] in reverse[_app(module)]
    }
    assert _violations("no lookups through another app's relations", found) == []
