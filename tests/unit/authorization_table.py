"""What the authorisation tables of the five services share: a small municipality, the role sets a
token can carry, and one way to read a `Decision`.

The demo town has one user with one role per organisation, so a rule could ignore the role or the
organisation and nothing would notice. These tables put every organisation next to every role set
(the right role, each wrong one, several at once, none), so that dropping either half of a rule
turns at least one row red.
"""

from contracts.glossary import LegalBasis, Program, Role
from libs.auth import Principal
from libs.authz import WORKER_ROLES, Decision
from libs.directory import Directory, Organisation


def _organisation(id_: str, *programs: Program) -> Organisation:
    return Organisation(id_, id_, frozenset(programs))


# Two organisations per program, so that "runs the program" and "holds this case" differ; one that
# runs two programs; an agency and the municipality, which run none. An unknown organisation (a
# token naming an organisation the directory does not know) is UNKNOWN.
DIRECTORY = Directory(
    municipality="架空市",
    organisations={
        o.id: o
        for o in (
            _organisation("houkatsu-chuo", Program.INTAKE),
            _organisation("houkatsu-kita", Program.INTAKE),
            _organisation("shakyo-tagikan", Program.COORDINATION),
            _organisation("tagikan-minami", Program.COORDINATION),
            _organisation("npo-tsunagari", Program.OUTREACH),
            _organisation("npo-yorisoi", Program.OUTREACH),
            _organisation("shakyo-sanka", Program.PARTICIPATION),
            _organisation("sanka-higashi", Program.PARTICIPATION),
            _organisation("shakyo-chiiki", Program.COMMUNITY),
            _organisation("chiiki-nishi", Program.COMMUNITY),
            _organisation("shakyo-sougou", Program.OUTREACH, Program.PARTICIPATION),
            _organisation("kikan-soudan"),
            _organisation("city-fukushi"),
        )
    },
    users={},
)
UNKNOWN = "nowhere-org"
ORGANISATIONS = (*DIRECTORY.organisations, UNKNOWN)


def role_sets(right: Role) -> dict[str, frozenset[Role]]:
    """Each role alone, no role, the right role beside an auditor's, and every role but the right one.

    A token without roles is refused at authentication; the policy must refuse it anyway.
    """
    sets = {role.value: frozenset({role}) for role in Role}
    sets["no-role"] = frozenset()
    sets[f"{right.value}+auditor"] = frozenset({right, Role.AUDITOR})
    sets[f"all-but-{right.value}"] = frozenset(Role) - {right}
    return sets


def worker_role_sets(right: Role) -> set[str]:
    """The names in `role_sets(right)` that hold at least one worker role."""
    return {name for name, roles in role_sets(right).items() if roles & set(WORKER_ROLES)}


def principal(organisation: str, roles: frozenset[Role] | set[Role] | tuple[Role, ...]) -> Principal:
    return Principal(f"user-of-{organisation}", organisation, frozenset(roles))


def expect(decision: Decision, basis: LegalBasis | None, ref: str | None = None) -> None:
    """`basis` None: refused. Otherwise allowed on exactly that basis, recorded with `ref`."""
    if basis is None:
        assert not decision.allowed, f"should be refused, was allowed on {decision.basis}: {decision.reason}"
        assert decision.basis is None and decision.basis_ref is None
        return
    assert decision.allowed, f"should be allowed on {basis}, was refused: {decision.reason}"
    assert decision.basis is basis, f"allowed on {decision.basis} ({decision.reason}), expected {basis}"
    assert decision.basis_ref == ref, f"basis reference {decision.basis_ref!r}, expected {ref!r}"
