"""Material accountancy: is a declaration of nuclear material complete?

MUF (material unaccounted for) = beginning inventory + receipts − shipments − ending inventory,
its standard deviation from the measurement model, the covariance of the MUF sequence, SITMUF
(independent standardized MUF, by dense Cholesky or an O(n) recursion), Page's CUSUM, CUMUF,
GEMUF and Shewhart tests, simulation of measurement campaigns, and the design of Page's test
(ARL, thresholds, detection probabilities). Pure numerics: nothing here reads files or the network.

Example::

    from cvid.accountancy import MethodTable, evaluate_balance, parse_balances

    areas = parse_balances(text, "balances.csv")
    result = evaluate_balance(areas[0], MethodTable.default(), k=0.5, false_alarm=0.05)
    result.summary()["page"]["alarm"]
"""

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.accountancy.balance import (
        MufCovariance,
        MufSequence,
        material_balance,
        muf_covariance,
    )
    from cvid.accountancy.chart import page_chart_svg, page_chart_text
    from cvid.accountancy.design import (
        DetectionFigures,
        LossPattern,
        MonteCarloEstimate,
        cumuf_detection_probability,
        detection_probabilities,
        gemuf_detection_probability,
        loss_pattern,
        page_alarm_probability,
        page_arl,
        page_arl_two_sided,
        page_run_length_cdf,
        page_threshold,
        simulate_page_alarm_probability,
        standardized_detection,
    )
    from cvid.accountancy.evaluation import BalanceEvaluation, evaluate_balance
    from cvid.accountancy.evidence import balance_record
    from cvid.accountancy.formats import method_table_json, parse_balances, parse_method_table
    from cvid.accountancy.model import (
        DEFAULT_METHODS_SOURCE,
        BalancePeriod,
        Component,
        MaterialBalanceArea,
        MeasuredItem,
        MeasurementMethod,
        MethodTable,
    )
    from cvid.accountancy.quantities import (
        SIGNIFICANT_QUANTITIES,
        SQ_SOURCE,
        SignificantQuantity,
        kg_to_sq,
        significant_quantity,
        sq_to_kg,
    )
    from cvid.accountancy.sequential import (
        CumufResult,
        GemufResult,
        PageResult,
        ShewhartResult,
        cumuf_test,
        gemuf_test,
        page_statistic,
        page_test,
        shewhart_test,
    )
    from cvid.accountancy.simulate import simulate_muf
    from cvid.accountancy.sitmuf import Innovations, sitmuf, sitmuf_dense

_lazy.install(
    __name__,
    {
        "cvid.accountancy.balance": [
            "MufCovariance",
            "MufSequence",
            "material_balance",
            "muf_covariance",
        ],
        "cvid.accountancy.chart": ["page_chart_svg", "page_chart_text"],
        "cvid.accountancy.design": [
            "DetectionFigures",
            "LossPattern",
            "MonteCarloEstimate",
            "cumuf_detection_probability",
            "detection_probabilities",
            "gemuf_detection_probability",
            "loss_pattern",
            "page_alarm_probability",
            "page_arl",
            "page_arl_two_sided",
            "page_run_length_cdf",
            "page_threshold",
            "simulate_page_alarm_probability",
            "standardized_detection",
        ],
        "cvid.accountancy.evaluation": ["BalanceEvaluation", "evaluate_balance"],
        "cvid.accountancy.evidence": ["balance_record"],
        "cvid.accountancy.formats": ["method_table_json", "parse_balances", "parse_method_table"],
        "cvid.accountancy.model": [
            "DEFAULT_METHODS_SOURCE",
            "BalancePeriod",
            "Component",
            "MaterialBalanceArea",
            "MeasuredItem",
            "MeasurementMethod",
            "MethodTable",
        ],
        "cvid.accountancy.quantities": [
            "SIGNIFICANT_QUANTITIES",
            "SQ_SOURCE",
            "SignificantQuantity",
            "kg_to_sq",
            "significant_quantity",
            "sq_to_kg",
        ],
        "cvid.accountancy.sequential": [
            "CumufResult",
            "GemufResult",
            "PageResult",
            "ShewhartResult",
            "cumuf_test",
            "gemuf_test",
            "page_statistic",
            "page_test",
            "shewhart_test",
        ],
        "cvid.accountancy.simulate": ["simulate_muf"],
        "cvid.accountancy.sitmuf": ["Innovations", "sitmuf", "sitmuf_dense"],
    },
)

__all__ = [
    "DEFAULT_METHODS_SOURCE",
    "SIGNIFICANT_QUANTITIES",
    "SQ_SOURCE",
    "BalanceEvaluation",
    "BalancePeriod",
    "Component",
    "CumufResult",
    "DetectionFigures",
    "GemufResult",
    "Innovations",
    "LossPattern",
    "MaterialBalanceArea",
    "MeasuredItem",
    "MeasurementMethod",
    "MethodTable",
    "MonteCarloEstimate",
    "MufCovariance",
    "MufSequence",
    "PageResult",
    "ShewhartResult",
    "SignificantQuantity",
    "balance_record",
    "cumuf_detection_probability",
    "cumuf_test",
    "detection_probabilities",
    "evaluate_balance",
    "gemuf_detection_probability",
    "gemuf_test",
    "kg_to_sq",
    "loss_pattern",
    "material_balance",
    "method_table_json",
    "muf_covariance",
    "page_alarm_probability",
    "page_arl",
    "page_arl_two_sided",
    "page_chart_svg",
    "page_chart_text",
    "page_run_length_cdf",
    "page_statistic",
    "page_test",
    "page_threshold",
    "parse_balances",
    "parse_method_table",
    "shewhart_test",
    "significant_quantity",
    "simulate_muf",
    "simulate_page_alarm_probability",
    "sitmuf",
    "sitmuf_dense",
    "sq_to_kg",
    "standardized_detection",
]
