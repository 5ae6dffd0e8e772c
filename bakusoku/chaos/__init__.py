"""Chaos experiments against a running deployment: ``bakusoku chaos run EXPERIMENT``.

An experiment (``chaos.experiment``; built-in ones in ``chaos/experiments``, or a file of one's
own) states a steady-state hypothesis, a method of faults and the rollbacks. The runner
(``chaos.runner``) checks the hypothesis before, during and after the faults with a probe that
uploads photos through the real doors (``chaos.probe``), injects the faults through the
deployment's ``/v1/faults`` (``chaos.deployment``), always rolls back, and reports what held
(``chaos.report``).
"""
