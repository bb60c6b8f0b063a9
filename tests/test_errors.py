"""meltwater.errors: one contract for bad arguments across the library."""

from __future__ import annotations

import pytest

from meltwater.errors import InvalidArgumentError, MeltwaterError, UnknownNameError
from meltwater.evaluation.metrics import image_metrics
from meltwater.models.baselines import get_baseline
from meltwater.models.unet import get_model_config


def test_unknown_name_is_a_key_and_value_error_with_a_plain_message():
    e = UnknownNameError("unknown model 'x'; valid: ['unet']")
    assert isinstance(e, KeyError) and isinstance(e, ValueError)
    assert isinstance(e, InvalidArgumentError) and isinstance(e, MeltwaterError)
    assert str(e) == "unknown model 'x'; valid: ['unet']"  # not quoted as KeyError would


@pytest.mark.parametrize(
    "call, valid",
    [
        (lambda: get_baseline("nope"), "mar_interp"),
        (lambda: get_model_config("nope"), "default"),
        (lambda: image_metrics([0.0], [0.0], None, ["nope"]), "mae"),
    ],
    ids=["baseline", "model-config", "metric"],
)
def test_every_registry_raises_the_same_type_listing_valid_names(call, valid):
    with pytest.raises(UnknownNameError, match=f"'nope'.*{valid}"):
        call()
