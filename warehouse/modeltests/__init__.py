"""Model unit tests: YAML fixtures run through a model's own Flink SQL in a bounded job, with a readable diff.

Fixture format: `warehouse.modeltests.fixtures`; entry point: `run_model_tests(context, selector, names)`.
"""

from warehouse.modeltests.fixtures import UnitTest, load_unit_tests
from warehouse.modeltests.runner import ModelTestResult, run_model_tests

__all__ = ["ModelTestResult", "UnitTest", "load_unit_tests", "run_model_tests"]
