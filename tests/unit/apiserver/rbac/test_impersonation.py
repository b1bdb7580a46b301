"""Impersonation headers: what they ask for, the checks made of the authenticated user, and
the user a request then acts as."""

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.authz import Decision, Verdict
from minikube_py.apiserver.impersonation import impersonate, requested
from minikube_py.apiserver.requestinfo import RequestInfo

BOB = UserInfo("bob", ("system:authenticated",))


class Allows:
    """Allows impersonating what it lists as (resource, namespace, name); records asks."""

    def __init__(self, *allowed: tuple[str, str, str]) -> None:
        self.allowed = set(allowed)
        self.asked: list[tuple[str, str, str, str]] = []

    def __call__(self, user: UserInfo, info: RequestInfo) -> Verdict:
        key = (info.resource, info.namespace or "", info.name or "")
        self.asked.append((info.verb, *key))
        return Verdict(Decision.ALLOW if key in self.allowed else Decision.NO_OPINION)


def test_no_headers_is_no_impersonation() -> None:
    assert impersonate(BOB, {"Accept": "application/json"}, Allows()) is BOB


def test_groups_without_a_user_are_a_bad_request() -> None:
    with pytest.raises(ApiError) as e:
        requested([("Impersonate-Group", "devs")])
    assert e.value.code == 400


def test_an_allowed_user_with_groups_and_extras_is_who_the_request_is() -> None:
    decide = Allows(("users", "", "jane"), ("groups", "", "devs"),
                    ("userextras", "", "a"), ("uids", "", "42"))
    user = impersonate(BOB, [("Impersonate-User", "jane"), ("Impersonate-Group", "devs"),
                             ("Impersonate-Extra-Scopes", "a"), ("Impersonate-Uid", "42")],
                       decide)
    assert user == UserInfo("jane", ("devs", "system:authenticated"), "42", {"scopes": ["a"]})
    assert [a[1] for a in decide.asked] == ["users", "groups", "userextras", "uids"]
    assert all(a[0] == "impersonate" for a in decide.asked)


def test_a_service_account_is_impersonated_through_serviceaccounts_in_its_namespace() -> None:
    decide = Allows(("serviceaccounts", "team", "robot"))
    user = impersonate(BOB, {"Impersonate-User": "system:serviceaccount:team:robot"}, decide)
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:team",
                           "system:authenticated")


def test_a_refusal_is_kubes_403() -> None:
    with pytest.raises(ApiError) as e:
        impersonate(BOB, {"Impersonate-User": "jane"}, Allows())
    assert (e.value.code, e.value.message) == (
        403, 'users "jane" is forbidden: User "bob" cannot impersonate resource "users" in '
             'API group "" at the cluster scope')


def test_a_group_one_may_not_impersonate_is_refused_even_for_an_allowed_user() -> None:
    with pytest.raises(ApiError) as e:
        impersonate(BOB, [("Impersonate-User", "jane"), ("Impersonate-Group", "system:masters")],
                    Allows(("users", "", "jane")))
    assert e.value.message.startswith('groups "system:masters" is forbidden')


def test_impersonating_anonymous_is_unauthenticated() -> None:
    user = impersonate(BOB, {"Impersonate-User": "system:anonymous"},
                       Allows(("users", "", "system:anonymous")))
    assert user.groups == ("system:unauthenticated",)
