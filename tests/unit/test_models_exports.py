"""Every name `analysis.models` advertises resolves to the object of its sub-module."""

from importlib import import_module

import pytest

import analysis.models as models


@pytest.mark.parametrize("name", models.__all__)
def test_export_resolves_to_its_module_object(name):
    module = import_module(f"analysis.models.{models._EXPORTS[name]}")
    assert getattr(models, name) is getattr(module, name)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute"):
        models.NotAModel  # noqa: B018
