"""Compile a validated scenario into the flat arrays the core reads.

* `_compile`: `compile_plan` -> `Plan` (ticks, integer weights, activations);
* `_activations`: a schedule's per-VU activation windows;
* `_arrivals`: an arrival-rate schedule's rate curve (the open model);
* `_original`: the seed-compatibility profile (the original engine's semantics).
"""

from z6.plan._arrivals import ArrivalPlan, expected_arrivals
from z6.plan._compile import WEIGHT_SCALE, Plan, compile_plan, integer_weights
from z6.plan._datafiles import DataTable, load_data
from z6.plan._dynamic import RequestTemplate, RequestTemplates, compile_request_templates
from z6.plan._templates import TemplateProblem, compile_template, percent_encode
from z6.plan._original import original_profile_plan, seed_profile_plan

__all__ = ["Plan", "ArrivalPlan", "expected_arrivals", "compile_plan", "DataTable", "load_data", "RequestTemplate",
           "RequestTemplates", "compile_request_templates", "TemplateProblem", "compile_template", "percent_encode",
           "original_profile_plan", "seed_profile_plan", "integer_weights", "WEIGHT_SCALE"]
