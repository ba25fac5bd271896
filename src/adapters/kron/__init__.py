"""The Kronecker wing: the one product (``product.py``), the fused layer and its autograd (``layer.py``,
``factors.py``, ``fused.py``), the one factor-shape resolver and validator (``shapes.py``, ``config.py``) and the
nearest-Kronecker decomposition (``nearest.py``). It knows no method by name; methods build on it."""

from .config import DECOMPOSE, LINEAR_INITS, KronFactorsConfig, KronLinearConfig
from .factors import INITS, KronFactors, factor_name, kaiming_
from .fused import fused_weight, kron_linear
from .layer import KronLinear
from .nearest import low_rank_split, nearest_kronecker_terms, rearranged
from .product import factorised_cost, kron_dense, kron_matmul, kron_shape, kron_sum, kron_vectors
from .shapes import (
    AUTO,
    LOKR_SHAPES,
    balanced_factor_shapes,
    check_factor_settings,
    check_factor_shapes,
    describe_valid_shapes,
    factor_parameter_count,
    factorisations,
    is_shape_list,
    lokr_factor_shapes,
    max_kron_rank,
    per_term_shapes,
    resolve_factor_shapes,
    shapes_closest_to_budget,
    stored_factor_count,
    valid_factor_shapes,
)

__all__ = [
    "AUTO",
    "DECOMPOSE",
    "INITS",
    "LINEAR_INITS",
    "LOKR_SHAPES",
    "KronFactors",
    "KronFactorsConfig",
    "KronLinear",
    "KronLinearConfig",
    "balanced_factor_shapes",
    "check_factor_settings",
    "check_factor_shapes",
    "describe_valid_shapes",
    "factor_name",
    "factor_parameter_count",
    "factorised_cost",
    "factorisations",
    "fused_weight",
    "is_shape_list",
    "kaiming_",
    "kron_dense",
    "kron_linear",
    "kron_matmul",
    "kron_shape",
    "kron_sum",
    "kron_vectors",
    "lokr_factor_shapes",
    "low_rank_split",
    "max_kron_rank",
    "nearest_kronecker_terms",
    "per_term_shapes",
    "rearranged",
    "resolve_factor_shapes",
    "shapes_closest_to_budget",
    "stored_factor_count",
    "valid_factor_shapes",
]
