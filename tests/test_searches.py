"""The search methods' registry: the command line's choices and help come from it, and every
method's oracle resolves to a resumable oracle."""

from kerashp import options, searches
from kerashp.tuning.oracle import ResumableOracle


def test_every_search_method_has_a_resumable_oracle():
    for method in searches.SEARCHES.values():
        assert issubclass(method.oracle_class(), ResumableOracle), method.name


def test_the_options_choices_and_help_come_from_the_registry():
    from tiny_study import TinyStudy

    parser = options.build_parser(TinyStudy)
    assert options.SEARCHES == tuple(searches.SEARCHES)
    action = next(a for a in parser._actions if "--search" in a.option_strings)
    assert tuple(action.choices) == tuple(searches.SEARCHES)
    assert all(f"{method.name}: {method.help}" in action.help for method in searches.SEARCHES.values())
    assert [m.name for m in searches.SEARCHES.values() if m.needs_trials] == ["random", "bayesian", "tpe", "optuna-tpe", "optuna-qmc", "optuna-cmaes", "optuna-gp", "hyperband"]
